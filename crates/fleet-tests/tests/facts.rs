//! Facts on a real lab host: what fleet gathers is what the host says
//! about itself, and what ansible-core's `setup` reports there, fact for
//! fact. The host is only read; the test writes under
//! /srv/fleet-test-facts and removes it.

use std::path::Path;
use std::process::Command;

use fleet_tests::{Lab, code, repo_root, scratch_dir};
use serde_json::{Map, Value, json};

/// The host this test reads (`FLEET_FACTS_HOST` to move it).
fn host() -> String {
    std::env::var("FLEET_FACTS_HOST").unwrap_or_else(|_| "lab20".into())
}

const DIR: &str = "/srv/fleet-test-facts";

fn on_host(command: &str) -> String {
    let output = Lab::get().ssh(&host(), command);
    assert!(output.status.success(), "{command}: {output:?}");
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

/// Runs a playbook that writes the host's facts and magic variables as
/// JSON, and reads them back.
fn gathered_by_fleet() -> (Map<String, Value>, Value) {
    let scratch = scratch_dir("facts");
    let playbook = scratch.join("facts.yaml");
    let text = format!(
        r#"
- hosts: {host}
  tasks:
    - name: dir
      file: {{path: {DIR}, state: directory, mode: "0700"}}
    - name: facts
      copy: {{dest: {DIR}/facts.json, content: "{{{{ ansible_facts | to_json }}}}"}}
    - name: magic
      copy:
        dest: {DIR}/magic.json
        content: "{{{{ {{'hostname': ansible_hostname, 'group_names': group_names, 'short': inventory_hostname_short, 'from_hostvars': hostvars[inventory_hostname].ansible_default_ipv4.address, 'legacy': facts, 'version': ansible_version.full}} | to_json }}}}"
"#,
        host = host()
    );
    std::fs::write(&playbook, text).unwrap();
    let output = Lab::get()
        .fleet("apply")
        .arg(&playbook)
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert_eq!(code(&output), 0, "{output:?}");
    let read = |name: &str| -> Value {
        serde_json::from_str(&on_host(&format!("cat {DIR}/{name}"))).unwrap()
    };
    let facts = read("facts.json").as_object().cloned().unwrap();
    let magic = read("magic.json");
    on_host(&format!("rm -rf {DIR}"));
    (facts, magic)
}

/// ansible-core's `setup` on the same host, keys without their prefix.
fn gathered_by_ansible(scratch: &Path) -> Option<Map<String, Value>> {
    let venv = Command::new(repo_root().join("tests/differential/ansible-venv"))
        .output()
        .ok()
        .filter(|output| output.status.success())?;
    let bin = String::from_utf8_lossy(&venv.stdout).trim().to_string();
    let lab = Lab::get();
    let config = scratch.join("ansible.cfg");
    std::fs::write(
        &config,
        format!(
            "[defaults]\nhost_key_checking = True\nremote_user = root\nprivate_key_file = {}\n\
             interpreter_python = /usr/bin/python3\n[ssh_connection]\npipelining = True\n\
             ssh_args = -F /dev/null -o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile={}\n",
            lab.key().display(),
            lab.known_hosts().display()
        ),
    )
    .unwrap();
    let inventory = scratch.join("inventory.yml");
    let address = lab.address(&host());
    std::fs::write(
        &inventory,
        format!(
            "all:\n  hosts:\n    {}:\n      ansible_host: {address}\n",
            host()
        ),
    )
    .unwrap();
    let output = Command::new(Path::new(&bin).join("ansible"))
        .arg("-i")
        .arg(&inventory)
        .args([&host(), "-m", "setup", "-o"])
        .env("ANSIBLE_CONFIG", &config)
        .env("ANSIBLE_NOCOLOR", "1")
        .env_remove("SSH_AUTH_SOCK")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    let json = &text[text.find('{')?..];
    let result: Value = serde_json::from_str(json.trim()).unwrap();
    let facts = result["ansible_facts"].as_object()?;
    Some(fleet_modules::modules::setup::namespaced(facts))
}

#[test]
fn facts_are_the_hosts_own() {
    let (facts, magic) = gathered_by_fleet();
    let release = on_host(". /etc/os-release; echo $VERSION_CODENAME $VERSION_ID");
    let (codename, version_id) = release.split_once(' ').unwrap();
    assert_eq!(facts["distribution"], "Debian");
    assert_eq!(facts["os_family"], "Debian");
    assert_eq!(facts["distribution_release"], codename);
    assert_eq!(facts["distribution_major_version"], version_id);
    assert_eq!(
        facts["distribution_version"],
        on_host("cat /etc/debian_version")
    );
    assert_eq!(facts["hostname"], on_host("hostname"));
    assert_eq!(facts["nodename"], on_host("uname -n"));
    assert_eq!(facts["architecture"], on_host("uname -m"));
    assert_eq!(facts["kernel"], on_host("uname -r"));
    assert_eq!(
        facts["processor_nproc"],
        json!(on_host("nproc").parse::<u64>().unwrap())
    );
    let kib: u64 = on_host("awk '/^MemTotal:/ {print $2}' /proc/meminfo")
        .parse()
        .unwrap();
    assert_eq!(facts["memtotal_mb"], json!(kib / 1024));
    assert_eq!(
        facts["default_ipv4"]["address"],
        Lab::get().address(&host())
    );
    assert_eq!(
        facts["all_ipv4_addresses"],
        json!([Lab::get().address(&host())])
    );
    assert_eq!(facts["user_id"], "root");
    assert_eq!(facts["user_uid"], 0);
    assert_eq!(facts["service_mgr"], "systemd");
    assert_eq!(facts["pkg_mgr"], "apt");
    let python = on_host("python3 -c 'import sys; print(\"%d.%d.%d\" % sys.version_info[:3])'");
    assert_eq!(facts["python_version"], python.as_str());
    assert_eq!(facts["python"]["executable"], "/usr/bin/python3");
    let epoch: i64 = facts["date_time"]["epoch"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let now: i64 = on_host("date +%s").parse().unwrap();
    assert!((now - epoch).abs() < 120, "{epoch} vs {now}");
    assert_eq!(facts["env"]["HOME"], "/root");
    assert_eq!(magic["hostname"], on_host("hostname"));
    assert_eq!(magic["short"], host());
    assert_eq!(magic["from_hostvars"], Lab::get().address(&host()));
    assert_eq!(magic["version"], "2.19.0");
    let groups = magic["group_names"].as_array().unwrap();
    assert!(!groups.iter().any(|group| group == "all"), "{groups:?}");
    assert_eq!(magic["legacy"]["os_id"], "debian");
    assert_eq!(magic["legacy"]["os_codename"], codename);
    assert_eq!(magic["legacy"]["cpus"], facts["processor_nproc"]);

    // Fact for fact what ansible-core's setup reports, but for what moves
    // between two gatherings (the clock, free memory, load) and what the
    // docs list as different.
    let Some(ansible) = gathered_by_ansible(&scratch_dir("facts-ansible")) else {
        panic!("ansible-core could not gather facts (tests/differential/ansible-venv)");
    };
    let moving = [
        "date_time",
        "uptime_seconds",
        "memfree_mb",
        "memory_mb",
        "loadavg",
        "env",
        "interfaces",
    ];
    let mut compared = 0;
    for (name, value) in &facts {
        if moving.contains(&name.as_str()) {
            continue;
        }
        assert_eq!(ansible.get(name), Some(value), "fact {name}");
        compared += 1;
    }
    assert!(compared > 80, "only {compared} facts compared");
    let sorted = |value: &Value| {
        let mut names: Vec<String> = value
            .as_array()
            .unwrap()
            .iter()
            .map(|name| name.as_str().unwrap().to_string())
            .collect();
        names.sort();
        names
    };
    assert_eq!(sorted(&facts["interfaces"]), sorted(&ansible["interfaces"]));
    for key in ["HOME", "PATH", "USER", "LOGNAME", "SHELL", "PWD"] {
        assert_eq!(facts["env"][key], ansible["env"][key], "env {key}");
    }
    assert_eq!(facts["date_time"]["tz"], ansible["date_time"]["tz"]);
    assert_eq!(
        facts["memory_mb"]["real"]["total"],
        ansible["memory_mb"]["real"]["total"]
    );
    // What ansible-core gathers and fleet does not: listed in the docs.
    let mut missing: Vec<&str> = ansible
        .keys()
        .filter(|name| !facts.contains_key(*name))
        .map(String::as_str)
        .collect();
    missing.sort_unstable();
    for name in &missing {
        assert!(
            ["devices", "device_links", "mounts"].contains(name)
                || name.starts_with("virtualization_"),
            "fleet does not gather {name}: {missing:?}"
        );
    }
}
