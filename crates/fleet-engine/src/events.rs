//! Typed events: the only thing the engine hands to reporters.
//!
//! Each event serializes to one NDJSON line tagged with `"event"`, which is
//! the stable machine contract described in `docs/cli.md`.

use serde::Serialize;

/// The outcome of one task on one host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Ok,
    Changed,
    Failed,
    Skipped,
    Unreachable,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Changed => "changed",
            Status::Failed => "failed",
            Status::Skipped => "skipped",
            Status::Unreachable => "unreachable",
        }
    }
}

/// Which stream of a remote command a line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OutputStream {
    Stdout,
    Stderr,
}

/// How many results ended in each status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub ok: usize,
    pub changed: usize,
    pub failed: usize,
    pub skipped: usize,
    pub unreachable: usize,
    /// Failures of tasks marked `ignore_errors`: reported, never fatal.
    pub ignored: usize,
    /// Failures a block's `rescue` handles: reported, not fatal.
    #[serde(skip_serializing_if = "is_zero")]
    pub rescued: usize,
    /// Failures `meta: clear_host_errors` cleared: reported, not fatal.
    #[serde(skip_serializing_if = "is_zero")]
    pub cleared: usize,
}

fn is_zero(count: &usize) -> bool {
    *count == 0
}

impl Counts {
    pub fn merge(&mut self, other: &Counts) {
        self.ok += other.ok;
        self.changed += other.changed;
        self.failed += other.failed;
        self.skipped += other.skipped;
        self.unreachable += other.unreachable;
        self.ignored += other.ignored;
        self.rescued += other.rescued;
        self.cleared += other.cleared;
    }

    pub fn add(&mut self, status: Status) {
        match status {
            Status::Ok => self.ok += 1,
            Status::Changed => self.changed += 1,
            Status::Failed => self.failed += 1,
            Status::Skipped => self.skipped += 1,
            Status::Unreachable => self.unreachable += 1,
        }
    }
}

/// The result of one task on one host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TaskResult {
    pub host: String,
    pub task: String,
    pub status: Status,
    pub rc: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub diff: Option<String>,
    pub duration_ms: u64,
    /// Why the task failed or the host was unreachable, when the command's
    /// own output does not say it (transport or host key errors).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub msg: Option<String>,
    /// A failure that `ignore_errors` tolerates.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub ignored: bool,
    /// A failure that a block's `rescue` handles.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub rescued: bool,
    /// The host (or hosts, for a loop) the task ran on for `host`, when it
    /// is delegated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delegated_to: Option<String>,
}

impl TaskResult {
    /// A result that has not happened yet: `skipped`, no output.
    pub fn new(host: &str, task: &str) -> TaskResult {
        TaskResult {
            host: host.to_string(),
            task: task.to_string(),
            status: Status::Skipped,
            rc: None,
            stdout: String::new(),
            stderr: String::new(),
            diff: None,
            duration_ms: 0,
            msg: None,
            ignored: false,
            rescued: false,
            delegated_to: None,
        }
    }
}

/// Reports each command of a task before it runs, as [`Event::Command`].
#[derive(Debug, Clone)]
pub struct CommandTrace {
    /// The host the task's results are reported under.
    pub host: String,
    pub events: tokio::sync::mpsc::UnboundedSender<Event>,
}

/// Why a rolling play started no further batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// More than `max_fail_percentage` of the batch's hosts failed.
    MaxFailPercentage,
    /// A host of the batch failed, and the play has `serial` but no
    /// `max_fail_percentage`.
    HostFailed,
    /// The run was interrupted (Ctrl-C).
    Interrupted,
}

/// Everything a reporter can be told, in the order it happens.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    RunStart {
        hosts: Vec<String>,
        task: String,
    },
    /// A play begins (`fleet apply`), on these hosts.
    PlayStart {
        name: String,
        hosts: Vec<String>,
    },
    /// A batch of a play with `serial` begins: batch number `batch` (from
    /// 1) of `of`, on these hosts.
    BatchStart {
        play: String,
        batch: usize,
        of: usize,
        hosts: Vec<String>,
    },
    /// A play stops after batch `batch` of `of`: no further batch, and no
    /// later play, starts. `failed` of the batch's `batch_size` hosts
    /// failed or were unreachable.
    RolloutStopped {
        play: String,
        batch: usize,
        of: usize,
        failed: usize,
        batch_size: usize,
        max_fail_percentage: Option<f64>,
        reason: StopReason,
    },
    /// The release a host runs at the end of a play that deploys with
    /// `release` (after any rollback); `None` when it has none or could
    /// not be read.
    HostRelease {
        host: String,
        release: Option<String>,
    },
    /// A task begins on every host of the play.
    TaskStart {
        name: String,
    },
    /// One complete line of a command's output, streamed as it arrives.
    Output {
        host: String,
        stream: OutputStream,
        line: String,
    },
    TaskResult(TaskResult),
    /// A command fleet is about to run on `host` for a task (`fleet apply
    /// -vvv`; never for a `no_log` task). Payloads and secrets go to the
    /// command's stdin, so they are not in it.
    Command {
        host: String,
        command: String,
    },
    RunDone {
        counts: Counts,
        duration_ms: u64,
        interrupted: bool,
    },
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::{Event, StopReason};

    #[test]
    fn batch_events_serialize_as_documented() {
        let start = Event::BatchStart {
            play: "web".into(),
            batch: 2,
            of: 3,
            hosts: vec!["lab2".into(), "lab3".into()],
        };
        assert_eq!(
            serde_json::to_value(start).ok(),
            Some(
                json!({"event": "batch_start", "play": "web", "batch": 2, "of": 3,
                        "hosts": ["lab2", "lab3"]})
            )
        );
        let stopped = Event::RolloutStopped {
            play: "web".into(),
            batch: 2,
            of: 3,
            failed: 1,
            batch_size: 2,
            max_fail_percentage: Some(25.0),
            reason: StopReason::MaxFailPercentage,
        };
        assert_eq!(
            serde_json::to_value(stopped).ok(),
            Some(
                json!({"event": "rollout_stopped", "play": "web", "batch": 2, "of": 3,
                        "failed": 1, "batch_size": 2, "max_fail_percentage": 25.0,
                        "reason": "max_fail_percentage"})
            )
        );
    }
}
