//! The two tools, each run on its own twin with the same playbook, and
//! what each reported per task.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use fleet_tests::{Lab, code, events, repo_root};
use serde_json::{Map, Value, json};

use crate::case::Case;

/// The inventory name of the host in both tools' inventories, so that
/// `inventory_hostname` is the same on both twins.
pub const HOST: &str = "twin";

/// One task's result on the host, as either tool reported it.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub task: String,
    pub status: String,
    /// The result's message (ansible: the `msg` value; fleet: its text).
    pub msg: Option<Value>,
    /// ansible-core said the task's action is `debug`.
    pub debug: bool,
}

/// One run of a playbook by one tool.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub outcomes: Vec<Outcome>,
    /// stdout and stderr, for the report when something differs.
    pub log: String,
}

/// `ansible-playbook` from the venv that `tests/differential/ansible-venv`
/// installs (once, cached like the lab image).
fn ansible_playbook() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let script = repo_root().join("tests/differential/ansible-venv");
        let output = Command::new(&script).output().expect("ansible-venv runs");
        assert!(
            output.status.success(),
            "{} failed:\n{}",
            script.display(),
            String::from_utf8_lossy(&output.stderr)
        );
        let bin = String::from_utf8_lossy(&output.stdout).trim().to_string();
        Path::new(&bin).join("ansible-playbook")
    })
}

/// The venv's `collections/` folder: ansible.posix and community.general,
/// which hold the modules fleet implements that ansible-core does not ship.
fn collections() -> PathBuf {
    let bin = ansible_playbook().parent().expect("the venv's bin");
    bin.parent().expect("the venv").join("collections")
}

/// Where ansible's ssh keeps its master connections: one folder per test
/// process, short enough for a socket path, so that a master left from an
/// earlier lab (same addresses, other host keys) is never reused.
static CONTROL_PATH_DIR: OnceLock<PathBuf> = OnceLock::new();

fn control_path_dir() -> &'static Path {
    CONTROL_PATH_DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("fleet-diff-cp-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("create the ssh control folder");
        dir
    })
}

/// Removes the master connections' folder; the masters themselves exit
/// after 30 s without a client.
pub fn remove_control_path_dir() {
    if let Some(dir) = CONTROL_PATH_DIR.get() {
        let _ = std::fs::remove_dir_all(dir);
    }
}

/// Runs the case's playbook with ansible-core on `address`.
pub fn ansible(case: &Case, address: &str, scratch: &Path) -> Run {
    let inventory = match own_inventory(case, address, &scratch.join("ansible-inventory")) {
        Some(inventory) => inventory,
        None => {
            let inventory = scratch.join("ansible-inventory.yml");
            let hosts = inventory_hosts(case, "ansible_host", address);
            write_json(&inventory, &json!({"all": {"hosts": hosts}}));
            inventory
        }
    };
    // Not in the working folder, where fleet would find it as ./ansible.cfg.
    let config = write_config(case, &scratch.join("ansible"));
    let output = Command::new(ansible_playbook())
        .arg("-i")
        .arg(&inventory)
        .args(vault_flags(case))
        .arg(case.playbook())
        .current_dir(scratch)
        .env("ANSIBLE_CONFIG", &config)
        .env("FLEET_DIFF_CASE_DIR", &case.dir)
        .env("ANSIBLE_NOCOLOR", "1")
        .env_remove("SSH_AUTH_SOCK")
        .output()
        .expect("ansible-playbook runs");
    let outcomes = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter(|line| line.starts_with('{'))
        .map(|line| {
            let event: Value = serde_json::from_str(line)
                .unwrap_or_else(|err| panic!("the fleet_diff callback printed {line}: {err}"));
            let debug = matches!(
                event["action"].as_str(),
                Some("debug" | "ansible.builtin.debug")
            );
            Outcome {
                task: text_of(&event["task"]),
                status: text_of(&event["status"]),
                msg: Some(event["msg"].clone()).filter(|msg| !msg.is_null()),
                debug,
            }
        })
        .collect();
    finish(&output, outcomes)
}

/// The suite's `ansible.cfg` with the case's `ansible_cfg` keys (a key of
/// the case replaces the suite's), written as `dir/ansible.cfg`.
fn write_config(case: &Case, dir: &Path) -> PathBuf {
    let lab = Lab::get();
    let plugins = repo_root().join("tests/differential/callback_plugins");
    let lines = [
        "[defaults]".to_string(),
        "stdout_callback = fleet_diff".into(),
        format!("callback_plugins = {}", plugins.display()),
        "host_key_checking = True".into(),
        "remote_user = root".into(),
        format!("private_key_file = {}", lab.key().display()),
        "interpreter_python = /usr/bin/python3".into(),
        "retry_files_enabled = False".into(),
        format!("collections_path = {}", collections().display()),
        "deprecation_warnings = False".into(),
        "[ssh_connection]".into(),
        "pipelining = True".into(),
        format!("control_path_dir = {}", control_path_dir().display()),
        format!(
            "ssh_args = -F /dev/null -o BatchMode=yes -o ControlMaster=auto -o ControlPersist=30s \
             -o StrictHostKeyChecking=yes -o UserKnownHostsFile={}",
            lab.known_hosts().display()
        ),
    ];
    let mut sections: Vec<(String, Vec<(String, String)>)> = Vec::new();
    for line in lines {
        match line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            Some(name) => sections.push((name.to_owned(), Vec::new())),
            None => {
                let (key, value) = line.split_once(" = ").expect("key = value");
                let last = sections.last_mut().expect("a section first");
                last.1.push((key.to_owned(), value.to_owned()));
            }
        }
    }
    for (name, keys) in &case.ansible_cfg {
        let index = match sections.iter().position(|(section, _)| section == name) {
            Some(index) => index,
            None => {
                sections.push((name.clone(), Vec::new()));
                sections.len() - 1
            }
        };
        let entries = &mut sections[index].1;
        for (key, value) in keys.as_object().expect("ansible_cfg sections are maps") {
            let value = match value {
                Value::String(text) => text.clone(),
                other => other.to_string(),
            };
            entries.retain(|(existing, _)| existing != key);
            entries.push((key.clone(), value));
        }
    }
    let mut text = String::new();
    for (name, entries) in sections {
        text.push_str(&format!("[{name}]\n"));
        for (key, value) in entries {
            text.push_str(&format!("{key} = {value}\n"));
        }
    }
    std::fs::create_dir_all(dir).expect("config folder");
    let config = dir.join("ansible.cfg");
    std::fs::write(&config, text).expect("write ansible.cfg");
    config
}

/// Runs the case's playbook with fleet on `address`.
pub fn fleet(case: &Case, address: &str, scratch: &Path) -> Run {
    let lab = Lab::get();
    let inventory = match own_inventory(case, address, &scratch.join("fleet-inventory")) {
        Some(inventory) => inventory,
        None => {
            let hosts = inventory_hosts(case, "address", address);
            let inventory = scratch.join("fleet-inventory.yaml");
            let mut vars = Map::new();
            vars.insert("user".into(), json!("root"));
            vars.insert("identity_file".into(), json!(lab.key()));
            write_json(&inventory, &json!({"all": {"vars": vars, "hosts": hosts}}));
            inventory
        }
    };
    let mut command = lab.fleet_with("apply", &inventory);
    command
        .args(vault_flags(case))
        .arg(case.playbook())
        .args(["--format", "json"])
        .current_dir(scratch)
        .env("FLEET_DIFF_CASE_DIR", &case.dir);
    // A case with `ansible_cfg` has fleet read the file ansible-core reads.
    if !case.ansible_cfg.is_empty() {
        command.env("ANSIBLE_CONFIG", write_config(case, &scratch.join("fleet")));
    }
    let output = command.output().expect("fleet runs");
    let outcomes = events(&output.stdout)
        .into_iter()
        .filter(|event| {
            let host = event["host"].as_str().unwrap_or_default();
            event["event"] == "task_result" && (host == HOST || case.peers.contains_key(host))
        })
        .map(|event| Outcome {
            task: text_of(&event["task"]),
            status: text_of(&event["status"]),
            msg: event.get("msg").cloned(),
            debug: false,
        })
        .collect();
    finish(&output, outcomes)
}

impl Run {
    /// The failed tasks and their messages, for a report.
    pub fn failures(&self) -> String {
        self.outcomes
            .iter()
            .filter(|outcome| outcome.status == "failed")
            .map(|outcome| match &outcome.msg {
                Some(Value::String(msg)) => format!("{}: {msg}", outcome.task),
                Some(msg) => format!("{}: {msg}", outcome.task),
                None => outcome.task.clone(),
            })
            .collect::<Vec<_>>()
            .join("; ")
    }
}

fn finish(output: &Output, outcomes: Vec<Outcome>) -> Run {
    Run {
        code: code(output),
        outcomes,
        log: format!(
            "stdout:\n{}stderr:\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
    }
}

/// `twin` and the case's peers, each with its vars and `address_var`
/// (the tool's name for the address) set to the twin's `address`.
fn inventory_hosts(case: &Case, address_var: &str, address: &str) -> Map<String, Value> {
    let mut hosts = Map::new();
    let own = std::iter::once((HOST.to_owned(), Value::Object(case.host_vars.clone())));
    for (name, vars) in own.chain(case.peers.clone()) {
        let mut vars = vars.as_object().cloned().unwrap_or_default();
        vars.insert(address_var.into(), json!(address));
        hosts.insert(name, Value::Object(vars));
    }
    hosts
}

/// A case's own inventory: its `inventory/` folder (`hosts.ini` and any
/// `group_vars/`, `host_vars/`) copied to `into`, with `@TWIN_ADDRESS@`
/// and `@LAB_KEY@` in `hosts.ini` replaced by the twin's address and the
/// lab's private key. Both tools read the same text.
fn own_inventory(case: &Case, address: &str, into: &Path) -> Option<PathBuf> {
    let source = case.dir.join("inventory");
    if !source.join("hosts.ini").is_file() {
        return None;
    }
    let _ = std::fs::remove_dir_all(into);
    copy_dir(&source, into);
    let hosts = into.join("hosts.ini");
    let text = std::fs::read_to_string(&hosts).expect("read the case's hosts.ini");
    let text = text
        .replace("@TWIN_ADDRESS@", address)
        .replace("@LAB_KEY@", &Lab::get().key().display().to_string());
    std::fs::write(&hosts, text).expect("write the case's hosts.ini");
    Some(hosts)
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create a folder");
    for entry in std::fs::read_dir(from).expect("list a folder") {
        let path = entry.expect("directory entry").path();
        let target = to.join(path.file_name().expect("file name"));
        if path.is_dir() {
            copy_dir(&path, &target);
        } else {
            std::fs::copy(&path, &target).expect("copy a file");
        }
    }
}

/// The same `--vault-password-file` for both tools, when the case has one.
fn vault_flags(case: &Case) -> Vec<std::ffi::OsString> {
    match &case.vault_password_file {
        Some(file) => vec!["--vault-password-file".into(), file.clone().into()],
        None => Vec::new(),
    }
}

/// JSON is YAML, so one writer serves both inventories.
fn write_json(path: &Path, value: &Value) {
    let text = serde_json::to_string_pretty(value).expect("JSON");
    std::fs::write(path, text + "\n").expect("write inventory");
}

fn text_of(value: &Value) -> String {
    value.as_str().unwrap_or_default().to_string()
}
