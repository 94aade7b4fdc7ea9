//! One host's variables, in precedence order.
//!
//! Lowest first: defaults, inventory vars, facts (`ansible_<fact>`, see
//! [`crate::magic`]), play vars, vars files, the task's own vars,
//! registered results, `-e` extra vars. Then the built-in variables, which
//! nothing overrides: `inventory_hostname`, `inventory_hostname_short`,
//! `omit`, `playbook_dir`, `ansible_facts` and `facts`, and, through
//! [`crate::add_magic_vars`], `group_names`, `groups`, `ansible_play_hosts`…
//!
//! Variables whose values are templates (`dir: "/opt/{{ app }}"`) are
//! rendered against the others, as Ansible does, up to a few levels deep.

use std::sync::LazyLock;

use serde_json::{Map, Value};

use crate::Play;
use crate::templater::{OMIT, Templater, is_template};

/// Variables fleet defines itself. Validation counts them as known; a play
/// cannot set them.
pub const BUILTIN_VARS: &[&str] = &[
    "facts",
    "ansible_facts",
    "inventory_hostname",
    "inventory_hostname_short",
    "group_names",
    "groups",
    "hostvars",
    "play_hosts",
    "ansible_play_hosts",
    "ansible_play_hosts_all",
    "ansible_play_batch",
    "ansible_play_name",
    "ansible_check_mode",
    "ansible_diff_mode",
    "ansible_version",
    "inventory_dir",
    "inventory_file",
    "omit",
    "playbook_dir",
];

/// Where the messages of variables that could not be rendered are kept,
/// so that using one explains why it is missing.
pub(crate) const UNRESOLVED: &str = "__fleet_unresolved";

/// How many rounds of rendering nested variable templates.
const MAX_DEPTH: usize = 8;

static TEMPLATER: LazyLock<Templater> = LazyLock::new(Templater::new);

/// The variables tasks of `play` see on host `host_name`: inventory vars <
/// facts < play vars and vars files (`play.vars`) < `registered` <
/// `extra`; then `inventory_hostname`, `omit`, `ansible_facts` and
/// `facts` (given as the host's facts without the `ansible_` prefix, once
/// gathered).
///
/// A variable holding a template is rendered with the others; one that
/// cannot be (it uses `facts` before they are gathered, a filter fails) is
/// left out, and rendering anything that uses it fails with the reason.
/// Registered results and facts are never rendered.
pub fn host_vars(
    inventory_vars: &Map<String, Value>,
    play: &Play,
    registered: &Map<String, Value>,
    extra: &Map<String, Value>,
    host_name: &str,
    facts: Option<&Map<String, Value>>,
) -> Value {
    let no_task_vars = Map::new();
    task_host_vars(
        inventory_vars,
        play,
        &no_task_vars,
        registered,
        extra,
        host_name,
        facts,
    )
}

/// [`host_vars`] for one task: its `vars` (`task_vars`) sit over the play's
/// vars and vars files and under registered results, as Ansible's task vars
/// do. They are rendered like the others.
pub fn task_host_vars(
    inventory_vars: &Map<String, Value>,
    play: &Play,
    task_vars: &Map<String, Value>,
    registered: &Map<String, Value>,
    extra: &Map<String, Value>,
    host_name: &str,
    facts: Option<&Map<String, Value>>,
) -> Value {
    let mut vars = play.defaults.clone();
    vars.extend(inventory_vars.clone());
    let fact_vars = crate::magic::fact_vars(facts);
    // Facts and registered results are data, never rendered again; a play
    // var of a fact's name is a var like any other.
    let mut kept: std::collections::BTreeSet<String> = fact_vars
        .keys()
        .filter(|name| {
            !play.vars.contains_key(*name)
                && !task_vars.contains_key(*name)
                && !registered.contains_key(*name)
        })
        .cloned()
        .collect();
    kept.extend(registered.keys().cloned());
    for name in extra.keys() {
        kept.remove(name);
    }
    vars.extend(fact_vars);
    vars.extend(play.vars.clone());
    vars.extend(task_vars.clone());
    vars.extend(registered.clone());
    vars.extend(extra.clone());
    vars.insert("inventory_hostname".into(), Value::String(host_name.into()));
    vars.insert(
        "inventory_hostname_short".into(),
        Value::String(crate::magic::inventory_hostname_short(host_name)),
    );
    vars.insert("omit".into(), Value::String(OMIT.into()));
    // Where lookups find controller files, as in Ansible.
    let playbook_dir = std::path::absolute(&play.dir).unwrap_or_else(|_| play.dir.clone());
    vars.insert(
        "playbook_dir".into(),
        Value::String(playbook_dir.display().to_string()),
    );
    let templated = templated_names(&vars, |name| kept.contains(name));
    resolve(&mut vars, templated);
    Value::Object(vars)
}

/// The variables of `vars` that hold templates to render: not the
/// built-ins, nor those `kept` as data.
pub(crate) fn templated_names(
    vars: &Map<String, Value>,
    kept: impl Fn(&str) -> bool,
) -> Vec<String> {
    vars.iter()
        .filter(|(name, value)| {
            !kept(name) && !BUILTIN_VARS.contains(&name.as_str()) && holds_template(value)
        })
        .map(|(name, _)| name.clone())
        .collect()
}

fn holds_template(value: &Value) -> bool {
    match value {
        Value::String(text) => is_template(text),
        Value::Array(items) => items.iter().any(holds_template),
        Value::Object(map) => map.values().any(holds_template),
        _ => false,
    }
}

/// Renders the variables named in `pending` until none holds a template or
/// nothing changes any more.
pub(crate) fn resolve(vars: &mut Map<String, Value>, mut pending: Vec<String>) {
    let mut failures = Map::new();
    for _ in 0..MAX_DEPTH {
        if pending.is_empty() {
            break;
        }
        let context = Value::Object(vars.clone());
        failures.clear();
        let mut progressed = false;
        let mut still = Vec::new();
        // A var waits while it mentions another pending var, so that it
        // never sees that var's unrendered text (unless all wait: a cycle).
        let waits = |name: &String| {
            let text = vars.get(name).map(Value::to_string).unwrap_or_default();
            pending
                .iter()
                .any(|other| other != name && mentions(&text, other))
        };
        let ready: Vec<bool> = pending.iter().map(waits).map(|wait| !wait).collect();
        let all = !ready.contains(&true);
        for (name, ready) in pending.into_iter().zip(ready) {
            let Some(value) = vars.get(&name) else {
                continue;
            };
            if !ready && !all {
                still.push(name);
                progressed = true;
                continue;
            }
            match TEMPLATER.render_value(value, &context) {
                Ok(rendered) => {
                    if rendered != *value {
                        progressed = true;
                    }
                    let again = holds_template(&rendered);
                    vars.insert(name.clone(), rendered);
                    if again {
                        still.push(name);
                    }
                }
                Err(err) => {
                    failures.insert(name.clone(), Value::String(err.to_string()));
                    still.push(name);
                }
            }
        }
        pending = still;
        if !progressed {
            break;
        }
    }
    for name in failures.keys() {
        vars.remove(name);
    }
    if !failures.is_empty() {
        vars.insert(UNRESOLVED.into(), Value::Object(failures));
    }
}

/// Whether `name` appears in `text` as a whole identifier.
fn mentions(text: &str, name: &str) -> bool {
    let is_ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    text.match_indices(name).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + name.len()..].chars().next();
        !before.is_some_and(is_ident) && !after.is_some_and(is_ident)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn play(vars: Value) -> Play {
        Play {
            name: "p".into(),
            hosts: "all".into(),
            hosts_origin: "p.yaml:1:8".into(),
            r#become: false,
            become_written: false,
            become_user: None,
            become_method: None,
            become_flags: None,
            connection: None,
            vars: vars.as_object().cloned().unwrap_or_default(),
            defaults: Map::new(),
            tasks: Vec::new(),
            handlers: Vec::new(),
            force_handlers: true,
            tags: Vec::new(),
            dir: ".".into(),
            template_dirs: Vec::new(),
            serial: None,
            max_fail_percentage: None,
            rollback: crate::Rollback::default(),
            strategy: crate::Strategy::default(),
            order: crate::HostOrder::default(),
            throttle: None,
            any_errors_fatal: false,
            remote_user: None,
            vars_prompt: Vec::new(),
            gather_facts: true,
            gather_subset: Vec::new(),
            fact_path: None,
            origin: "p.yaml:1:1".into(),
        }
    }

    fn map(value: Value) -> Map<String, Value> {
        value.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn precedence_is_inventory_play_registered_extra() {
        let inventory = map(json!({"a": "inv", "b": "inv", "c": "inv", "d": "inv", "e": "inv"}));
        let play = play(json!({"b": "play", "c": "play", "d": "play", "e": "play"}));
        let registered = map(json!({"c": "reg", "d": "reg", "e": {"rc": 0}}));
        let extra = map(json!({"d": "extra"}));
        let vars = host_vars(&inventory, &play, &registered, &extra, "web1", None);
        assert_eq!(vars["a"], "inv");
        assert_eq!(vars["b"], "play");
        assert_eq!(vars["c"], "reg");
        assert_eq!(vars["d"], "extra");
        assert_eq!(vars["e"], json!({"rc": 0}));
        assert_eq!(vars["inventory_hostname"], "web1");
        assert!(vars.get("facts").is_none());
        assert_eq!(vars["ansible_facts"], json!({}));
        let facts = map(json!({"distribution": "Debian", "env": {"HOME": "{{ x }}"}}));
        let vars = host_vars(&inventory, &play, &registered, &extra, "web1", Some(&facts));
        assert_eq!(vars["facts"]["os_id"], "debian");
        assert_eq!(vars["ansible_facts"]["distribution"], "Debian");
        assert_eq!(vars["ansible_distribution"], "Debian");
        // Facts are data: a brace in one is not a template.
        assert_eq!(vars["ansible_env"]["HOME"], "{{ x }}");
    }

    #[test]
    fn playbook_dir_is_the_plays_folder_made_absolute() {
        let mut play = play(json!({"conf": "{{ playbook_dir }}/files/app.conf"}));
        play.dir = "playbooks".into();
        let vars = host_vars(&Map::new(), &play, &Map::new(), &Map::new(), "h", None);
        let expected = std::env::current_dir().unwrap().join("playbooks");
        assert_eq!(vars["playbook_dir"], expected.display().to_string());
        assert_eq!(
            vars["conf"],
            format!("{}/files/app.conf", expected.display())
        );
    }

    #[test]
    fn a_var_waits_for_the_vars_it_mentions() {
        let play = play(json!({
            "c": "{{ 'yes' if b == 'x' else 'no' }}",
            "b": "{{ a }}",
            "a": "x",
        }));
        let vars = host_vars(&Map::new(), &play, &Map::new(), &Map::new(), "h", None);
        assert_eq!(vars["c"], "yes");
    }

    #[test]
    fn defaults_sit_below_the_inventory() {
        let mut play = play(json!({"port": 3}));
        play.defaults = map(json!({"port": 1, "user": "app", "root": "/opt/{{ user }}"}));
        let inventory = map(json!({"port": 2, "user": "shop"}));
        let vars = host_vars(&inventory, &play, &Map::new(), &Map::new(), "h", None);
        assert_eq!(vars["port"], 3);
        assert_eq!(vars["root"], "/opt/shop");
        let vars = host_vars(&Map::new(), &play, &Map::new(), &Map::new(), "h", None);
        assert_eq!(vars["root"], "/opt/app");
    }

    #[test]
    fn vars_files_override_play_vars_through_play_vars_order() {
        // The loader merges vars files over play vars into `play.vars`.
        let mut play = play(json!({"app": "play"}));
        play.vars.extend(map(json!({"app": "file"})));
        let vars = host_vars(&Map::new(), &play, &Map::new(), &Map::new(), "h", None);
        assert_eq!(vars["app"], "file");
    }

    #[test]
    fn templated_vars_are_rendered_but_registered_results_are_not() {
        let play = play(json!({
            "app": "shop",
            "root": "/opt/{{ app }}",
            "current": "{{ root }}/current",
            "ports": "{{ [8000, 8001] }}",
            "arch": "{{ facts.arch }}",
        }));
        let registered = map(json!({"out": {"stdout": "{{ literal }}"}}));
        let vars = host_vars(&Map::new(), &play, &registered, &Map::new(), "h", None);
        assert_eq!(vars["current"], "/opt/shop/current");
        assert_eq!(vars["ports"], json!([8000, 8001]));
        assert_eq!(vars["out"]["stdout"], "{{ literal }}");
        assert!(vars.get("arch").is_none());
        let err = Templater::new()
            .render_str("{{ arch }}", &vars)
            .unwrap_err();
        assert!(err.to_string().contains("`facts` is undefined"), "{err}");
    }

    #[test]
    fn task_vars_sit_over_play_vars_and_under_registered_and_extra() {
        let inventory = map(json!({"a": "inv"}));
        let play = play(json!({"b": "play", "c": "play", "d": "play", "dir": "/opt/{{ sub }}"}));
        let task_vars =
            map(json!({"a": "task", "b": "task", "c": "task", "d": "task", "sub": "x"}));
        let registered = map(json!({"c": "reg"}));
        let extra = map(json!({"d": "extra"}));
        let vars = task_host_vars(
            &inventory,
            &play,
            &task_vars,
            &registered,
            &extra,
            "h",
            None,
        );
        assert_eq!(
            [&vars["a"], &vars["b"], &vars["c"], &vars["d"]],
            ["task", "task", "reg", "extra"]
        );
        // A play var sees the task's vars, as Ansible's lazy templating does.
        assert_eq!(vars["dir"], "/opt/x");
    }

    #[test]
    fn facts_sit_between_the_inventory_and_play_vars() {
        let inventory = map(json!({"ansible_hostname": "inv", "ansible_fqdn": "inv"}));
        let play =
            play(json!({"ansible_fqdn": "play.example.com", "fqdn_seen": "{{ ansible_fqdn }}"}));
        let facts = map(json!({"hostname": "web1", "fqdn": "web1.example.com"}));
        let vars = host_vars(
            &inventory,
            &play,
            &Map::new(),
            &Map::new(),
            "web1.example.com",
            Some(&facts),
        );
        assert_eq!(vars["ansible_hostname"], "web1");
        assert_eq!(vars["ansible_fqdn"], "play.example.com");
        assert_eq!(vars["fqdn_seen"], "play.example.com");
        assert_eq!(vars["ansible_facts"]["fqdn"], "web1.example.com");
        assert_eq!(vars["inventory_hostname_short"], "web1");
    }
}
