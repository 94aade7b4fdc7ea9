//! Helpers for the tests of task syntax: one-play playbooks in scratch
//! folders.

#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use fleet_playbook::{LoadOptions, Playbook, PlaybookError, Task, load};

/// A fresh folder holding `files` (path, text); returns the folder.
pub fn scratch(files: &[(&str, &str)]) -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "fleet-playbook-tasks-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    for (path, text) in files {
        let path = dir.join(path);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    }
    dir
}

pub fn load_tasks(tasks: &str) -> Result<Playbook, PlaybookError> {
    let dir = scratch(&[("play.yaml", &format!("hosts: all\ntasks:\n{tasks}"))]);
    let loaded = load(&dir.join("play.yaml"), &LoadOptions::default());
    std::fs::remove_dir_all(&dir).expect("clean up");
    loaded
}

/// The tasks of a one-play playbook whose `tasks:` are `tasks`.
pub fn tasks(tasks: &str) -> Vec<Task> {
    match load_tasks(tasks) {
        Ok(playbook) => playbook.plays[0].tasks.clone(),
        Err(err) => panic!("{err}\n{tasks}"),
    }
}

/// The error's first line without the scratch folder, and its hint.
pub fn error(tasks: &str) -> (String, String) {
    let err = load_tasks(tasks).expect_err("should be rejected");
    let hint = err.hint().unwrap_or_default().to_owned();
    assert!(!hint.is_empty(), "{err}");
    let first = err
        .to_string()
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned();
    let first = first
        .split_once("play.yaml:")
        .map_or(first.clone(), |(_, rest)| rest.to_owned());
    (first, hint)
}
