//! `serial` and `rollback`: what loads, and the located errors for the rest.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use fleet_playbook::{
    BatchSize, LoadOptions, Play, PlaySerial, PlaybookError, Rollback, Serial, load,
};
use serde_json::{Map, Value, json};

/// Loads a play of `hosts: all` and `keys`, beside the `files` (relative
/// path, text) it reads.
fn load_with(
    keys: &str,
    files: &[(&str, &str)],
    options: &LoadOptions,
) -> Result<Play, PlaybookError> {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let dir: PathBuf = std::env::temp_dir().join(format!(
        "fleet-playbook-serial-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).expect("mkdir");
    for (name, text) in files {
        let path = dir.join(name);
        std::fs::create_dir_all(path.parent().expect("a folder")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    }
    let path = dir.join("play.yaml");
    std::fs::write(&path, format!("hosts: all\n{keys}")).expect("write");
    let loaded = load(&path, options);
    std::fs::remove_dir_all(&dir).expect("clean up");
    loaded.map(|mut playbook| playbook.plays.remove(0))
}

fn load_play(keys: &str) -> Result<Play, PlaybookError> {
    load_with(keys, &[], &LoadOptions::default())
}

/// `line:col: message` of the error, and its hint.
fn error(keys: &str) -> (String, String) {
    located(load_play(keys).expect_err("should be rejected"))
}

fn located(err: PlaybookError) -> (String, String) {
    let hint = err.hint().unwrap_or_default().to_owned();
    let first = err
        .to_string()
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned();
    let located = first
        .split_once("play.yaml:")
        .map_or(first.clone(), |(_, rest)| rest.to_owned());
    (located, hint)
}

fn serial(keys: &str) -> Option<Serial> {
    match load_play(keys).unwrap_or_else(|err| panic!("{err}")).serial {
        None => None,
        Some(PlaySerial::Sizes(serial)) => Some(serial),
        Some(PlaySerial::Template(template)) => panic!("a template: {template:?}"),
    }
}

/// The sizes a play's templated `serial` renders to with the -e `extra`.
fn rendered(play: &Play, extra: &Map<String, Value>) -> Serial {
    assert!(
        matches!(play.serial, Some(PlaySerial::Template(_))),
        "{:?}",
        play.serial
    );
    play.serial_sizes(extra)
        .unwrap_or_else(|err| panic!("{err}"))
        .expect("a serial")
}

fn extra(vars: Value) -> Map<String, Value> {
    match vars {
        Value::Object(map) => map,
        other => panic!("not a map: {other}"),
    }
}

const RAMP: [BatchSize; 3] = [
    BatchSize::Count(1),
    BatchSize::Percent(25.0),
    BatchSize::Percent(100.0),
];

#[test]
fn serial_takes_a_count_a_percentage_or_a_ramp() {
    assert_eq!(serial(""), None);
    assert_eq!(
        serial("serial: 2\n"),
        Some(Serial(vec![BatchSize::Count(2)]))
    );
    assert_eq!(
        serial("serial: \"3\"\n"),
        Some(Serial(vec![BatchSize::Count(3)]))
    );
    assert_eq!(
        serial("serial: 30%\n"),
        Some(Serial(vec![BatchSize::Percent(30.0)]))
    );
    assert_eq!(
        serial("serial: \"12.5%\"\n"),
        Some(Serial(vec![BatchSize::Percent(12.5)]))
    );
    assert_eq!(
        serial("serial: [1, \"10%\", \"50%\", \"100%\"]\n"),
        Some(Serial(vec![
            BatchSize::Count(1),
            BatchSize::Percent(10.0),
            BatchSize::Percent(50.0),
            BatchSize::Percent(100.0),
        ]))
    );
}

#[test]
fn bad_serial_values_are_located_with_a_hint() {
    let cases = [
        (
            "serial: 0\n",
            "2:9: `serial` must be at least 1 host, got 0",
        ),
        (
            "serial: -2\n",
            "2:9: `serial` must be at least 1 host, got -2",
        ),
        (
            "serial: \"0%\"\n",
            "2:9: a `serial` percentage must be from 1% to 100%, got \"0%\"",
        ),
        (
            "serial: 150%\n",
            "2:9: a `serial` percentage must be from 1% to 100%, got \"150%\"",
        ),
        (
            "serial: \"half%\"\n",
            "2:9: `serial` percentage \"half%\" is not a number",
        ),
        (
            "serial: all\n",
            "2:9: `serial` must be a host count or a percentage like \"30%\", got \"all\"",
        ),
        ("serial: []\n", "2:9: `serial` must not be an empty list"),
        (
            "serial: [1, 0]\n",
            "2:13: `serial` must be at least 1 host, got 0",
        ),
        (
            "serial:\n  - 1\n  - [2]\n",
            "4:5: `serial` must be a host count, a percentage or a list of them, got a list",
        ),
        (
            "serial: true\n",
            "2:9: `serial` must be a host count, a percentage or a list of them, got true",
        ),
        (
            "serial: 2.5\n",
            "2:9: `serial` must be a host count, a percentage or a list of them, got 2.5",
        ),
    ];
    for (keys, expected) in cases {
        let (message, hint) = error(keys);
        assert_eq!(message, expected, "{keys}");
        assert!(hint.contains("serial"), "{keys}: {hint}");
    }
}

#[test]
fn a_templated_serial_is_kept_as_written_and_renders_from_play_vars() {
    let play = load_play(
        "serial: \"{{ release_serial }}\"\nvars:\n  release_serial: [1, \"25%\", \"100%\"]\n",
    )
    .unwrap_or_else(|err| panic!("{err}"));
    match &play.serial {
        Some(PlaySerial::Template(template)) => {
            assert_eq!(template.written, json!("{{ release_serial }}"));
            assert!(
                template.at.to_string().ends_with("play.yaml:2:9"),
                "{}",
                template.at
            );
        }
        other => panic!("not a template: {other:?}"),
    }
    assert_eq!(rendered(&play, &Map::new()), Serial(RAMP.to_vec()));

    let cases = [
        // A template among sizes.
        (
            "serial: [\"{{ first_batch }}\", \"100%\"]\nvars: {first_batch: 2}\n",
            vec![BatchSize::Count(2), BatchSize::Percent(100.0)],
        ),
        // Rendered text: a count, a percentage, a YAML or JSON list.
        (
            "serial: \"{{ size }}\"\nvars: {size: \"3\"}\n",
            vec![BatchSize::Count(3)],
        ),
        (
            "serial: \"{{ share }}%\"\nvars: {share: 30}\n",
            vec![BatchSize::Percent(30.0)],
        ),
        (
            "serial: \"{{ ramp }}\"\nvars: {ramp: \"[1, '25%', '100%']\"}\n",
            RAMP.to_vec(),
        ),
        (
            "serial: \"{{ ramp | to_json }}\"\nvars: {ramp: [1, \"25%\", \"100%\"]}\n",
            RAMP.to_vec(),
        ),
        // A play var holding a template of another.
        (
            "serial: \"{{ size }}\"\nvars: {base: 2, size: \"{{ base * 2 }}\"}\n",
            vec![BatchSize::Count(4)],
        ),
        // Undefined but defaulted.
        (
            "serial: \"{{ size | default(5) }}\"\n",
            vec![BatchSize::Count(5)],
        ),
    ];
    for (keys, sizes) in cases {
        let play = load_play(keys).unwrap_or_else(|err| panic!("{keys}: {err}"));
        assert_eq!(rendered(&play, &Map::new()), Serial(sizes), "{keys}");
    }
}

#[test]
fn extra_vars_win_over_play_vars() {
    let keys = "serial: \"{{ release_serial }}\"\nvars: {release_serial: 1}\n";
    let play = load_play(keys).unwrap_or_else(|err| panic!("{err}"));
    assert_eq!(
        rendered(&play, &Map::new()),
        Serial(vec![BatchSize::Count(1)])
    );
    let given = extra(json!({"release_serial": "50%"}));
    assert_eq!(
        rendered(&play, &given),
        Serial(vec![BatchSize::Percent(50.0)])
    );
    // A variable only -e gives loads when -e gives it.
    let options = LoadOptions {
        extra_vars: extra(json!({"size": 2})),
        ..LoadOptions::default()
    };
    let play =
        load_with("serial: \"{{ size }}\"\n", &[], &options).unwrap_or_else(|err| panic!("{err}"));
    assert_eq!(
        rendered(&play, &options.extra_vars),
        Serial(vec![BatchSize::Count(2)])
    );
    // render_serial keeps the sizes, rendered once.
    let mut play = play;
    play.render_serial(&options.extra_vars)
        .unwrap_or_else(|err| panic!("{err}"));
    assert_eq!(
        play.serial,
        Some(PlaySerial::Sizes(Serial(vec![BatchSize::Count(2)])))
    );
}

#[test]
fn vars_files_and_role_defaults_give_serial_too() {
    let files = [
        (
            "vars/rollout.yaml",
            "release_serial: [1, \"25%\", \"100%\"]\n",
        ),
        ("roles/app/defaults/main.yaml", "app_batch: 3\n"),
        ("roles/app/tasks/main.yaml", "- command: \"true\"\n"),
    ];
    let options = LoadOptions::default();
    let play = load_with(
        "serial: \"{{ release_serial }}\"\nvars_files: [vars/rollout.yaml]\n",
        &files,
        &options,
    )
    .unwrap_or_else(|err| panic!("{err}"));
    assert_eq!(rendered(&play, &Map::new()), Serial(RAMP.to_vec()));
    let play = load_with(
        "serial: \"{{ app_batch }}\"\nroles: [app]\n",
        &files,
        &options,
    )
    .unwrap_or_else(|err| panic!("{err}"));
    assert_eq!(
        rendered(&play, &Map::new()),
        Serial(vec![BatchSize::Count(3)])
    );
}

#[test]
fn a_templated_serial_that_cannot_render_is_located_when_the_playbook_loads() {
    let cases = [
        (
            "serial: \"{{ size }}\"\n",
            "2:9: undefined variable `size` in `serial`",
        ),
        (
            "serial: [1, \"{{ next_batch }}\"]\n",
            "2:13: undefined variable `next_batch` in `serial`",
        ),
        (
            "serial: \"{{ size\"\n",
            "2:9: syntax error: unexpected end of input, expected end of variable block in \"{{ size\"",
        ),
        (
            "serial: \"{{ size }}\"\nvars: {size: 0}\n",
            "2:9: `serial` must be at least 1 host, got 0 (rendered from \"{{ size }}\")",
        ),
        (
            "serial: \"{{ size }}\"\nvars: {size: abc}\n",
            "2:9: `serial` must be a host count or a percentage like \"30%\", got \"abc\" \
             (rendered from \"{{ size }}\")",
        ),
        (
            "serial: \"{{ ramp }}\"\nvars: {ramp: []}\n",
            "2:9: `serial` must not be an empty list (rendered from \"{{ ramp }}\")",
        ),
        (
            "serial: [\"{{ first }}\", \"100%\"]\nvars: {first: \"0%\"}\n",
            "2:9: a `serial` percentage must be from 1% to 100%, got \"0%\" \
             (rendered from [\"{{ first }}\",\"100%\"])",
        ),
        // The plain entries of a templated list are checked as written.
        (
            "serial: [\"{{ first }}\", 0]\nvars: {first: 1}\n",
            "2:25: `serial` must be at least 1 host, got 0",
        ),
        // A play var that reads a host var cannot render before any host.
        (
            "serial: \"{{ size }}\"\nvars: {size: \"{{ inventory_size }}\"}\n",
            "2:9: cannot render `serial`: ",
        ),
    ];
    for (keys, expected) in cases {
        let (message, hint) = error(keys);
        assert!(
            message.starts_with(expected),
            "{keys}\n{message}\n{expected}"
        );
        assert!(hint.contains("serial"), "{keys}: {hint}");
    }
    let (_, hint) = error("serial: \"{{ size }}\"\n");
    assert!(hint.contains("-e size="), "{hint}");
    let (_, hint) = error("serial: \"{{ sise }}\"\nvars: {size: 2}\n");
    assert!(hint.starts_with("did you mean `size`?"), "{hint}");
}

#[test]
fn host_vars_are_not_known_to_serial() {
    let options = LoadOptions {
        known_vars: ["inventory_size".to_owned()].into(),
        ..LoadOptions::default()
    };
    let err = load_with("serial: \"{{ inventory_size }}\"\n", &[], &options)
        .expect_err("an inventory var");
    assert_eq!(
        located(err).0,
        "2:9: undefined variable `inventory_size` in `serial`"
    );
    let err = load_with("serial: \"{{ inventory_hostname }}\"\n", &[], &options)
        .expect_err("a host's own name");
    assert_eq!(
        located(err).0,
        "2:9: undefined variable `inventory_hostname` in `serial`"
    );
}

#[test]
fn a_serial_that_reads_a_prompted_var_renders_once_it_is_given() {
    let keys = "serial: \"{{ batch }}\"\nvars_prompt:\n  - name: batch\n    prompt: batch size\n";
    let play = load_play(keys).unwrap_or_else(|err| panic!("{err}"));
    let given = extra(json!({"batch": "2"}));
    assert_eq!(rendered(&play, &given), Serial(vec![BatchSize::Count(2)]));
    let err = play
        .serial_sizes(&extra(json!({"batch": "none"})))
        .expect_err("not a size");
    assert!(
        located(err)
            .0
            .starts_with("2:9: `serial` must be a host count"),
        "{keys}"
    );
    // Given with -e when the playbook loads, it is checked then.
    let options = LoadOptions {
        extra_vars: extra(json!({"batch": "0"})),
        ..LoadOptions::default()
    };
    let err = load_with(keys, &[], &options).expect_err("0 hosts");
    let (message, _) = located(err);
    assert!(
        message.starts_with("2:9: `serial` must be at least 1 host, got 0"),
        "{message}"
    );
}

#[test]
fn rollback_is_batch_all_or_none() {
    let rollback = |keys: &str| {
        load_play(keys)
            .unwrap_or_else(|err| panic!("{err}"))
            .rollback
    };
    assert_eq!(rollback(""), Rollback::Batch);
    assert_eq!(rollback("rollback: batch\n"), Rollback::Batch);
    assert_eq!(rollback("rollback: all\n"), Rollback::All);
    assert_eq!(rollback("rollback: none\n"), Rollback::None);
    let (message, hint) = error("rollback: previous\n");
    assert_eq!(message, "2:11: unknown `rollback` value \"previous\"");
    assert!(hint.contains("`batch`"), "{hint}");
    let (_, hint) = error("rollback: bach\n");
    assert!(hint.starts_with("did you mean `batch`?"), "{hint}");
    let (message, _) = error("rollback: 1\n");
    assert_eq!(message, "2:11: `rollback` must be a string, got 1");
}
