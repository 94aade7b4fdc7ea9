//! The one place that turns results and errors into exit codes. The codes
//! are a stable contract (see `docs/cli.md`).

use std::process::ExitCode;

use fleet_engine::Counts;

use crate::error::CliError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Exit {
    Success = 0,
    Internal = 1,
    TaskFailed = 2,
    Unreachable = 3,
    InvalidInput = 4,
    Drift = 5,
    Interrupted = 130,
}

impl Exit {
    pub fn from_counts(counts: &Counts, interrupted: bool) -> Exit {
        if interrupted {
            Exit::Interrupted
        } else if counts.failed > 0 {
            Exit::TaskFailed
        } else if counts.unreachable > 0 {
            Exit::Unreachable
        } else {
            Exit::Success
        }
    }

    /// Every error raised before a host is contacted is invalid input:
    /// nothing ran anywhere.
    pub fn from_error(err: &CliError) -> Exit {
        match err {
            CliError::Usage(_)
            | CliError::Inventory(_)
            | CliError::Playbook(_)
            | CliError::Ssh(_) => Exit::InvalidInput,
            CliError::Output(_) => Exit::Internal,
        }
    }
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> ExitCode {
        ExitCode::from(exit as u8)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(failed: usize, unreachable: usize) -> Counts {
        Counts {
            ok: 1,
            failed,
            unreachable,
            ..Counts::default()
        }
    }

    #[test]
    fn failure_outranks_unreachable_and_interrupt_outranks_all() {
        assert_eq!(Exit::from_counts(&counts(0, 0), false), Exit::Success);
        assert_eq!(Exit::from_counts(&counts(0, 2), false), Exit::Unreachable);
        assert_eq!(Exit::from_counts(&counts(1, 2), false), Exit::TaskFailed);
        assert_eq!(Exit::from_counts(&counts(1, 2), true), Exit::Interrupted);
    }
}
