//! Ansible Vault: `fleet vault` and ansible-vault (from the venv that
//! tests/differential/ansible-venv installs) read each other's files and
//! strings, 1.1 and 1.2 with a label; and a playbook over the local
//! connection reads vaulted vars and sources, writes the plaintext, and
//! prints none of it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

use fleet_tests::{assert_exit, fleet, repo_root, scratch_dir};

fn ansible_vault() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let script = repo_root().join("tests/differential/ansible-venv");
        let output = Command::new(&script).output().expect("ansible-venv runs");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        Path::new(String::from_utf8_lossy(&output.stdout).trim()).join("ansible-vault")
    })
}

fn run(mut command: Command, stdin: Option<&[u8]>) -> Output {
    command.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    });
    command.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = command.spawn().expect("spawn");
    if let Some(data) = stdin {
        use std::io::Write;
        child.stdin.take().unwrap().write_all(data).unwrap();
    }
    let output = child.wait_with_output().unwrap();
    assert_exit(&output, 0);
    output
}

fn passwords(dir: &Path) -> (PathBuf, PathBuf) {
    let (default, prod) = (dir.join("default.pw"), dir.join("prod.pw"));
    std::fs::write(&default, "first password\n").unwrap();
    std::fs::write(&prod, "prod password\n").unwrap();
    (default, prod)
}

#[test]
fn files_encrypted_by_either_tool_open_in_the_other() {
    let dir = scratch_dir("vault_files_interop");
    let (default, prod) = passwords(&dir);
    let plain = "user: app\npassword: \"p@ss word\"\n";
    let prod_id = format!("prod@{}", prod.display());
    let cases: [(&str, Vec<String>, &str); 2] = [
        (
            "1.1",
            vec![
                "--vault-password-file".into(),
                default.display().to_string(),
            ],
            "$ANSIBLE_VAULT;1.1;AES256\n",
        ),
        (
            "1.2",
            vec!["--vault-id".into(), prod_id.clone()],
            "$ANSIBLE_VAULT;1.2;AES256;prod\n",
        ),
    ];
    for (version, flags, header) in cases {
        let by_fleet = dir.join(format!("fleet-{version}.yml"));
        std::fs::write(&by_fleet, plain).unwrap();
        let mut encrypt = fleet();
        encrypt
            .args(["vault", "encrypt"])
            .args(&flags)
            .arg(&by_fleet);
        run(encrypt, None);
        assert!(
            std::fs::read_to_string(&by_fleet)
                .unwrap()
                .starts_with(header),
            "{version}"
        );
        let mut view = Command::new(ansible_vault());
        view.arg("view").args(&flags).arg(&by_fleet);
        assert_eq!(
            String::from_utf8(run(view, None).stdout).unwrap(),
            plain,
            "{version}"
        );

        let by_ansible = dir.join(format!("ansible-{version}.yml"));
        std::fs::write(&by_ansible, plain).unwrap();
        let mut encrypt = Command::new(ansible_vault());
        encrypt.arg("encrypt").args(&flags).arg(&by_ansible);
        run(encrypt, None);
        let mut decrypt = fleet();
        decrypt
            .args(["vault", "decrypt", "--output", "-"])
            .args(&flags)
            .arg(&by_ansible);
        assert_eq!(
            String::from_utf8(run(decrypt, None).stdout).unwrap(),
            plain,
            "{version}"
        );
    }
    // rekey by fleet, read by ansible-vault under the new id.
    let target = dir.join("fleet-1.1.yml");
    let mut rekey = fleet();
    rekey
        .args(["vault", "rekey", "--vault-password-file"])
        .arg(&default)
        .args(["--new-vault-id", &prod_id])
        .arg(&target);
    run(rekey, None);
    let mut view = Command::new(ansible_vault());
    view.args(["view", "--vault-id", &prod_id]).arg(&target);
    assert_eq!(String::from_utf8(run(view, None).stdout).unwrap(), plain);
}

#[test]
fn encrypt_string_blocks_are_read_by_either_tool() {
    let dir = scratch_dir("vault_strings_interop");
    let (_, prod) = passwords(&dir);
    let prod_id = format!("prod@{}", prod.display());
    let mut by_fleet = fleet();
    by_fleet.args([
        "vault",
        "encrypt_string",
        "--vault-id",
        &prod_id,
        "--name",
        "token",
        "t0ken-value",
    ]);
    let block = String::from_utf8(run(by_fleet, None).stdout).unwrap();
    assert!(
        block.starts_with("token: !vault |\n          $ANSIBLE_VAULT;1.2;AES256;prod\n"),
        "{block}"
    );
    let mut by_ansible = Command::new(ansible_vault());
    by_ansible.args([
        "encrypt_string",
        "--vault-id",
        &prod_id,
        "--stdin-name",
        "other",
    ]);
    let other = String::from_utf8(run(by_ansible, Some(b"0ther-value")).stdout).unwrap();
    let vars = dir.join("vars.yml");
    std::fs::write(&vars, format!("{block}{other}")).unwrap();
    // ansible-playbook reads fleet's block (and its own) from a vars file;
    // debug runs on the controller, no Python module is sent anywhere.
    let playbook = dir.join("show.yml");
    std::fs::write(
        &playbook,
        "- hosts: localhost\n  gather_facts: false\n  vars_files: [vars.yml]\n  tasks:\n    - debug: {msg: \"seen {{ token }}/{{ other }}\"}\n",
    )
    .unwrap();
    let mut play = Command::new(ansible_vault().with_file_name("ansible-playbook"));
    play.args(["-i", "localhost,", "-c", "local", "--vault-id", &prod_id])
        .arg(&playbook);
    let shown = String::from_utf8(run(play, None).stdout).unwrap();
    assert!(shown.contains("seen t0ken-value/0ther-value"), "{shown}");
}

#[test]
fn a_local_playbook_writes_vaulted_values_and_prints_none() {
    let dir = scratch_dir("vault_local_playbook");
    let (default, prod) = passwords(&dir);
    let prod_id = format!("prod@{}", prod.display());
    let secrets = dir.join("secrets.yml");
    std::fs::write(&secrets, "db_password: v4ulted-file-value\n").unwrap();
    let mut encrypt = fleet();
    encrypt
        .args(["vault", "encrypt", "--vault-password-file"])
        .arg(&default)
        .arg(&secrets);
    run(encrypt, None);
    let mut string = fleet();
    string.args([
        "vault",
        "encrypt_string",
        "--vault-id",
        &prod_id,
        "--name",
        "api_token",
        "inl1ne-token-value",
    ]);
    let inline = String::from_utf8(run(string, None).stdout).unwrap();
    let source = dir.join("key.txt");
    std::fs::write(&source, "c0py-source-secret\n").unwrap();
    let mut encrypt = fleet();
    encrypt
        .args(["vault", "encrypt", "--vault-password-file"])
        .arg(&default)
        .arg(&source);
    run(encrypt, None);
    let indented: String = inline.lines().map(|line| format!("    {line}\n")).collect();
    std::fs::write(
        dir.join("site.yml"),
        format!(
            "- hosts: all\n  gather_facts: false\n  vars_files: [secrets.yml]\n  vars:\n{indented}  tasks:\n    - copy: {{content: \"{{{{ db_password }}}} {{{{ api_token }}}}\\n\", dest: \"{out}/vars.out\"}}\n    - copy: {{src: key.txt, dest: \"{out}/key.out\"}}\n    - command: {{cmd: \"cat {out}/vars.out\"}}\n",
            out = dir.display()
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("inventory.yaml"),
        "all:\n  hosts:\n    controller: {connection: local}\n",
    )
    .unwrap();
    for format in ["human", "json"] {
        let mut apply = fleet();
        apply
            .current_dir(&dir)
            .args([
                "apply",
                "-i",
                "inventory.yaml",
                "site.yml",
                "-D",
                "-v",
                "--format",
                format,
            ])
            .args(["--vault-password-file"])
            .arg(&default)
            .args(["--vault-id", &prod_id]);
        let output = run(apply, None);
        let shown = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        for secret in [
            "v4ulted-file-value",
            "inl1ne-token-value",
            "c0py-source-secret",
        ] {
            assert!(
                !shown.contains(secret),
                "{format} output shows {secret}:\n{shown}"
            );
        }
        assert!(
            shown.contains("********"),
            "{format}: nothing masked:\n{shown}"
        );
    }
    assert_eq!(
        std::fs::read_to_string(dir.join("vars.out")).unwrap(),
        "v4ulted-file-value inl1ne-token-value\n"
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("key.out")).unwrap(),
        "c0py-source-secret\n"
    );
}

#[test]
fn a_wrong_or_missing_password_is_exit_4_naming_the_file_and_the_id() {
    let dir = scratch_dir("vault_wrong_password");
    let (default, prod) = passwords(&dir);
    let secrets = dir.join("secrets.yml");
    std::fs::write(&secrets, "x: 1\n").unwrap();
    let mut encrypt = fleet();
    encrypt
        .args(["vault", "encrypt", "--vault-id"])
        .arg(format!("prod@{}", prod.display()))
        .arg(&secrets);
    run(encrypt, None);
    std::fs::write(
        dir.join("site.yml"),
        "- hosts: all\n  gather_facts: false\n  vars_files: [secrets.yml]\n  tasks:\n    - command: \"true\"\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("inventory.yaml"),
        "all:\n  hosts:\n    controller: {connection: local}\n",
    )
    .unwrap();
    let attempt = |flags: &[&str]| {
        fleet()
            .current_dir(&dir)
            .args(["apply", "-i", "inventory.yaml", "site.yml"])
            .args(flags)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    let wrong = attempt(&["--vault-password-file", default.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&wrong.stderr);
    assert_eq!(fleet_tests::code(&wrong), 4, "{stderr}");
    assert!(wrong.stdout.is_empty(), "something ran");
    assert!(
        stderr.starts_with("error: secrets.yml:1:1: cannot decrypt this vault-encrypted file: ")
            && stderr.contains("vault id `prod`")
            && stderr.contains("[default]"),
        "{stderr}"
    );
    let asked = attempt(&["--ask-vault-pass"]);
    let stderr = String::from_utf8_lossy(&asked.stderr);
    assert_eq!(fleet_tests::code(&asked), 4, "{stderr}");
    assert!(stderr.contains("not a terminal"), "{stderr}");
}
