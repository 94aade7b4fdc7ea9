//! Several inventories at once, folders of inventories, and inventory scripts.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use fleet_inventory::Inventory;
use serde_json::json;

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("fleet-sources-{}-{name}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

fn script(path: &Path, text: &str) {
    fs::write(path, text).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn repeated_sources_and_folders_merge() {
    let dir = scratch("merge");
    let folder = dir.join("inv");
    fs::create_dir_all(folder.join("group_vars")).unwrap();
    fs::write(folder.join("10-web.ini"), "[web]\nweb1 x=1\n").unwrap();
    fs::write(folder.join("20-db.yaml"), "all:\n  children:\n    db:\n      hosts:\n        db1:\n    web:\n      hosts:\n        web1: {x: 2}\n").unwrap();
    fs::write(folder.join("30-notes.md"), "not an inventory\n").unwrap();
    fs::write(folder.join("40-old.ini~"), "[[[ broken\n").unwrap();
    fs::write(
        folder.join("group_vars/web.yml"),
        "from_folder_group_vars: yes\n",
    )
    .unwrap();
    let extra = dir.join("extra.ini");
    fs::write(&extra, "[web]\nweb2\n").unwrap();
    let inventory = Inventory::load_sources(&[folder, extra], None).unwrap();
    let names: Vec<&str> = inventory
        .hosts()
        .iter()
        .map(|host| host.name.as_str())
        .collect();
    assert_eq!(names, ["web1", "db1", "web2"]);
    assert_eq!(inventory.host("web1").unwrap().vars["x"], json!(2));
    assert_eq!(
        inventory.host("web2").unwrap().vars["from_folder_group_vars"],
        json!(true)
    );
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn scripts_print_json_with_or_without_meta() {
    let dir = scratch("scripts");
    let with_meta = dir.join("with_meta.sh");
    script(
        &with_meta,
        "#!/bin/sh\ncase \"$1\" in\n--list) echo '{\"web\": {\"hosts\": [\"w1\"], \"vars\": {\"app\": \"shop\"}, \"children\": [\"canary\"]}, \"canary\": [\"w2\"], \"_meta\": {\"hostvars\": {\"w1\": {\"ansible_port\": 2222}}}}' ;;\n*) exit 3 ;;\nesac\n",
    );
    let inventory = Inventory::load(&with_meta).unwrap();
    assert_eq!(inventory.host("w1").unwrap().connection.port, 2222);
    assert_eq!(inventory.host("w2").unwrap().vars["app"], json!("shop"));

    let per_host = dir.join("per_host.sh");
    script(
        &per_host,
        "#!/bin/sh\ncase \"$1\" in\n--list) echo '{\"db\": {\"hosts\": [\"d1\"]}}' ;;\n--host) echo \"{\\\"who\\\": \\\"$2\\\"}\" ;;\nesac\n",
    );
    let inventory = Inventory::load(&per_host).unwrap();
    assert_eq!(inventory.host("d1").unwrap().vars["who"], json!("d1"));

    let failing = dir.join("failing.sh");
    script(&failing, "#!/bin/sh\necho boom >&2\nexit 1\n");
    let err = Inventory::load(&failing).unwrap_err().to_string();
    assert!(
        err.contains("failing.sh:1: inventory script:") && err.contains("boom"),
        "{err}"
    );

    let not_json = dir.join("not_json.sh");
    script(&not_json, "#!/bin/sh\necho '[web]'\n");
    let err = Inventory::load(&not_json).unwrap_err().to_string();
    assert!(err.contains("printed no valid JSON"), "{err}");
    fs::remove_dir_all(&dir).unwrap();
}
