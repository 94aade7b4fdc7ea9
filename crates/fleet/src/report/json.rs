//! NDJSON: one event per line on stdout, and nothing else. Decrypted vault
//! values are masked in each line.

use std::io::Write;

use fleet_engine::Event;

use super::Reporter;
use crate::error::CliError;

pub struct Json;

impl Reporter for Json {
    fn handle(&mut self, event: &Event) -> Result<(), CliError> {
        let line = serde_json::to_string(event).map_err(std::io::Error::other)?;
        writeln!(std::io::stdout().lock(), "{}", fleet_vault::mask(&line))?;
        Ok(())
    }
}
