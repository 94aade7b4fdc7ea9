//! Version comparison for the `version` test, with the three schemes
//! Ansible offers: loose (the default), strict and semantic.
//!
//! - **loose**: the text is cut into runs of digits (numbers), runs of
//!   lowercase letters and anything else (text); dots only separate. Parts
//!   compare left to right, a shorter version before a longer one with the
//!   same start. A number against text cannot be compared: `1.2a` against
//!   `1.2.3` is an error, as in Ansible.
//! - **strict**: `MAJOR.MINOR[.PATCH][a|bN]`; a pre-release (`1.0a1`)
//!   comes before the release.
//! - **semver**: Semantic Versioning 2.0.0; build metadata is ignored.

use std::cmp::Ordering;

/// How versions are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scheme {
    Loose,
    Strict,
    Semver,
}

impl Scheme {
    /// The names Ansible accepts for `version_type`.
    pub(crate) fn from_name(name: &str) -> Result<Scheme, String> {
        match name {
            "loose" => Ok(Scheme::Loose),
            "strict" => Ok(Scheme::Strict),
            "semver" | "semantic" => Ok(Scheme::Semver),
            "pep440" => {
                Err("version_type `pep440` is not supported; use loose, strict or semver".into())
            }
            other => Err(format!(
                "unknown version_type `{other}`; use loose, strict, semver or semantic"
            )),
        }
    }
}

/// A comparison operator, as Ansible spells them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Operator {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Operator {
    pub(crate) fn from_name(name: &str) -> Result<Operator, String> {
        Ok(match name {
            "==" | "=" | "eq" => Operator::Eq,
            "!=" | "<>" | "ne" => Operator::Ne,
            "<" | "lt" => Operator::Lt,
            "<=" | "le" => Operator::Le,
            ">" | "gt" => Operator::Gt,
            ">=" | "ge" => Operator::Ge,
            other => {
                return Err(format!(
                    "unknown operator `{other}`; use one of ==, =, eq, !=, <>, ne, <, lt, <=, le, >, gt, >=, ge"
                ));
            }
        })
    }

    fn holds(self, ordering: Ordering) -> bool {
        match self {
            Operator::Eq => ordering == Ordering::Equal,
            Operator::Ne => ordering != Ordering::Equal,
            Operator::Lt => ordering == Ordering::Less,
            Operator::Le => ordering != Ordering::Greater,
            Operator::Gt => ordering == Ordering::Greater,
            Operator::Ge => ordering != Ordering::Less,
        }
    }
}

/// Whether `left op right` holds under `scheme`.
pub(crate) fn compare(
    left: &str,
    right: &str,
    op: Operator,
    scheme: Scheme,
) -> Result<bool, String> {
    let ordering = match scheme {
        Scheme::Loose => loose_cmp(&loose_parts(left), &loose_parts(right)).ok_or_else(|| {
            format!("cannot compare `{left}` with `{right}`: a number meets text")
        })?,
        Scheme::Strict => strict(left)?.cmp(&strict(right)?),
        Scheme::Semver => semver(left)?.cmp(&semver(right)?),
    };
    Ok(op.holds(ordering))
}

#[derive(Debug, PartialEq, Eq)]
enum LoosePart {
    Number(u128),
    Text(String),
}

fn loose_parts(version: &str) -> Vec<LoosePart> {
    #[derive(PartialEq, Clone, Copy)]
    enum Class {
        Digit,
        Lower,
        Dot,
        Other,
    }
    let class = |c: char| match c {
        '0'..='9' => Class::Digit,
        'a'..='z' => Class::Lower,
        '.' => Class::Dot,
        _ => Class::Other,
    };
    let mut parts = Vec::new();
    let mut chars = version.chars().peekable();
    while let Some(first) = chars.next() {
        let kind = class(first);
        let mut run = String::from(first);
        if kind != Class::Dot {
            while let Some(&next) = chars.peek() {
                if class(next) != kind {
                    break;
                }
                run.push(next);
                chars.next();
            }
        }
        match kind {
            Class::Dot => {}
            Class::Digit => parts.push(match run.parse() {
                Ok(number) => LoosePart::Number(number),
                Err(_) => LoosePart::Text(run),
            }),
            Class::Lower | Class::Other => parts.push(LoosePart::Text(run)),
        }
    }
    parts
}

/// `None` when a number has to be compared with text.
fn loose_cmp(left: &[LoosePart], right: &[LoosePart]) -> Option<Ordering> {
    for (a, b) in left.iter().zip(right) {
        let ordering = match (a, b) {
            (LoosePart::Number(a), LoosePart::Number(b)) => a.cmp(b),
            (LoosePart::Text(a), LoosePart::Text(b)) => a.cmp(b),
            _ => return None,
        };
        if ordering != Ordering::Equal {
            return Some(ordering);
        }
    }
    Some(left.len().cmp(&right.len()))
}

/// `(major, minor, patch)` and the pre-release: `None` (a release) sorts
/// after any `Some`.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct StrictVersion {
    release: (u64, u64, u64),
    pre: PreRelease,
}

#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum PreRelease {
    Some(char, u64),
    None,
}

fn strict(version: &str) -> Result<StrictVersion, String> {
    let bad = || format!("`{version}` is not a strict version (MAJOR.MINOR[.PATCH][a|bN])");
    let (numbers, pre) = match version.find(['a', 'b']) {
        Some(at) => {
            let tag = version[at..].chars().next().ok_or_else(bad)?;
            let digits = &version[at + 1..];
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad());
            }
            let number = digits.parse().map_err(|_| bad())?;
            (&version[..at], PreRelease::Some(tag, number))
        }
        None => (version, PreRelease::None),
    };
    let fields: Vec<&str> = numbers.split('.').collect();
    if !(2..=3).contains(&fields.len())
        || fields
            .iter()
            .any(|f| f.is_empty() || !f.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(bad());
    }
    let number = |index: usize| -> Result<u64, String> {
        fields
            .get(index)
            .map_or(Ok(0), |f| f.parse().map_err(|_| bad()))
    };
    Ok(StrictVersion {
        release: (number(0)?, number(1)?, number(2)?),
        pre,
    })
}

#[derive(Debug, PartialEq, Eq)]
struct SemanticVersion {
    core: (u64, u64, u64),
    pre: Vec<Identifier>,
}

/// A pre-release identifier: numbers sort before text.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Identifier {
    Number(u64),
    Text(String),
}

impl Ord for SemanticVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        self.core
            .cmp(&other.core)
            .then_with(|| match (self.pre.is_empty(), other.pre.is_empty()) {
                (true, true) => Ordering::Equal,
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                (false, false) => self.pre.cmp(&other.pre),
            })
    }
}

impl PartialOrd for SemanticVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

fn semver(version: &str) -> Result<SemanticVersion, String> {
    let bad = || format!("`{version}` is not a semantic version (MAJOR.MINOR.PATCH[-PRE][+BUILD])");
    let (rest, build) = match version.split_once('+') {
        Some((rest, build)) => (rest, Some(build)),
        None => (version, None),
    };
    let (core, pre) = match rest.split_once('-') {
        Some((core, pre)) => (core, Some(pre)),
        None => (rest, None),
    };
    let numeric = |text: &str| {
        !text.is_empty()
            && text.bytes().all(|b| b.is_ascii_digit())
            && (text == "0" || !text.starts_with('0'))
    };
    let fields: Vec<&str> = core.split('.').collect();
    if fields.len() != 3 || !fields.iter().all(|f| numeric(f)) {
        return Err(bad());
    }
    let identifier_chars = |text: &str| {
        !text.is_empty() && text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    };
    if let Some(build) = build
        && !build.split('.').all(identifier_chars)
    {
        return Err(bad());
    }
    let mut identifiers = Vec::new();
    for part in pre
        .map(|pre| pre.split('.').collect::<Vec<_>>())
        .unwrap_or_default()
    {
        if !identifier_chars(part) {
            return Err(bad());
        }
        if part.bytes().all(|b| b.is_ascii_digit()) {
            if !numeric(part) {
                return Err(bad());
            }
            identifiers.push(Identifier::Number(part.parse().map_err(|_| bad())?));
        } else {
            identifiers.push(Identifier::Text(part.to_owned()));
        }
    }
    let number = |index: usize| fields[index].parse::<u64>().map_err(|_| bad());
    Ok(SemanticVersion {
        core: (number(0)?, number(1)?, number(2)?),
        pre: identifiers,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn holds(left: &str, op: &str, right: &str, scheme: Scheme) -> bool {
        compare(left, right, Operator::from_name(op).unwrap(), scheme)
            .unwrap_or_else(|err| panic!("{left} {op} {right}: {err}"))
    }

    #[test]
    fn loose_compares_numbers_numerically_and_text_lexically() {
        assert!(holds("1.10", ">", "1.9", Scheme::Loose));
        assert!(holds("1.2", "<", "1.2.0", Scheme::Loose));
        assert!(holds("2.9.10", "==", "2.9.10", Scheme::Loose));
        assert!(holds("8.02", "==", "8.2", Scheme::Loose));
        assert!(holds("0.99pl14", ">", "0.99", Scheme::Loose));
        assert!(holds("5.001m", "<", "5.002", Scheme::Loose));
        assert!(holds("1.0-rc1", "<", "1.0-rc2", Scheme::Loose));
        assert!(holds("12", "ge", "11", Scheme::Loose));
        assert_eq!(
            loose_parts("1.0RC-2b"),
            [
                LoosePart::Number(1),
                LoosePart::Number(0),
                LoosePart::Text("RC-".into()),
                LoosePart::Number(2),
                LoosePart::Text("b".into()),
            ]
        );
        assert_eq!(
            compare("1.2a", "1.2.3", Operator::Lt, Scheme::Loose).unwrap_err(),
            "cannot compare `1.2a` with `1.2.3`: a number meets text"
        );
    }

    #[test]
    fn strict_orders_prereleases_before_the_release() {
        assert!(holds("0.4", "==", "0.4.0", Scheme::Strict));
        assert!(holds("0.5a1", "<", "0.5b3", Scheme::Strict));
        assert!(holds("0.5b3", "<", "0.5", Scheme::Strict));
        assert!(holds("1.0.4a3", "<", "1.0.4", Scheme::Strict));
        assert!(holds("1.0.4", ">", "1.0", Scheme::Strict));
        for bad in ["1", "2.7.2.2", "1.3.a4", "1.3pl1", "1.3c4", "1.0a"] {
            assert_eq!(
                compare(bad, "1.0", Operator::Eq, Scheme::Strict).unwrap_err(),
                format!("`{bad}` is not a strict version (MAJOR.MINOR[.PATCH][a|bN])")
            );
        }
    }

    #[test]
    fn semver_follows_the_spec_precedence() {
        let order = [
            "1.0.0-alpha",
            "1.0.0-alpha.1",
            "1.0.0-alpha.beta",
            "1.0.0-beta",
            "1.0.0-beta.2",
            "1.0.0-beta.11",
            "1.0.0-rc.1",
            "1.0.0",
            "2.0.0",
        ];
        for pair in order.windows(2) {
            assert!(holds(pair[0], "<", pair[1], Scheme::Semver), "{pair:?}");
        }
        assert!(holds(
            "1.0.0+build.1",
            "==",
            "1.0.0+build.2",
            Scheme::Semver
        ));
        for bad in ["1.0", "01.0.0", "1.0.0-01", "1.0.0-", "1.0.0+"] {
            assert!(
                compare(bad, "1.0.0", Operator::Eq, Scheme::Semver)
                    .unwrap_err()
                    .contains("is not a semantic version"),
                "{bad}"
            );
        }
    }

    #[test]
    fn operators_and_schemes_are_named_like_ansible() {
        for (name, op) in [
            ("=", Operator::Eq),
            ("<>", Operator::Ne),
            ("le", Operator::Le),
        ] {
            assert_eq!(Operator::from_name(name), Ok(op));
        }
        assert!(
            Operator::from_name("~=")
                .unwrap_err()
                .starts_with("unknown operator `~=`")
        );
        assert_eq!(Scheme::from_name("semantic"), Ok(Scheme::Semver));
        assert!(
            Scheme::from_name("pep440")
                .unwrap_err()
                .contains("not supported")
        );
        assert!(
            Scheme::from_name("calver")
                .unwrap_err()
                .starts_with("unknown version_type")
        );
    }
}
