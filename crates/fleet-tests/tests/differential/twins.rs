//! Twin lab hosts: ansible-core works on one, fleet on the other. Both are
//! reset and read by the same script, `tests/differential/hostside.py`,
//! through one ssh command each.

use std::sync::OnceLock;

use fleet_shell::Cmd;
use fleet_tests::{Lab, repo_root};
use serde_json::Value;

/// The pairs of hosts the suite uses, one case at a time on each pair,
/// unless `FLEET_DIFF_TWINS` says otherwise (`ansible:fleet,...`). The
/// other lab suites use lab1..lab11.
const TWINS: &str = "lab12:lab13,lab14:lab15,lab16:lab17";

#[derive(Debug, Clone)]
pub struct Twins {
    pub ansible: String,
    pub fleet: String,
}

impl Twins {
    pub fn all() -> Vec<Twins> {
        let spec = std::env::var("FLEET_DIFF_TWINS").unwrap_or_else(|_| TWINS.into());
        spec.split(',')
            .map(|pair| {
                let (ansible, fleet) = pair
                    .split_once(':')
                    .unwrap_or_else(|| panic!("FLEET_DIFF_TWINS: {pair:?} is not ANSIBLE:FLEET"));
                Twins {
                    ansible: ansible.trim().into(),
                    fleet: fleet.trim().into(),
                }
            })
            .collect()
    }

    pub fn label(&self) -> String {
        format!("{}/{}", self.ansible, self.fleet)
    }
}

fn hostside_script() -> &'static str {
    static SCRIPT: OnceLock<String> = OnceLock::new();
    SCRIPT.get_or_init(|| {
        let path = repo_root().join("tests/differential/hostside.py");
        std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()))
    })
}

/// Runs `hostside.py MODE TOUCHES` on `host` and returns what it printed.
pub fn hostside(host: &str, mode: &'static str, touches: &Value) -> Result<Value, String> {
    let cmd = Cmd::without_end_of_options("python3")
        .flag("-c")
        .arg(hostside_script())
        .arg(mode)
        .arg(touches.to_string());
    let output = Lab::get().ssh(host, &cmd.render());
    if !output.status.success() {
        return Err(format!(
            "hostside.py {mode} on {host} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    serde_json::from_slice(&output.stdout).map_err(|err| {
        format!(
            "hostside.py {mode} on {host} printed no JSON ({err}): {}",
            String::from_utf8_lossy(&output.stdout)
        )
    })
}

/// Runs the case's own setup shell text on `host`.
pub fn setup(host: &str, script: &str) -> Result<(), String> {
    let cmd = Cmd::without_end_of_options("sh").flag("-ec").arg(script);
    let output = Lab::get().ssh(host, &cmd.render());
    if output.status.success() {
        return Ok(());
    }
    Err(format!(
        "setup on {host} failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    ))
}
