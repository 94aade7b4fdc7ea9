use base64::Engine;
use serde_json::json;

use super::rules::{Rule, parse_file, render, tokenize};
use super::*;
use crate::modules::content_file::sha256_hex;

/// Files, rules and what community.postgresql 4.2.0's own functions
/// (`rule_list_from_hba_file`, `update_rules` or `from_rule_list`,
/// `sort_rules`, `render_rule_list`, `rule_list_to_dict_list`) made of
/// them, run once with Python to record it.
const CASES: &str = include_str!("postgresql_pg_hba_cases.json");

fn file(content: &str, mode: &str) -> Probe {
    let encoded = base64::engine::general_purpose::STANDARD.encode(content);
    Probe::ok(&format!(
        "path=/etc/postgresql/15/main/pg_hba.conf\nme=0:0\nparent=1\nkind=file\nmode={mode}\nuid=105\ngid=110\n\
         owner=postgres\ngroup=postgres\nsize={}\nreal=/etc/postgresql/15/main/pg_hba.conf\nsha256={}\n\
         content={encoded}\n",
        content.len(),
        sha256_hex(content.as_bytes())
    ))
}

const ABSENT: &str = "path=/etc/postgresql/15/main/pg_hba.conf\nme=0:0\nparent=1\nkind=absent\n";

#[test]
fn rules_are_written_exactly_as_community_postgresql_writes_them() {
    let cases: Value = serde_json::from_str(CASES).unwrap();
    for (name, case) in cases.as_object().unwrap() {
        let input = &case["case"];
        let expect = &case["expect"];
        let module = new(json!({
            "dest": "/etc/postgresql/15/main/pg_hba.conf",
            "rules": input["specs"],
            "overwrite": input["overwrite"].as_bool().unwrap_or(false),
            "sort_rules": input["sort"].as_bool().unwrap_or(true),
            "create": true,
        }))
        .unwrap_or_else(|err| panic!("{name}: {err}"));
        let probe = match input["text"].as_str() {
            Some(text) => file(text, "640"),
            None => Probe::ok(ABSENT),
        };
        let plan = module
            .plan(&probe)
            .unwrap_or_else(|err| panic!("{name}: {err}"));
        assert_eq!(plan.changed, expect["changed"], "{name}: changed");
        let mut msgs = expect["msgs"].as_array().unwrap().clone();
        if plan.changed {
            msgs.push(json!("Changed"));
        }
        assert_eq!(plan.data["msgs"], json!(msgs), "{name}: msgs");
        assert_eq!(plan.data["pg_hba_string"], expect["text"], "{name}: text");
        assert_eq!(plan.data["pg_hba"], expect["pg_hba"], "{name}: pg_hba");
        if plan.changed {
            let upload = plan
                .steps
                .iter()
                .find_map(|step| match step {
                    Step::Upload { contents, mode, .. } => Some((contents, mode)),
                    _ => None,
                })
                .unwrap_or_else(|| panic!("{name}: no upload"));
            assert_eq!(upload.0, expect["text"].as_str().unwrap().as_bytes());
            assert_eq!(*upload.1, 0o600, "{name}: Ansible's temp file's mode");
        } else {
            assert!(plan.steps.is_empty(), "{name}: nothing to write");
        }
    }
}

#[test]
fn the_tokenizer_keeps_its_quirks() {
    assert_eq!(
        tokenize("host  all \"my user\" 10.0.0.0/8 md5 # a comment").unwrap(),
        [
            "host",
            "all",
            "\"my user\"",
            "10.0.0.0/8",
            "md5",
            "# a comment"
        ]
    );
    assert_eq!(
        tokenize("local all all peer#x").unwrap(),
        ["local", "all", "all", "peer", "#x"]
    );
    assert_eq!(tokenize("a \"b\"").unwrap(), ["a", "\"b\""]);
    assert_eq!(tokenize("a x=\"b c\"d").unwrap(), ["a", "x=\"b c\"d"]);
    assert!(tokenize("a \"b").is_err());
}

#[test]
fn bad_rules_and_files_fail_as_there() {
    let err = |params: Value| new(params).map(|_| ()).unwrap_err().to_string();
    assert!(
        err(json!({"dest": "/x", "contype": "hots"})).contains("value of contype must be one of")
    );
    assert!(err(json!({"dest": "/x", "method": "md4"})).contains("value of method must be one of"));
    assert!(
        err(json!({"dest": "/x", "rules": [{"contype": "local"}], "users": "joe"}))
            .contains("conflict")
    );
    assert!(
        err(json!({"dest": "/x", "contype": "local", "databases": "a,,b"}))
            .contains("Invalid string")
    );
    assert!(err(json!({"dest": "/x", "backup_file": "/y"})).contains("backup_file"));
    let plan = |params: Value, probe: Probe| new(params).unwrap().plan(&probe);
    let bare_ip = plan(
        json!({"dest": "/x", "contype": "host", "address": "10.0.0.1", "create": true}),
        Probe::ok(ABSENT),
    );
    assert!(
        bare_ip
            .unwrap_err()
            .to_string()
            .contains("needs to contain a netmask")
    );
    let host_bits = plan(
        json!({"dest": "/x", "contype": "host", "address": "10.0.0.1/8", "create": true}),
        Probe::ok(ABSENT),
    );
    assert!(
        host_bits
            .unwrap_err()
            .to_string()
            .contains("has host bits set")
    );
    let broken = plan(
        json!({"dest": "/x", "contype": "local"}),
        file("local all all bogus\n", "640"),
    );
    assert!(
        broken
            .unwrap_err()
            .to_string()
            .contains("Error reading file:\nError in line 1")
    );
    assert!(parse_file("local all all peer \\").is_err());
    let continued = parse_file("local all \\\nall peer").unwrap();
    assert_eq!(render(&continued), "local all \\\nall peer");
    assert_eq!(continued[0].user, "all");
}

#[test]
fn a_missing_file_without_create_fails_only_the_run() {
    let module = new(json!({"dest": "/x", "contype": "local", "method": "peer"})).unwrap();
    let plan = module.plan(&Probe::ok(ABSENT)).unwrap();
    assert!(plan.changed, "check mode reports the change");
    assert_eq!(plan.steps.len(), 1);
    let failed = StepOutput {
        rc: 1,
        ..StepOutput::default()
    };
    assert!(
        module
            .outcome(&[failed])
            .unwrap_err()
            .to_string()
            .contains("doesn't exist. Use the create option")
    );
    // Only reading: nothing to write, no failure.
    let read = new(json!({"dest": "/x"})).unwrap();
    assert_eq!(
        read.plan(&Probe::ok(ABSENT)).unwrap().data["pg_hba"],
        json!([])
    );
}

#[test]
fn backups_and_modes_follow_ansible() {
    let module = new(json!({
        "dest": "/etc/postgresql/15/main/pg_hba.conf", "contype": "local", "users": "app",
        "method": "peer", "backup": true, "mode": "0640",
    }))
    .unwrap();
    let plan = module.plan(&file("local all all peer\n", "640")).unwrap();
    let script = plan.steps[0].script_text().unwrap();
    assert!(script.contains("$$"), "{script}");
    assert!(matches!(plan.steps[1], Step::Upload { mode: 0o640, .. }));
    let applied = module
        .applied(&[StepOutput {
            stdout: "backup_file=/etc/postgresql/15/main/pg_hba.conf.7.2026-01-01@00:00:00~\n"
                .into(),
            ..StepOutput::default()
        }])
        .unwrap();
    assert_eq!(
        applied.data["msgs"],
        json!([
            "Adding rule local\tall\tapp\tpeer",
            "Changed",
            "Creating Backup",
            "Writing"
        ])
    );
    assert!(
        applied.data["backup_file"]
            .as_str()
            .unwrap()
            .ends_with("@00:00:00~")
    );
    let rule = Rule::comment_line(Some(" note"));
    assert_eq!(rule.serialize(), "#note");
}
