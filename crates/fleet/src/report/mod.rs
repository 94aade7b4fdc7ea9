//! Reporters turn engine events into output. They only read events; they
//! never reach back into the engine.

pub mod connections;
mod human;
mod json;

use fleet_engine::Event;

use crate::cli::Format;
use crate::error::CliError;

pub trait Reporter {
    fn handle(&mut self, event: &Event) -> Result<(), CliError>;
}

/// `verbosity` (`-v` counted) shows more in human output; NDJSON always
/// carries everything.
pub fn for_format(format: Format, hosts: usize, verbosity: u8) -> Box<dyn Reporter + Send> {
    match format {
        Format::Human => Box::new(human::Human::new(hosts, verbosity)),
        Format::Json => Box::new(json::Json),
    }
}
