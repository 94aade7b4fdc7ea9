//! `ansible_local`: the host's own facts, one per `*.fact` file of the
//! fact path (`/etc/ansible/facts.d`), named after the file. An
//! executable file is run and its output read; either way the text is
//! JSON, or else INI (sections of `key = value`, read like Python's
//! configparser: keys lowercased, a `DEFAULT` section's keys in every
//! section). A file that is neither becomes a message, as in Ansible.

use serde_json::{Map, Value, json};

use super::setup_script::Sections;
use super::setup_system::Facts;

pub fn local(sections: &Sections, fact_path: &str) -> Facts {
    let mut local = Map::new();
    for file in &sections.local_facts {
        let text = sections.get(&format!("fact {file}"));
        let (first, body) = text.split_once('\n').unwrap_or((text, ""));
        let path = format!("{}/{file}", fact_path.trim_end_matches('/'));
        let name = file.replacen(".fact", "", 1);
        let fact = match first.strip_prefix("rc=") {
            Some(rc) if rc != "0" => json!(format!(
                "Failure executing fact script ({path}), rc: {rc}, err: "
            )),
            _ => parse(body.trim(), &path),
        };
        local.insert(name, fact);
    }
    let mut facts = Facts::new();
    facts.insert("local".into(), Value::Object(local));
    facts
}

fn parse(text: &str, path: &str) -> Value {
    if let Ok(value) = serde_json::from_str::<Value>(text) {
        return value;
    }
    match ini(text) {
        Some(sections) => Value::Object(sections),
        None => json!(format!(
            "error loading facts as JSON or ini - please check content: {path}"
        )),
    }
}

/// configparser's reading of `text`; `None` where it raises an error (a
/// line outside any section, a key without a value, a section or key
/// given twice).
fn ini(text: &str) -> Option<Map<String, Value>> {
    let mut sections: Vec<(String, Map<String, Value>)> = Vec::new();
    let mut defaults = Map::new();
    let mut in_defaults = false;
    let mut current: Option<usize> = None;
    let mut last_key: Option<String> = None;
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('#') || trimmed.starts_with(';') {
            continue;
        }
        if trimmed.is_empty() {
            last_key = None;
            continue;
        }
        let indented = line.starts_with([' ', '\t']);
        if indented && let Some(key) = &last_key {
            // A continuation line of the value above.
            let target = match current {
                Some(index) if !in_defaults => &mut sections[index].1,
                _ => &mut defaults,
            };
            if let Some(Value::String(value)) = target.get_mut(key) {
                value.push('\n');
                value.push_str(trimmed);
            }
            continue;
        }
        if let Some(name) = trimmed
            .strip_prefix('[')
            .and_then(|rest| rest.strip_suffix(']'))
        {
            last_key = None;
            if name == "DEFAULT" {
                in_defaults = true;
                continue;
            }
            if sections.iter().any(|(known, _)| known == name) {
                return None;
            }
            in_defaults = false;
            sections.push((name.to_string(), Map::new()));
            current = Some(sections.len() - 1);
            continue;
        }
        let at = trimmed.find(['=', ':'])?;
        let (key, value) = (
            trimmed[..at].trim().to_lowercase(),
            trimmed[at + 1..].trim(),
        );
        let target = match current {
            _ if in_defaults => &mut defaults,
            Some(index) => &mut sections[index].1,
            None => return None,
        };
        if target.contains_key(&key) {
            return None;
        }
        target.insert(key.clone(), json!(value));
        last_key = Some(key);
    }
    Some(
        sections
            .into_iter()
            .map(|(name, mut options)| {
                for (key, value) in &defaults {
                    options.entry(key.clone()).or_insert_with(|| value.clone());
                }
                (name, Value::Object(options))
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sections(text: &str) -> Sections {
        Sections::parse(text)
    }

    #[test]
    fn json_ini_scripts_and_errors() {
        let out = "\n@@fleet:fact app.fact\nfile\n{\"version\": \"1.2\", \"workers\": 4}\n\n\
            @@fleet:fact site.fact\nfile\n[DEFAULT]\nzone = eu\n[web]\nPort = 80\nnote: first\n  second\n\n\
            @@fleet:fact run.fact\nrc=0\n{\"ran\": true}\n\n\
            @@fleet:fact broken.fact\nrc=3\n\n\n\
            @@fleet:fact bad.fact\nfile\nnot ini\n\n@@fleet:end\n";
        let facts = local(&sections(out), "/etc/ansible/facts.d");
        assert_eq!(
            facts["local"],
            json!({
                "app": {"version": "1.2", "workers": 4},
                "site": {"web": {"port": "80", "note": "first\nsecond", "zone": "eu"}},
                "run": {"ran": true},
                "broken": "Failure executing fact script (/etc/ansible/facts.d/broken.fact), rc: 3, err: ",
                "bad": "error loading facts as JSON or ini - please check content: /etc/ansible/facts.d/bad.fact",
            })
        );
    }

    #[test]
    fn ini_refuses_what_configparser_refuses() {
        assert_eq!(ini("key = 1"), None);
        assert_eq!(ini("[a]\nkey\n"), None);
        assert_eq!(ini("[a]\nk = 1\nk = 2\n"), None);
        assert_eq!(ini("[a]\n[a]\n"), None);
        assert_eq!(ini(""), Some(Map::new()));
    }
}
