use serde_json::json;

use super::*;

fn map(value: Value) -> Map<String, Value> {
    value.as_object().cloned().unwrap_or_default()
}

#[test]
fn version_and_host_names() {
    assert_eq!(
        ansible_version(),
        json!({"full": "2.19.0", "major": 2, "minor": 19, "revision": 0, "string": "2.19.0"})
    );
    assert_eq!(inventory_hostname_short("web1.example.com"), "web1");
    assert_eq!(inventory_hostname_short("10.0.0.5"), "10.0.0.5");
    assert_eq!(inventory_hostname_short("::1"), "::1");
    let groups = ["all".into(), "web".into(), "prod".into(), "app".into()];
    assert_eq!(group_names(&groups), ["app", "prod", "web"]);
    assert_eq!(group_names(&["all".into()]), ["ungrouped"]);
    let mut groups = map(json!({"all": ["a", "b", "c"], "web": ["a"], "db": ["c"]}));
    with_ungrouped(&mut groups);
    assert_eq!(groups["ungrouped"], json!(["b"]));
}

#[test]
fn magic_vars_of_a_task() {
    let mut vars = json!({});
    let groups = map(json!({"all": ["a", "b", "c"], "web": ["a", "b"]}));
    add_magic_vars(
        &mut vars,
        &MagicVars {
            groups_of_host: &["all".into(), "web".into()],
            groups: &groups,
            play_hosts_all: &["a".into(), "b".into(), "c".into()],
            play_hosts: &["a".into(), "c".into()],
            play_batch: &["a".into()],
            play_name: "site",
            check_mode: true,
            diff_mode: false,
            inventory_file: Some("/srv/inventories/lab.yaml"),
        },
    );
    assert_eq!(vars["group_names"], json!(["web"]));
    assert_eq!(vars["groups"]["web"], json!(["a", "b"]));
    assert_eq!(vars["ansible_play_hosts_all"], json!(["a", "b", "c"]));
    assert_eq!(vars["ansible_play_hosts"], json!(["a", "c"]));
    assert_eq!(vars["ansible_play_batch"], json!(["a"]));
    assert_eq!(vars["play_hosts"], json!(["a"]));
    assert_eq!(vars["ansible_play_name"], "site");
    assert_eq!(vars["ansible_check_mode"], true);
    assert_eq!(vars["ansible_diff_mode"], false);
    assert_eq!(vars["ansible_version"]["major"], 2);
    assert_eq!(vars["inventory_file"], "/srv/inventories/lab.yaml");
    assert_eq!(vars["inventory_dir"], "/srv/inventories");
}

#[test]
fn facts_are_injected_and_kept_as_fleets_facts() {
    let facts = map(json!({
        "distribution": "Debian", "distribution_major_version": "12",
        "distribution_version": "12.15", "distribution_release": "bookworm",
        "architecture": "x86_64", "hostname": "web1", "service_mgr": "systemd",
        "python": {"executable": "/usr/bin/python3"}, "processor_nproc": 4,
        "memtotal_mb": 7962, "ssh_host_key_rsa_public": "AAAA", "module_setup": true,
        "ansible_local": {"app": {"v": 1}},
    }));
    let vars = fact_vars(Some(&facts));
    assert_eq!(vars["ansible_distribution"], "Debian");
    assert_eq!(vars["ansible_facts"]["ssh_host_key_rsa_public"], "AAAA");
    assert_eq!(vars["ansible_ssh_host_key_rsa_public"], "AAAA");
    assert_eq!(vars["module_setup"], true);
    assert_eq!(vars["ansible_local"]["app"]["v"], 1);
    assert_eq!(
        vars["facts"],
        json!({"os_id": "debian", "os_version": "12", "os_codename": "bookworm",
               "arch": "x86_64", "hostname": "web1", "init": "systemd",
               "python": "/usr/bin/python3", "cpus": 4, "memory_mb": 7962})
    );
    let none = fact_vars(None);
    assert_eq!(Value::Object(none), json!({"ansible_facts": {}}));
}

#[test]
fn fact_variables_are_recognised() {
    for name in [
        "ansible_facts",
        "facts",
        "ansible_distribution",
        "ansible_default_ipv4",
        "ansible_eth0",
        "ansible_ens3",
        "ansible_br_1a2b3c",
        "ansible_lo",
        "ansible_local",
        "ansible_date_time",
        "module_setup",
    ] {
        assert!(is_fact_variable(name), "{name}");
    }
    for name in [
        "ansible_check_mode",
        "ansible_user",
        "ansible_host",
        "ansible_enable",
        "hostvars",
        "app",
    ] {
        assert!(!is_fact_variable(name), "{name}");
    }
    let known = fact_variables();
    assert!(known.contains("ansible_processor_vcpus"));
    assert!(known.contains("ansible_local"));
    assert!(known.contains("ansible_ssh_host_key_rsa_public"));
}

#[test]
fn hostvars_hold_inventory_facts_and_results_but_no_play_vars() {
    let web1_vars = map(
        json!({"role": "web", "url": "http://{{ inventory_hostname }}:{{ port }}", "port": 80}),
    );
    let db1_vars = map(json!({"role": "db"}));
    let facts = map(json!({"distribution": "Debian", "env": {"X": "{{ not_a_template }}"}}));
    let registered = map(json!({"out": {"stdout": "{{ raw }}"}, "picked": "yes"}));
    let none = Map::new();
    let all = ["all".to_string(), "web".to_string()];
    let hosts = [
        HostEntry {
            name: "web1.example.com",
            inventory_vars: &web1_vars,
            groups: &all,
            facts: Some(&facts),
            registered: &registered,
        },
        HostEntry {
            name: "db1",
            inventory_vars: &db1_vars,
            groups: &[],
            facts: None,
            registered: &none,
        },
    ];
    let extra = map(json!({"release": "v2"}));
    let groups = map(json!({"all": ["web1.example.com", "db1"], "web": ["web1.example.com"]}));
    let hostvars = hostvars(&hosts, &extra, &groups, (false, true, None), "/srv/site");
    let web1 = &hostvars["web1.example.com"];
    assert_eq!(web1["role"], "web");
    assert_eq!(web1["url"], "http://web1.example.com:80");
    assert_eq!(web1["ansible_distribution"], "Debian");
    assert_eq!(web1["ansible_facts"]["env"]["X"], "{{ not_a_template }}");
    assert_eq!(web1["out"]["stdout"], "{{ raw }}");
    assert_eq!(web1["picked"], "yes");
    assert_eq!(web1["release"], "v2");
    assert_eq!(web1["inventory_hostname_short"], "web1");
    assert_eq!(web1["group_names"], json!(["web"]));
    assert_eq!(web1["ansible_diff_mode"], true);
    assert_eq!(web1["playbook_dir"], "/srv/site");
    let db1 = &hostvars["db1"];
    assert_eq!(db1["role"], "db");
    assert_eq!(db1["ansible_facts"], json!({}));
    assert!(db1.get("ansible_distribution").is_none());
    assert_eq!(db1["groups"]["web"], json!(["web1.example.com"]));
    assert_eq!(db1["group_names"], json!(["ungrouped"]));
}
