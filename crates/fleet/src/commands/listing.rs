//! `--syntax-check`, `--list-hosts`, `--list-tasks` and `--list-tags`:
//! a loaded (so validated) playbook printed in `ansible-playbook`'s layout,
//! or as NDJSON. No host is contacted.

use std::collections::BTreeSet;
use std::io::Write;

use fleet_engine::TagFilter;
use fleet_playbook::{Play, Task};
use serde_json::{Value, json};

use crate::cli::{Format, Inspect};
use crate::commands::apply::Loaded;
use crate::error::CliError;
use crate::exit::Exit;

/// One play as listed.
struct Listed<'a> {
    number: usize,
    play: &'a Play,
    hosts: Vec<&'a str>,
    /// The tasks that would run, each with its tags and its play's, sorted.
    tasks: Vec<(String, Vec<String>)>,
}

/// Prints what `inspect` asks for. `--list-tasks` and `--list-tags` show
/// the tasks `selected` (from `--tags` and `--skip-tags`) keeps; as in
/// Ansible, `--list-tags` without either flag lists the `never` tasks' tags
/// too, and `--start-at-task` does not shorten the lists.
pub fn print(
    loaded: &Loaded,
    inspect: Inspect,
    selected: TagFilter<'_>,
    format: Format,
) -> Result<Exit, CliError> {
    let every_tag = [NEVER.to_string(), "all".to_string()];
    let filter = match (inspect.list_tags, selected.tags, selected.skip_tags) {
        (true, [], []) => TagFilter {
            tags: &every_tag,
            skip_tags: &[],
        },
        _ => selected,
    };
    let mut listed = Vec::new();
    for (index, (play, hosts)) in loaded.plays()?.into_iter().enumerate() {
        let tasks = play
            .tasks
            .iter()
            .filter(|task| filter.selects(play, task))
            .filter(|task| {
                !task
                    .tags
                    .iter()
                    .any(|tag| tag == fleet_playbook::FLEET_OWN_TAG)
            })
            .map(|task| (task.name.clone(), tags_of(play, task)))
            .collect();
        listed.push(Listed {
            number: index + 1,
            play,
            hosts: hosts.iter().map(|host| host.name.as_str()).collect(),
            tasks,
        });
    }
    let path = loaded.playbook.path.display().to_string();
    let mut out = std::io::stdout().lock();
    match format {
        Format::Human => {
            writeln!(out, "\nplaybook: {path}")?;
            if !inspect.syntax_check {
                for play in &listed {
                    write!(out, "{}", human(play, inspect))?;
                }
            }
        }
        Format::Json => {
            writeln!(out, "{}", json!({"event": "playbook", "path": path}))?;
            if !inspect.syntax_check {
                for play in &listed {
                    writeln!(out, "{}", ndjson(play, inspect))?;
                }
            }
        }
    }
    Ok(Exit::Success)
}

const NEVER: &str = "never";

fn tags_of(play: &Play, task: &Task) -> Vec<String> {
    let tags: BTreeSet<&String> = task.tags.iter().chain(&play.tags).collect();
    tags.into_iter().cloned().collect()
}

/// Ansible's layout: a blank line, then the play header with its host
/// pattern, name and tags, and under it what was asked for.
fn human(listed: &Listed<'_>, inspect: Inspect) -> String {
    let play = listed.play;
    let play_tags: BTreeSet<&str> = play.tags.iter().map(String::as_str).collect();
    let play_tags: Vec<&str> = play_tags.into_iter().collect();
    let mut text = format!(
        "\n  play #{} ({}): {}\tTAGS: [{}]\n",
        listed.number,
        play.hosts,
        play.name,
        play_tags.join(",")
    );
    if inspect.list_hosts {
        text.push_str(&format!(
            "    pattern: {}\n    hosts ({}):\n",
            play.hosts,
            listed.hosts.len()
        ));
        for host in &listed.hosts {
            text.push_str(&format!("      {host}\n"));
        }
    }
    if inspect.list_tasks || inspect.list_tags {
        if inspect.list_tasks {
            text.push_str("    tasks:\n");
            for (name, tags) in &listed.tasks {
                text.push_str(&format!("      {name}\tTAGS: [{}]\n", tags.join(", ")));
            }
        }
        if inspect.list_tags {
            let all: BTreeSet<&String> = listed.tasks.iter().flat_map(|(_, tags)| tags).collect();
            let all: Vec<&str> = all.into_iter().map(String::as_str).collect();
            text.push_str(&format!("      TASK TAGS: [{}]\n", all.join(", ")));
        }
        text.push('\n');
    }
    text
}

fn ndjson(listed: &Listed<'_>, inspect: Inspect) -> Value {
    let play = listed.play;
    let mut line = json!({
        "event": "play",
        "number": listed.number,
        "name": play.name,
        "pattern": play.hosts,
        "tags": play.tags.iter().collect::<BTreeSet<_>>(),
    });
    if inspect.list_hosts {
        line["hosts"] = json!(listed.hosts);
    }
    if inspect.list_tasks {
        line["tasks"] = listed
            .tasks
            .iter()
            .map(|(name, tags)| json!({"name": name, "tags": tags}))
            .collect();
    }
    if inspect.list_tags {
        let all: BTreeSet<&String> = listed.tasks.iter().flat_map(|(_, tags)| tags).collect();
        line["task_tags"] = json!(all);
    }
    line
}
