//! The Jinja tests Ansible adds (`result is changed`, `name is
//! match('^web')`, `ver is version('2.0', '>=')`), on top of minijinja's
//! (`defined`, `undefined`, `none`, `sameas`, `in`, `string`, `number`...),
//! which already behave like Jinja's.
//!
//! - Task results: `changed`/`change`, `failed`/`failure`,
//!   `succeeded`/`success`/`successful`, `skipped`/`skip`,
//!   `unreachable`/`reachable`. They read the registered result's field of
//!   that name; anything but a map is an error.
//! - Regular expressions: `match` (anchored at the start, like Python's
//!   `re.match`), `search` (anywhere) and `regex` (`match_type=`), each
//!   with `ignorecase=` and `multiline=`.
//! - `version(other, operator='eq', strict=false, version_type='loose')`,
//!   also named `version_compare`.
//! - Controller paths: `file`, `directory`, `exists`, `link`, `abs`; a
//!   relative path is taken from the current directory, as in Ansible.
//! - `truthy` and `falsy`, with `convert_bool=`.

use std::path::Path;

use minijinja::value::{Kwargs, ValueKind};
use minijinja::{Environment, Error, ErrorKind, Value};

use super::version::{self, Operator, Scheme};
use crate::filters::failed as failure;

/// Adds the tests to `env`.
pub(crate) fn register(env: &mut Environment<'_>) {
    env.add_test("changed", changed);
    env.add_test("change", changed);
    env.add_test("failed", is_failed);
    env.add_test("failure", is_failed);
    env.add_test("succeeded", succeeded);
    env.add_test("success", succeeded);
    env.add_test("successful", succeeded);
    env.add_test("skipped", skipped);
    env.add_test("skip", skipped);
    env.add_test("unreachable", unreachable);
    env.add_test("reachable", reachable);
    env.add_test("match", matches_start);
    env.add_test("search", matches_anywhere);
    env.add_test("regex", regex);
    env.add_test("version", version);
    env.add_test("version_compare", version);
    for &(name, test, holds) in PATH_TESTS {
        env.add_test(name, move |path: &Value| controller_path(path, test, holds));
    }
    env.add_test("truthy", truthy);
    env.add_test("falsy", falsy);
}

fn undefined(test: &str) -> Error {
    Error::new(
        ErrorKind::UndefinedError,
        format!("the value tested with `{test}` is undefined"),
    )
}

/// The registered result's `field`, for the result tests.
fn result_field(result: &Value, test: &str, field: &str) -> Result<Value, Error> {
    if result.is_undefined() {
        return Err(undefined(test));
    }
    if result.kind() != ValueKind::Map {
        return Err(failure(format!(
            "the `{test}` test expects a task result (a map), got {}",
            result.kind()
        )));
    }
    result.get_attr(field)
}

/// `changed` of the result; a result without it (a module's own map) is
/// changed when one of its `results` is.
fn changed(result: &Value) -> Result<bool, Error> {
    let own = result_field(result, "changed", "changed")?;
    if !own.is_undefined() {
        return Ok(own.is_true());
    }
    let items = result.get_attr("results")?;
    if items.kind() != ValueKind::Seq {
        return Ok(false);
    }
    for item in items.try_iter()? {
        if item.kind() == ValueKind::Map && item.get_attr("changed")?.is_true() {
            return Ok(true);
        }
    }
    Ok(false)
}

fn is_failed(result: &Value) -> Result<bool, Error> {
    Ok(result_field(result, "failed", "failed")?.is_true())
}

fn succeeded(result: &Value) -> Result<bool, Error> {
    Ok(!result_field(result, "succeeded", "failed")?.is_true())
}

fn skipped(result: &Value) -> Result<bool, Error> {
    Ok(result_field(result, "skipped", "skipped")?.is_true())
}

fn unreachable(result: &Value) -> Result<bool, Error> {
    Ok(result_field(result, "unreachable", "unreachable")?.is_true())
}

fn reachable(result: &Value) -> Result<bool, Error> {
    Ok(!result_field(result, "reachable", "unreachable")?.is_true())
}

/// The text a test reads: a string as is, a number or bool printed as
/// Python would (`5`, `True`).
pub(crate) fn text_of(value: &Value, test: &str) -> Result<String, Error> {
    if value.is_undefined() {
        return Err(undefined(test));
    }
    Ok(match value.as_str() {
        Some(text) => text.to_owned(),
        None => value.to_string(),
    })
}

/// Where a match may start.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Anchor {
    /// Python's `re.match`: at the start of the text.
    Start,
    /// Python's `re.search`: anywhere.
    Anywhere,
}

fn regex_holds(
    value: &Value,
    test: &str,
    pattern: &str,
    anchor: Anchor,
    kwargs: &Kwargs,
) -> Result<bool, Error> {
    let text = text_of(value, test)?;
    let ignorecase = kwargs.get::<Option<bool>>("ignorecase")?.unwrap_or(false);
    let multiline = kwargs.get::<Option<bool>>("multiline")?.unwrap_or(false);
    let regex = regex::RegexBuilder::new(pattern)
        .case_insensitive(ignorecase)
        .multi_line(multiline)
        .build()
        .map_err(|err| failure(format!("{test}: bad pattern: {err}")))?;
    Ok(match anchor {
        // The leftmost match starts at 0 whenever any match does.
        Anchor::Start => regex.find(&text).is_some_and(|found| found.start() == 0),
        Anchor::Anywhere => regex.is_match(&text),
    })
}

fn matches_start(value: &Value, pattern: &str, kwargs: Kwargs) -> Result<bool, Error> {
    let holds = regex_holds(value, "match", pattern, Anchor::Start, &kwargs)?;
    kwargs.assert_all_used()?;
    Ok(holds)
}

fn matches_anywhere(value: &Value, pattern: &str, kwargs: Kwargs) -> Result<bool, Error> {
    let holds = regex_holds(value, "search", pattern, Anchor::Anywhere, &kwargs)?;
    kwargs.assert_all_used()?;
    Ok(holds)
}

/// `regex(pattern, ignorecase, multiline, match_type='search')`.
fn regex(value: &Value, pattern: &str, kwargs: Kwargs) -> Result<bool, Error> {
    let anchor = match kwargs.get::<Option<&str>>("match_type")? {
        None | Some("search") => Anchor::Anywhere,
        Some("match") => Anchor::Start,
        Some(other) => {
            return Err(failure(format!(
                "regex: match_type must be `search` or `match`, got `{other}`"
            )));
        }
    };
    let holds = regex_holds(value, "regex", pattern, anchor, &kwargs)?;
    kwargs.assert_all_used()?;
    Ok(holds)
}

/// `version(other, operator='eq', strict=false, version_type='loose')`.
fn version(
    value: &Value,
    other: &Value,
    operator: Option<&str>,
    kwargs: Kwargs,
) -> Result<bool, Error> {
    let left = text_of(value, "version")?;
    let right = text_of(other, "version")?;
    let operator = match operator {
        Some(operator) => Some(operator),
        None => kwargs.get::<Option<&str>>("operator")?,
    };
    let strict = kwargs.get::<Option<bool>>("strict")?;
    let version_type = kwargs.get::<Option<&str>>("version_type")?;
    kwargs.assert_all_used()?;
    let scheme = match (strict, version_type) {
        (Some(_), Some(_)) => {
            return Err(failure(
                "version: give `strict` or `version_type`, not both",
            ));
        }
        (Some(true), None) => Scheme::Strict,
        (_, Some(name)) => {
            Scheme::from_name(name).map_err(|err| failure(format!("version: {err}")))?
        }
        _ => Scheme::Loose,
    };
    if left.is_empty() {
        return Err(failure("version: the version tested is empty"));
    }
    if right.is_empty() {
        return Err(failure("version: the version to compare with is empty"));
    }
    let operator = Operator::from_name(operator.unwrap_or("eq"))
        .map_err(|err| failure(format!("version: {err}")))?;
    version::compare(&left, &right, operator, scheme)
        .map_err(|err| failure(format!("version: {err}")))
}

/// A controller path test under one of its names: (name, test, check).
type PathTest = (&'static str, &'static str, fn(&Path) -> bool);

/// The controller path tests, by each of their names.
const PATH_TESTS: &[PathTest] = &[
    ("file", "file", Path::is_file),
    ("is_file", "file", Path::is_file),
    ("directory", "directory", Path::is_dir),
    ("is_dir", "directory", Path::is_dir),
    ("exists", "exists", Path::exists),
    ("link", "link", Path::is_symlink),
    ("is_link", "link", Path::is_symlink),
    ("abs", "abs", Path::is_absolute),
    ("is_abs", "abs", Path::is_absolute),
];

fn controller_path(path: &Value, test: &str, holds: fn(&Path) -> bool) -> Result<bool, Error> {
    let path = text_of(path, test)?;
    Ok(holds(Path::new(&path)))
}

/// Python's truthiness, or with `convert_bool=true` the `bool` filter's
/// reading of `yes`/`no`, `on`/`off`, `1`/`0`, `true`/`false` first.
fn truthy(value: &Value, kwargs: Kwargs) -> Result<bool, Error> {
    if value.is_undefined() {
        return Err(undefined("truthy"));
    }
    let convert = kwargs.get::<Option<bool>>("convert_bool")?.unwrap_or(false);
    kwargs.assert_all_used()?;
    if convert && let Some(word) = value.as_str() {
        match word.trim().to_ascii_lowercase().as_str() {
            "yes" | "on" | "1" | "true" | "y" | "t" => return Ok(true),
            "no" | "off" | "0" | "false" | "n" | "f" | "" => return Ok(false),
            _ => {}
        }
    }
    Ok(value.is_true())
}

fn falsy(value: &Value, kwargs: Kwargs) -> Result<bool, Error> {
    if value.is_undefined() {
        return Err(undefined("falsy"));
    }
    truthy(value, kwargs).map(|holds| !holds)
}

#[cfg(test)]
#[path = "predicates_tests.rs"]
mod tests;
