//! `serial` and `rollback`: what loads, and the located errors for the rest.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use fleet_playbook::{BatchSize, LoadOptions, Play, PlaybookError, Rollback, Serial, load};

fn load_play(keys: &str) -> Result<Play, PlaybookError> {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let dir: PathBuf = std::env::temp_dir().join(format!(
        "fleet-playbook-serial-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).expect("mkdir");
    let path = dir.join("play.yaml");
    std::fs::write(&path, format!("hosts: all\n{keys}")).expect("write");
    let loaded = load(&path, &LoadOptions::default());
    std::fs::remove_dir_all(&dir).expect("clean up");
    loaded.map(|mut playbook| playbook.plays.remove(0))
}

/// `line:col: message` of the error, and its hint.
fn error(keys: &str) -> (String, String) {
    let err = load_play(keys).expect_err("should be rejected");
    let hint = err.hint().unwrap_or_default().to_owned();
    let first = err
        .to_string()
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned();
    let located = first
        .split_once("play.yaml:")
        .map_or(first.clone(), |(_, rest)| rest.to_owned());
    (located, hint)
}

fn serial(keys: &str) -> Option<Serial> {
    load_play(keys).unwrap_or_else(|err| panic!("{err}")).serial
}

#[test]
fn serial_takes_a_count_a_percentage_or_a_ramp() {
    assert_eq!(serial(""), None);
    assert_eq!(
        serial("serial: 2\n"),
        Some(Serial(vec![BatchSize::Count(2)]))
    );
    assert_eq!(
        serial("serial: \"3\"\n"),
        Some(Serial(vec![BatchSize::Count(3)]))
    );
    assert_eq!(
        serial("serial: 30%\n"),
        Some(Serial(vec![BatchSize::Percent(30.0)]))
    );
    assert_eq!(
        serial("serial: \"12.5%\"\n"),
        Some(Serial(vec![BatchSize::Percent(12.5)]))
    );
    assert_eq!(
        serial("serial: [1, \"10%\", \"50%\", \"100%\"]\n"),
        Some(Serial(vec![
            BatchSize::Count(1),
            BatchSize::Percent(10.0),
            BatchSize::Percent(50.0),
            BatchSize::Percent(100.0),
        ]))
    );
}

#[test]
fn bad_serial_values_are_located_with_a_hint() {
    let cases = [
        (
            "serial: 0\n",
            "2:9: `serial` must be at least 1 host, got 0",
        ),
        (
            "serial: -2\n",
            "2:9: `serial` must be at least 1 host, got -2",
        ),
        (
            "serial: \"0%\"\n",
            "2:9: a `serial` percentage must be from 1% to 100%, got \"0%\"",
        ),
        (
            "serial: 150%\n",
            "2:9: a `serial` percentage must be from 1% to 100%, got \"150%\"",
        ),
        (
            "serial: \"half%\"\n",
            "2:9: `serial` percentage \"half%\" is not a number",
        ),
        (
            "serial: all\n",
            "2:9: `serial` must be a host count or a percentage like \"30%\", got \"all\"",
        ),
        ("serial: []\n", "2:9: `serial` must not be an empty list"),
        (
            "serial: [1, 0]\n",
            "2:13: `serial` must be at least 1 host, got 0",
        ),
        (
            "serial:\n  - 1\n  - [2]\n",
            "4:5: `serial` must be a host count, a percentage or a list of them, got a list",
        ),
        (
            "serial: true\n",
            "2:9: `serial` must be a host count, a percentage or a list of them, got true",
        ),
        (
            "serial: 2.5\n",
            "2:9: `serial` must be a host count, a percentage or a list of them, got 2.5",
        ),
        (
            "serial: \"{{ size }}\"\n",
            "2:9: `serial` cannot be a template, got \"{{ size }}\"",
        ),
    ];
    for (keys, expected) in cases {
        let (message, hint) = error(keys);
        assert_eq!(message, expected, "{keys}");
        assert!(hint.contains("serial"), "{keys}: {hint}");
    }
}

#[test]
fn rollback_is_batch_all_or_none() {
    let rollback = |keys: &str| {
        load_play(keys)
            .unwrap_or_else(|err| panic!("{err}"))
            .rollback
    };
    assert_eq!(rollback(""), Rollback::Batch);
    assert_eq!(rollback("rollback: batch\n"), Rollback::Batch);
    assert_eq!(rollback("rollback: all\n"), Rollback::All);
    assert_eq!(rollback("rollback: none\n"), Rollback::None);
    let (message, hint) = error("rollback: previous\n");
    assert_eq!(message, "2:11: unknown `rollback` value \"previous\"");
    assert!(hint.contains("`batch`"), "{hint}");
    let (_, hint) = error("rollback: bach\n");
    assert!(hint.starts_with("did you mean `batch`?"), "{hint}");
    let (message, _) = error("rollback: 1\n");
    assert_eq!(message, "2:11: `rollback` must be a string, got 1");
}
