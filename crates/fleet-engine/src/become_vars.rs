//! Ansible's become connection vars: `ansible_become`,
//! `ansible_become_user`, `ansible_become_method` and
//! `ansible_become_password` (or `ansible_become_pass`). As with every
//! connection var in Ansible, a var wins over the play's and the task's
//! keywords (and over `--become`), wherever it is set (inventory,
//! group_vars, play vars). A task delegated to another host reads that
//! host's inventory vars only.

use fleet_playbook::BecomeMethod;
use fleet_shell::Secret;
use fleet_ssh::Become;
use serde_json::{Map, Value};

/// What the become vars of one host say; `None` where they say nothing.
#[derive(Debug, Clone, Default)]
pub(crate) struct BecomeVars {
    pub enabled: Option<bool>,
    pub user: Option<String>,
    pub method: Option<BecomeMethod>,
    pub password: Option<Secret>,
}

impl BecomeVars {
    /// Reads the become vars of `vars`; `render` renders a value that is a
    /// template (`ansible_become_password: "{{ vault_sudo }}"`).
    pub fn read(
        vars: &Map<String, Value>,
        render: impl Fn(&Value) -> Result<Value, String>,
    ) -> Result<BecomeVars, String> {
        let text = |name: &str| -> Result<Option<String>, String> {
            let Some(value) = vars.get(name) else {
                return Ok(None);
            };
            match render(value)? {
                Value::String(text) => Ok(Some(text)),
                Value::Number(number) => Ok(Some(number.to_string())),
                Value::Bool(flag) => Ok(Some(flag.to_string())),
                other => Err(format!("`{name}` must be a string, got {other}")),
            }
        };
        let enabled = text("ansible_become")?
            .map(|value| {
                boolean(&value)
                    .ok_or_else(|| format!("`ansible_become` must be a boolean, got {value:?}"))
            })
            .transpose()?;
        let method = text("ansible_become_method")?
            .map(|value| match value.trim() {
                "sudo" => Ok(BecomeMethod::Sudo),
                "su" => Ok(BecomeMethod::Su),
                other => Err(format!(
                    "`ansible_become_method: {other}` is not supported: fleet becomes with sudo or su"
                )),
            })
            .transpose()?;
        let password = match text("ansible_become_password")? {
            Some(password) => Some(password),
            None => text("ansible_become_pass")?,
        };
        Ok(BecomeVars {
            enabled,
            user: text("ansible_become_user")?.filter(|user| !user.is_empty()),
            method,
            password: password.map(Secret::new),
        })
    }
}

impl BecomeVars {
    /// Whether to become, when the keywords say `keywords`.
    pub fn wanted(&self, keywords: bool) -> bool {
        self.enabled.unwrap_or(keywords)
    }

    /// `base` (what the keywords say) with what the vars set put over it.
    /// A method the vars change drops the flags written for the other.
    pub fn over(&self, base: Become) -> Become {
        let method = match (self.method, base.method) {
            (Some(BecomeMethod::Sudo), fleet_ssh::BecomeMethod::Su { .. }) => {
                fleet_ssh::BecomeMethod::Sudo
            }
            (Some(BecomeMethod::Su), fleet_ssh::BecomeMethod::Sudo) => {
                fleet_ssh::BecomeMethod::Su { flags: Vec::new() }
            }
            (_, method) => method,
        };
        Become {
            user: self.user.clone().unwrap_or(base.user),
            password: self.password.clone().or(base.password),
            method,
        }
    }
}

/// Ansible's boolean words.
fn boolean(text: &str) -> Option<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" | "yes" | "on" | "1" | "y" | "t" => Some(true),
        "false" | "no" | "off" | "0" | "n" | "f" | "" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn read(vars: Value) -> Result<BecomeVars, String> {
        BecomeVars::read(vars.as_object().expect("map"), |value| Ok(value.clone()))
    }

    #[test]
    fn each_var_is_read_and_the_long_password_name_wins() {
        let vars = read(json!({
            "ansible_become": "yes",
            "ansible_become_user": "postgres",
            "ansible_become_method": "su",
            "ansible_become_password": "long",
            "ansible_become_pass": "short",
        }))
        .expect("vars");
        assert_eq!(vars.enabled, Some(true));
        assert_eq!(vars.user.as_deref(), Some("postgres"));
        assert_eq!(vars.method, Some(BecomeMethod::Su));
        assert_eq!(
            vars.password.map(|p| p.expose().to_owned()).as_deref(),
            Some("long")
        );
        let short = read(json!({"ansible_become_pass": 1234})).expect("vars");
        assert_eq!(
            short.password.map(|p| p.expose().to_owned()).as_deref(),
            Some("1234")
        );
        assert_eq!(short.enabled, None);
    }

    #[test]
    fn a_method_fleet_lacks_or_a_bad_boolean_is_an_error() {
        let err = read(json!({"ansible_become_method": "doas"})).unwrap_err();
        assert!(err.contains("doas"), "{err}");
        let err = read(json!({"ansible_become": "maybe"})).unwrap_err();
        assert!(err.contains("maybe"), "{err}");
        assert_eq!(
            read(json!({"ansible_become": false})).unwrap().enabled,
            Some(false)
        );
    }
}
