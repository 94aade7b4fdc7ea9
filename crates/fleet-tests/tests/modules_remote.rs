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
use std::sync::{Mutex, MutexGuard};

use fleet_tests::module_harness::LabHost;

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

/// Tests that install packages take turns: dpkg has one lock per host.
fn packages_lock() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Runs `command` and returns its trimmed stdout, asserting it succeeded.
pub(crate) fn sh_ok(lab: &LabHost, command: &str) -> String {
    let (rc, out) = lab.sh(command);
    assert_eq!(rc, 0, "`{command}` failed: {out}");
    out.trim().to_string()
}

/// Installs `packages` with apt-get (from refreshed lists), as setup.
pub(crate) fn apt_install(lab: &LabHost, packages: &str) {
    let _turn = packages_lock();
    sh_ok(
        lab,
        &format!(
            "dpkg -s {packages} >/dev/null 2>&1 || {{ apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=120 install -y -q {packages} >/dev/null; }}"
        ),
    );
}
