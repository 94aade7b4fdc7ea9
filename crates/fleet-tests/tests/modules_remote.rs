//! `script`, `known_hosts`, `git` and `apt_key` on the lab host `lab30`
//! (`FLEET_REMOTE_HOST` to move it), asserting the real state of the host
//! after each run. One submodule per module; the helpers they share are
//! here.

#[path = "modules_remote/apt_key.rs"]
mod apt_key;
#[path = "modules_remote/git.rs"]
mod git;
#[path = "modules_remote/known_hosts.rs"]
mod known_hosts;
#[path = "modules_remote/script.rs"]
mod script;

use std::path::Path;

use fleet_tests::module_harness::LabHost;
pub(crate) use fleet_tests::module_harness::{apt_install, sh_ok};

/// The host these tests change.
pub(crate) fn host_name() -> String {
    std::env::var("FLEET_REMOTE_HOST").unwrap_or_else(|_| "lab30".into())
}

/// A connection whose controller files live in `files`.
pub(crate) fn host_with_files(files: &Path) -> LabHost {
    LabHost::root(&host_name(), files)
}

pub(crate) fn host() -> LabHost {
    host_with_files(Path::new(env!("CARGO_MANIFEST_DIR")))
}
