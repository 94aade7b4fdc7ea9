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
