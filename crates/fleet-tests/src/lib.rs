//! Shared helpers for the integration tests in `tests/`.
//!
//! The tests drive the real `fleet` binary against the lab that
//! `tests/lab/lab up` booted (see `tests/lab/README.md`). They need that lab:
//! without it they fail with a message saying how to start it, never skip.

pub mod file_server;
pub mod fixtures;
pub mod load;
pub mod module_harness;
pub mod package_repo;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use fleet_inventory::Inventory;
use serde_json::Value;

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The `fleet` binary, built once per test process from the current sources
/// (or taken from `FLEET_BIN`).
pub fn fleet_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Some(bin) = std::env::var_os("FLEET_BIN") {
            return PathBuf::from(bin);
        }
        let status = Command::new(env!("CARGO"))
            .args(["build", "--quiet", "-p", "fleet"])
            .current_dir(repo_root())
            .status()
            .expect("cargo runs");
        assert!(status.success(), "building fleet failed");
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map_or_else(|| repo_root().join("target"), PathBuf::from);
        target.join("debug/fleet")
    })
}

/// A `fleet` command with no agent and no user ssh_config, so that tests
/// depend only on what they pass.
pub fn fleet() -> Command {
    let mut cmd = Command::new(fleet_bin());
    cmd.env_remove("SSH_AUTH_SOCK")
        .env_remove("FLEET_BECOME_PASSWORD")
        .env_remove("FLEET_KEY_PASSPHRASE")
        .env("NO_COLOR", "1")
        .args(["--ssh-config", "/dev/null"]);
    cmd
}

/// The lab booted by `tests/lab/lab up`.
pub struct Lab {
    pub dir: PathBuf,
    pub inventory_path: PathBuf,
    pub inventory: Inventory,
}

impl Lab {
    pub fn get() -> &'static Lab {
        static LAB: OnceLock<Lab> = OnceLock::new();
        LAB.get_or_init(|| {
            let dir = std::env::var_os("FLEET_LAB_DIR")
                .map_or_else(|| repo_root().join(".lab"), PathBuf::from);
            let inventory_path = std::env::var_os("FLEET_LAB_INVENTORY")
                .map_or_else(|| repo_root().join("inventories/lab.yaml"), PathBuf::from);
            let inventory = Inventory::load(&inventory_path).unwrap_or_else(|err| {
                panic!(
                    "no lab: {err}\nstart one with `tests/lab/lab up 17` (see tests/lab/README.md)"
                )
            });
            Lab {
                dir,
                inventory_path,
                inventory,
            }
        })
    }

    pub fn known_hosts(&self) -> PathBuf {
        self.dir.join("known_hosts")
    }

    pub fn key(&self) -> PathBuf {
        self.dir.join("id_ed25519")
    }

    pub fn host_names(&self) -> Vec<String> {
        self.inventory
            .hosts()
            .iter()
            .map(|h| h.name.clone())
            .collect()
    }

    pub fn address(&self, name: &str) -> String {
        let host = self.inventory.hosts().iter().find(|h| h.name == name);
        host.unwrap_or_else(|| panic!("{name} is not in the lab"))
            .connection
            .address
            .clone()
    }

    /// `fleet` with the lab's known_hosts and the lab inventory.
    pub fn fleet(&self, subcommand: &str) -> Command {
        self.fleet_with(subcommand, &self.inventory_path)
    }

    /// `fleet` with the lab's known_hosts and the given inventory.
    pub fn fleet_with(&self, subcommand: &str, inventory: &Path) -> Command {
        let mut cmd = fleet();
        cmd.arg(subcommand)
            .arg("-i")
            .arg(inventory)
            .arg("--known-hosts")
            .arg(self.known_hosts());
        cmd
    }

    /// Runs `command` on `host` with OpenSSH, independently of fleet, to
    /// check what fleet did.
    pub fn ssh(&self, host: &str, command: &str) -> Output {
        Command::new("ssh")
            .args([
                "-F",
                "/dev/null",
                "-o",
                "BatchMode=yes",
                "-o",
                "StrictHostKeyChecking=yes",
            ])
            .arg("-o")
            .arg(format!(
                "UserKnownHostsFile={}",
                self.known_hosts().display()
            ))
            .arg("-i")
            .arg(self.key())
            .arg(format!("root@{}", self.address(host)))
            .arg(command)
            .output()
            .expect("ssh runs")
    }

    /// Writes an inventory for this test into a scratch dir and returns its path.
    pub fn write_inventory(&self, scratch: &Path, yaml: &str) -> PathBuf {
        let path = scratch.join("inventory.yaml");
        std::fs::write(&path, yaml).expect("write inventory");
        path
    }
}

/// A fresh scratch directory under the target dir, unique per test.
pub fn scratch_dir(test: &str) -> PathBuf {
    let dir = repo_root().join("target/test-scratch").join(test);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create scratch dir");
    dir
}

/// Parses NDJSON output, checking every line is a JSON object with `event`.
pub fn events(stdout: &[u8]) -> Vec<Value> {
    let text = String::from_utf8_lossy(stdout);
    text.lines()
        .map(|line| {
            let value: Value =
                serde_json::from_str(line).unwrap_or_else(|err| panic!("not JSON ({err}): {line}"));
            assert!(value.get("event").is_some(), "no \"event\" in {line}");
            value
        })
        .collect()
}

/// The `task_result` events, by host.
pub fn results_by_host(events: &[Value]) -> std::collections::BTreeMap<String, Value> {
    events
        .iter()
        .filter(|e| e["event"] == "task_result")
        .map(|e| {
            (
                e["host"].as_str().unwrap_or_default().to_string(),
                e.clone(),
            )
        })
        .collect()
}

/// Asserts the exit code, showing both streams when it is not the one expected.
pub fn assert_exit(output: &Output, expected: i32) {
    assert_eq!(
        code(output),
        expected,
        "stdout: {}\nstderr: {}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Asserts that fleet rejected bad input before doing anything: exit 4,
/// nothing on stdout, `expected` as the first error line, and a hint.
pub fn assert_rejected(output: &Output, expected: &str, case: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(code(output), 4, "{case}: {stderr}");
    assert!(
        output.stdout.is_empty(),
        "{case}: something ran: {}",
        String::from_utf8_lossy(&output.stdout)
    );
    let first = stderr.lines().next().unwrap_or_default();
    assert_eq!(first, format!("error: {}", expected.trim_end()), "{case}");
    assert!(stderr.contains("hint: "), "{case}: no hint in {stderr}");
}

/// The `.yaml` cases of a corpus directory under the repo root, sorted.
pub fn corpus(dir: &str) -> Vec<PathBuf> {
    let dir = repo_root().join(dir);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|err| panic!("{}: {err}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| {
            path.extension()
                .is_some_and(|ext| ext == "yaml" || ext == "ini")
        })
        .collect();
    files.sort();
    files
}

/// Generates an ed25519 key pair at `path` (and `path.pub`).
pub fn keygen(path: &Path, passphrase: &str) {
    let status = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", passphrase, "-f"])
        .arg(path)
        .status()
        .expect("ssh-keygen runs");
    assert!(status.success(), "ssh-keygen failed");
}

/// The exit code, panicking with the output when the process was killed.
pub fn code(output: &Output) -> i32 {
    output.status.code().unwrap_or_else(|| {
        panic!(
            "killed by a signal\nstdout: {}\nstderr: {}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    })
}
