//! `fleet run` against real lab hosts over real SSH.

use std::time::{Duration, Instant};

use fleet_tests::{Lab, assert_exit, code, events, results_by_host, scratch_dir};

fn stdout_of(result: &serde_json::Value) -> &str {
    result["stdout"].as_str().unwrap_or_default()
}

#[test]
fn every_host_answers_with_its_own_hostname() {
    let lab = Lab::get();
    let names = lab.host_names();
    assert!(
        names.len() >= 5,
        "the lab needs at least 5 hosts, has {}",
        names.len()
    );
    let output = lab
        .fleet("run")
        .args(["--format", "json", "--", "hostname"])
        .output()
        .unwrap();
    assert_exit(&output, 0);

    let events = events(&output.stdout);
    let results = results_by_host(&events);
    assert_eq!(
        results.keys().cloned().collect::<Vec<_>>().len(),
        names.len()
    );
    for name in &names {
        let result = &results[name];
        assert_eq!(stdout_of(result), format!("{name}\n"));
        assert_eq!(result["status"], "ok");
        assert_eq!(result["rc"], 0);
        for key in ["task", "stderr", "diff", "duration_ms"] {
            assert!(result.get(key).is_some(), "task_result lacks {key}");
        }
    }
    let done = events.last().unwrap();
    assert_eq!(done["event"], "run_done");
    assert_eq!(done["counts"]["ok"], names.len());
    assert_eq!(done["counts"]["failed"], 0);
}

#[test]
fn human_output_prefixes_each_line_and_ends_with_a_recap() {
    let lab = Lab::get();
    let output = lab
        .fleet("run")
        .args(["-l", "lab1:lab2", "--", "echo one; echo two >&2; exit 3"])
        .output()
        .unwrap();
    assert_eq!(code(&output), 2, "a non-zero command exit is a failed task");
    let text = String::from_utf8(output.stdout).unwrap();
    for host in ["lab1", "lab2"] {
        assert!(text.contains(&format!("{host} | one\n")), "{text}");
        assert!(text.contains(&format!("{host} ! two\n")), "{text}");
    }
    let recap = text.split("RECAP\n").nth(1).expect("a recap");
    let lines: Vec<&str> = recap.lines().collect();
    assert!(
        lines[0].starts_with("lab1 ") && lines[0].contains("failed") && lines[0].contains("rc=3")
    );
    assert!(lines[1].starts_with("lab2 ") && lines[1].contains("rc=3"));
    assert!(lines[2].starts_with("2 hosts: 2 failed"), "{recap}");
    assert!(!text.contains('\x1b'), "no colour off a terminal");
}

#[test]
fn a_down_host_is_unreachable_within_the_timeout_and_the_others_succeed() {
    let lab = Lab::get();
    let scratch = scratch_dir("down_host");
    let yaml = format!(
        "all:\n  vars: {{user: root, identity_file: {key}}}\n  hosts:\n    lab1: {{address: {a1}}}\n    lab2: {{address: {a2}}}\n    ghost: {{address: 10.77.0.250}}\n",
        key = lab.key().display(),
        a1 = lab.address("lab1"),
        a2 = lab.address("lab2"),
    );
    let inventory = lab.write_inventory(&scratch, &yaml);
    let output = fleet_tests::fleet()
        .args(["run", "-i"])
        .arg(&inventory)
        .arg("--known-hosts")
        .arg(lab.known_hosts())
        .args(["--connect-timeout", "3", "--format", "json", "--", "true"])
        .output()
        .unwrap();
    assert_exit(&output, 3);
    let results = results_by_host(&events(&output.stdout));
    assert_eq!(results["ghost"]["status"], "unreachable");
    // It gave up when the timeout said (fleet's own clock, not this test's:
    // a loaded machine does not move it).
    assert_eq!(
        results["ghost"]["msg"],
        "ghost (10.77.0.250): connection timed out after 3s (TCP connect, handshake and auth)"
    );
    assert_eq!(results["lab1"]["status"], "ok");
    assert_eq!(results["lab2"]["status"], "ok");
}

#[test]
fn a_changed_host_key_is_refused_and_nothing_runs_on_that_host() {
    let lab = Lab::get();
    let scratch = scratch_dir("tampered");
    let victim = lab.address("lab2");
    let original = std::fs::read_to_string(lab.known_hosts()).unwrap();
    let other_key = scratch.join("other");
    fleet_tests::keygen(&other_key, "");
    let other_pub = std::fs::read_to_string(other_key.with_extension("pub")).unwrap();
    let mut victim_line = 0;
    let tampered: String = original
        .lines()
        .enumerate()
        .map(|(index, line)| {
            if line.split_whitespace().next() == Some(victim.as_str()) {
                victim_line = index + 1;
                let key: Vec<&str> = other_pub.split_whitespace().take(2).collect();
                format!("{victim} {}\n", key.join(" "))
            } else {
                format!("{line}\n")
            }
        })
        .collect();
    assert!(victim_line > 0, "lab2 is in known_hosts");
    let known_hosts = scratch.join("known_hosts");
    std::fs::write(&known_hosts, tampered).unwrap();

    let marker = "/root/fleet-tamper-marker";
    lab.ssh("lab1", &format!("rm -f {marker}"));
    lab.ssh("lab2", &format!("rm -f {marker}"));
    let output = fleet_tests::fleet()
        .args(["run", "-i"])
        .arg(&lab.inventory_path)
        .arg("--known-hosts")
        .arg(&known_hosts)
        .args(["--accept-new", "-l", "lab1:lab2", "--format", "json", "--"])
        .arg(format!("touch {marker}"))
        .output()
        .unwrap();
    assert_eq!(code(&output), 2);
    let results = results_by_host(&events(&output.stdout));
    assert_eq!(results["lab1"]["status"], "ok");
    assert_eq!(results["lab2"]["status"], "failed");
    let msg = results["lab2"]["msg"].as_str().unwrap();
    let location = format!("{}:{victim_line}", known_hosts.display());
    assert!(
        msg.contains(&location),
        "message names the file and line: {msg}"
    );
    assert!(
        lab.ssh("lab1", &format!("test -e {marker}"))
            .status
            .success()
    );
    assert!(
        !lab.ssh("lab2", &format!("test -e {marker}"))
            .status
            .success(),
        "ran on lab2"
    );
    lab.ssh("lab1", &format!("rm -f {marker}"));
}

#[test]
fn an_unknown_host_is_refused_unless_accept_new_which_records_it() {
    let lab = Lab::get();
    let scratch = scratch_dir("accept_new");
    let known_hosts = scratch.join("known_hosts");
    std::fs::write(&known_hosts, "").unwrap();
    let run = |accept_new: bool| {
        let mut cmd = fleet_tests::fleet();
        cmd.args(["run", "-i"])
            .arg(&lab.inventory_path)
            .arg("--known-hosts")
            .arg(&known_hosts)
            .args(["-l", "lab3", "--format", "json"]);
        if accept_new {
            cmd.arg("--accept-new");
        }
        cmd.args(["--", "true"]).output().unwrap()
    };
    let refused = run(false);
    assert_eq!(code(&refused), 2);
    let msg = results_by_host(&events(&refused.stdout))["lab3"]["msg"].to_string();
    assert!(
        msg.contains("--accept-new"),
        "hint names --accept-new: {msg}"
    );

    assert_eq!(code(&run(true)), 0);
    let recorded = std::fs::read_to_string(&known_hosts).unwrap();
    assert!(
        recorded.starts_with(&format!("{} ssh-ed25519 ", lab.address("lab3"))),
        "{recorded}"
    );
    assert_eq!(code(&run(false)), 0, "the recorded key is now trusted");
}

#[test]
fn a_wrong_key_fails_with_a_clear_auth_error() {
    let lab = Lab::get();
    let scratch = scratch_dir("wrong_key");
    let key = scratch.join("id_wrong");
    fleet_tests::keygen(&key, "");
    let yaml = format!(
        "all:\n  hosts:\n    lab1: {{address: {}, user: root, identity_file: {}}}\n",
        lab.address("lab1"),
        key.display()
    );
    let inventory = lab.write_inventory(&scratch, &yaml);
    let output = fleet_tests::fleet()
        .env("HOME", &scratch)
        .args(["run", "-i"])
        .arg(&inventory)
        .arg("--known-hosts")
        .arg(lab.known_hosts())
        .args(["--", "true"])
        .output()
        .unwrap();
    assert_eq!(code(&output), 2);
    let text = String::from_utf8_lossy(&output.stdout).to_lowercase();
    assert!(text.contains("authentication failed"), "{text}");
    assert!(text.contains("root@"), "names the user: {text}");
    assert!(text.contains("id_wrong"), "names the key tried: {text}");
}

#[test]
fn interrupt_stops_the_run_with_exit_130() {
    let lab = Lab::get();
    let child = lab
        .fleet("run")
        .args(["--format", "json", "--", "sleep 30"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(2));
    let started = Instant::now();
    let sent = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let output = child.wait_with_output().unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(code(&output), 130);
    let events = events(&output.stdout);
    let done = events.last().unwrap();
    assert_eq!(done["event"], "run_done");
    assert_eq!(done["interrupted"], true);
}

/// Generates a key pair in `dir` and authorizes it for root on `host`.
fn authorized_key(
    lab: &Lab,
    host: &str,
    dir: &std::path::Path,
    passphrase: &str,
) -> std::path::PathBuf {
    let key = dir.join("id_extra");
    fleet_tests::keygen(&key, passphrase);
    let public = std::fs::read_to_string(key.with_extension("pub")).unwrap();
    let added = lab.ssh(
        host,
        &format!("echo '{}' >> /root/.ssh/authorized_keys", public.trim()),
    );
    assert!(added.status.success());
    key
}

fn single_host_inventory(
    lab: &Lab,
    dir: &std::path::Path,
    host: &str,
    key: Option<&std::path::Path>,
) -> std::path::PathBuf {
    let identity = key
        .map(|k| format!(", identity_file: {}", k.display()))
        .unwrap_or_default();
    let yaml = format!(
        "all:\n  hosts:\n    {host}: {{address: {}, user: root{identity}}}\n",
        lab.address(host)
    );
    lab.write_inventory(dir, &yaml)
}

#[test]
fn an_encrypted_key_is_unlocked_with_the_passphrase_from_the_environment() {
    let lab = Lab::get();
    let scratch = scratch_dir("encrypted_key");
    let key = authorized_key(lab, "lab6", &scratch, "correct horse");
    let inventory = single_host_inventory(lab, &scratch, "lab6", Some(&key));
    let run = |passphrase: &str| {
        fleet_tests::fleet()
            .env("HOME", &scratch)
            .env("FLEET_KEY_PASSPHRASE", passphrase)
            .args(["run", "-i"])
            .arg(&inventory)
            .arg("--known-hosts")
            .arg(lab.known_hosts())
            .args(["--format", "json", "--", "hostname"])
            .output()
            .unwrap()
    };
    let unlocked = run("correct horse");
    assert_exit(&unlocked, 0);
    assert_eq!(
        stdout_of(&results_by_host(&events(&unlocked.stdout))["lab6"]),
        "lab6\n"
    );

    let wrong = run("battery staple");
    assert_eq!(code(&wrong), 2);
    let msg = results_by_host(&events(&wrong.stdout))["lab6"]["msg"].to_string();
    assert!(msg.contains("id_extra"), "names the key: {msg}");
    assert!(!msg.contains("battery staple") && !msg.contains("correct horse"));
}

#[test]
fn keys_held_by_ssh_agent_are_tried_first() {
    let lab = Lab::get();
    let scratch = scratch_dir("agent");
    let key = authorized_key(lab, "lab6", &scratch, "");
    // A socket's path must stay under 108 bytes: not in a deep checkout.
    let socket = std::env::temp_dir().join(format!("fleet-agent-{}.sock", std::process::id()));
    let _ = std::fs::remove_file(&socket);
    let agent = std::process::Command::new("ssh-agent")
        .arg("-D")
        .arg("-a")
        .arg(&socket)
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut agent = KillOnDrop(agent);
    for _ in 0..50 {
        if socket.exists() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let added = std::process::Command::new("ssh-add")
        .env("SSH_AUTH_SOCK", &socket)
        .arg(&key)
        .output()
        .unwrap();
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );
    std::fs::remove_file(&key).unwrap();

    let inventory = single_host_inventory(lab, &scratch, "lab6", None);
    let output = fleet_tests::fleet()
        .env("HOME", &scratch)
        .env("SSH_AUTH_SOCK", &socket)
        .args(["run", "-i"])
        .arg(&inventory)
        .arg("--known-hosts")
        .arg(lab.known_hosts())
        .args(["--format", "json", "--", "hostname"])
        .output()
        .unwrap();
    assert_exit(&output, 0);
    assert_eq!(
        stdout_of(&results_by_host(&events(&output.stdout))["lab6"]),
        "lab6\n"
    );
    let _ = agent.0.kill();
    let _ = std::fs::remove_file(&socket);
}

struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
