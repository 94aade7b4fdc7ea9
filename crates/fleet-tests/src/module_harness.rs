//! Runs one built-in module on a lab host through the real engine code
//! (probe, plan, steps over SSH), for the module behaviour tests.

use std::path::{Path, PathBuf};

use fleet_engine::{Connection, ModuleOutcome, RunContext, Status, run_module};
use fleet_modules::{Controller, ModuleError};
use fleet_ssh::{Become, Client, SshOptions, Target};
use serde_json::Value;

use crate::Lab;

/// A connection to one lab host, as root (or as `deploy` with sudo).
pub struct LabHost {
    runtime: tokio::runtime::Runtime,
    session: Connection,
    r#become: Option<Become>,
    files: PathBuf,
}

impl LabHost {
    /// Connects to `host` as root. Controller files are looked up in
    /// `files` (for `copy: src`, `template: src`, `unarchive: src`).
    pub fn root(host: &str, files: &Path) -> LabHost {
        LabHost::connect(host, "root", None, files)
    }

    /// Connects as `deploy` and runs modules through passwordless sudo.
    pub fn deploy_with_sudo(host: &str, files: &Path) -> LabHost {
        LabHost::connect(host, "deploy", Some(Become::root()), files)
    }

    fn connect(host: &str, user: &str, r#become: Option<Become>, files: &Path) -> LabHost {
        let lab = Lab::get();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let mut options = SshOptions::with_defaults();
        options.known_hosts = lab.known_hosts();
        options.ssh_config = Some(PathBuf::from("/dev/null"));
        let client = Client::new(options).expect("client");
        let target = Target {
            name: host.to_string(),
            address: lab.address(host),
            port: None,
            user: Some(user.to_string()),
            identity_file: Some(lab.key()),
            jump: None,
        };
        let session = Connection::Ssh(
            runtime
                .block_on(client.connect(&target))
                .expect("connect to lab host"),
        );
        LabHost {
            runtime,
            session,
            r#become,
            files: files.to_path_buf(),
        }
    }

    /// Runs `module` with `params`; `check` is check mode.
    pub fn run(&self, module: &str, params: Value, check: bool) -> ModuleOutcome {
        let controller = FilesDir(&self.files);
        let module = fleet_modules::build(module, params, &controller)
            .unwrap_or_else(|err| panic!("building {module}: {err}"));
        let ctx = RunContext {
            r#become: self.r#become.clone(),
            check,
            ..RunContext::default()
        };
        self.runtime
            .block_on(run_module(&self.session, module.as_ref(), &ctx))
    }

    /// Applies, asserts `changed`, applies again and asserts `ok`: the
    /// module is idempotent. Returns the first outcome.
    pub fn converge(&self, module: &str, params: Value) -> ModuleOutcome {
        let first = self.run(module, params.clone(), false);
        assert_eq!(
            first.status,
            Status::Changed,
            "first {module} run: {first:?}"
        );
        let second = self.run(module, params, false);
        assert_eq!(
            second.status,
            Status::Ok,
            "second {module} run is not idempotent: {second:?}"
        );
        first
    }

    /// Runs a shell command as root (through sudo for `deploy`) and returns
    /// (rc, stdout).
    pub fn sh(&self, command: &str) -> (i32, String) {
        let options = fleet_ssh::ExecOptions {
            r#become: self.r#become.clone(),
            ..Default::default()
        };
        let out = self
            .runtime
            .block_on(self.session.exec_collect(command, &options))
            .expect("exec");
        (
            out.status,
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    }
}

/// Templates render to their file content unchanged here: the playbook
/// engine renders real templates.
struct FilesDir<'a>(&'a Path);

impl Controller for FilesDir<'_> {
    fn read_file(&self, src: &str) -> Result<Vec<u8>, ModuleError> {
        std::fs::read(self.0.join(src)).map_err(|err| ModuleError::ControllerFile {
            path: src.to_string(),
            reason: err.to_string(),
        })
    }
    fn tree_path(&self, src: &str) -> String {
        self.0.join(src.trim_end_matches('/')).display().to_string()
    }
    fn read_tree(&self, src: &str) -> Result<Vec<fleet_modules::LocalEntry>, ModuleError> {
        fleet_modules::read_local_tree(&self.0.join(src.trim_end_matches('/'))).map_err(|reason| {
            ModuleError::ControllerFile {
                path: src.to_string(),
                reason,
            }
        })
    }
    fn render_template(&self, src: &str) -> Result<String, ModuleError> {
        std::fs::read_to_string(self.0.join(src)).map_err(|err| ModuleError::Template {
            path: src.to_string(),
            reason: err.to_string(),
        })
    }
}

/// Asserts the status, with the outcome in the message.
pub fn assert_status(outcome: &ModuleOutcome, status: Status) {
    assert_eq!(outcome.status, status, "{outcome:?}");
}

/// Runs `command` on `lab` and returns its trimmed stdout, asserting it
/// succeeded.
pub fn sh_ok(lab: &LabHost, command: &str) -> String {
    let (rc, out) = lab.sh(command);
    assert_eq!(rc, 0, "`{command}` failed: {out}");
    out.trim().to_string()
}

/// Tests that install packages take turns: dpkg has one lock per host.
pub fn packages_lock() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Installs `packages` on `lab` with apt-get (from refreshed lists), as a
/// test's setup.
pub fn apt_install(lab: &LabHost, packages: &str) {
    let _turn = packages_lock();
    sh_ok(
        lab,
        &format!(
            "dpkg -s {packages} >/dev/null 2>&1 || {{ apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=120 install -y -q {packages} >/dev/null; }}"
        ),
    );
}
