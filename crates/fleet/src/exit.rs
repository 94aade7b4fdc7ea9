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
            | CliError::Config(_)
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
    use std::path::Path;

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

    #[test]
    fn invalid_inventories_and_playbooks_are_invalid_input_printed_as_located() {
        let inventory = fleet_inventory::Inventory::parse("al: {}\n", Path::new("inv.yaml"))
            .expect_err("unknown top-level key");
        let err = CliError::from(inventory);
        assert_eq!(Exit::from_error(&err), Exit::InvalidInput);
        assert_eq!(ExitCode::from(Exit::from_error(&err)), ExitCode::from(4));
        let text = err.to_string();
        assert!(
            text.starts_with("inv.yaml:1:1: unknown top-level key `al`\n  hint: "),
            "{text}"
        );
        assert!(text.ends_with("; did you mean `all`?"), "{text}");

        let missing = Path::new("no-such-playbook.yaml");
        let playbook = fleet_playbook::load(missing, &fleet_playbook::LoadOptions::default())
            .expect_err("missing playbook");
        let err = CliError::from(playbook);
        assert_eq!(Exit::from_error(&err), Exit::InvalidInput);
        assert!(
            err.to_string()
                .starts_with("no-such-playbook.yaml: cannot read the playbook: "),
            "{err}"
        );
    }
}
