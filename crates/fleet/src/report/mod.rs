//! Reporters turn engine events into output. They only read events; they
//! never reach back into the engine.

mod human;
mod json;

use fleet_engine::Event;

use crate::cli::Format;
use crate::error::CliError;

pub trait Reporter {
    fn handle(&mut self, event: &Event) -> Result<(), CliError>;
}

pub fn for_format(format: Format, hosts: usize) -> Box<dyn Reporter + Send> {
    match format {
        Format::Human => Box::new(human::Human::new(hosts)),
        Format::Json => Box::new(json::Json),
    }
}
