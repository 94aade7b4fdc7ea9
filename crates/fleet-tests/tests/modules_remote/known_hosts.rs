//! `known_hosts`: lines added, replaced, hashed and removed in a real
//! file, with the host's own `ssh-keygen`.

use fleet_engine::Status;
use fleet_tests::module_harness::assert_status;
use serde_json::json;

use super::{host, sh_ok};

#[test]
fn known_hosts_edits_the_file_as_ansible_does() {
    let lab = host();
    let dir = "/srv/fleet-remote-kh";
    let file = format!("{dir}/known_hosts");
    sh_ok(
        &lab,
        &format!(
            "rm -rf {dir} && mkdir -p {dir} && cd {dir} && \
             for k in a b; do ssh-keygen -q -t ed25519 -N '' -C '' -f $k; done && \
             ssh-keygen -q -t ecdsa -N '' -C '' -f e"
        ),
    );
    let public = |name: &str| {
        let line = sh_ok(&lab, &format!("cat {dir}/{name}.pub"));
        line.split_whitespace()
            .take(2)
            .collect::<Vec<_>>()
            .join(" ")
    };
    let (a, b, e) = (public("a"), public("b"), public("e"));
    let add = |key: &str| json!({"name": "git.example", "key": format!("git.example {key}"), "path": file});

    // Check mode creates nothing.
    assert_status(&lab.run("known_hosts", add(&a), true), Status::Changed);
    assert_eq!(lab.sh(&format!("test -e {file}")).0, 1);

    let first = lab.converge("known_hosts", add(&a));
    assert!(first.diff.is_some());
    assert_eq!(
        sh_ok(&lab, &format!("cat {file}")),
        format!("git.example {a}")
    );
    assert_eq!(sh_ok(&lab, &format!("stat -c %a {file}")), "644");

    // Another type is added; a new key of a type replaces the old line,
    // which moves to the end; the file keeps its mode.
    lab.converge("known_hosts", add(&e));
    sh_ok(&lab, &format!("chmod 600 {file}"));
    lab.converge("known_hosts", add(&b));
    assert_eq!(
        sh_ok(&lab, &format!("cat {file}")),
        format!("git.example {e}\ngit.example {b}")
    );
    assert_eq!(sh_ok(&lab, &format!("stat -c %a {file}")), "600");

    // A hashed entry is found by ssh-keygen, and not hashed again.
    let hashed = json!({"name": "hashed.example", "key": format!("hashed.example {a}"), "path": file, "hash_host": true});
    lab.converge("known_hosts", hashed);
    let last = sh_ok(&lab, &format!("tail -n 1 {file}"));
    assert!(last.starts_with("|1|") && last.ends_with(&a), "{last}");
    assert!(sh_ok(&lab, &format!("ssh-keygen -F hashed.example -f {file}")).contains(&a));

    // A key for another host is refused.
    let wrong = lab.run(
        "known_hosts",
        json!({"name": "other.example", "key": format!("git.example {a}"), "path": file}),
        false,
    );
    assert_status(&wrong, Status::Failed);

    // Absent with a key removes that line; without one, every line of the
    // host goes (ssh-keygen -R, which keeps FILE.old).
    let gone = json!({"name": "git.example", "key": format!("git.example {e}"), "path": file, "state": "absent"});
    lab.converge("known_hosts", gone);
    assert_eq!(
        sh_ok(&lab, &format!("grep -c git.example {file}")),
        "1",
        "only the ed25519 line is left"
    );
    let all = json!({"name": "hashed.example", "path": file, "state": "absent"});
    lab.converge("known_hosts", all);
    assert_eq!(
        sh_ok(&lab, &format!("cat {file}")),
        format!("git.example {b}")
    );
    assert_eq!(lab.sh(&format!("test -e {file}.old")).0, 0);
    sh_ok(&lab, &format!("rm -rf {dir}"));
}
