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
}

impl Counts {
    pub fn merge(&mut self, other: &Counts) {
        self.ok += other.ok;
        self.changed += other.changed;
        self.failed += other.failed;
        self.skipped += other.skipped;
        self.unreachable += other.unreachable;
        self.ignored += other.ignored;
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
        }
    }
}

/// Everything a reporter can be told, in the order it happens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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
    RunDone {
        counts: Counts,
        duration_ms: u64,
        interrupted: bool,
    },
}
