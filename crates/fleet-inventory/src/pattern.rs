//! Host patterns, as given to `-l` and to a play's `hosts:`.
//!
//! A pattern is a list of *terms* separated by `:` or `,`:
//!
//! | term       | meaning                                              |
//! |------------|------------------------------------------------------|
//! | `web1`     | the host `web1`                                      |
//! | `web`      | every host in group `web` or in one of its children  |
//! | `all`      | every host                                           |
//! | `web*`     | glob (`*`, `?`, `[abc]`) over host and group names   |
//! | `&prod`    | keep only the hosts that are also in `prod`          |
//! | `!canary`  | remove the hosts in `canary`                         |
//!
//! Terms are applied left to right: a plain term adds hosts, `&` intersects,
//! `!` subtracts. When the first term is an `&` or `!` term, the pattern
//! starts from `all`, so `!canary` means "every host but the canaries".
//! The result lists hosts in inventory order, whatever the order of terms.
//!
//! Globs match host names and group names, except the implicit `all` group
//! (`*` already matches every host). Spaces around terms are ignored.
//!
//! Errors: a malformed term (empty, `&` or `!` alone, a bad glob), a term
//! that matches no host or group name, and a pattern whose result is empty
//! are all errors, reported at their column in the pattern.

use fleet_yaml::{Diagnostic, Location, did_you_mean};

use crate::error::InventoryError;
use crate::loader::ALL;
use crate::{Host, Inventory};

/// What a term does to the hosts selected so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Union,
    Intersect,
    Exclude,
}

/// What a term matches.
#[derive(Debug)]
enum Matcher {
    Name(String),
    Glob(glob::Pattern),
}

/// One parsed term, with its column (from 1, in characters) in the pattern.
#[derive(Debug)]
struct Term {
    op: Op,
    matcher: Matcher,
    column: usize,
}

/// A problem at a column of the pattern; turned into a [`Diagnostic`] once
/// the origin is known.
#[derive(Debug)]
struct Problem {
    column: usize,
    message: String,
    hint: String,
}

impl Problem {
    fn new(column: usize, message: impl Into<String>, hint: impl Into<String>) -> Self {
        Self {
            column,
            message: message.into(),
            hint: hint.into(),
        }
    }

    /// The diagnostic, located with [`locate`] from `origin`.
    fn located(self, origin: &str) -> Diagnostic {
        Diagnostic::hinted(locate(origin, self.column), self.message, self.hint)
    }
}

const SYNTAX_HINT: &str = "a pattern is names or globs separated by `:` or `,`, \
     each optionally prefixed with `&` (and) or `!` (not), e.g. `web:&prod:!canary`";

/// Selects the hosts of `inventory` matched by `pattern`; errors are located
/// with [`locate`] from `origin`.
pub(crate) fn select<'i>(
    inventory: &'i Inventory,
    pattern: &str,
    origin: &str,
) -> Result<Vec<&'i Host>, InventoryError> {
    let terms =
        parse(pattern).map_err(|problem| InventoryError::Pattern(problem.located(origin)))?;
    let mut selected = vec![false; inventory.hosts.len()];
    for (position, term) in terms.iter().enumerate() {
        let matched = matches(inventory, term)
            .map_err(|problem| InventoryError::NoMatch(problem.located(origin)))?;
        if position == 0 && term.op != Op::Union {
            selected.fill(true);
        }
        for (chosen, hit) in selected.iter_mut().zip(matched) {
            *chosen = match term.op {
                Op::Union => *chosen || hit,
                Op::Intersect => *chosen && hit,
                Op::Exclude => *chosen && !hit,
            };
        }
    }
    let hosts: Vec<&Host> = inventory
        .hosts
        .iter()
        .zip(selected)
        .filter_map(|(host, chosen)| chosen.then_some(host))
        .collect();
    if hosts.is_empty() {
        return Err(InventoryError::NoMatch(Diagnostic::hinted(
            locate(origin, 1),
            format!("host pattern {pattern:?} matches no hosts"),
            "every term names something, but together they select nothing: \
             check the `&` and `!` terms, and that the groups have hosts",
        )));
    }
    Ok(hosts)
}

/// Where column `column` of a pattern is. `origin` is either a label such
/// as `-l` (giving `-l:1:COLUMN`) or the location of the pattern's first
/// character in a file, `FILE:LINE:COL` (giving `FILE:LINE:COL+COLUMN-1`).
pub(crate) fn locate(origin: &str, column: usize) -> Location {
    let column = column as u64;
    if let Some((rest, start)) = origin.rsplit_once(':')
        && let Some((label, line)) = rest.rsplit_once(':')
        && !label.is_empty()
        && let (Ok(line), Ok(start)) = (line.parse::<u64>(), start.parse::<u64>())
    {
        return Location::new(label, line, start.max(1) + column - 1);
    }
    Location::new(origin, 1, column)
}

/// Splits `pattern` into terms.
fn parse(pattern: &str) -> Result<Vec<Term>, Problem> {
    if pattern.trim().is_empty() {
        return Err(Problem::new(1, "the host pattern is empty", SYNTAX_HINT));
    }
    let mut terms = Vec::new();
    let mut start = 0; // byte offset of the current term
    let mut start_column = 1;
    for (column, (offset, c)) in (1..).zip(pattern.char_indices()) {
        if c == ':' || c == ',' {
            terms.push(parse_term(&pattern[start..offset], start_column)?);
            start = offset + c.len_utf8();
            start_column = column + 1;
        }
    }
    terms.push(parse_term(&pattern[start..], start_column)?);
    Ok(terms)
}

/// Parses one term; `column` is where `raw` starts in the pattern.
fn parse_term(raw: &str, column: usize) -> Result<Term, Problem> {
    let trimmed = raw.trim_start();
    let column = column + raw.chars().count() - trimmed.chars().count();
    let text = trimmed.trim_end();
    if text.is_empty() {
        return Err(Problem::new(
            column,
            "empty term in host pattern",
            format!("remove the extra `:` or `,`; {SYNTAX_HINT}"),
        ));
    }
    let (op, name, name_column) = match text.chars().next() {
        Some('&') => (Op::Intersect, &text[1..], column + 1),
        Some('!') => (Op::Exclude, &text[1..], column + 1),
        _ => (Op::Union, text, column),
    };
    if name.is_empty() {
        let sign = if op == Op::Intersect { '&' } else { '!' };
        return Err(Problem::new(
            column,
            format!("`{sign}` must be followed by a host or group name"),
            SYNTAX_HINT,
        ));
    }
    if name.starts_with('~') {
        return Err(Problem::new(
            name_column,
            "regular expressions (`~`) are not supported in host patterns",
            "use a glob such as `web*` instead",
        ));
    }
    for (index, c) in name.chars().enumerate() {
        if c.is_whitespace() || c == '&' || c == '!' {
            return Err(Problem::new(
                name_column + index,
                format!("unexpected {c:?} inside a term"),
                SYNTAX_HINT,
            ));
        }
    }
    let matcher = if name.contains(['*', '?', '[']) {
        let glob = glob::Pattern::new(name).map_err(|err| {
            Problem::new(
                name_column + err.pos,
                format!("invalid glob {name:?}: {}", err.msg),
                "globs use `*` (any text), `?` (one character) and `[abc]` (one of a, b, c)",
            )
        })?;
        Matcher::Glob(glob)
    } else {
        Matcher::Name(name.to_owned())
    };
    Ok(Term {
        op,
        matcher,
        column: name_column,
    })
}

/// Which hosts (by index) `term` matches; a term that names nothing is a problem.
fn matches(inventory: &Inventory, term: &Term) -> Result<Vec<bool>, Problem> {
    let mut hit = vec![false; inventory.hosts.len()];
    let mut found = false;
    match &term.matcher {
        Matcher::Name(name) => {
            if let Some(&host) = inventory.host_index.get(name) {
                hit[host] = true;
                found = true;
            } else if let Some(&group) = inventory.group_index.get(name) {
                for &host in &inventory.groups[group].members {
                    hit[host] = true;
                }
                found = true;
            }
        }
        Matcher::Glob(glob) => {
            for (index, host) in inventory.hosts.iter().enumerate() {
                if glob.matches(&host.name) {
                    hit[index] = true;
                    found = true;
                }
            }
            for group in inventory.groups.iter().filter(|group| group.name != ALL) {
                if glob.matches(&group.name) {
                    found = true;
                    for &host in &group.members {
                        hit[host] = true;
                    }
                }
            }
        }
    }
    if found {
        return Ok(hit);
    }
    let (message, written) = match &term.matcher {
        Matcher::Name(name) => (format!("no host or group named {name:?}"), name.as_str()),
        Matcher::Glob(glob) => (
            format!("glob {:?} matches no host or group name", glob.as_str()),
            glob.as_str(),
        ),
    };
    Err(Problem::new(
        term.column,
        message,
        unknown_name_hint(inventory, written),
    ))
}

/// Suggests a close name, or lists the groups.
fn unknown_name_hint(inventory: &Inventory, written: &str) -> String {
    // Groups first: on a tie, `webb` suggests the group `web` over the host `web1`.
    let names = inventory
        .groups
        .iter()
        .map(|group| group.name.as_str())
        .chain(inventory.hosts.iter().map(|host| host.name.as_str()));
    if let Some(suggestion) = did_you_mean(written, names) {
        return suggestion;
    }
    const SHOWN: usize = 12;
    let groups: Vec<&str> = inventory
        .groups
        .iter()
        .take(SHOWN)
        .map(|group| group.name.as_str())
        .collect();
    let more = if inventory.groups.len() > SHOWN {
        ", ..."
    } else {
        ""
    };
    format!(
        "use a host or group name from the inventory; its groups are: {}{more}",
        groups.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem(pattern: &str) -> (usize, String) {
        let problem = parse(pattern).expect_err(pattern);
        (problem.column, problem.message)
    }

    #[test]
    fn splits_terms_with_columns() {
        let terms = parse("web: &prod,!canary").unwrap();
        let summary: Vec<(Op, usize)> = terms.iter().map(|term| (term.op, term.column)).collect();
        assert_eq!(
            summary,
            [(Op::Union, 1), (Op::Intersect, 7), (Op::Exclude, 13)]
        );
    }

    #[test]
    fn malformed_patterns_point_at_the_problem() {
        assert_eq!(problem("").0, 1);
        assert_eq!(problem("web::db"), (5, "empty term in host pattern".into()));
        assert_eq!(problem("web:").0, 5);
        assert_eq!(problem(",web").0, 1);
        assert_eq!(
            problem("web:&"),
            (5, "`&` must be followed by a host or group name".into())
        );
        assert_eq!(
            problem("!"),
            (1, "`!` must be followed by a host or group name".into())
        );
        assert_eq!(problem("web:&!db").0, 6);
        assert_eq!(problem("web:we b").0, 7);
        assert_eq!(problem("~web.*").0, 1);
        let (column, message) = problem("db:web[");
        assert_eq!(column, 7);
        assert!(message.starts_with("invalid glob \"web[\""), "{message}");
    }

    #[test]
    fn columns_count_characters() {
        assert_eq!(problem("é::x").0, 3);
    }

    #[test]
    fn locate_labels_and_file_positions() {
        assert_eq!(locate("-l", 5).to_string(), "-l:1:5");
        assert_eq!(locate("play.yaml:3:8", 1).to_string(), "play.yaml:3:8");
        assert_eq!(locate("play.yaml:3:8", 5).to_string(), "play.yaml:3:12");
        assert_eq!(locate("odd:label", 2).to_string(), "odd:label:1:2");
    }
}
