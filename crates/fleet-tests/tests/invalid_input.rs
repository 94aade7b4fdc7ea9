//! Bad input is rejected before any host is contacted: exit 4, with
//! `file:line:col` and a hint.

use fleet_tests::{assert_rejected, code, corpus, fleet, repo_root};

#[test]
fn each_malformed_inventory_is_rejected_with_its_own_location() {
    let files = corpus("tests/inventories/bad");
    assert!(files.len() >= 10, "the corpus has {} cases", files.len());
    let mut locations = std::collections::BTreeSet::new();
    for file in files {
        let relative = file.strip_prefix(repo_root()).unwrap().to_path_buf();
        let expected = std::fs::read_to_string(file.with_extension("expect")).unwrap();
        let output = fleet()
            .current_dir(repo_root())
            .args(["run", "-i"])
            .arg(&relative)
            .args([
                "--known-hosts",
                "/dev/null",
                "--",
                "touch /tmp/must-not-run",
            ])
            .output()
            .unwrap();
        assert_rejected(&output, &expected, &relative.display().to_string());
        let location: String = expected.split(": ").next().unwrap().to_string();
        assert!(
            locations.insert(location.clone()),
            "duplicate location {location}"
        );
    }
}

#[test]
fn bad_patterns_are_rejected_with_their_column() {
    let cases = [
        ("web::db", "-l:1:5"),
        ("web:&", "-l:1:5"),
        ("nosuchhost", "-l:1:1"),
        ("web[", "-l:1:4"),
    ];
    for (pattern, location) in cases {
        let output = fleet()
            .current_dir(repo_root())
            .args(["inventory", "-i", "inventories/example.yaml", "-l", pattern])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(code(&output), 4, "{pattern}: {stderr}");
        assert!(
            stderr.starts_with(&format!("error: {location}: ")),
            "{pattern}: {stderr}"
        );
        assert!(stderr.contains("hint: "), "{pattern}: {stderr}");
    }
}

#[test]
fn usage_errors_exit_4() {
    let output = fleet().args(["run", "-i", "x.yaml"]).output().unwrap();
    assert_eq!(code(&output), 4);
    let output = fleet().args(["frobnicate"]).output().unwrap();
    assert_eq!(code(&output), 4);
    let output = fleet()
        .current_dir(repo_root())
        .args([
            "run",
            "-i",
            "inventories/example.yaml",
            "--connect-timeout",
            "0",
            "--",
            "true",
        ])
        .output()
        .unwrap();
    assert_eq!(code(&output), 4);
}

/// Every malformed playbook of the corpus makes `fleet apply` exit 4 with
/// its location and a hint, before any host is contacted: the only host
/// sits at an address where nothing answers, so contacting it would have
/// printed events and exited 3.
#[test]
fn each_malformed_playbook_is_rejected_before_any_host_is_contacted() {
    let files = corpus("tests/playbooks/bad");
    assert!(files.len() >= 15, "the corpus has {} cases", files.len());
    let scratch = fleet_tests::scratch_dir("bad_playbooks");
    let inventory = scratch.join("inventory.yaml");
    std::fs::write(
        &inventory,
        "all:\n  children:\n    web:\n      vars: {inventory_var: 1}\n      hosts:\n        web1: {address: 10.77.0.250}\n",
    )
    .unwrap();
    for file in files {
        let relative = file.strip_prefix(repo_root()).unwrap().to_path_buf();
        let expected = std::fs::read_to_string(file.with_extension("expect")).unwrap();
        let output = fleet()
            .current_dir(repo_root())
            .args(["apply", "-i"])
            .arg(&inventory)
            .arg(&relative)
            .args([
                "--connect-timeout",
                "1",
                "--known-hosts",
                "/dev/null",
                "--format",
                "json",
            ])
            .output()
            .unwrap();
        assert_rejected(&output, &expected, &relative.display().to_string());
    }
}

/// An inventory whose only host sits where nothing answers: a command that
/// contacted it would print events and exit 3.
fn unreachable_inventory(scratch: &std::path::Path) -> std::path::PathBuf {
    let inventory = scratch.join("inventory.yaml");
    std::fs::write(
        &inventory,
        "all:\n  children:\n    web:\n      hosts:\n        web1: {address: 10.77.0.250}\n",
    )
    .unwrap();
    inventory
}

fn release_command(
    command: &str,
    inventory: &std::path::Path,
    playbook: &std::path::Path,
) -> std::process::Output {
    fleet()
        .current_dir(repo_root())
        .arg(command)
        .arg("-i")
        .arg(inventory)
        .arg(playbook)
        .args(["--connect-timeout", "1", "--known-hosts", "/dev/null"])
        .output()
        .unwrap()
}

/// `fleet releases` and `fleet rollback` load the deploy playbook as
/// `fleet apply` does: the same errors, before any host is contacted.
#[test]
fn release_commands_reject_malformed_playbooks_like_apply() {
    let scratch = fleet_tests::scratch_dir("release_commands_bad_playbooks");
    let inventory = unreachable_inventory(&scratch);
    for file in corpus("tests/playbooks/bad") {
        let relative = file.strip_prefix(repo_root()).unwrap().to_path_buf();
        let expected = std::fs::read_to_string(file.with_extension("expect")).unwrap();
        for command in ["releases", "rollback"] {
            let output = release_command(command, &inventory, &relative);
            let case = format!("{command} {}", relative.display());
            assert_rejected(&output, &expected, &case);
        }
    }
}

/// A `vars_prompt` variable that neither `-e`, a terminal nor a `default`
/// can give is exit 4 at its location, before any host is contacted, for
/// `apply` and the release commands alike; `-e` gives it.
#[test]
fn a_prompted_var_off_a_terminal_needs_extra_vars() {
    let scratch = fleet_tests::scratch_dir("vars_prompt_off_a_terminal");
    let inventory = unreachable_inventory(&scratch);
    let playbook = std::path::Path::new("tests/playbooks/prompt/vars-prompt.yaml");
    let expected = "tests/playbooks/prompt/vars-prompt.yaml:3:7: `vars_prompt` variable \
                    `release_note` needs a value, and stdin is not a terminal";
    for command in ["apply", "releases", "rollback"] {
        let output = release_command(command, &inventory, playbook);
        assert_rejected(&output, expected, command);
    }
    let given = fleet()
        .current_dir(repo_root())
        .args(["apply", "-i"])
        .arg(&inventory)
        .arg(playbook)
        .args(["--syntax-check", "-e", "release_note=fixes"])
        .output()
        .unwrap();
    assert_eq!(
        code(&given),
        0,
        "{}",
        String::from_utf8_lossy(&given.stderr)
    );
}

#[test]
fn release_commands_need_a_release_task() {
    let scratch = fleet_tests::scratch_dir("release_commands_no_release_task");
    let inventory = unreachable_inventory(&scratch);
    let playbook = scratch.join("no-release.yaml");
    std::fs::write(
        &playbook,
        "- hosts: web\n  tasks:\n    - command: \"true\"\n      notify: h\n  handlers:\n    - name: h\n      release: {path: /opt/app, state: rollback}\n",
    )
    .unwrap();
    let expected = format!("{}: no play has a `release` task", playbook.display());
    for command in ["releases", "rollback"] {
        let output = release_command(command, &inventory, &playbook);
        assert_rejected(&output, &expected, command);
    }
}

#[test]
fn rollback_to_must_name_a_release() {
    let scratch = fleet_tests::scratch_dir("rollback_to_bad_name");
    let inventory = unreachable_inventory(&scratch);
    let output = fleet()
        .current_dir(repo_root())
        .args(["rollback", "-i"])
        .arg(&inventory)
        .args([
            "playbooks/release.yaml",
            "--to",
            "latest",
            "--known-hosts",
            "/dev/null",
        ])
        .output()
        .unwrap();
    assert_rejected(&output, "--to latest: not a release name", "--to latest");
}

#[test]
fn each_malformed_ansible_cfg_is_rejected_with_its_own_location() {
    let dir = repo_root().join("tests/inventories/bad");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "cfg"))
        .collect();
    files.sort();
    assert!(files.len() >= 5, "the corpus has {} cfg cases", files.len());
    for file in files {
        let relative = file.strip_prefix(repo_root()).unwrap().to_path_buf();
        let expected = std::fs::read_to_string(file.with_extension("expect")).unwrap();
        let output = fleet()
            .current_dir(repo_root())
            .env("ANSIBLE_CONFIG", &relative)
            .args(["run", "-i", "inventories/example.yaml"])
            .args([
                "--known-hosts",
                "/dev/null",
                "--",
                "touch /tmp/must-not-run",
            ])
            .output()
            .unwrap();
        assert_rejected(&output, &expected, &relative.display().to_string());
    }
}

/// A templated `serial` is rendered before any host is contacted: an
/// undefined variable, or a value (from the play, `-e` or a `vars_prompt`
/// default) that is not a batch size, is exit 4 at the `serial` value.
#[test]
fn a_templated_serial_that_is_no_batch_size_is_refused_before_any_host() {
    let scratch = fleet_tests::scratch_dir("templated_serial");
    let inventory = unreachable_inventory(&scratch);
    let apply = |playbook: &str, args: &[&str]| {
        fleet()
            .current_dir(repo_root())
            .args(["apply", "-i"])
            .arg(&inventory)
            .arg(playbook)
            .args(["--connect-timeout", "1", "--known-hosts", "/dev/null"])
            .args(args)
            .output()
            .unwrap()
    };
    let undefined = "tests/playbooks/bad/140-serial-undefined-var.yaml";
    assert_rejected(
        &apply(undefined, &[]),
        &format!("{undefined}:2:11: undefined variable `release_serial` in `serial`"),
        "undefined",
    );
    let zero = "tests/playbooks/bad/141-serial-renders-zero.yaml";
    assert_rejected(
        &apply(zero, &[]),
        &format!(
            "{zero}:4:11: `serial` must be at least 1 host, got 0 \
             (rendered from [\"{{{{ first_batch }}}}\",\"100%\"])"
        ),
        "0",
    );
    // -e wins over the play's vars, for better and for worse.
    let not_a_size = "tests/playbooks/bad/142-serial-renders-not-a-size.yaml";
    let from = "(rendered from \"{{ release_serial }}\")";
    assert_rejected(
        &apply(not_a_size, &[]),
        &format!(
            "{not_a_size}:4:11: `serial` must be a host count or a percentage like \"30%\", \
             got \"abc\" {from}"
        ),
        "abc",
    );
    assert_rejected(
        &apply(not_a_size, &["-e", "release_serial=0"]),
        &format!("{not_a_size}:4:11: `serial` must be at least 1 host, got 0 {from}"),
        "-e release_serial=0",
    );
    assert_rejected(
        &apply(undefined, &["-e", "release_serial=150%"]),
        &format!(
            "{undefined}:2:11: a `serial` percentage must be from 1% to 100%, got \"150%\" {from}"
        ),
        "-e release_serial=150%",
    );
    let given = apply(undefined, &["-e", "release_serial=2", "--syntax-check"]);
    assert_eq!(
        code(&given),
        0,
        "{}",
        String::from_utf8_lossy(&given.stderr)
    );
    // A `vars_prompt` variable is rendered once it has its value: here the
    // default, off a terminal.
    let prompted = scratch.join("prompted-serial.yaml");
    std::fs::write(
        &prompted,
        "- hosts: web\n  vars_prompt:\n    - name: batch\n      prompt: batch size\n      \
         default: none\n  serial: \"{{ batch }}\"\n  tasks:\n    - command: \"true\"\n",
    )
    .unwrap();
    let prompted = prompted.display().to_string();
    assert_rejected(
        &apply(&prompted, &[]),
        &format!(
            "{prompted}:6:11: `serial` must be a host count or a percentage like \"30%\", \
             got \"none\" (rendered from \"{{{{ batch }}}}\")"
        ),
        "vars_prompt default",
    );
    let given = apply(&prompted, &["-e", "batch=1", "--syntax-check"]);
    assert_eq!(
        code(&given),
        0,
        "{}",
        String::from_utf8_lossy(&given.stderr)
    );
}
