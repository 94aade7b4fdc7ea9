//! `--tags` and `--skip-tags`: which tasks of a play run, by Ansible's
//! rules. A task's tags are its own (with those of its blocks, includes
//! and role) and its play's; a task without any counts as `untagged`.
//!
//! - `--tags` (default `all`) keeps a task tagged `always`, or with one of
//!   the asked tags; `all` keeps every task not tagged `never`, `tagged`
//!   every tagged one not tagged `never`, `untagged` the others. A task
//!   tagged `never` runs only when `never` or one of its other tags is
//!   asked for.
//! - `--skip-tags` then drops a task with one of those tags, even one
//!   tagged `always`; `tagged` drops every tagged task, and `all` every
//!   task except those tagged `always` (unless `always` is skipped too).
//!
//! The tasks fleet adds to a play itself (the release health gate, the
//! flushes of handlers between a play's sections) carry
//! [`FLEET_OWN`] and run whatever the flags say.

use fleet_playbook::{Play, Task};

use super::ApplyOptions;

/// The `--tags` and `--skip-tags` of a run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TagFilter<'a> {
    /// Run only tasks with one of these (empty: `all`).
    pub tags: &'a [String],
    /// Then leave out tasks with one of these.
    pub skip_tags: &'a [String],
}

impl ApplyOptions {
    /// The run's `--tags` and `--skip-tags`.
    pub fn tag_filter(&self) -> TagFilter<'_> {
        TagFilter {
            tags: &self.tags,
            skip_tags: &self.skip_tags,
        }
    }
}

/// The tag of the tasks fleet adds to a play: never filtered out.
pub(crate) const FLEET_OWN: &str = fleet_playbook::FLEET_OWN_TAG;

const ALL: &str = "all";
const ALWAYS: &str = "always";
const NEVER: &str = "never";
const TAGGED: &str = "tagged";
const UNTAGGED: &str = "untagged";

impl TagFilter<'_> {
    /// Whether `task` of `play` runs.
    pub fn selects(&self, play: &Play, task: &Task) -> bool {
        if task.tags.iter().any(|tag| tag == FLEET_OWN) {
            return true;
        }
        let tags: Vec<&str> = task
            .tags
            .iter()
            .chain(&play.tags)
            .map(String::as_str)
            .collect();
        self.selects_tags(&tags)
    }

    /// Whether a task with these tags (its own and its play's) runs.
    pub fn selects_tags(&self, tags: &[&str]) -> bool {
        let untagged = tags.is_empty();
        let has = |tag: &str| tags.contains(&tag) || (untagged && tag == UNTAGGED);
        let asked = |list: &[String], tag: &str| list.iter().any(|item| item == tag);
        let only = self.tags;
        let wanted = |tag: &str| (only.is_empty() && tag == ALL) || asked(only, tag);
        let runs = has(ALWAYS)
            || (wanted(ALL) && !has(NEVER))
            || only.iter().any(|tag| has(tag))
            || (wanted(TAGGED) && !untagged && !has(NEVER));
        if !runs {
            return false;
        }
        let skip = self.skip_tags;
        if asked(skip, ALL) {
            has(ALWAYS) && !asked(skip, ALWAYS)
        } else {
            !(skip.iter().any(|tag| has(tag)) || (asked(skip, TAGGED) && !untagged))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::TagFilter;

    fn owned(tags: &[&str]) -> Vec<String> {
        tags.iter().map(|tag| tag.to_string()).collect()
    }

    /// Which of the sample tasks run with these flags.
    fn runs(tags: &[&str], skip_tags: &[&str]) -> Vec<&'static str> {
        let tasks: [(&str, &[&str]); 6] = [
            ("plain", &[]),
            ("web", &["web"]),
            ("db", &["db", "web"]),
            ("always", &["always"]),
            ("never", &["never"]),
            ("backup", &["backup", "never"]),
        ];
        let (tags, skip_tags) = (owned(tags), owned(skip_tags));
        let filter = TagFilter {
            tags: &tags,
            skip_tags: &skip_tags,
        };
        tasks
            .iter()
            .filter(|(_, task_tags)| filter.selects_tags(task_tags))
            .map(|(name, _)| *name)
            .collect()
    }

    #[test]
    fn without_flags_everything_runs_but_never() {
        assert_eq!(runs(&[], &[]), ["plain", "web", "db", "always"]);
        assert_eq!(runs(&["all"], &[]), ["plain", "web", "db", "always"]);
    }

    #[test]
    fn tags_pick_tasks_and_always_comes_along() {
        assert_eq!(runs(&["db"], &[]), ["db", "always"]);
        assert_eq!(runs(&["web"], &[]), ["web", "db", "always"]);
        assert_eq!(runs(&["backup"], &[]), ["always", "backup"]);
        assert_eq!(runs(&["never"], &[]), ["always", "never", "backup"]);
        assert_eq!(runs(&["tagged"], &[]), ["web", "db", "always"]);
        assert_eq!(runs(&["untagged"], &[]), ["plain", "always"]);
    }

    #[test]
    fn skip_tags_drop_tasks_even_always_ones_when_named() {
        assert_eq!(runs(&[], &["db"]), ["plain", "web", "always"]);
        assert_eq!(runs(&[], &["web"]), ["plain", "always"]);
        assert_eq!(runs(&[], &["always"]), ["plain", "web", "db"]);
        assert_eq!(runs(&[], &["tagged"]), ["plain"]);
        assert_eq!(runs(&[], &["untagged"]), ["web", "db", "always"]);
        assert_eq!(runs(&[], &["all"]), ["always"]);
        assert_eq!(runs(&[], &["all", "always"]), Vec::<&str>::new());
        assert_eq!(runs(&["web"], &["db"]), ["web", "always"]);
        assert_eq!(runs(&["never"], &["backup"]), ["always", "never"]);
    }
}
