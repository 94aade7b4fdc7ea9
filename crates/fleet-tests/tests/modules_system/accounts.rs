//! user, group and authorized_key on lab8, also through sudo.

use std::path::Path;

use fleet_engine::Status;
use fleet_tests::module_harness::{LabHost, assert_status};
use serde_json::json;

use super::{HOST, host, sh_ok};

#[test]
fn group_and_user_are_created_changed_and_removed() {
    let lab = host();
    lab.sh("userdel -r fleetuser8 2>/dev/null; groupdel fleetgrp8 2>/dev/null; true");

    lab.converge("group", json!({"name": "fleetgrp8", "gid": 2345}));
    assert_eq!(sh_ok(&lab, "getent group fleetgrp8 | cut -d: -f3"), "2345");
    let regid = lab.converge("group", json!({"name": "fleetgrp8", "gid": 2346}));
    assert_eq!(regid.diff.as_deref(), Some("gid: 2345 -> 2346\n"));
    assert_eq!(sh_ok(&lab, "getent group fleetgrp8 | cut -d: -f3"), "2346");

    let hash = "$6$fleetsalt$Q9gqTqvY2kzJw0c8n1mG4sXbZ3oWfPaE5uHtRlVdKyN7jC6iMxLpB2eUzS1rA0hD";
    let wanted = json!({
        "name": "fleetuser8", "shell": "/bin/sh", "groups": ["fleetgrp8"],
        "comment": "Fleet Test", "password": hash,
    });
    let check = lab.run("user", wanted.clone(), true);
    assert_status(&check, Status::Changed);
    assert_ne!(
        lab.sh("getent passwd fleetuser8").0,
        0,
        "check mode created nothing"
    );

    let created = lab.converge("user", wanted);
    assert!(
        !format!("{created:?}").contains(hash),
        "the hash leaked: {created:?}"
    );
    let passwd = sh_ok(&lab, "getent passwd fleetuser8");
    assert!(
        passwd.ends_with(":Fleet Test:/home/fleetuser8:/bin/sh"),
        "{passwd}"
    );
    assert_eq!(sh_ok(&lab, "id -Gn fleetuser8"), "fleetuser8 fleetgrp8");
    assert_eq!(sh_ok(&lab, "getent shadow fleetuser8 | cut -d: -f2"), hash);
    assert_eq!(sh_ok(&lab, "stat -c %U /home/fleetuser8"), "fleetuser8");

    let nologin = json!({"name": "fleetuser8", "shell": "/usr/sbin/nologin"});
    let check = lab.run("user", nologin.clone(), true);
    assert_eq!(
        check.diff.as_deref(),
        Some("shell: /bin/sh -> /usr/sbin/nologin\n")
    );
    assert!(sh_ok(&lab, "getent passwd fleetuser8").ends_with(":/bin/sh"));
    lab.converge("user", nologin);
    assert!(sh_ok(&lab, "getent passwd fleetuser8").ends_with(":/usr/sbin/nologin"));

    let appended = lab.converge(
        "user",
        json!({"name": "fleetuser8", "groups": "users", "append": true}),
    );
    assert_eq!(
        appended.diff.as_deref(),
        Some("groups: fleetgrp8 -> fleetgrp8,users\n")
    );
    assert_eq!(
        sh_ok(&lab, "id -Gn fleetuser8"),
        "fleetuser8 users fleetgrp8"
    );
    lab.converge("user", json!({"name": "fleetuser8", "groups": ["users"]}));
    assert_eq!(sh_ok(&lab, "id -Gn fleetuser8"), "fleetuser8 users");

    lab.converge(
        "user",
        json!({"name": "fleetuser8", "state": "absent", "remove": true}),
    );
    assert_ne!(lab.sh("getent passwd fleetuser8").0, 0);
    assert_ne!(lab.sh("test -e /home/fleetuser8").0, 0, "home removed");
    lab.converge("group", json!({"name": "fleetgrp8", "state": "absent"}));
    assert_ne!(lab.sh("getent group fleetgrp8").0, 0);
}

#[test]
fn a_system_user_joins_its_existing_group() {
    let lab = host();
    lab.sh("userdel fleetsvc8 2>/dev/null; groupdel fleetsvc8 2>/dev/null; true");
    lab.converge("group", json!({"name": "fleetsvc8", "system": true}));
    lab.converge(
        "user",
        json!({"name": "fleetsvc8", "system": true, "create_home": false, "shell": "/usr/sbin/nologin", "home": "/opt/fleetsvc8"}),
    );
    assert_eq!(sh_ok(&lab, "id -gn fleetsvc8"), "fleetsvc8");
    assert!(sh_ok(&lab, "id -u fleetsvc8").parse::<u32>().unwrap() < 1000);
    assert_ne!(lab.sh("test -e /opt/fleetsvc8").0, 0, "no home created");
    lab.sh("userdel fleetsvc8; groupdel fleetsvc8 2>/dev/null; true");
}

const KEY_A: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFleetTestKeyAaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa alice@laptop";
const KEY_B: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFleetTestKeyBbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb bob@ci";

#[test]
fn authorized_key_manages_the_key_file() {
    let lab = host();
    lab.sh("userdel -r fleetkey8 2>/dev/null; true");
    lab.converge("user", json!({"name": "fleetkey8", "shell": "/bin/sh"}));
    let file = "/home/fleetkey8/.ssh/authorized_keys";
    let content = |lab: &LabHost| lab.sh(&format!("cat {file}")).1;

    let check = lab.run(
        "authorized_key",
        json!({"user": "fleetkey8", "key": KEY_A}),
        true,
    );
    assert_status(&check, Status::Changed);
    assert_ne!(
        lab.sh("test -e /home/fleetkey8/.ssh").0,
        0,
        "check mode created nothing"
    );

    lab.converge("authorized_key", json!({"user": "fleetkey8", "key": KEY_A}));
    assert_eq!(content(&lab), format!("{KEY_A}\n"));
    assert_eq!(
        sh_ok(&lab, "stat -c '%a %U %G' /home/fleetkey8/.ssh"),
        "700 fleetkey8 fleetkey8"
    );
    assert_eq!(
        sh_ok(&lab, &format!("stat -c '%a %U %G' {file}")),
        "600 fleetkey8 fleetkey8"
    );

    lab.converge("authorized_key", json!({"user": "fleetkey8", "key": KEY_B}));
    assert_eq!(content(&lab), format!("{KEY_A}\n{KEY_B}\n"));

    let exclusive = lab.converge(
        "authorized_key",
        json!({"user": "fleetkey8", "key": KEY_B, "exclusive": true}),
    );
    assert!(
        exclusive
            .diff
            .unwrap_or_default()
            .contains(&format!("-{KEY_A}"))
    );
    assert_eq!(content(&lab), format!("{KEY_B}\n"));

    sh_ok(&lab, &format!("chmod 0644 {file}"));
    let fixed = lab.converge("authorized_key", json!({"user": "fleetkey8", "key": KEY_B}));
    assert_eq!(fixed.diff.as_deref(), Some("mode: 0644 -> 0600\n"));
    assert_eq!(sh_ok(&lab, &format!("stat -c %a {file}")), "600");

    lab.converge(
        "authorized_key",
        json!({"user": "fleetkey8", "key": KEY_B, "state": "absent"}),
    );
    assert_eq!(content(&lab), "");
    lab.sh("userdel -r fleetkey8 2>/dev/null; true");
}

#[test]
fn modules_work_through_sudo_as_deploy() {
    let lab = LabHost::deploy_with_sudo(HOST, Path::new(env!("CARGO_MANIFEST_DIR")));
    lab.sh("userdel -r fleetsudo8 2>/dev/null; true");
    let hash = "$6$sudosalt$AbCdEfGhIjKlMnOpQrStUvWxYz0123456789";
    lab.converge(
        "user",
        json!({"name": "fleetsudo8", "password": hash, "groups": ["users"]}),
    );
    assert_eq!(sh_ok(&lab, "getent shadow fleetsudo8 | cut -d: -f2"), hash);
    lab.converge(
        "authorized_key",
        json!({"user": "fleetsudo8", "key": KEY_A}),
    );
    assert_eq!(
        sh_ok(
            &lab,
            "stat -c '%a %U' /home/fleetsudo8/.ssh/authorized_keys"
        ),
        "600 fleetsudo8"
    );
    lab.converge(
        "user",
        json!({"name": "fleetsudo8", "state": "absent", "remove": true}),
    );
}
