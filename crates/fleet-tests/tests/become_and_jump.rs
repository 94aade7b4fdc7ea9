//! sudo, ProxyJump and package installs on lab hosts.

use fleet_tests::{Lab, assert_exit, code, events, results_by_host, scratch_dir};

fn run_on(
    lab: &Lab,
    test: &str,
    yaml: &str,
    extra: &[&str],
    envs: &[(&str, &str)],
) -> std::process::Output {
    let scratch = scratch_dir(test);
    let inventory = lab.write_inventory(&scratch, yaml);
    let mut cmd = fleet_tests::fleet();
    cmd.args(["run", "-i"])
        .arg(&inventory)
        .arg("--known-hosts")
        .arg(lab.known_hosts())
        .args(["--format", "json"])
        .args(extra);
    for (key, value) in envs {
        cmd.env(key, value);
    }
    cmd.output().unwrap()
}

fn single_host(lab: &Lab, host: &str, vars: &str) -> String {
    format!(
        "all:\n  hosts:\n    {host}: {{address: {}, identity_file: {}, {vars}}}\n",
        lab.address(host),
        lab.key().display()
    )
}

fn stdout_of(output: &std::process::Output, host: &str) -> String {
    let results = results_by_host(&events(&output.stdout));
    results[host]["stdout"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[test]
fn become_runs_as_root_from_a_user_with_passwordless_sudo() {
    let lab = Lab::get();
    let yaml = single_host(lab, "lab4", "user: deploy");
    let plain = run_on(lab, "become_plain", &yaml, &["--", "id -un"], &[]);
    assert_eq!(code(&plain), 0);
    assert_eq!(stdout_of(&plain, "lab4"), "deploy\n");

    let became = run_on(
        lab,
        "become_nopasswd",
        &yaml,
        &["--become", "--", "id -un"],
        &[],
    );
    assert_exit(&became, 0);
    assert_eq!(stdout_of(&became, "lab4"), "root\n");
}

#[test]
fn become_with_a_password_from_the_environment_never_prints_it() {
    let lab = Lab::get();
    let yaml = single_host(lab, "lab4", "user: deploypw");
    let password = ("FLEET_BECOME_PASSWORD", "fleet-lab");
    let became = run_on(
        lab,
        "become_pw",
        &yaml,
        &["--become", "--", "id -un"],
        &[password],
    );
    assert_exit(&became, 0);
    assert_eq!(stdout_of(&became, "lab4"), "root\n");
    assert!(!String::from_utf8_lossy(&became.stdout).contains("fleet-lab"));
    assert!(!String::from_utf8_lossy(&became.stderr).contains("fleet-lab"));

    let wrong = ("FLEET_BECOME_PASSWORD", "not-the-password");
    let refused = run_on(
        lab,
        "become_wrong_pw",
        &yaml,
        &["--become", "--", "id -un"],
        &[wrong],
    );
    assert_eq!(code(&refused), 2);
    assert!(!String::from_utf8_lossy(&refused.stdout).contains("not-the-password"));
}

/// `$SSH_CONNECTION` on the target starts with the client's address: the
/// bastion's, when the connection came through it.
#[test]
fn proxyjump_from_the_inventory_reaches_a_host_through_another() {
    let lab = Lab::get();
    let bastion = lab.address("lab1");
    let yaml = single_host(
        lab,
        "lab2",
        &format!("user: root, jump: \"root@{bastion}:22\""),
    );
    let output = run_on(
        lab,
        "jump_inventory",
        &yaml,
        &[
            "--identity",
            lab.key().to_str().unwrap(),
            "--",
            "echo ${SSH_CONNECTION%% *}; hostname",
        ],
        &[],
    );
    assert_exit(&output, 0);
    assert_eq!(stdout_of(&output, "lab2"), format!("{bastion}\nlab2\n"));
}

#[test]
fn proxyjump_hostname_and_user_come_from_ssh_config() {
    let lab = Lab::get();
    let scratch = scratch_dir("jump_ssh_config");
    let bastion = lab.address("lab1");
    let config = scratch.join("ssh_config");
    std::fs::write(
        &config,
        format!(
            "Host behind-bastion\n  HostName {}\n  User root\n  ProxyJump root@{bastion}\n  IdentityFile {}\n",
            lab.address("lab3"),
            lab.key().display()
        ),
    )
    .unwrap();
    let inventory = lab.write_inventory(&scratch, "all:\n  hosts:\n    behind-bastion: {}\n");
    let output = std::process::Command::new(fleet_tests::fleet_bin())
        .env_remove("SSH_AUTH_SOCK")
        .env("HOME", &scratch)
        .arg("--ssh-config")
        .arg(&config)
        .args(["run", "-i"])
        .arg(&inventory)
        .arg("--known-hosts")
        .arg(lab.known_hosts())
        .args([
            "--format",
            "json",
            "--",
            "echo ${SSH_CONNECTION%% *}; hostname",
        ])
        .output()
        .unwrap();
    assert_exit(&output, 0);
    assert_eq!(
        stdout_of(&output, "behind-bastion"),
        format!("{bastion}\nlab3\n")
    );
}

#[test]
fn lab_hosts_install_debian_packages_through_the_lab_proxy() {
    let lab = Lab::get();
    let install = "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tree >/dev/null && tree --version";
    let output = lab
        .fleet("run")
        .args(["-l", "lab5", "--format", "json", "--", install])
        .output()
        .unwrap();
    assert_exit(&output, 0);
    assert!(stdout_of(&output, "lab5").starts_with("tree v"));
    let check = lab.ssh("lab5", "dpkg-query -W -f '${Status}' tree");
    assert_eq!(
        String::from_utf8_lossy(&check.stdout),
        "install ok installed"
    );
}

/// Ansible's become vars in an INI inventory: the host's
/// `ansible_become_user` wins over the task's `become_user`, and its
/// `ansible_become_password` reaches sudo on stdin and is never printed.
#[test]
fn ansible_become_vars_in_the_inventory_choose_the_user_and_the_password() {
    let lab = Lab::get();
    let scratch = scratch_dir("ansible_become_vars");
    let inventory = scratch.join("hosts.ini");
    std::fs::write(
        &inventory,
        format!(
            "[web]\nlab4 ansible_host={} ansible_user=deploypw ansible_ssh_private_key_file={} \
             ansible_become=true ansible_become_user=nobody ansible_become_password=fleet-lab\n",
            lab.address("lab4"),
            lab.key().display()
        ),
    )
    .unwrap();
    let playbook = scratch.join("who.yaml");
    std::fs::write(
        &playbook,
        "- hosts: web\n  tasks:\n    - name: who\n      command: id -un\n      become_user: root\n",
    )
    .unwrap();
    let output = lab
        .fleet_with("apply", &inventory)
        .arg(&playbook)
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert_exit(&output, 0);
    assert_eq!(stdout_of(&output, "lab4"), "nobody\n");
    for stream in [&output.stdout, &output.stderr] {
        assert!(!String::from_utf8_lossy(stream).contains("fleet-lab"));
    }

    std::fs::write(
        &inventory,
        std::fs::read_to_string(&inventory)
            .unwrap()
            .replace("password=fleet-lab", "password=not-the-password"),
    )
    .unwrap();
    let refused = lab
        .fleet_with("apply", &inventory)
        .arg(&playbook)
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert_eq!(code(&refused), 2);
    assert!(!String::from_utf8_lossy(&refused.stdout).contains("not-the-password"));
}
