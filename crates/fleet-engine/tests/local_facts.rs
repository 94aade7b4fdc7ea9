//! Facts and magic variables in real runs over the local connection: the
//! "Gathering Facts" a batch starts with, `gather_facts: false`, `setup`,
//! facts kept across plays, `hostvars`, and the play's hosts without the
//! failed ones.

mod common;

use common::{Scratch, run, run_on, run_with};
use fleet_engine::Status;

use Status::{Changed, Failed, Ok, Skipped};

fn controller_hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .expect("hostname")
        .trim()
        .to_string()
}

#[test]
fn a_play_that_reads_facts_starts_by_gathering_them() {
    let (scratch, run) = run_on(
        "gather",
        &["h1:", "h2:"],
        r#"
- hosts: all
  tasks:
    - name: write facts
      copy:
        dest: "{{ tmp }}/{{ inventory_hostname }}.facts"
        content: |
          {{ ansible_hostname }}
          {{ ansible_facts['hostname'] }}
          {{ ansible_distribution == ansible_facts.distribution }}
          {{ ansible_os_family | length > 0 }}
          {{ ansible_processor_vcpus > 0 }} {{ ansible_memtotal_mb > 0 }}
          {{ ansible_date_time.date | length }} {{ ansible_date_time.epoch | int > 0 }}
          {{ ansible_env.PATH | length > 0 }} {{ ansible_user_id | length > 0 }}
          {{ facts.hostname == ansible_hostname }} {{ facts.arch == ansible_architecture }}
          {{ gather_subset }} {{ module_setup }}
"#,
    );
    for host in ["h1", "h2"] {
        assert_eq!(
            run.of_host(host),
            [
                ("Gathering Facts".to_string(), Ok),
                ("write facts".to_string(), Changed)
            ]
        );
        let hostname = controller_hostname();
        let short = hostname.split('.').next().unwrap_or_default();
        assert_eq!(
            scratch.read(&format!("{host}.facts")).as_deref(),
            Some(
                format!(
                    "{short}\n{short}\nTrue\nTrue\nTrue True\n10 True\nTrue True\nTrue True\n['all'] True\n"
                )
                .as_str()
            )
        );
    }
}

#[test]
fn a_playbook_that_reads_no_facts_gathers_none() {
    let (_scratch, run) = run_on(
        "no-gather",
        &["h1:"],
        "- hosts: all\n  tasks:\n    - name: plain\n      command: 'true'\n      changed_when: false\n",
    );
    assert_eq!(run.of_host("h1"), [("plain".to_string(), Ok)]);
}

#[test]
fn gather_facts_false_gathers_nothing_until_setup_does() {
    let (scratch, run) = run_on(
        "setup",
        &["h1:"],
        r#"
- hosts: all
  gather_facts: false
  tasks:
    - name: before
      copy:
        dest: "{{ tmp }}/before"
        content: "{{ ansible_distribution | default('none') }} {{ ansible_facts | length }}\n"
    - name: only the clock
      setup:
        gather_subset: ["!all", "!min", "date_time"]
      register: gathered
    - name: after
      copy:
        dest: "{{ tmp }}/after"
        content: "{{ ansible_distribution | default('none') }} {{ ansible_date_time.year | length }} {{ gathered.ansible_facts.ansible_date_time.year == ansible_date_time.year }} {{ ansible_facts.gather_subset | join(',') }}\n"
    - name: more
      ansible.builtin.setup:
        filter: ["ansible_distribution*"]
    - name: merged
      copy:
        dest: "{{ tmp }}/merged"
        content: "{{ ansible_distribution | length > 0 }} {{ ansible_date_time is defined }} {{ ansible_hostname | default('none') }}\n"
"#,
    );
    let statuses: Vec<Status> = run.of_host("h1").into_iter().map(|(_, s)| s).collect();
    assert_eq!(statuses, [Changed, Ok, Changed, Ok, Changed]);
    assert_eq!(scratch.read("before").as_deref(), Some("none 0\n"));
    assert_eq!(
        scratch.read("after").as_deref(),
        Some("none 4 True !all,!min,date_time\n")
    );
    assert_eq!(scratch.read("merged").as_deref(), Some("True True none\n"));
}

#[test]
fn facts_stay_with_the_host_across_plays() {
    let (scratch, run) = run_on(
        "across",
        &["h1:"],
        r#"
- hosts: all
  tasks:
    - name: first
      command: "echo {{ ansible_hostname }}"
      changed_when: false
- hosts: all
  gather_facts: false
  tasks:
    - name: second
      copy: {dest: "{{ tmp }}/second", content: "{{ ansible_hostname }}\n"}
- hosts: all
  tasks:
    - name: third
      command: 'true'
      changed_when: false
"#,
    );
    let names: Vec<String> = run
        .of_host("h1")
        .into_iter()
        .map(|(name, _)| name)
        .collect();
    // The third play gathers again: it has gather_facts, and the playbook
    // reads facts.
    assert_eq!(
        names,
        [
            "Gathering Facts",
            "first",
            "second",
            "Gathering Facts",
            "third"
        ]
    );
    let short = controller_hostname()
        .split('.')
        .next()
        .unwrap_or_default()
        .to_string();
    assert_eq!(scratch.read("second"), Some(format!("{short}\n")));
}

#[test]
fn hostvars_hold_every_hosts_inventory_facts_and_results() {
    let (scratch, run) = run_on(
        "hostvars",
        &["h1: {role: web}", "h2: {role: db}", "h3: {role: spare}"],
        r#"
- hosts: h1:h2
  strategy: linear
  vars: {from_play: yes}
  tasks:
    - name: pick
      set_fact: {picked: "{{ inventory_hostname }}-picked"}
    - name: registered
      command: echo out-{{ inventory_hostname }}
      register: said
      changed_when: false
    - name: read others
      copy:
        dest: "{{ tmp }}/{{ inventory_hostname }}.hostvars"
        content: |
          {{ hostvars['h1'].role }} {{ hostvars['h2'].role }} {{ hostvars['h3'].role }}
          {{ hostvars['h1'].picked }} {{ hostvars['h2'].said.stdout }}
          {{ hostvars['h3'].picked | default('none') }} {{ hostvars['h1'].from_play | default('no play vars') }}
          {{ hostvars['h2'].ansible_hostname == ansible_hostname }} {{ hostvars['h3'].ansible_facts | length }}
          {{ hostvars[inventory_hostname].inventory_hostname }} {{ hostvars | length }}
"#,
    );
    assert!(run.of_host("h3").is_empty());
    for host in ["h1", "h2"] {
        assert_eq!(
            scratch.read(&format!("{host}.hostvars")),
            Some(format!(
                "web db spare\nh1-picked out-h2\nnone no play vars\nTrue 0\n{host} 3\n"
            ))
        );
    }
}

#[test]
fn magic_variables_name_the_play_and_leave_failed_hosts_out() {
    let scratch = Scratch::new("magic");
    let yaml_inventory = scratch.inventory(&["h1:", "h2.example.com:", "h3:"]);
    let _ = yaml_inventory;
    let inventory = {
        let text = format!(
            "all:\n  vars: {{tmp: '{}', connection: local}}\n  children:\n    web:\n      hosts: {{h1: {{}}, h2.example.com: {{}}}}\n    app:\n      hosts: {{h2.example.com: {{}}, h3: {{}}}}\n",
            scratch.dir.display()
        );
        let path = scratch.path("inventory.yaml");
        std::fs::write(&path, &text).unwrap();
        fleet_inventory::Inventory::parse(&text, &path).unwrap()
    };
    let playbook = r#"
- name: site
  hosts: all
  serial: 2
  tasks:
    - name: h1 fails
      fail: msg=gone
      when: inventory_hostname == 'h1'
    - name: magic
      copy:
        dest: "{{ tmp }}/{{ inventory_hostname }}.magic"
        content: |
          {{ group_names | join(',') }} {{ inventory_hostname_short }}
          {{ ansible_play_hosts | join(',') }} / {{ ansible_play_hosts_all | join(',') }}
          {{ ansible_play_batch | join(',') }} {{ play_hosts | join(',') }} {{ ansible_play_name }}
          {{ ansible_version.full }} {{ ansible_version.major }}.{{ ansible_version.minor }}
          {{ ansible_check_mode }} {{ ansible_diff_mode }} {{ inventory_dir == tmp }}
"#;
    let run = run_with(
        &scratch,
        &inventory,
        playbook,
        |_| false,
        |options| options.diff = true,
    );
    assert_eq!(
        run.of_task("h1 fails")
            .iter()
            .filter(|r| r.status == Failed)
            .count(),
        1
    );
    assert_eq!(
        scratch.read("h2.example.com.magic").as_deref(),
        Some(
            "app,web h2\nh2.example.com,h3 / h1,h2.example.com,h3\nh2.example.com h2.example.com site\n2.19.0 2.19\nFalse True True\n"
        )
    );
    // The rollout stopped after the first batch had a failure.
    assert!(!scratch.exists("h3.magic"));
    let skipped = run
        .of_task("h1 fails")
        .iter()
        .filter(|r| r.status == Skipped)
        .count();
    assert_eq!(skipped, 1);
}

#[test]
fn template_files_see_ansible_managed() {
    let scratch = Scratch::new("managed");
    let inventory = scratch.inventory(&["h1:", "h2: {ansible_managed: by hand}"]);
    std::fs::write(scratch.path("motd.j2"), "# {{ ansible_managed }}\n").unwrap();
    run(
        &scratch,
        &inventory,
        r#"
- hosts: all
  tasks:
    - name: file
      template: {src: motd.j2, dest: "{{ tmp }}/{{ inventory_hostname }}.motd"}
    - name: lookup
      copy:
        dest: "{{ tmp }}/{{ inventory_hostname }}.lookup"
        content: "{{ lookup('template', 'motd.j2') }}"
"#,
    );
    assert_eq!(
        scratch.read("h1.motd").as_deref(),
        Some("# Ansible managed\n")
    );
    assert_eq!(
        scratch.read("h1.lookup").as_deref(),
        Some("# Ansible managed\n")
    );
    assert_eq!(scratch.read("h2.motd").as_deref(), Some("# by hand\n"));
}
