//! The check of a templated `serial` when the playbook loads: its strings
//! compile and read only variables known before any host (the play's vars,
//! vars files, role defaults, `vars_prompt` and `-e`), and, unless it
//! reads a `vars_prompt` variable that has no value yet, it renders to a
//! valid `serial`.

use serde_json::{Map, Value};

use super::*;
use crate::PlaySerial;
use crate::references::play_value_variables;
use crate::serial_template::{RENDER_HINT, play_level_vars, render};

/// Built-in variables a play-level template can read.
const PLAY_LEVEL_BUILTINS: &[&str] = &["omit", "playbook_dir"];

pub(super) fn check_serial(
    templater: &Templater,
    parsed: &ParsedPlay,
    extra_vars: &Map<String, Value>,
) -> Result<(), PlaybookError> {
    let play = &parsed.play;
    let (Some(PlaySerial::Template(template)), Some(node)) = (&play.serial, &parsed.serial_node)
    else {
        return Ok(());
    };
    let f = Fields {
        label: &parsed.label,
        text: "",
    };
    let mut known: BTreeSet<String> = PLAY_LEVEL_BUILTINS
        .iter()
        .map(|name| (*name).to_owned())
        .collect();
    known.extend(extra_vars.keys().cloned());
    known.extend(play.vars.keys().cloned());
    known.extend(play.defaults.keys().cloned());
    known.extend(play.vars_prompt.iter().map(|prompt| prompt.name.clone()));
    walk_strings(node, &mut |string, text| {
        check_string(templater, f.at(string), text, &known)
    })?;
    let read = play_value_variables(play, &template.written);
    let prompted_later = play
        .vars_prompt
        .iter()
        .any(|prompt| !extra_vars.contains_key(&prompt.name) && read.contains(&prompt.name));
    if prompted_later {
        // Rendered once the operator has given it (see `Play::serial_sizes`).
        return Ok(());
    }
    render(template, &play_level_vars(play, extra_vars)).map(|_| ())
}

fn check_string(
    templater: &Templater,
    at: Location,
    text: &str,
    known: &BTreeSet<String>,
) -> Result<(), PlaybookError> {
    if !is_template(text) {
        return Ok(());
    }
    let names = templater.template_names(text).map_err(|(_, message)| {
        PlaybookError::template(
            at.clone(),
            format!("{message} in {}", message_quote(text)),
            "every `{{` of `serial` needs its `}}` and every `{%` its `%}`; \
             a YAML value that starts with `{{` must be quoted",
        )
    })?;
    let first = names
        .into_iter()
        .filter(|name| !known.contains(name) && !guarded(text, name))
        .min_by_key(|name| text.find(name.as_str()));
    match first {
        None => Ok(()),
        Some(name) => {
            let hint = match did_you_mean(&name, known.iter().map(String::as_str)) {
                Some(near) => format!("{near} {RENDER_HINT}"),
                None => format!(
                    "define `{name}` in the play's `vars`, or give it with `-e {name}=2`; {RENDER_HINT}"
                ),
            };
            Err(PlaybookError::undefined(
                at,
                format!("undefined variable `{name}` in `serial`"),
                hint,
                name,
            ))
        }
    }
}
