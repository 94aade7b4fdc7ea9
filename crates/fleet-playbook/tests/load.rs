//! Loading: the model built from the good playbooks, imports, vars files,
//! and which variables count as defined.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use fleet_playbook::{
    BatchSize, LoadOptions, Location, PlaySerial, Playbook, PlaybookError, Rollback, Serial,
    Templater, host_vars, load,
};
use serde_json::{Map, Value, json};

fn good(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/playbooks/good")
        .join(name)
}

fn load_good(name: &str) -> Playbook {
    load(&good(name), &LoadOptions::default()).unwrap_or_else(|err| panic!("{err}"))
}

/// A fresh folder holding `files` (path, text); returns the folder.
fn scratch(files: &[(&str, &str)]) -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "fleet-playbook-load-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    for (path, text) in files {
        let path = dir.join(path);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    }
    dir
}

fn load_text(text: &str, options: &LoadOptions) -> Result<Playbook, PlaybookError> {
    let dir = scratch(&[("play.yaml", text)]);
    let loaded = load(&dir.join("play.yaml"), options);
    std::fs::remove_dir_all(&dir).expect("clean up");
    loaded
}

/// The first line of the error, without the scratch folder.
fn error(text: &str) -> String {
    error_with(text, &LoadOptions::default())
}

fn error_with(text: &str, options: &LoadOptions) -> String {
    let err = load_text(text, options).expect_err("should be rejected");
    assert!(err.hint().is_some_and(|hint| !hint.is_empty()));
    let first = err
        .to_string()
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned();
    first
        .split_once("play.yaml:")
        .map_or(first.clone(), |(_, rest)| rest.to_owned())
}

#[test]
fn a_single_play_file_becomes_the_full_model() {
    let playbook = load_good("base.yaml");
    assert_eq!(playbook.plays.len(), 1);
    let play = &playbook.plays[0];
    assert_eq!(play.name, "base setup");
    assert_eq!(play.hosts, "web:&prod");
    assert!(
        play.hosts_origin.ends_with("base.yaml:3:9"),
        "{}",
        play.hosts_origin
    );
    assert!(play.origin.ends_with("base.yaml:2:1"), "{}", play.origin);
    assert!(play.r#become);
    assert_eq!(play.become_user.as_deref(), Some("root"));
    assert!(!play.force_handlers);
    assert_eq!(play.tags, ["base"]);
    assert_eq!(
        play.serial,
        Some(PlaySerial::Sizes(Serial(vec![BatchSize::Percent(25.0)])))
    );
    assert_eq!(play.max_fail_percentage, Some(10.0));
    assert_eq!(play.rollback, Rollback::All);
    // vars files are merged over play vars.
    assert_eq!(play.vars["app"], "mall");
    assert_eq!(play.vars["workers"], 4);
    assert_eq!(play.vars["app_root"], "/opt/{{ app }}");
    // The five tasks, then the flush of handlers that Ansible has after
    // `tasks`, before the end of the play's.
    assert_eq!(play.tasks.len(), 6);
    assert_eq!(play.tasks[5].module, "meta");
    assert_eq!(play.tasks[5].tags, [fleet_playbook::FLEET_OWN_TAG]);
    assert_eq!(play.handlers.len(), 2);

    let dirs = &play.tasks[0];
    assert_eq!(dirs.module, "command");
    assert_eq!(dirs.params, json!("mkdir -p {{ app_root }}/{{ item }}"));
    assert_eq!(
        dirs.r#loop,
        Some(json!(["releases", "shared", "shared/logs"]))
    );
    assert_eq!(dirs.tags, ["dirs"]);

    let packages = &play.tasks[1];
    assert_eq!(
        packages.when.as_deref(),
        Some("(ansible_check_mode is defined) and (facts.os_id == \"debian\")")
    );
    assert_eq!(
        packages.environment,
        [
            ("DEBIAN_FRONTEND".to_owned(), "noninteractive".to_owned()),
            ("RETRIES".to_owned(), "3".to_owned())
        ]
    );
    assert_eq!(packages.retries, Some(3));
    assert_eq!(packages.delay, Some(2.5));
    assert_eq!(packages.register.as_deref(), Some("apt_out"));
    assert_eq!(packages.until.as_deref(), Some("apt_out.rc == 0"));
    assert_eq!(packages.timeout, Some(300.0));

    let unit = &play.tasks[2];
    assert_eq!(unit.notify, ["reload systemd", "restart api"]);
    assert_eq!(unit.params["src"], "unit.j2");

    let uptime = &play.tasks[3];
    assert_eq!(uptime.name, "command: uptime");
    assert_eq!(uptime.changed_when.as_deref(), Some("false"));
    assert!(uptime.ignore_errors && uptime.run_once && uptime.no_log);
    assert_eq!(uptime.r#become, Some(false));
    assert_eq!(uptime.become_user.as_deref(), Some("nobody"));
    assert!(
        uptime.origin.ends_with("base.yaml:39:5"),
        "{}",
        uptime.origin
    );
    assert_eq!(play.tasks[4].when.as_deref(), Some("true"));
    assert_eq!(play.handlers[1].register.as_deref(), Some("restarted"));
}

#[test]
fn imports_are_flattened_in_order() {
    let playbook = load_good("site.yaml");
    let names: Vec<&str> = playbook
        .plays
        .iter()
        .map(|play| play.name.as_str())
        .collect();
    assert_eq!(names, ["base setup", "all", "second", "all"]);
    let second = &playbook.plays[2];
    assert!(
        second.origin.contains("good/plays.yaml:"),
        "{}",
        second.origin
    );
    assert!(
        second.dir.ends_with("tests/playbooks/good"),
        "{}",
        second.dir.display()
    );
    assert!(!second.dir.to_string_lossy().contains("nested/.."));
}

#[test]
fn templates_are_found_next_to_the_playbook_then_in_template_dirs() {
    let playbook = load_good("base.yaml");
    let play = &playbook.plays[0];
    let path = play.template_path("unit.j2").expect("unit.j2 found");
    assert!(
        path.ends_with("good/templates/unit.j2"),
        "{}",
        path.display()
    );
    assert_eq!(play.template_path("nowhere.j2"), None);
    assert!(play.template_dirs[0].ends_with("tests/playbooks/templates"));

    let dir = scratch(&[
        (
            "site/play.yaml",
            "hosts: all\ntasks:\n  - template: {src: shared.j2, dest: /etc/x}\n",
        ),
        ("shared/shared.j2", "x={{ inventory_hostname }}\n"),
    ]);
    let options = LoadOptions {
        template_dirs: vec![dir.join("shared")],
        ..LoadOptions::default()
    };
    let playbook =
        load(&dir.join("site/play.yaml"), &options).unwrap_or_else(|err| panic!("{err}"));
    let found = playbook.plays[0]
        .template_path("shared.j2")
        .expect("found in template_dirs");
    let vars = host_vars(
        &Map::new(),
        &playbook.plays[0],
        &Map::new(),
        &Map::new(),
        "web1",
        None,
    );
    assert_eq!(
        Templater::new().render_file(&found, &vars).unwrap(),
        "x=web1\n"
    );
    std::fs::remove_dir_all(&dir).expect("clean up");
}

#[test]
fn host_vars_follow_the_precedence_of_the_loaded_play() {
    let playbook = load_good("base.yaml");
    let play = &playbook.plays[0];
    let inventory: Map<String, Value> = json!({"app": "inv", "port": 1, "workers": 1})
        .as_object()
        .cloned()
        .unwrap_or_default();
    let registered: Map<String, Value> = json!({"apt_out": {"rc": 0}})
        .as_object()
        .cloned()
        .unwrap_or_default();
    let extra: Map<String, Value> = json!({"workers": 9})
        .as_object()
        .cloned()
        .unwrap_or_default();
    let vars = host_vars(&inventory, play, &registered, &extra, "web1", None);
    assert_eq!(vars["app"], "mall");
    assert_eq!(vars["app_root"], "/opt/mall");
    assert_eq!(vars["port"], 1);
    assert_eq!(vars["workers"], 9);
    assert_eq!(vars["apt_out"]["rc"], 0);
    let templater = Templater::new();
    assert_eq!(
        templater
            .render_str("{{ app_root }}/{{ workers }}", &vars)
            .unwrap(),
        "/opt/mall/9"
    );
}

#[test]
fn errors_carry_a_location() {
    let err = load_text(
        "hosts: all\ntasks:\n  - command: {cmd: ls, chdri: /}\n",
        &LoadOptions::default(),
    )
    .expect_err("unknown param");
    let location: &Location = err.location().expect("located");
    assert_eq!((location.line, location.column), (3, Some(24)));
    let err =
        load(Path::new("no/such/playbook.yaml"), &LoadOptions::default()).expect_err("missing");
    assert!(err.location().is_none());
    assert!(
        err.to_string()
            .starts_with("no/such/playbook.yaml: cannot read the playbook")
    );
}

#[test]
fn known_variables_come_from_the_caller_the_play_and_builtins() {
    let text = "hosts: all\ntasks:\n  - command: echo {{ from_inventory }} {{ from_extra }} {{ inventory_hostname }} {{ facts.os }}\n";
    assert_eq!(
        error(text),
        "3:14: undefined variable `from_inventory` in the `command` params"
    );
    let options = LoadOptions {
        known_vars: ["from_inventory".to_owned()].into(),
        extra_vars: json!({"from_extra": 1})
            .as_object()
            .cloned()
            .unwrap_or_default(),
        ..LoadOptions::default()
    };
    load_text(text, &options).unwrap_or_else(|err| panic!("{err}"));
}

#[test]
fn item_is_known_only_in_looped_tasks() {
    assert!(load_text("hosts: all\ntasks:\n  - command: echo {{ item }}\n    loop: [a]\n    when: item != 'b'\n", &LoadOptions::default()).is_ok());
    assert_eq!(
        error("hosts: all\ntasks:\n  - command: echo {{ item }}\n"),
        "3:14: undefined variable `item` in the `command` params"
    );
    assert_eq!(
        error("hosts: all\ntasks:\n  - command: echo\n    loop: \"{{ item }}\"\n"),
        "4:11: undefined variable `item` in `loop`"
    );
}

#[test]
fn registered_results_are_known_after_their_task_and_in_their_own_conditions() {
    let ok = "hosts: all
tasks:
  - command: uptime
    register: up
    changed_when: up.rc != 0 or result.rc != 0
    until: up.rc == 0
  - command: echo {{ up.stdout }}
handlers:
  - name: h
    command: echo {{ later.stdout }}
  - name: h2
    command: uptime
    register: later
";
    load_text(ok, &LoadOptions::default()).unwrap_or_else(|err| panic!("{err}"));
    assert_eq!(
        error("hosts: all\ntasks:\n  - command: uptime\n    when: up.rc == 0\n    register: up\n"),
        "4:11: undefined variable `up` in `when`"
    );
    let plays = "- hosts: all\n  tasks:\n    - command: uptime\n      register: up\n- hosts: all\n  tasks:\n    - command: echo {{ up.rc }}\n";
    assert!(load_text(plays, &LoadOptions::default()).is_ok());
}

#[test]
fn bools_take_ansible_words() {
    let text =
        "hosts: all\nbecome: yes\nforce_handlers: Off\ntasks:\n  - command: ls\n    no_log: on\n";
    let playbook = load_text(text, &LoadOptions::default()).unwrap_or_else(|err| panic!("{err}"));
    let play = &playbook.plays[0];
    assert!(play.r#become && !play.force_handlers && play.tasks[0].no_log);
}

#[test]
fn until_alone_retries_three_times() {
    let playbook = load_text(
        "hosts: all\ntasks:\n  - command: ls\n    register: r\n    until: r.rc == 0\n",
        &LoadOptions::default(),
    )
    .unwrap_or_else(|err| panic!("{err}"));
    assert_eq!(playbook.plays[0].tasks[0].retries, Some(3));
}

#[test]
fn templated_hosts_use_play_and_extra_vars() {
    let text = "hosts: \"{{ target | default('all') }}\"\nvars: {x: 1}\n";
    let playbook = load_text(text, &LoadOptions::default()).unwrap_or_else(|err| panic!("{err}"));
    assert_eq!(playbook.plays[0].hosts, "all");
    let options = LoadOptions {
        extra_vars: json!({"target": "web:&prod"})
            .as_object()
            .cloned()
            .unwrap_or_default(),
        ..LoadOptions::default()
    };
    let playbook = load_text(text, &options).unwrap_or_else(|err| panic!("{err}"));
    assert_eq!(playbook.plays[0].hosts, "web:&prod");
    assert_eq!(
        error("hosts: \"{{ target }}\"\n"),
        "1:8: cannot render `hosts`: undefined value: `target` is undefined in \"{{ target }}\""
    );
}

#[test]
fn vars_files_paths_may_use_play_and_extra_vars() {
    let dir = scratch(&[
        (
            "play.yaml",
            "hosts: all\nvars: {env_file: \"{{ app_env }}.yaml\"}\nvars_files: [\"vars/{{ env_file }}\"]\ntasks:\n  - command: echo {{ db_host }}\n",
        ),
        ("vars/prod.yaml", "db_host: db1\n"),
    ]);
    let options = LoadOptions {
        extra_vars: json!({"app_env": "prod"})
            .as_object()
            .cloned()
            .unwrap_or_default(),
        ..LoadOptions::default()
    };
    let playbook = load(&dir.join("play.yaml"), &options).unwrap_or_else(|err| panic!("{err}"));
    assert_eq!(playbook.plays[0].vars["db_host"], "db1");
    std::fs::remove_dir_all(&dir).expect("clean up");
}

#[test]
fn guarded_names_are_not_undefined() {
    let text = "hosts: all\ntasks:\n  - command: echo {{ port | default(80) }} {{ x|d('') }}\n    when: flag is defined and flag\n";
    load_text(text, &LoadOptions::default()).unwrap_or_else(|err| panic!("{err}"));
}

#[test]
fn conditions_accept_bools_lists_and_braces() {
    let playbook = load_text(
        "hosts: all\ntasks:\n  - command: uptime\n    when: [true, \"{{ 1 == 1 }}\"]\n    failed_when: false\n",
        &LoadOptions::default(),
    )
    .unwrap_or_else(|err| panic!("{err}"));
    let task = &playbook.plays[0].tasks[0];
    assert_eq!(task.when.as_deref(), Some("(true) and (1 == 1)"));
    assert_eq!(task.failed_when.as_deref(), Some("false"));
    assert!(
        Templater::new()
            .eval_bool(task.when.as_deref().unwrap_or_default(), &json!({}))
            .unwrap()
    );
    assert_eq!(
        error("hosts: all\ntasks:\n  - command: uptime\n    when: 5\n"),
        "4:11: `when` must be an expression, true/false, or a list of expressions, got 5"
    );
}

#[test]
fn shapes_and_types_are_checked() {
    assert_eq!(
        error("- hosts: all\n- 5\n"),
        "2:3: each entry of a playbook must be a play (a map) or `import: file.yaml`, got 5"
    );
    assert_eq!(
        error("- import: x.yaml\n  hosts: all\n"),
        "2:3: an import entry holds only `import`, but this one also has `hosts`"
    );
    assert_eq!(
        error("hosts: all\ntasks: {command: uptime}\n"),
        "2:8: `tasks` must be a list of tasks, got a map"
    );
    assert_eq!(
        error("hosts: all\ntasks:\n  - command: ls\n    retries: -1\n"),
        "4:14: `retries` must be a whole number from 0 to 4294967295, got -1"
    );
    assert_eq!(
        error("hosts: all\ntasks:\n  - command: ls\n    timeout: 0\n"),
        "4:14: `timeout` must be more than 0 seconds"
    );
    assert_eq!(
        error("hosts: all\ntasks:\n  - command: ls\n    register: item\n"),
        "4:15: `register: item` would hide the built-in variable `item`"
    );
    assert_eq!(
        error("hosts: all\nvars: {facts: 1}\n"),
        "2:8: `facts` is a built-in variable and cannot be set"
    );
    assert_eq!(
        error("hosts: all\nmax_fail_percentage: 150\n"),
        "2:22: `max_fail_percentage` must be from 0 to 100, got 150"
    );
    assert_eq!(
        error("hosts: all\ntasks:\n  - name: x\n"),
        "3:5: this task has no module"
    );
    assert_eq!(
        error("hosts: all\ntasks:\n  - with_random_choice: [a]\n    command: ls\n"),
        "3:5: `with_random_choice` is not a loop fleet runs"
    );
    assert_eq!(
        error("hosts: all\nhandlers:\n  - {name: h, command: ls}\n  - {name: h, command: ls}\n"),
        "4:5: two handlers are named \"h\""
    );
    assert_eq!(
        error("hosts: all\ntasks:\n  - command: ls\n    notify: h\n"),
        "4:13: `notify` names no handler of this play: \"h\""
    );
}

#[test]
fn connection_local_and_delegate_to_localhost_are_read() {
    let options = LoadOptions::default();
    let text = "hosts: all\nconnection: local\ntasks:\n  - command: uptime\n    delegate_to: localhost\n  - command: uptime\n    delegate_to: 127.0.0.1\n  - command: uptime\n";
    let playbook = load_text(text, &options).unwrap_or_else(|err| panic!("{err}"));
    let play = &playbook.plays[0];
    assert_eq!(play.connection, Some(fleet_playbook::PlayConnection::Local));
    let delegates: Vec<Option<&str>> = play
        .tasks
        .iter()
        .map(|task| task.delegate_to.as_deref())
        .collect();
    assert_eq!(delegates, [Some("localhost"), Some("127.0.0.1"), None]);
    let ssh = load_text("hosts: all\nconnection: ssh\ntasks: []\n", &options)
        .unwrap_or_else(|err| panic!("{err}"));
    assert_eq!(
        ssh.plays[0].connection,
        Some(fleet_playbook::PlayConnection::Ssh)
    );
}

#[test]
fn connection_and_delegate_to_belong_where_they_are_written() {
    assert_eq!(
        error("hosts: all\nconnection: winrm\ntasks: []\n"),
        "2:13: `connection` must be `local` or `ssh`, got \"winrm\""
    );
    assert_eq!(
        error("hosts: all\ndelegate_to: localhost\ntasks: []\n"),
        "2:1: unknown play key `delegate_to`"
    );
}

#[test]
fn lookups_and_playbook_dir_pass_validation() {
    let text = "hosts: all\nvars:\n  motd: \"{{ lookup('file', 'motd') }}\"\ntasks:\n  - copy: {content: \"{{ motd }} {{ query('fileglob', '*.conf') | length }}\", dest: /etc/motd}\n    when: (playbook_dir ~ '/files/motd') is file and lookup('env', 'HOME') is defined\n";
    load_text(text, &LoadOptions::default()).unwrap_or_else(|err| panic!("{err}"));
}

#[test]
fn conditions_wrapped_in_braces_or_holding_templates_load() {
    let playbook = load_text(
        "hosts: all\nvars: {app_env: prod}\ntasks:\n  - command: uptime\n    register: up\n  - command: uptime\n    when: \"{{ up is changed }}\"\n  - command: uptime\n    when: \"'{{ app_env }}' == 'prod'\"\n",
        &LoadOptions::default(),
    )
    .unwrap_or_else(|err| panic!("{err}"));
    let tasks = &playbook.plays[0].tasks;
    assert_eq!(tasks[1].when.as_deref(), Some("up is changed"));
    assert_eq!(tasks[2].when.as_deref(), Some("'{{ app_env }}' == 'prod'"));
    let err = error(
        "hosts: all\ntasks:\n  - command: uptime\n    when: \"'{{ app_envv }}' == 'prod'\"\n",
    );
    assert!(err.contains("app_envv"), "{err}");
}

#[test]
fn facts_are_known_once_a_play_or_a_setup_task_gathers_them() {
    let gathered = "hosts: all\ntasks:\n  - command: echo {{ ansible_distribution }} {{ ansible_eth0.ipv4.address }}\n";
    load_text(gathered, &LoadOptions::default()).unwrap_or_else(|err| panic!("{err}"));
    let none =
        "hosts: all\ngather_facts: false\ntasks:\n  - command: echo {{ ansible_distribution }}\n";
    assert_eq!(
        error(none),
        "4:14: undefined variable `ansible_distribution` in the `command` params"
    );
    let err = load_text(none, &LoadOptions::default()).unwrap_err();
    assert!(
        err.hint()
            .unwrap_or_default()
            .contains("gather_facts: false"),
        "{err}"
    );
    let typo = "hosts: all\ntasks:\n  - command: echo {{ ansible_distributon }}\n";
    let err = load_text(typo, &LoadOptions::default()).unwrap_err();
    assert!(
        err.hint()
            .unwrap_or_default()
            .contains("`ansible_distribution`"),
        "{err}"
    );
    let after_setup = "hosts: all\ngather_facts: no\ntasks:\n  - setup: {gather_subset: [\"!all\"]}\n  - command: echo {{ ansible_date_time.date }}\n";
    load_text(after_setup, &LoadOptions::default()).unwrap_or_else(|err| panic!("{err}"));
    let before_setup = "hosts: all\ngather_facts: no\ntasks:\n  - command: echo {{ ansible_hostname }}\n  - setup:\n";
    let err = load_text(before_setup, &LoadOptions::default()).unwrap_err();
    assert!(
        err.hint().unwrap_or_default().contains("comes later"),
        "{err}"
    );
    let earlier_play = "- hosts: all\n  tasks: []\n- hosts: all\n  gather_facts: false\n  tasks:\n    - command: echo {{ ansible_hostname }}\n";
    load_text(earlier_play, &LoadOptions::default()).unwrap_or_else(|err| panic!("{err}"));
    // `ansible_facts`, fleet's `facts` and the magic variables are always known.
    let always = "hosts: all\ngather_facts: false\ntasks:\n  - command: echo {{ ansible_facts.keys() | list }} {{ facts.os_id }} {{ hostvars[inventory_hostname].group_names }} {{ ansible_play_batch }} {{ ansible_version.full }} {{ inventory_dir }} {{ inventory_hostname_short }} {{ ansible_diff_mode }}\n";
    load_text(always, &LoadOptions::default()).unwrap_or_else(|err| panic!("{err}"));
}

#[test]
fn gather_keys_are_read_and_checked() {
    let playbook = load_text(
        "hosts: all\ngather_facts: false\ngather_subset: \"!all,network\"\ngather_timeout: 20\nfact_path: /srv/facts.d\n",
        &LoadOptions::default(),
    )
    .unwrap_or_else(|err| panic!("{err}"));
    let play = &playbook.plays[0];
    assert!(!play.gather_facts);
    assert_eq!(play.gather_subset, ["!all", "network"]);
    assert_eq!(play.fact_path.as_deref(), Some("/srv/facts.d"));
    assert!(
        load_good("base.yaml")
            .plays
            .iter()
            .all(|play| !play.gather_facts)
    );
    assert!(
        error("hosts: all\ngather_subset: [hardwre]\n")
            .starts_with("2:16: `gather_subset` has a bad subset \"hardwre\"")
    );
    assert!(
        error("hosts: all\ntasks:\n  - setup: {gather_subset: nope}\n")
            .contains("bad subset \"nope\"")
    );
}
