//! A playbook with a vaulted vars file and an inline `!vault` value, used in
//! a template and in a `command` task's stdin, on a lab host: the host gets
//! the plaintext, and no decrypted byte shows in the human output, the
//! NDJSON, or `ps` on the host while the task runs.

use std::process::Stdio;
use std::time::{Duration, Instant};

use fleet_tests::{Lab, assert_exit, code, scratch_dir};

/// The host this test runs on (`FLEET_VAULT_HOST` to move it).
fn host() -> String {
    std::env::var("FLEET_VAULT_HOST").unwrap_or_else(|_| "lab22".into())
}

const DIR: &str = "/srv/fleet-test-vault";
const FILE_SECRET: &str = "f1le-secret-Zq7";
const INLINE_SECRET: &str = "inl1ne-secret-Xw3";

fn on_host(command: &str) -> String {
    let output = Lab::get().ssh(&host(), command);
    assert!(output.status.success(), "{command}: {output:?}");
    String::from_utf8_lossy(&output.stdout).to_string()
}

fn encrypt(args: &[&str], stdin: &str) -> String {
    let mut child = fleet_tests::fleet()
        .args(["vault"])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert_exit(&output, 0);
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn vaulted_values_reach_the_host_and_nothing_else() {
    let scratch = scratch_dir("vault_lab");
    let password = scratch.join("vault.pw");
    std::fs::write(&password, "lab vault password\n").unwrap();
    let pw = password.display().to_string();
    let secrets = encrypt(
        &["encrypt", "--vault-password-file", &pw],
        &format!("file_secret: {FILE_SECRET}\n"),
    );
    std::fs::write(scratch.join("secrets.yml"), secrets).unwrap();
    let inline = encrypt(
        &[
            "encrypt_string",
            "--vault-password-file",
            &pw,
            "--name",
            "inline_secret",
            INLINE_SECRET,
        ],
        "",
    );
    let inline: String = inline.lines().map(|line| format!("    {line}\n")).collect();
    std::fs::create_dir_all(scratch.join("templates")).unwrap();
    std::fs::write(
        scratch.join("templates/app.conf.j2"),
        "password={{ file_secret }}\ntoken={{ inline_secret }}\n",
    )
    .unwrap();
    let playbook = scratch.join("site.yml");
    std::fs::write(
        &playbook,
        format!(
            "- hosts: {host}\n  gather_facts: false\n  vars_files: [secrets.yml]\n  vars:\n{inline}  tasks:\n\
             \x20   - file: {{path: {DIR}, state: directory, mode: \"0700\"}}\n\
             \x20   - template: {{src: app.conf.j2, dest: {DIR}/app.conf, mode: \"0600\"}}\n\
             \x20   - command:\n        cmd: sh -c 'sleep 4; cat > {DIR}/stdin.out'\n        stdin: \"{{{{ inline_secret }}}}\"\n",
            host = host()
        ),
    )
    .unwrap();

    let mut apply = Lab::get().fleet("apply");
    apply
        .arg(&playbook)
        .args(["--format", "json", "-D", "--vault-password-file", &pw]);
    let child = apply
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // While the command task sleeps, read every process's arguments.
    let started = Instant::now();
    let mut seen = Vec::new();
    while started.elapsed() < Duration::from_secs(20)
        && !seen.iter().any(|ps: &String| ps.contains("sleep 4"))
    {
        seen.push(on_host("ps -eo args"));
        std::thread::sleep(Duration::from_millis(300));
    }
    let output = child.wait_with_output().unwrap();
    assert_eq!(code(&output), 0, "{output:?}");
    assert!(
        seen.iter().any(|ps| ps.contains("sleep 4")),
        "ps never saw the task running"
    );
    let ndjson = String::from_utf8_lossy(&output.stdout).to_string()
        + &String::from_utf8_lossy(&output.stderr);
    for secret in [FILE_SECRET, INLINE_SECRET] {
        assert!(
            !ndjson.contains(secret),
            "the NDJSON shows {secret}:\n{ndjson}"
        );
        for ps in &seen {
            assert!(!ps.contains(secret), "ps on the host shows {secret}:\n{ps}");
        }
    }
    assert_eq!(
        on_host(&format!("cat {DIR}/app.conf")),
        format!("password={FILE_SECRET}\ntoken={INLINE_SECRET}\n")
    );
    assert_eq!(
        on_host(&format!("cat {DIR}/stdin.out")),
        format!("{INLINE_SECRET}\n")
    );

    // The human output of a second run, with diffs and -v, shows none either.
    on_host(&format!("rm -f {DIR}/app.conf"));
    let human = Lab::get()
        .fleet("apply")
        .arg(&playbook)
        .args(["-D", "-v", "--vault-password-file", &pw])
        .output()
        .unwrap();
    assert_eq!(code(&human), 0, "{human:?}");
    let shown = String::from_utf8_lossy(&human.stdout).to_string()
        + &String::from_utf8_lossy(&human.stderr);
    for secret in [FILE_SECRET, INLINE_SECRET] {
        assert!(
            !shown.contains(secret),
            "the human output shows {secret}:\n{shown}"
        );
    }
    on_host(&format!("rm -rf {DIR}"));
}
