//! `sysctl`: not written yet.

use serde_json::Value;

use crate::{Controller, Module, ModuleError};

pub const PARAMS: &[&str] = &[];

pub fn build(_params: Value, _controller: &dyn Controller) -> Result<Box<dyn Module>, ModuleError> {
    Err(ModuleError::Failed(
        "the `sysctl` module is not written yet".into(),
    ))
}
