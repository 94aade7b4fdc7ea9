//! The system administration modules (service, package, cron, ...) on the
//! lab host `lab24` (`FLEET_ADMIN_HOST` to move it), asserting the real
//! state of the host after each run. One submodule per topic; the helpers
//! they share are here.

#[path = "modules_admin/cron.rs"]
mod cron;
#[path = "modules_admin/limits.rs"]
mod limits;
#[path = "modules_admin/remote.rs"]
mod remote;
#[path = "modules_admin/services.rs"]
mod services;

use std::path::Path;

use fleet_tests::module_harness::LabHost;
pub(crate) use fleet_tests::module_harness::{apt_install, packages_lock, sh_ok};

/// The host these tests change.
pub(crate) fn host_name() -> String {
    std::env::var("FLEET_ADMIN_HOST").unwrap_or_else(|_| "lab24".into())
}

pub(crate) fn host() -> LabHost {
    LabHost::root(&host_name(), Path::new(env!("CARGO_MANIFEST_DIR")))
}
