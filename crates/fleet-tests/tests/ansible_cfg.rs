//! ansible.cfg in the working folder, read as ansible-core reads it: on the
//! controller (a local host) and on the CI lab host (`FLEET_CFG_HOST`).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use fleet_tests::{Lab, assert_exit, events, fleet_bin, results_by_host, scratch_dir};

/// The lab host these tests use (`FLEET_CFG_HOST` to move them).
fn host() -> String {
    std::env::var("FLEET_CFG_HOST").unwrap_or_else(|_| "lab23".into())
}

/// fleet with no flag at all beyond `args`, in `dir`, with `HOME` there
/// (so no ssh_config, known_hosts or ansible.cfg of the user counts).
fn fleet_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(fleet_bin())
        .current_dir(dir)
        .env("HOME", dir)
        .env("NO_COLOR", "1")
        .env_remove("SSH_AUTH_SOCK")
        .env_remove("ANSIBLE_CONFIG")
        .env_remove("FLEET_BECOME_PASSWORD")
        .args(args)
        .output()
        .unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn local_site(test: &str, cfg: &str) -> PathBuf {
    let dir = scratch_dir(test);
    std::fs::write(dir.join("ansible.cfg"), cfg).unwrap();
    std::fs::create_dir_all(dir.join("inv")).unwrap();
    std::fs::write(
        dir.join("inv/hosts.yaml"),
        "all:\n  hosts:\n    here: {connection: local}\n",
    )
    .unwrap();
    let playbook = format!(
        "- hosts: all\n  tasks:\n    - name: note\n      copy: {{dest: {}, content: \"from cfg\\n\"}}\n",
        dir.join("note").display()
    );
    std::fs::write(dir.join("site.yaml"), playbook).unwrap();
    dir
}

const LOCAL_CFG: &str = "\
# fleet reads the keys it knows and lists the others with -v
[defaults]
inventory = inv/hosts.yaml  ; relative to this file
stdout_callback = yaml
retry_files_enabled = False
forks = 3

[ssh_connection]
pipelining = True
ssh_args = -C -o ControlMaster=auto -o ControlPersist=60s

[colors]
changed = yellow
";

#[test]
fn the_inventory_comes_from_ansible_cfg_and_other_keys_are_listed_once_with_v() {
    let dir = local_site("cfg_local_inventory", LOCAL_CFG);
    let output = fleet_in(&dir, &["apply", "site.yaml", "-v"]);
    assert_exit(&output, 0);
    assert_eq!(
        std::fs::read_to_string(dir.join("note")).unwrap(),
        "from cfg\n"
    );
    let text = stderr(&output);
    let lines: Vec<&str> = text
        .lines()
        .filter(|line| line.contains("ignored keys"))
        .collect();
    assert_eq!(lines.len(), 1, "{text}");
    insta::assert_snapshot!("ignored_keys_line", lines[0]);
    // Without -v the line is not printed.
    let quiet = fleet_in(&dir, &["apply", "site.yaml", "--format", "json"]);
    assert_exit(&quiet, 0);
    assert!(
        !stderr(&quiet).contains("ignored keys"),
        "{}",
        stderr(&quiet)
    );
}

#[test]
fn host_key_checking_false_is_said_in_both_formats() {
    let cfg = "[defaults]\ninventory = inv/hosts.yaml\nhost_key_checking = False\n";
    let dir = local_site("cfg_local_host_keys", cfg);
    for format in ["human", "json"] {
        let output = fleet_in(&dir, &["run", "--format", format, "--", "true"]);
        assert_exit(&output, 0);
        insta::assert_snapshot!(format!("host_key_checking_off_{format}"), stderr(&output));
    }
    // `-i` wins over the file's inventory, as in Ansible.
    std::fs::write(
        dir.join("other.yaml"),
        "all:\n  hosts:\n    there: {connection: local}\n",
    )
    .unwrap();
    let output = fleet_in(&dir, &["inventory", "-i", "other.yaml"]);
    assert_exit(&output, 0);
    assert!(String::from_utf8_lossy(&output.stdout).starts_with("there "));
}

#[test]
fn a_malformed_cfg_stops_before_anything_runs() {
    let dir = local_site(
        "cfg_local_malformed",
        "[defaults]\ninventory = inv/hosts.yaml\nforks\n",
    );
    let output = fleet_in(&dir, &["apply", "site.yaml"]);
    assert_eq!(output.status.code(), Some(4));
    assert!(
        stderr(&output)
            .starts_with("error: ansible.cfg:3:1: `forks` is not a `key = value` line\n  hint: "),
        "{}",
        stderr(&output)
    );
    assert!(!dir.join("note").exists());
}

#[test]
fn a_cfg_in_a_world_writable_folder_is_passed_over_with_a_warning() {
    use std::os::unix::fs::PermissionsExt;
    let dir = local_site("cfg_local_world_writable", LOCAL_CFG);
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    let output = fleet_in(&dir, &["inventory"]);
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    assert_eq!(output.status.code(), Some(4));
    let text = stderr(&output);
    assert!(
        text.starts_with("warning: ")
            && text.contains("ansible.cfg is not read: its folder is world-writable"),
        "{text}"
    );
    assert!(
        text.contains("error: no inventory: pass `-i FILE`"),
        "{text}"
    );
}

/// A scratch folder holding the lab's known_hosts as `~/.ssh/known_hosts`
/// and its key as `keys/lab`, for runs with no flags.
fn lab_site(test: &str, inventory: &str, cfg: &str, playbook: &str) -> PathBuf {
    let lab = Lab::get();
    let dir = scratch_dir(test);
    std::fs::create_dir_all(dir.join(".ssh")).unwrap();
    std::fs::copy(lab.known_hosts(), dir.join(".ssh/known_hosts")).unwrap();
    std::fs::create_dir_all(dir.join("keys")).unwrap();
    std::fs::copy(lab.key(), dir.join("keys/lab")).unwrap();
    std::fs::write(dir.join("hosts.yaml"), inventory).unwrap();
    std::fs::write(dir.join("ansible.cfg"), cfg).unwrap();
    std::fs::write(dir.join("site.yaml"), playbook).unwrap();
    dir
}

const DIR: &str = "/srv/fleet-test-cfg";

#[test]
fn inventory_user_key_and_become_come_from_ansible_cfg_with_no_flags() {
    let lab = Lab::get();
    let host = host();
    let inventory = format!(
        "all:\n  hosts:\n    {host}: {{address: {}}}\n",
        lab.address(&host)
    );
    let cfg = "\
[defaults]
inventory = hosts.yaml
remote_user = deploy
private_key_file = keys/lab

[privilege_escalation]
become = True
";
    let playbook = format!(
        "- hosts: all
  tasks:
    - name: as whom
      command: id -un
      register: became
      changed_when: false
    - name: as the remote user
      command: id -un
      become: false
      register: plain
      changed_when: false
    - name: the folder
      file: {{path: {DIR}, state: directory, mode: \"0755\"}}
    - name: the record
      copy:
        dest: {DIR}/record
        content: \"became={{{{ became.stdout }}}} plain={{{{ plain.stdout }}}}\\n\"
        mode: \"0600\"
"
    );
    let dir = lab_site("cfg_lab_no_flags", &inventory, cfg, &playbook);
    let _ = lab.ssh(&host, &format!("rm -rf {DIR}"));
    let output = fleet_in(&dir, &["apply", "site.yaml", "--format", "json"]);
    assert_exit(&output, 0);
    let check = lab.ssh(
        &host,
        &format!("stat -c '%U %a' {DIR}/record && cat {DIR}/record"),
    );
    assert_eq!(
        String::from_utf8_lossy(&check.stdout),
        "root 600\nbecame=root plain=deploy\n"
    );
    let _ = lab.ssh(&host, &format!("rm -rf {DIR}"));
}

#[test]
fn a_proxy_jump_in_ssh_args_is_used() {
    let lab = Lab::get();
    let host = host();
    let address = lab.address(&host);
    // Jump through the host itself: it then sees its own address as the
    // client of the second connection.
    let inventory = format!("all:\n  hosts:\n    {host}: {{address: {address}}}\n");
    let cfg = format!(
        "[defaults]\ninventory = hosts.yaml\nremote_user = root\nprivate_key_file = keys/lab\n\n\
         [ssh_connection]\nssh_args = -C -o ControlMaster=auto -o ProxyJump=root@{address}:22\n"
    );
    let dir = lab_site("cfg_lab_jump", &inventory, &cfg, "");
    let output = fleet_in(
        &dir,
        &[
            "run",
            "--format",
            "json",
            "--",
            "echo ${SSH_CONNECTION%% *}",
        ],
    );
    assert_exit(&output, 0);
    let results = results_by_host(&events(&output.stdout));
    assert_eq!(results[&host]["stdout"], format!("{address}\n"));
    // Without the jump the client is the controller.
    std::fs::write(
        dir.join("ansible.cfg"),
        "[defaults]\ninventory = hosts.yaml\nremote_user = root\nprivate_key_file = keys/lab\n",
    )
    .unwrap();
    let direct = fleet_in(
        &dir,
        &[
            "run",
            "--format",
            "json",
            "--",
            "echo ${SSH_CONNECTION%% *}",
        ],
    );
    assert_exit(&direct, 0);
    let results = results_by_host(&events(&direct.stdout));
    assert_ne!(results[&host]["stdout"], format!("{address}\n"));
}
