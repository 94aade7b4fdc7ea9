//! `--start-at-task NAME`: the run begins at the first task, in playbook
//! order across plays, whose name is NAME or matches it as a glob
//! (`deploy*`), among the tasks `--tags` and `--skip-tags` select. Plays
//! before that task's play do not run at all; tasks before it in its play
//! are left out. As in Ansible, a task of a role matches by its own name or
//! by `role : name`, and a task in a block's `rescue` never matches (a run
//! does not reach it in order), nor does a task of an `include_tasks` (it
//! runs only after its include: start at the include).

use fleet_engine::TagFilter;
use fleet_playbook::{Playbook, Section, Task};
use serde_json::Value;

use crate::error::CliError;

/// How names are matched, for the hints.
const HOW: &str = "a name is compared as written in the playbook (before templating), \
     or as a glob such as `deploy*`; `--list-tasks` lists the tasks";

/// Where the run starts: play and task index in the loaded playbook.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StartAt {
    pub play: usize,
    pub task: usize,
}

/// The first task `name` matches, or bad input with a hint.
pub fn find(playbook: &Playbook, name: &str, filter: TagFilter<'_>) -> Result<StartAt, CliError> {
    let glob = glob::Pattern::new(name).ok();
    let matches = |task: &Task| {
        names_of(task).into_iter().any(|candidate| {
            candidate == name || glob.as_ref().is_some_and(|glob| glob.matches(candidate))
        })
    };
    let reachable = |task: &Task| {
        task.included.is_empty()
            && task
                .blocks
                .iter()
                .all(|part| part.section != Section::Rescue)
    };
    for (play_index, play) in playbook.plays.iter().enumerate() {
        let found = play
            .tasks
            .iter()
            .position(|task| reachable(task) && filter.selects(play, task) && matches(task));
        if let Some(task) = found {
            return Ok(StartAt {
                play: play_index,
                task,
            });
        }
    }
    let left_out = playbook
        .plays
        .iter()
        .flat_map(|play| &play.tasks)
        .any(matches);
    let path = playbook.path.display();
    if left_out {
        return Err(CliError::Usage(format!(
            "--start-at-task {name:?}: no task of {path} to start at\n  hint: the tasks it names \
             are left out by --tags or --skip-tags, or sit in a block's `rescue` or an \
             `include_tasks` (start at the include); {HOW}"
        )));
    }
    let names = playbook
        .plays
        .iter()
        .flat_map(|play| &play.tasks)
        .flat_map(names_of);
    let suggestion = fleet_yaml::did_you_mean(name, names)
        .map(|suggestion| format!("{suggestion} "))
        .unwrap_or_default();
    Err(CliError::Usage(format!(
        "--start-at-task {name:?}: no task of {path} has this name\n  hint: {suggestion}{HOW}"
    )))
}

/// Drops the plays before `start` and the tasks before it in its play.
pub fn cut(playbook: &mut Playbook, start: StartAt) {
    playbook.plays.drain(..start.play);
    if let Some(play) = playbook.plays.first_mut() {
        play.tasks.drain(..start.task);
    }
}

/// The names a task answers to: its own, and for a task of a role, the
/// name without the `role : ` fleet puts before it.
fn names_of(task: &Task) -> Vec<&str> {
    let mut names = vec![task.name.as_str()];
    let role = task
        .role_dir
        .as_ref()
        .and(task.vars.get("role_name"))
        .and_then(Value::as_str);
    if let Some(bare) = role.and_then(|role| {
        task.name
            .strip_prefix(role)
            .and_then(|rest| rest.strip_prefix(" : "))
    }) {
        names.push(bare);
    }
    names
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use fleet_playbook::LoadOptions;

    use super::*;

    const PLAYBOOK: &str = "
- hosts: all
  tasks:
    - name: packages
      command: \"true\"
    - name: deploy app
      command: \"true\"
      tags: [deploy]
- hosts: all
  tasks:
    - block:
        - name: migrate
          command: \"true\"
      rescue:
        - name: restore backup
          command: \"true\"
    - name: deploy admin
      command: \"true\"
";

    fn load(test: &str) -> Playbook {
        let dir =
            std::env::temp_dir().join(format!("fleet-start-at-{}-{test}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path: PathBuf = dir.join("playbook.yaml");
        std::fs::write(&path, PLAYBOOK).unwrap();
        let playbook = fleet_playbook::load(&path, &LoadOptions::default()).unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        playbook
    }

    fn every_tag() -> TagFilter<'static> {
        TagFilter::default()
    }

    #[test]
    fn names_match_as_written_or_as_globs_across_plays() {
        let playbook = load("globs");
        let at = |name| find(&playbook, name, every_tag()).unwrap();
        assert_eq!(at("packages"), StartAt { play: 0, task: 0 });
        assert_eq!(at("deploy app"), StartAt { play: 0, task: 1 });
        assert_eq!(at("deploy*"), StartAt { play: 0, task: 1 });
        assert_eq!(at("mig?ate"), StartAt { play: 1, task: 0 });
        assert_eq!(at("deploy a[d]min"), StartAt { play: 1, task: 2 });
        let skip = ["deploy".to_string()];
        let filter = TagFilter {
            tags: &[],
            skip_tags: &skip,
        };
        assert_eq!(
            find(&playbook, "deploy*", filter).unwrap(),
            StartAt { play: 1, task: 2 }
        );
    }

    #[test]
    fn cut_drops_what_comes_before() {
        let mut playbook = load("cut");
        cut(&mut playbook, StartAt { play: 1, task: 2 });
        assert_eq!(playbook.plays.len(), 1);
        let names: Vec<&str> = playbook.plays[0]
            .tasks
            .iter()
            .map(|task| task.name.as_str())
            .collect();
        assert_eq!(names, ["deploy admin"]);
    }

    #[test]
    fn a_name_that_matches_nothing_is_refused_with_a_hint() {
        let playbook = load("nothing");
        let err = find(&playbook, "deploy ap", every_tag()).unwrap_err();
        let text = err.to_string();
        assert!(
            text.starts_with("--start-at-task \"deploy ap\": no task of "),
            "{text}"
        );
        assert!(
            text.contains("\n  hint: did you mean `deploy app`?"),
            "{text}"
        );
        let err = find(&playbook, "restore backup", every_tag()).unwrap_err();
        assert!(err.to_string().contains("left out by --tags"), "{err}");
        let only = ["db".to_string()];
        let filter = TagFilter {
            tags: &only,
            skip_tags: &[],
        };
        let err = find(&playbook, "deploy app", filter).unwrap_err();
        assert!(err.to_string().contains("left out by --tags"), "{err}");
    }
}
