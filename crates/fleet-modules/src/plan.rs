//! The data a module hands to the engine: probe output in, a plan out.

use fleet_shell::{Script, Stdin};
use serde_json::{Map, Value};

/// The output of a module's probe script.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Probe {
    pub rc: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Probe {
    /// A probe result, for tests.
    pub fn ok(stdout: &str) -> Probe {
        Probe {
            rc: 0,
            stdout: stdout.to_string(),
            stderr: String::new(),
        }
    }
}

/// What a module decided: whether the host must change, how, and what the
/// change looks like.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// The task reports `changed` (or `would change` in check mode).
    pub changed: bool,
    /// Run in order when not in check mode (also when `changed` is false:
    /// upkeep); the task fails at the first step that fails.
    pub steps: Vec<Step>,
    /// Run after `steps` when they ran, also when one of them failed (the
    /// task still fails): e.g. releasing a lock the steps took. Not run in
    /// check mode.
    pub finally: Vec<Step>,
    /// A unified diff of file content and lines such as `mode: 0644 -> 0600`.
    pub diff: Option<String>,
    /// Values added to the registered result (`stat` puts `stat` here).
    pub data: Map<String, Value>,
    /// A short note for the operator, e.g. why nothing was done.
    pub msg: Option<String>,
    /// The task is skipped, not merely unchanged (`script` whose
    /// `creates` exists, as in Ansible); `msg` says why.
    pub skipped: bool,
}

impl Plan {
    /// Nothing to do.
    pub fn unchanged() -> Plan {
        Plan::default()
    }

    /// A change made of `steps`.
    pub fn change(steps: Vec<Step>) -> Plan {
        Plan {
            changed: true,
            steps,
            ..Plan::default()
        }
    }

    /// Steps that are run but report no change, as Ansible's
    /// `daemon_reload` does.
    pub fn upkeep(steps: Vec<Step>) -> Plan {
        Plan {
            steps,
            ..Plan::default()
        }
    }

    pub fn with_diff(mut self, diff: Option<String>) -> Plan {
        self.diff = diff;
        self
    }

    pub fn with_finally(mut self, finally: Vec<Step>) -> Plan {
        self.finally = finally;
        self
    }
}

/// What running the steps came to, for a module whose steps decide it
/// (see `Module::applied`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Applied {
    pub changed: bool,
    /// Added to the registered result.
    pub data: Map<String, Value>,
    /// Replaces the plan's message, when given.
    pub msg: Option<String>,
}

/// A wait on the controller (`pause`): for `seconds`, or, without them,
/// until the operator answers `prompt` on the terminal.
#[derive(Debug, Clone, PartialEq)]
pub struct Wait {
    pub seconds: Option<f64>,
    /// Shown to the operator; the answer is the result's `user_input`.
    pub prompt: Option<String>,
    /// Whether the answer is shown as it is typed.
    pub echo: bool,
    /// Report the time waited in minutes (`minutes:` was given).
    pub in_minutes: bool,
}

/// One action on the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// A shell script, run with `sh -c` (through sudo when the task becomes).
    Run {
        script: Script,
        stdin: Option<Stdin>,
    },
    /// Atomic upload: temp file, mode and owner, rename.
    Upload {
        dest: String,
        contents: Vec<u8>,
        mode: u32,
        /// `user` or `user:group`.
        owner: Option<String>,
    },
    /// Copies the host's file `src` to the controller's file `dest`: a temp
    /// file next to `dest`, then a rename.
    Fetch { src: String, dest: String },
    /// Runs the controller's rsync with `args` (its options, then the
    /// controller's source) to `dest` on the host. rsync's remote end runs
    /// on the host over the task's own connection (through become), never
    /// a second ssh login. The step's stdout is rsync's.
    Rsync { args: Vec<String>, dest: String },
}

impl Step {
    pub fn run(script: Script) -> Step {
        Step::Run {
            script,
            stdin: None,
        }
    }
}

/// What a step printed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StepOutput {
    pub rc: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Step {
    /// A script that reads `stdin`.
    pub fn run_with_stdin(script: Script, stdin: impl Into<Stdin>) -> Step {
        Step::Run {
            script,
            stdin: Some(stdin.into()),
        }
    }

    /// The script's text, when this step runs one (for tests).
    pub fn script_text(&self) -> Option<&str> {
        match self {
            Step::Run { script, .. } => Some(script.as_str()),
            _ => None,
        }
    }
}
