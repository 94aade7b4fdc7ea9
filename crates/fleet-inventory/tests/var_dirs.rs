//! `group_vars/` and `host_vars/` next to the inventory and the playbook.

use std::fs;
use std::path::{Path, PathBuf};

use fleet_inventory::Inventory;
use serde_json::json;

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("fleet-var-dirs-{}-{name}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

fn write(path: &Path, text: &str) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, text).unwrap();
}

const INVENTORY: &str =
    "[web]\nweb1 from_host_line=line\n[prod:children]\nweb\n[all:vars]\nlayer=file\n";

#[test]
fn precedence_follows_ansible() {
    let dir = scratch("precedence");
    let inventory = dir.join("inv/hosts");
    let playbook = dir.join("play");
    write(&inventory, INVENTORY);
    write(
        &dir.join("inv/group_vars/all.yml"),
        "layer: inv_all\nall_only: inv\n",
    );
    write(&dir.join("play/group_vars/all.yaml"), "layer: play_all\n");
    write(
        &dir.join("inv/group_vars/prod"),
        "layer: inv_prod\nprod_only: yes\n",
    );
    write(
        &dir.join("inv/group_vars/web/10-a.yml"),
        "layer: inv_web\nsplit: a\n",
    );
    write(
        &dir.join("inv/group_vars/web/20-b.json"),
        "{\"split\": \"b\"}\n",
    );
    write(
        &dir.join("inv/group_vars/web/30-c.yml~"),
        "split: ignored\n",
    );
    write(&dir.join("play/group_vars/prod.yml"), "layer: play_prod\n");
    write(
        &dir.join("inv/host_vars/web1.yml"),
        "from_host_line: inv_host_vars\nansible_user: deploy\n",
    );
    write(
        &dir.join("play/host_vars/web1/main.yml"),
        "host_layer: play\n",
    );

    let loaded = Inventory::load_with_playbook_dir(&inventory, Some(&playbook)).unwrap();
    let vars = &loaded.host("web1").unwrap().vars;
    // playbook group_vars/prod wins over inventory group_vars/web (all
    // inventory group_vars come before any playbook group_vars).
    assert_eq!(vars["layer"], json!("play_prod"));
    assert_eq!(vars["all_only"], json!("inv"));
    assert_eq!(vars["prod_only"], json!(true));
    assert_eq!(vars["split"], json!("b"));
    assert_eq!(vars["from_host_line"], json!("inv_host_vars"));
    assert_eq!(vars["host_layer"], json!("play"));
    assert_eq!(
        loaded.host("web1").unwrap().connection.user.as_deref(),
        Some("deploy")
    );

    let without_playbook = Inventory::load(&inventory).unwrap();
    assert_eq!(
        without_playbook.host("web1").unwrap().vars["layer"],
        json!("inv_web")
    );
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn errors_in_var_files_are_located() {
    let dir = scratch("errors");
    let inventory = dir.join("hosts.ini");
    write(&inventory, INVENTORY);
    write(&dir.join("group_vars/web.yml"), "ok: 1\nport: 70000\n");
    let err = Inventory::load(&inventory).unwrap_err().to_string();
    assert!(
        err.contains("group_vars/web.yml:2:7: port must be"),
        "{err}"
    );
    write(&dir.join("group_vars/web.yml"), "- a list\n");
    let err = Inventory::load(&inventory).unwrap_err().to_string();
    assert!(
        err.contains("group_vars/web.yml:1:1: group_vars file for `web` must be a map"),
        "{err}"
    );
    write(&dir.join("group_vars/web.yml"), "a: [1\n");
    let err = Inventory::load(&inventory).unwrap_err().to_string();
    assert!(err.contains("group_vars/web.yml:"), "{err}");
    fs::remove_dir_all(&dir).unwrap();
}
