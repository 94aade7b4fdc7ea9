//! An INI inventory with Ansible's connection vars reaches a real lab host,
//! and the host sees the INI-typed vars and the group_vars/host_vars of
//! the inventory's and the playbook's folders with Ansible's precedence.
//! Writes under /srv/fleet-test-inventory-ini on the host and removes it.

use fleet_tests::{Lab, code, scratch_dir};
use serde_json::{Value, json};

/// The host this test uses (`FLEET_INVENTORY_HOST` to move it).
fn host() -> String {
    std::env::var("FLEET_INVENTORY_HOST").unwrap_or_else(|_| "lab21".into())
}

const DIR: &str = "/srv/fleet-test-inventory-ini";

#[test]
fn ini_inventory_with_ansible_connection_vars_reaches_the_host() {
    let lab = Lab::get();
    let scratch = scratch_dir("inventory-ini");
    let inventory_dir = scratch.join("inventory");
    let playbook_dir = scratch.join("playbook");
    for dir in ["group_vars", "host_vars"] {
        std::fs::create_dir_all(inventory_dir.join(dir)).unwrap();
        std::fs::create_dir_all(playbook_dir.join(dir)).unwrap();
    }
    let inventory = inventory_dir.join("hosts");
    std::fs::write(
        &inventory,
        format!(
            "# the lab host, reached through Ansible's names only\n\
             [app]\n\
             target ansible_host={address} ansible_port=22 ansible_user=root \
             ansible_ssh_private_key_file={key} inline_number=8080 inline_quoted=\"'8080'\" inline_flag=True\n\
             \n\
             [site:children]\n\
             app\n\
             \n\
             [site:vars]\n\
             section_text=\"8080\"\n\
             layer=inventory_file\n",
            address = lab.address(&host()),
            key = lab.key().display(),
        ),
    )
    .unwrap();
    std::fs::write(
        inventory_dir.join("group_vars/all.yml"),
        "layer: inventory_all\nfrom_all: yes\n",
    )
    .unwrap();
    std::fs::write(
        inventory_dir.join("group_vars/app.yml"),
        "layer: inventory_app\n",
    )
    .unwrap();
    std::fs::write(
        playbook_dir.join("group_vars/site.yml"),
        "layer: playbook_site\n",
    )
    .unwrap();
    std::fs::write(
        inventory_dir.join("host_vars/target.yml"),
        "host_layer: inventory\n",
    )
    .unwrap();
    std::fs::create_dir_all(playbook_dir.join("host_vars/target")).unwrap();
    std::fs::write(
        playbook_dir.join("host_vars/target/10.yml"),
        "host_layer: playbook\n",
    )
    .unwrap();
    let playbook = playbook_dir.join("site.yml");
    std::fs::write(
        &playbook,
        format!(
            r#"- hosts: site
  gather_facts: false
  tasks:
    - name: dir
      file: {{path: {DIR}, state: directory, mode: "0700"}}
    - name: what the host sees
      copy:
        dest: {DIR}/vars.json
        content: "{{{{ {{'inline_number': inline_number, 'inline_quoted': inline_quoted, 'inline_flag': inline_flag, 'section_text': section_text, 'layer': layer, 'from_all': from_all, 'host_layer': host_layer, 'groups': group_names}} | to_json }}}}"
"#
        ),
    )
    .unwrap();
    let output = lab
        .fleet_with("apply", &inventory)
        .arg(&playbook)
        .output()
        .unwrap();
    assert_eq!(code(&output), 0, "{output:?}");
    let read = lab.ssh(&host(), &format!("cat {DIR}/vars.json; rm -rf {DIR}"));
    assert!(read.status.success(), "{read:?}");
    let seen: Value = serde_json::from_slice(&read.stdout).unwrap();
    assert_eq!(
        seen,
        json!({
            "inline_number": 8080,
            "inline_quoted": "8080",
            "inline_flag": true,
            "section_text": "8080",
            "layer": "playbook_site",
            "from_all": true,
            "host_layer": "playbook",
            "groups": ["app", "site"],
        })
    );
}
