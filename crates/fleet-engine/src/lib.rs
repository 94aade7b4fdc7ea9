//! The runner: takes validated hosts and work, runs it on every host at once
//! (over SSH, or on the controller for `connection: local` hosts and
//! `delegate_to: localhost` tasks, see [`Connection`]), and reports what
//! happens as typed [`Event`]s.
//!
//! Data flows one way: the engine sends events down a channel and never
//! looks at what reporters do with them.

mod adhoc;
mod become_vars;
mod connection;
mod events;
mod lines;
mod local;
mod module_run;
mod playbook;
mod rsync;
mod target;

pub use adhoc::{AdhocCommand, run_adhoc};
pub use connection::{Connection, runs_locally};
pub use events::{CommandTrace, Counts, Event, OutputStream, Status, StopReason, TaskResult};
pub use lines::LineBuffer;
pub use local::LocalShell;
pub use module_run::{ModuleOutcome, RunContext, probe_many, run_module, run_probed};
pub use playbook::{ApplyOptions, TagFilter, batch_sizes, play_hosts, run_playbook, stop_reason};
pub use target::ssh_target;
pub use tokio_util::sync::CancellationToken;
