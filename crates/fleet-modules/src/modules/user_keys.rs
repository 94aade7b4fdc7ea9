//! `user`'s `generate_ssh_key`: an SSH key pair for the user, made by
//! `ssh-keygen` on the host unless the key is there (or `force` replaces
//! it), with the passphrase on stdin.

use std::collections::BTreeMap;

use super::{Current, UserParams, invalid};
use crate::{Arg, Cmd, ModuleError, Script, Secret, Stdin, Step};

pub(super) fn check(params: &UserParams) -> Result<(), ModuleError> {
    let kind_ok = !params.ssh_key_type.is_empty()
        && params
            .ssh_key_type
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-@.".contains(c));
    if !kind_ok {
        return Err(invalid(format!(
            "ssh_key_type {:?} is not a key type",
            params.ssh_key_type
        )));
    }
    let file = key_file(params);
    if file.is_empty() || file.contains('\n') || file.ends_with('/') {
        return Err(invalid(format!("ssh_key_file {file:?} is not a file path")));
    }
    if params
        .ssh_key_comment
        .as_ref()
        .is_some_and(|c| c.contains('\n'))
    {
        return Err(invalid("ssh_key_comment must be one line"));
    }
    Ok(())
}

/// `ssh_key_file`, by default `.ssh/id_TYPE` (in the home).
fn key_file(params: &UserParams) -> String {
    params
        .ssh_key_file
        .clone()
        .unwrap_or_else(|| format!(".ssh/id_{}", params.ssh_key_type))
}

/// Where the key goes: absolute, or inside `home`.
fn key_path(params: &UserParams, home: &str) -> String {
    let file = key_file(params);
    if file.starts_with('/') {
        file
    } else {
        format!("{}/{file}", home.trim_end_matches('/'))
    }
}

/// Adds to the probe of an existing user (`$home` bound): whether the key
/// files are there.
pub(super) fn probe(params: &UserParams, script: Script) -> Script {
    if !params.generate_ssh_key {
        return script;
    }
    let script = match &params.ssh_key_file {
        Some(file) if file.starts_with('/') => script.set("key", file.as_str()),
        _ => script
            .set("key_file", key_file(params))
            .snippet("key=$home/$key_file\n"),
    };
    script
        .snippet("[ -e \"$key\" ] && echo key_exists=1\n[ -e \"$key.pub\" ] && echo pub_exists=1\n")
}

/// The step that makes the key, or none when it is there and `force` is
/// off. `current` is the existing user and the probe's facts; `None` for
/// a user this task creates.
pub(super) fn generate(
    params: &UserParams,
    current: Option<(&Current, &BTreeMap<&str, &str>)>,
) -> Option<Step> {
    if !params.generate_ssh_key {
        return None;
    }
    let (home, owner) = match current {
        Some((user, facts)) => {
            let there = facts.contains_key("key_exists") || facts.contains_key("pub_exists");
            if there && !params.force {
                return None;
            }
            let home = params.home.as_deref().unwrap_or(user.home).to_string();
            (home, format!("{}:{}", user.uid, user.gid))
        }
        None => (
            params
                .home
                .clone()
                .unwrap_or_else(|| format!("/home/{}", params.name)),
            format!("{}:", params.name),
        ),
    };
    let mut script = Script::new()
        .set("key", key_path(params, &home))
        .set("owner", owner);
    script = match &params.ssh_key_comment {
        Some(comment) => script.set("comment", comment.as_str()),
        None => script.snippet("comment=\"ansible-generated on $(hostname)\"\n"),
    };
    script = script.snippet(
        "dir=${key%/*}\n\
         [ -d \"$dir\" ] || { mkdir -m 0700 -- \"$dir\" && chown -- \"$owner\" \"$dir\"; } || exit 1\n\
         rm -f -- \"$key\" \"$key.pub\"\n",
    );
    let mut keygen = Cmd::new("ssh-keygen")
        .flag("-q")
        .opt("-t", &params.ssh_key_type);
    if params.ssh_key_bits > 0 {
        keygen = keygen.opt("-b", params.ssh_key_bits.to_string());
    }
    keygen = keygen
        .opt("-C", Arg::var("comment"))
        .opt("-f", Arg::var("key"));
    let key_pair = [
        Arg::var("key"),
        Arg::Joined(vec![Arg::var("key"), ".pub".into()]),
    ];
    let chown = Cmd::new("chown")
        .operand(Arg::var("owner"))
        .operands(key_pair);
    match &params.ssh_key_passphrase {
        None => Some(Step::run(script.all([keygen.opt("-N", ""), chown]))),
        Some(passphrase) => {
            let twice = format!("{0}\n{0}\n", passphrase.expose());
            Some(Step::run_with_stdin(
                script.all([keygen, chown]),
                Stdin::Secret(Secret::new(twice)),
            ))
        }
    }
}
