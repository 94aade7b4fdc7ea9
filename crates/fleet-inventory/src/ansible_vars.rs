//! Ansible's names for the connection vars (`ansible_host`, `ansible_port`,
//! ...), read alongside fleet's own (`address`, `port`, ...).
//!
//! A map of vars (a group's, or a host's) that sets an Ansible name gets
//! the matching fleet var too, unless the same map sets the fleet var
//! itself: inside one map fleet's name wins, and between maps the usual
//! precedence applies (a host's `ansible_user` wins over its group's
//! `user`). The Ansible var stays as written, for templates.

use fleet_yaml::{Location, Node, message_quote};
use serde_json::{Map, Value};

use crate::connection::{Jump, PathContext, check_value};
use crate::error::InventoryError;
use crate::ini::split_words;

/// Each Ansible connection var and the fleet var it sets.
pub const ANSIBLE_CONNECTION_VARS: [(&str, &str); 11] = [
    ("ansible_host", "address"),
    ("ansible_ssh_host", "address"),
    ("ansible_port", "port"),
    ("ansible_ssh_port", "port"),
    ("ansible_user", "user"),
    ("ansible_ssh_user", "user"),
    ("ansible_ssh_private_key_file", "identity_file"),
    ("ansible_private_key_file", "identity_file"),
    ("ansible_become", "become"),
    ("ansible_connection", "connection"),
    ("ansible_ssh_common_args", "jump"),
];

/// The fleet var that Ansible var `name` sets, if it is one.
pub(crate) fn fleet_name(name: &str) -> Option<&'static str> {
    ANSIBLE_CONNECTION_VARS
        .iter()
        .find(|(ansible, _)| *ansible == name)
        .map(|(_, fleet)| *fleet)
}

/// Checks the value of Ansible connection var `name` (at `at`) and returns
/// the fleet var it sets with its value; `None` when it sets nothing
/// (`ansible_ssh_common_args` without a jump host).
pub(crate) fn translate(
    name: &str,
    value: &Node,
    at: Location,
    paths: &PathContext,
) -> Result<Option<(&'static str, Value)>, InventoryError> {
    if name == "ansible_become_method" {
        return check_become_method(value, at).map(|()| None);
    }
    let Some(fleet) = fleet_name(name) else {
        return Ok(None);
    };
    let got = value.describe();
    let fail = |message: String, hint: &str| InventoryError::invalid(at.clone(), message, hint);
    let converted = match fleet {
        "port" => match value {
            Node::Str(text) if !text.is_empty() && text.chars().all(|c| c.is_ascii_digit()) => {
                Node::Int(text.parse().unwrap_or(0))
            }
            other => other.clone(),
        },
        "become" => match ansible_boolean(value) {
            Some(flag) => Node::Bool(flag),
            None => {
                return Err(fail(
                    format!("{name} must be a boolean, got {got}"),
                    "write true or false (Ansible also takes yes/no, on/off, 1/0)",
                ));
            }
        },
        "connection" => match value
            .as_str()
            .map(|text| text.trim_start_matches("ansible.builtin."))
        {
            Some("local") => Node::Str("local".to_owned()),
            Some("ssh" | "smart" | "paramiko" | "paramiko_ssh") => Node::Str("ssh".to_owned()),
            _ => {
                return Err(fail(
                    format!("{name} {got} is not supported"),
                    "fleet connects over `ssh` (also taken for `smart` and `paramiko`) or runs `local`",
                ));
            }
        },
        "jump" => match value {
            Node::Str(args) => match proxy_jump(args) {
                Ok(None) => return Ok(None),
                Ok(Some(spec)) => Node::Str(spec),
                Err(why) => {
                    return Err(fail(
                        format!("{name} {}: {why}", message_quote(args)),
                        "fleet takes only a jump host here: `-J user@bastion:22` or \
                         `-o ProxyJump=user@bastion:22`; set other ssh options in ssh_config",
                    ));
                }
            },
            _ => {
                return Err(fail(
                    format!("{name} must be a string of ssh options, got {got}"),
                    "write e.g. ansible_ssh_common_args='-J admin@bastion'",
                ));
            }
        },
        _ => value.clone(),
    };
    let checked = check_value(fleet, &converted, at.clone(), paths).map_err(|err| {
        let hint = err.hint().unwrap_or_default().to_owned();
        fail(
            format!(
                "{name}: {}",
                err.diagnostic()
                    .map(|d| d.message.clone())
                    .unwrap_or_default()
            ),
            &hint,
        )
    })?;
    Ok(Some((fleet, checked)))
}

/// `ansible_become_method` names a method fleet has (or is a template,
/// rendered when a task runs).
fn check_become_method(value: &Node, at: Location) -> Result<(), InventoryError> {
    match value.as_str().map(str::trim) {
        Some("sudo" | "su") => Ok(()),
        Some(text) if text.contains("{{") => Ok(()),
        _ => Err(InventoryError::invalid(
            at,
            format!(
                "ansible_become_method {} is not supported",
                value.describe()
            ),
            "fleet becomes with sudo (the default) or su: write ansible_become_method=sudo or su",
        )),
    }
}

/// Adds the fleet vars that the Ansible vars of `vars` set, where `vars`
/// does not set them itself. `translated` holds what [`translate`] gave.
pub(crate) fn add_fleet_vars(
    vars: &mut Map<String, Value>,
    translated: Vec<(&'static str, Value)>,
) {
    for (fleet, value) in translated {
        if !vars.contains_key(fleet) {
            vars.insert(fleet.to_owned(), value);
        }
    }
}

/// Ansible's `boolean()`: true, yes, on, 1, t, y (any case), and their opposites.
fn ansible_boolean(value: &Node) -> Option<bool> {
    match value {
        Node::Bool(flag) => Some(*flag),
        Node::Int(1) => Some(true),
        Node::Int(0) => Some(false),
        Node::Float(number) if *number == 1.0 => Some(true),
        Node::Float(number) if *number == 0.0 => Some(false),
        Node::Str(text) => match text.to_ascii_lowercase().as_str() {
            "y" | "yes" | "on" | "1" | "true" | "t" => Some(true),
            "n" | "no" | "off" | "0" | "false" | "f" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// The jump host of ssh options such as `-J admin@bastion` or
/// `-o ProxyJump=admin@bastion`; any other option is refused.
fn proxy_jump(args: &str) -> Result<Option<String>, String> {
    let words: Vec<String> = split_words(args)
        .map_err(|_| "a quote is never closed".to_owned())?
        .into_iter()
        .map(|word| word.text)
        .collect();
    let mut jump = None;
    let mut words = words.iter();
    while let Some(word) = words.next() {
        let mut shown = word.clone();
        let spec = match word.as_str() {
            "-J" => words.next().cloned(),
            "-o" => words.next().and_then(|option| {
                shown = format!("-o {option}");
                option_jump(option)
            }),
            other => other
                .strip_prefix("-J")
                .map(str::to_owned)
                .or_else(|| other.strip_prefix("-o").and_then(option_jump)),
        };
        let Some(spec) = spec.filter(|spec| !spec.is_empty()) else {
            return Err(format!("the ssh option `{shown}` is not supported"));
        };
        let parsed: Jump = spec
            .parse()
            .map_err(|err| format!("invalid jump host `{spec}`: {err}"))?;
        jump = Some(parsed.to_string());
    }
    Ok(jump)
}

/// The spec of `ProxyJump=spec` or `ProxyJump spec` (any case).
fn option_jump(option: &str) -> Option<String> {
    let (key, value) = option.split_once(['=', ' '])?;
    key.eq_ignore_ascii_case("ProxyJump")
        .then(|| value.trim().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jump_options() {
        assert_eq!(
            proxy_jump("-J admin@bastion:22"),
            Ok(Some("admin@bastion:22".into()))
        );
        assert_eq!(proxy_jump("-Jbastion"), Ok(Some("bastion".into())));
        assert_eq!(proxy_jump("-o ProxyJump=ops@b"), Ok(Some("ops@b".into())));
        assert_eq!(proxy_jump("-o 'ProxyJump ops@b'"), Ok(Some("ops@b".into())));
        assert_eq!(proxy_jump("-oProxyJump=b"), Ok(Some("b".into())));
        assert_eq!(proxy_jump(""), Ok(None));
        assert!(proxy_jump("-o StrictHostKeyChecking=no").is_err());
        assert!(proxy_jump("-C").is_err());
        assert!(proxy_jump("-J a,b").is_err());
    }

    #[test]
    fn booleans_as_ansible_reads_them() {
        assert_eq!(ansible_boolean(&Node::Str("Yes".into())), Some(true));
        assert_eq!(ansible_boolean(&Node::Str("off".into())), Some(false));
        assert_eq!(ansible_boolean(&Node::Int(1)), Some(true));
        assert_eq!(ansible_boolean(&Node::Str("maybe".into())), None);
    }
}
