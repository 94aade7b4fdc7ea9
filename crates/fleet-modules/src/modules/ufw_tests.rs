//! Unit tests of `ufw`: probe scripts, plans, and what ufw gets in a real `sh`.

use super::*;
use crate::modules::command::stub_sh::{argv_stubs, run, run_step, scripts};
use crate::modules::tests::NoFiles;
use serde_json::json;

fn ufw(params: Value) -> Box<dyn Module> {
    build(params, &NoFiles).unwrap()
}

const INACTIVE: &str =
    "status=Status: inactive\nDEFAULT_INPUT_POLICY=\"DROP\"\nDEFAULT_OUTPUT_POLICY=\"ACCEPT\"\n";
const TUPLE: &str = "### tuple ### allow tcp 22 0.0.0.0/0 any 0.0.0.0/0 in";
const TUPLE6: &str = "### tuple ### allow tcp 22 ::/0 any ::/0 in";

#[test]
fn builds_the_rule_like_ansible() {
    let module = ufw(json!({"rule": "allow", "port": 22, "proto": "tcp", "comment": "ssh in"}));
    assert_eq!(
        module.probe().unwrap(),
        "command -v ufw >/dev/null || { echo installed=0; exit 0; }\n\
         echo \"status=$(ufw status | head -n 1)\"; grep '^DEFAULT_' /etc/default/ufw\n\
         set -- allow from any to any port 22 proto tcp comment 'ssh in'\n\
         for f in /etc/ufw/user.rules /etc/ufw/user6.rules; do \
         grep -h '^### tuple' \"$f\" 2>/dev/null | sed \"s|^|current $f: |\"; done\n\
         if out=$(ufw --dry-run \"$@\" 2>&1); then \
         printf '%s\\n' \"$out\" | grep -E '^(\\*filter|:ufw6-user-input|### tuple)' | sed 's/^/dry: /'; \
         else echo \"rule_error=$(printf '%s' \"$out\" | tr '\\n' ' ')\"; fi\n\
         true\n"
    );
    let limited = ufw(
        json!({"rule": "limit", "direction": "in", "from_ip": "10.0.0.0/8", "name": "OpenSSH", "delete": true}),
    );
    assert!(
        limited
            .probe()
            .unwrap()
            .contains("set -- delete limit in from 10.0.0.0/8 to any app OpenSSH\n")
    );
}

#[test]
fn the_dry_run_gets_the_rule_words_as_they_are() {
    // A ufw whose dry run fails, printing the words it got.
    let stubs = "ufw() { [ \"$1\" = --dry-run ] && { argv ufw \"$@\"; return 1; }; }\n\
                 grep() { :; }\n";
    let module = ufw(json!({"rule": "allow", "port": 22, "comment": "$(id) 'x' \"y\""}));
    let out = run(stubs, &module.probe().unwrap(), b"");
    assert_eq!(
        out.stdout,
        "status=\nrule_error=ufw [--dry-run] [allow] [from] [any] [to] [any] [port] [22] [comment] [$(id) 'x' \"y\"]\n"
    );
    let plan = module
        .plan(&Probe::ok("dry: *filter\ndry: ### tuple ### new\n"))
        .unwrap();
    assert_eq!(
        run_step(&argv_stubs(&["ufw"]), &plan.steps[0]).stdout,
        "ufw [allow] [from] [any] [to] [any] [port] [22] [comment] [$(id) 'x' \"y\"]\n"
    );
    assert_eq!(
        plan.diff.as_deref(),
        Some("rule: ufw allow from any to any port 22 comment '$(id) '\"'\"'x'\"'\"' \"y\"'\n")
    );
}

#[test]
fn a_rule_is_new_when_the_dry_run_tuples_differ() {
    let module = ufw(json!({"rule": "allow", "port": "22", "proto": "tcp"}));
    let new = format!(
        "{INACTIVE}dry: *filter\ndry: {TUPLE}\ndry: *filter\ndry: :ufw6-user-input - [0:0]\ndry: {TUPLE6}\n"
    );
    let plan = module.plan(&Probe::ok(&new)).unwrap();
    assert_eq!(
        scripts(&plan.steps),
        ["ufw allow from any to any port 22 proto tcp\n"]
    );
    assert_eq!(
        plan.diff.as_deref(),
        Some("rule: ufw allow from any to any port 22 proto tcp\n")
    );
    let current = format!(
        "current /etc/ufw/user.rules: {TUPLE}\ncurrent /etc/ufw/user6.rules: {TUPLE6}\n{}",
        new.trim_start_matches(INACTIVE)
    );
    assert!(
        !module
            .plan(&Probe::ok(&format!("{INACTIVE}{current}")))
            .unwrap()
            .changed
    );
    assert!(
        !module.plan(&Probe::ok(INACTIVE)).unwrap().changed,
        "ufw skipped an existing rule"
    );
    let err = module
        .plan(&Probe::ok("rule_error=ERROR: Bad port\n"))
        .unwrap_err();
    assert_eq!(err.to_string(), "ufw rejects the rule: ERROR: Bad port");
}

#[test]
fn default_policies_come_from_etc_default_ufw() {
    let deny = ufw(json!({"default": "deny", "direction": "incoming"}));
    assert!(!deny.plan(&Probe::ok(INACTIVE)).unwrap().changed);
    let allow_out = ufw(json!({"default": "deny", "direction": "outgoing"}));
    let plan = allow_out.plan(&Probe::ok(INACTIVE)).unwrap();
    assert_eq!(scripts(&plan.steps), ["ufw default deny outgoing\n"]);
    assert_eq!(
        plan.diff.as_deref(),
        Some("default outgoing: allow -> deny\n")
    );
}

#[test]
fn enabling_needs_an_ssh_rule() {
    let module = ufw(json!({"state": "enabled"}));
    assert!(module.probe().unwrap().contains(
        "echo \"ssh_port=${SSH_CONNECTION##* }\"; ufw show added | sed -n 's/^ufw /added: ufw /p'\n"
    ));
    let err = module.plan(&Probe::ok(INACTIVE)).unwrap_err();
    assert!(
        err.to_string().starts_with("refusing to enable ufw"),
        "{err}"
    );
    for rule in [
        "ufw allow 22/tcp",
        "ufw limit OpenSSH",
        "ufw allow 22",
        "ufw allow from 10.0.0.0/8 to any port 22 proto tcp",
    ] {
        let probe = Probe::ok(&format!("{INACTIVE}added: {rule}\n"));
        let plan = module.plan(&probe).unwrap();
        assert_eq!(scripts(&plan.steps), ["ufw --force enable\n"], "{rule}");
    }
    for rule in [
        "ufw allow 22/udp",
        "ufw allow out 22/tcp",
        "ufw allow 80,443/tcp",
        "ufw allow from any port 22",
    ] {
        let probe = Probe::ok(&format!("{INACTIVE}added: {rule}\n"));
        assert!(module.plan(&probe).is_err(), "{rule}");
    }
    let other_port = Probe::ok(&format!(
        "{INACTIVE}ssh_port=2222\nadded: ufw allow 2200:2300/tcp\n"
    ));
    assert!(module.plan(&other_port).is_ok());
    let active = Probe::ok("status=Status: active\n");
    assert_eq!(module.plan(&active).unwrap(), Plan::unchanged());
}

#[test]
fn enabling_with_its_own_ssh_rule_adds_the_rule_first() {
    let module = ufw(json!({"state": "enabled", "rule": "allow", "port": 22, "proto": "tcp"}));
    let probe = format!("{INACTIVE}dry: *filter\ndry: {TUPLE}\n");
    let plan = module.plan(&Probe::ok(&probe)).unwrap();
    assert_eq!(
        scripts(&plan.steps),
        [
            "ufw allow from any to any port 22 proto tcp\n",
            "ufw --force enable\n"
        ]
    );
}

#[test]
fn disable_and_reset() {
    let disable = ufw(json!({"state": "disabled"}));
    let plan = disable.plan(&Probe::ok("status=Status: active\n")).unwrap();
    assert_eq!(scripts(&plan.steps), ["ufw disable\n"]);
    assert!(!disable.plan(&Probe::ok(INACTIVE)).unwrap().changed);
    let reset = ufw(json!({"state": "reset"}));
    assert_eq!(
        scripts(&reset.plan(&Probe::ok(INACTIVE)).unwrap().steps),
        ["ufw --force reset\n"]
    );
    let missing = disable.plan(&Probe::ok("installed=0\n")).unwrap_err();
    assert_eq!(missing.to_string(), "ufw is not installed on this host");
}

#[test]
fn rejects_bad_params() {
    let err = build(json!({"rule": "allow", "src": "10.0.0.1"}), &NoFiles).unwrap_err();
    assert!(err.to_string().contains("unknown field `src`"), "{err}");
    assert!(build(json!({}), &NoFiles).is_err());
    assert!(build(json!({"port": 22}), &NoFiles).is_err());
    assert!(build(json!({"rule": "allow", "port": "22; reboot"}), &NoFiles).is_err());
    assert!(
        build(
            json!({"state": "reset", "rule": "allow", "port": 22}),
            &NoFiles
        )
        .is_err()
    );
    assert!(build(json!({"default": "limit"}), &NoFiles).is_err());
    for (param, value) in [
        ("from_ip", "-h"),
        ("to_ip", ""),
        ("name", "--help"),
        ("interface", "-x"),
    ] {
        let err = build(json!({"rule": "allow", param: value}), &NoFiles).unwrap_err();
        assert!(
            err.to_string().contains(&format!("invalid {param}")),
            "{err}"
        );
    }
    assert!(
        build(
            json!({"rule": "allow", "name": "OpenSSH", "port": 22}),
            &NoFiles
        )
        .is_err()
    );
}
