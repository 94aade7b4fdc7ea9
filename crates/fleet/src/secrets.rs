//! Passwords and passphrases: taken from the environment, or prompted for
//! on a terminal. They go straight to the transport and are never printed.

use std::io::IsTerminal;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use fleet_ssh::{Secret, SshOptions};

use crate::ansible_cfg::AnsibleCfg;
use crate::cli::SshArgs;
use crate::error::CliError;

pub const BECOME_PASSWORD_ENV: &str = "FLEET_BECOME_PASSWORD";

/// Seconds, when neither `--connect-timeout` nor ansible.cfg's `timeout` says.
const DEFAULT_CONNECT_TIMEOUT: f64 = 10.0;

/// Said when ansible.cfg (or `ANSIBLE_HOST_KEY_CHECKING`) turns host key
/// checking off: fleet then trusts unknown keys as `--accept-new` does.
pub fn host_key_checking_notice(config: &AnsibleCfg) -> String {
    let source = match &config.host_key_checking_origin {
        Some(at) if at.starts_with("ANSIBLE_") => format!("{at} is false"),
        Some(at) => format!("host_key_checking = False at {at}"),
        None => "host_key_checking".to_owned(),
    };
    format!(
        "warning: host key checking is off ({source}): unknown host keys are trusted \
         and recorded, as with --accept-new; a changed key is still refused"
    )
}

/// Builds the transport options from the common flags, then ansible.cfg
/// (and its `ANSIBLE_*` variables) for what no flag gives.
pub fn ssh_options(args: &SshArgs) -> Result<SshOptions, CliError> {
    let config = &args.config;
    let connect_timeout = match (args.connect_timeout, config.timeout) {
        (Some(seconds), _) => seconds,
        (None, Some(seconds)) => seconds as f64,
        (None, None) => DEFAULT_CONNECT_TIMEOUT,
    };
    if !(connect_timeout.is_finite() && connect_timeout > 0.0) {
        return Err(CliError::Usage(format!(
            "--connect-timeout must be a positive number of seconds, got {connect_timeout}"
        )));
    }
    let mut options = SshOptions::with_defaults();
    if let Some(file) = &args.known_hosts {
        options.known_hosts = file.clone();
    }
    if let Some(file) = &args.ssh_config {
        options.ssh_config = Some(file.clone());
    }
    options.accept_new = args.accept_new || config.host_key_checking_off();
    if config.host_key_checking_off() && !args.accept_new {
        // On stderr in every format: the NDJSON stream on stdout stays events.
        eprintln!("{}", host_key_checking_notice(config));
    }
    options.identity = args
        .identity
        .clone()
        .or_else(|| config.private_key_file.clone());
    options.connect_timeout = Duration::from_secs_f64(connect_timeout);
    options.max_concurrent_connects = args.connect_rate.max(1);
    if std::io::stdin().is_terminal() {
        options.passphrase_prompt = Some(Arc::new(|key: &Path| {
            rpassword::prompt_password(format!("Passphrase for {}: ", key.display())).ok()
        }));
    }
    Ok(options)
}

/// `-f N` of the playbook commands: at most N connections in their
/// handshake at the same moment (what `--connect-rate` sets); 0 lets every
/// one of `hosts` connect at once. Every connected host then runs its
/// tasks at once, whatever N.
pub fn connect_slots(forks: usize, hosts: usize) -> usize {
    match forks {
        0 => hosts.max(1),
        forks => forks,
    }
}

/// The sudo password: `FLEET_BECOME_PASSWORD` wins; `ask` prompts on a TTY.
pub fn become_password(ask: bool) -> Result<Option<Secret>, CliError> {
    if let Ok(password) = std::env::var(BECOME_PASSWORD_ENV) {
        return Ok(Some(Secret::new(password)));
    }
    if !ask {
        return Ok(None);
    }
    if !std::io::stdin().is_terminal() {
        return Err(CliError::Usage(format!(
            "--ask-become-pass needs a terminal; set {BECOME_PASSWORD_ENV} instead"
        )));
    }
    let password = rpassword::prompt_password("BECOME password: ")?;
    Ok(Some(Secret::new(password)))
}

/// The values of the playbook's `vars_prompt` variables that `-e` does not
/// give, added to `extra`: typed at a terminal (hidden when `private`), or
/// the prompt's `default`. Off a terminal, one without a default is bad
/// input, before any host is contacted.
pub fn prompted_vars(
    playbook: &fleet_playbook::Playbook,
    extra: &mut serde_json::Map<String, serde_json::Value>,
) -> Result<(), CliError> {
    let prompts = playbook.plays.iter().flat_map(|play| &play.vars_prompt);
    for prompt in prompts {
        if extra.contains_key(&prompt.name) {
            continue;
        }
        let value = if std::io::stdin().is_terminal() {
            let shown = match &prompt.default {
                Some(default) => format!("{} [{default}]: ", prompt.prompt),
                None => format!("{}: ", prompt.prompt),
            };
            let typed = if prompt.private {
                rpassword::prompt_password(shown)?
            } else {
                eprint!("{shown}");
                let mut line = String::new();
                std::io::stdin().read_line(&mut line)?;
                line.trim_end_matches(['\n', '\r']).to_owned()
            };
            match (&prompt.default, typed.is_empty()) {
                (Some(default), true) => default.clone(),
                _ => typed,
            }
        } else if let Some(default) = &prompt.default {
            default.clone()
        } else {
            return Err(CliError::Usage(format!(
                "{}: `vars_prompt` variable `{}` needs a value, and stdin is not a terminal\n  \
                 hint: pass it with `-e {}=VALUE`",
                prompt.origin, prompt.name, prompt.name
            )));
        };
        extra.insert(prompt.name.clone(), serde_json::Value::String(value));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ssh_args(args: &[&str], config: AnsibleCfg) -> SshArgs {
        use clap::Parser;
        let cli = crate::cli::Cli::try_parse_from(
            ["fleet", "inventory", "-i", "x.yaml"]
                .into_iter()
                .chain(args.iter().copied()),
        )
        .unwrap();
        let mut ssh = cli.ssh;
        ssh.config = config;
        ssh
    }

    #[test]
    fn flags_win_over_ansible_cfg_for_the_connection() {
        let config = AnsibleCfg {
            private_key_file: Some("/keys/from-cfg".into()),
            timeout: Some(30),
            host_key_checking: Some(false),
            ..AnsibleCfg::default()
        };
        let options = ssh_options(&ssh_args(&[], config.clone())).unwrap();
        assert_eq!(
            options.identity.as_deref(),
            Some(Path::new("/keys/from-cfg"))
        );
        assert_eq!(options.connect_timeout, Duration::from_secs(30));
        assert!(options.accept_new);
        let flags = ["--identity", "/keys/flag", "--connect-timeout", "2"];
        let options = ssh_options(&ssh_args(&flags, config)).unwrap();
        assert_eq!(options.identity.as_deref(), Some(Path::new("/keys/flag")));
        assert_eq!(options.connect_timeout, Duration::from_secs(2));
        let options = ssh_options(&ssh_args(&[], AnsibleCfg::default())).unwrap();
        assert_eq!(options.identity, None);
        assert_eq!(options.connect_timeout, Duration::from_secs(10));
        assert!(!options.accept_new);
    }

    #[test]
    fn forks_bound_the_connections_starting_together() {
        assert_eq!(connect_slots(5, 300), 5);
        assert_eq!(connect_slots(1, 300), 1);
        assert_eq!(connect_slots(0, 300), 300);
        assert_eq!(connect_slots(0, 0), 1);
    }
}
