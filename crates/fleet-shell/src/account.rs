//! User and group names, the one rule for every place that takes them:
//! `user`, `group`, `authorized_key`, the owner and group of files, and
//! the owner of an upload.

/// The longest name `useradd` and `groupadd` accept.
const MAX_LEN: usize = 32;

/// A user or group name as `useradd`/`groupadd` accept it, or a numeric
/// id: non-empty, at most 32 characters, made of ASCII letters, digits and
/// `_ - . $`, and not starting with `-`. Such a name can be neither an
/// option nor shell text, and prints safely in a `key=value` probe line.
pub fn is_account_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_LEN
        && !name.starts_with('-')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b'$'))
}

/// An owner as `chown` takes it: `user`, `user:group`, `:group` (only the
/// group) or `user:` (the user and their login group), each name an
/// [`is_account_name`].
pub fn is_owner_spec(spec: &str) -> bool {
    match spec.split_once(':') {
        None => is_account_name(spec),
        Some(("", group)) => is_account_name(group),
        Some((user, "")) => is_account_name(user),
        Some((user, group)) => is_account_name(user) && is_account_name(group),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LONGEST: &str = "abcdefghijklmnopqrstuvwxyz012345";

    #[test]
    fn account_names() {
        for name in [
            "app", "www-data", "_apt", "a.b", "machine$", "0", "1000", "A_1", LONGEST,
        ] {
            assert!(is_account_name(name), "{name:?}");
        }
        let too_long = format!("{LONGEST}6");
        for name in [
            "",
            "-x",
            "-",
            "a b",
            "x;rm",
            "$(id)",
            "`id`",
            "a/b",
            "a:b",
            "a\nb",
            "é",
            "'a'",
            too_long.as_str(),
        ] {
            assert!(!is_account_name(name), "{name:?}");
        }
    }

    #[test]
    fn owner_specs() {
        for spec in ["app", "app:app", ":app", "app:", "0:0", "1000", LONGEST] {
            assert!(is_owner_spec(spec), "{spec:?}");
        }
        let too_long = format!("app:{LONGEST}6");
        for spec in [
            "",
            ":",
            "a:b:c",
            "::a",
            "-x",
            "app:-x",
            "-x:app",
            "a b",
            "x;rm",
            "$(id)",
            "app:$(id)",
            too_long.as_str(),
        ] {
            assert!(!is_owner_spec(spec), "{spec:?}");
        }
    }
}
