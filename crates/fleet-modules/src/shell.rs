//! The typed command layer, from fleet-shell.

pub use fleet_shell::{quote, split_words};
