//! Ansible's `with_*` loops and `loop_control`, run for real over the
//! local connection.

mod common;

use common::{Scratch, run, run_on};
use fleet_engine::Status;

/// Runs one task on host `h1` whose shell appends a line to `out`, and
/// returns the lines.
fn lines(name: &str, task: &str) -> Vec<String> {
    let scratch = Scratch::new(name);
    let inventory = scratch.inventory(&["h1:"]);
    let playbook = format!(
        "- hosts: all\n  vars:\n    users:\n      - {{name: alice, keys: [k1, k2]}}\n      - {{name: bob, keys: [k3]}}\n  tasks:\n{task}"
    );
    let run = run(&scratch, &inventory, &playbook);
    let statuses: Vec<Status> = run.results().iter().map(|result| result.status).collect();
    assert!(
        statuses.iter().all(|status| *status == Status::Changed),
        "{:?}",
        run.results()
    );
    scratch
        .read("out")
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn with_items_flattens_one_level_and_with_list_does_not() {
    let items = lines(
        "with-items",
        "    - shell: echo {{ item if item is string else 'list' }} >> {{ tmp }}/out\n      with_items: [a, [b, c], \"{{ ['d', ['e']] }}\"]\n",
    );
    assert_eq!(items, ["a", "b", "c", "d", "list"]);
    let list = lines(
        "with-list",
        "    - shell: echo '{{ item | length }}' >> {{ tmp }}/out\n      with_list: [[a, b], [c]]\n",
    );
    assert_eq!(list, ["2", "1"]);
}

#[test]
fn with_dict_with_sequence_with_together_with_nested() {
    let dict = lines(
        "with-dict",
        "    - shell: echo {{ item.key }}={{ item.value }} >> {{ tmp }}/out\n      with_dict: {b: 2, a: 1}\n",
    );
    assert_eq!(dict, ["b=2", "a=1"]);
    let sequence = lines(
        "with-sequence",
        "    - shell: echo {{ item }} >> {{ tmp }}/out\n      with_sequence: start=8 end={{ 4 * 3 }} stride=2 format=web%02d\n",
    );
    assert_eq!(sequence, ["web08", "web10", "web12"]);
    let together = lines(
        "with-together",
        "    - shell: echo {{ item.0 }}-{{ item.1 }} >> {{ tmp }}/out\n      with_together: [[a, b, c], [1, 2]]\n",
    );
    assert_eq!(together, ["a-1", "b-2", "c-None"]);
    let nested = lines(
        "with-nested",
        "    - shell: echo {{ item[0] }}@{{ item[1] }} >> {{ tmp }}/out\n      with_nested: [\"{{ users | map(attribute='name') | list }}\", [db1, db2]]\n",
    );
    assert_eq!(nested, ["alice@db1", "alice@db2", "bob@db1", "bob@db2"]);
}

#[test]
fn with_subelements_pairs_users_with_their_keys() {
    let keys = lines(
        "with-subelements",
        "    - shell: echo {{ item.0.name }} {{ item.1 }} {{ item.0.keys is defined }} >> {{ tmp }}/out\n      with_subelements: [\"{{ users }}\", keys]\n",
    );
    assert_eq!(keys, ["alice k1 False", "alice k2 False", "bob k3 False"]);
}

#[test]
fn with_fileglob_lists_the_playbooks_files() {
    let scratch = Scratch::new("with-fileglob");
    for file in ["files/a.conf", "files/b.conf", "files/c.txt"] {
        std::fs::create_dir_all(scratch.path("files")).expect("mkdir");
        std::fs::write(scratch.path(file), file).expect("write");
    }
    let inventory = scratch.inventory(&["h1:"]);
    let run = run(
        &scratch,
        &inventory,
        "- hosts: all\n  tasks:\n    - copy: {src: \"{{ item }}\", dest: \"{{ tmp }}/copied-{{ item | basename }}\"}\n      with_fileglob: \"*.conf\"\n",
    );
    assert_eq!(
        run.results()[0].status,
        Status::Changed,
        "{:?}",
        run.results()
    );
    assert_eq!(
        scratch.read("copied-a.conf").as_deref(),
        Some("files/a.conf")
    );
    assert_eq!(
        scratch.read("copied-b.conf").as_deref(),
        Some("files/b.conf")
    );
    assert!(!scratch.exists("copied-c.txt"));
}

#[test]
fn loop_control_names_counts_and_labels_the_items() {
    let (scratch, run) = run_on(
        "loop-control",
        &["h1:"],
        r#"
- hosts: all
  tasks:
    - name: extended
      shell: >-
        echo {{ pkg.name }} {{ i }} {{ ansible_loop.index }}/{{ ansible_loop.length }}
        first={{ ansible_loop.first }} last={{ ansible_loop.last }}
        prev={{ ansible_loop.previtem.name if ansible_loop.previtem is defined else '-' }}
        next={{ ansible_loop.nextitem.name if ansible_loop.nextitem is defined else '-' }}
        >> {{ tmp }}/out
      loop: [{name: a, n: 1}, {name: b, n: 2}, {name: c, n: 3}]
      loop_control: {loop_var: pkg, index_var: i, extended: true}
      register: looped
    - name: registered
      shell: echo {{ looped.results[1].pkg.name }} {{ looped.results[1].i }} {{ looped.results[1].ansible_loop_var }} > {{ tmp }}/registered
    - name: labelled
      command: test {{ item.num }} != 2
      loop: [{name: one, num: 1}, {name: two, num: 2}]
      loop_control: {label: "{{ item.name }}"}
"#,
    );
    assert_eq!(
        scratch.read("out").as_deref(),
        Some(
            "a 0 1/3 first=True last=False prev=- next=b\n\
             b 1 2/3 first=False last=False prev=a next=c\n\
             c 2 3/3 first=False last=True prev=b next=-\n"
        )
    );
    assert_eq!(scratch.read("registered").as_deref(), Some("b 1 pkg\n"));
    let labelled = run.of_task("labelled");
    assert_eq!(labelled[0].status, Status::Failed);
    assert_eq!(
        labelled[0].msg.as_deref(),
        Some("(item=two) non-zero return code 1")
    );
}

#[test]
fn loop_control_pause_waits_between_items() {
    let (scratch, run) = run_on(
        "loop-pause",
        &["h1:"],
        "- hosts: all\n  tasks:\n    - name: paced\n      shell: date +%s.%N >> {{ tmp }}/out\n      loop: [1, 2, 3]\n      loop_control: {pause: 0.3}\n",
    );
    let result = &run.of_task("paced")[0];
    assert_eq!(result.status, Status::Changed);
    assert!(result.duration_ms >= 600, "{}", result.duration_ms);
    let times: Vec<f64> = scratch
        .read("out")
        .unwrap_or_default()
        .lines()
        .map(|line| line.parse().expect("a time"))
        .collect();
    assert_eq!(times.len(), 3);
    assert!(
        times.windows(2).all(|pair| pair[1] - pair[0] >= 0.29),
        "{times:?}"
    );
}
