//! `lookup(name, *terms, wantlist=false, errors='strict', ...)` and
//! `query(name, *terms, ...)` (also `q`): Ansible's lookups, run on the
//! controller. `env`, `file`, `template`, `first_found`, `fileglob`,
//! `pipe`, `password` (see [`super::lookup_password`]) and `vars`.
//!
//! A lookup gives a list. `query` returns it; `lookup` joins it with
//! commas when every item is a string, as Ansible does, gives the item
//! itself when it is the only one, and the list otherwise (`wantlist=true`
//! always gives the list). `errors='ignore'` (or `'warn'`) turns a failed
//! lookup into none (`lookup`) or `[]` (`query`).
//!
//! Relative paths are looked up as Ansible does for a play: under the
//! play's folder (the `playbook_dir` variable) in `files/` (`templates/`
//! for `template`), then in that folder itself; `pipe` runs there.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use minijinja::value::{Kwargs, Rest, ValueKind};
use minijinja::{Environment, Error, ErrorKind, State, Value};

use super::lookup_password;
use super::predicates::text_of;
use crate::filters::failed;

pub(crate) fn register(env: &mut Environment<'_>) {
    env.add_function("lookup", lookup);
    env.add_function("query", query);
    env.add_function("q", query);
}

/// Why a lookup failed: bad arguments (and undefined values) always
/// fail; what went wrong on the controller obeys `errors=`.
pub(crate) enum LookupError {
    Options(Error),
    Failed(String),
}

impl From<Error> for LookupError {
    fn from(err: Error) -> Self {
        LookupError::Options(err)
    }
}

pub(crate) fn options(message: impl Into<String>) -> LookupError {
    LookupError::Options(failed(message))
}

/// The play's folder, from `playbook_dir`; the current directory when
/// rendering outside a play.
pub(crate) fn base_dir(state: &State) -> PathBuf {
    state
        .lookup("playbook_dir")
        .and_then(|dir| dir.as_str().map(PathBuf::from))
        .unwrap_or_else(|| std::env::current_dir().unwrap_or_default())
}

/// `~` and `~/...` from `HOME`.
pub(crate) fn expand_home(path: &str) -> PathBuf {
    match (path.strip_prefix('~'), std::env::var_os("HOME")) {
        (Some(""), Some(home)) => PathBuf::from(home),
        (Some(rest), Some(home)) if rest.starts_with('/') => PathBuf::from(home).join(&rest[1..]),
        _ => PathBuf::from(path),
    }
}

/// The folders relative lookups search, in order: the role of the task
/// (`role_path`), as Ansible does, then the play's folder.
fn base_dirs(state: &State) -> Vec<PathBuf> {
    let role = state
        .lookup("role_path")
        .and_then(|dir| dir.as_str().map(PathBuf::from));
    role.into_iter().chain([base_dir(state)]).collect()
}

/// Where a relative `needle` is looked for, in order: in `subdir` of each
/// base, then in the base itself.
fn search_path(bases: &[PathBuf], subdir: &str, needle: &str) -> Vec<PathBuf> {
    let path = expand_home(needle);
    if path.is_absolute() {
        return vec![path];
    }
    let mut candidates = Vec::new();
    for base in bases {
        if needle.split('/').next() != Some(subdir) {
            candidates.push(base.join(subdir).join(needle));
        }
        candidates.push(base.join(needle));
    }
    candidates
}

fn find_file(state: &State, subdir: &str, needle: &str) -> Result<PathBuf, String> {
    let candidates = search_path(&base_dirs(state), subdir, needle);
    candidates
        .iter()
        .find(|path| path.exists())
        .cloned()
        .ok_or_else(|| {
            let looked: Vec<String> = candidates
                .iter()
                .map(|path| path.display().to_string())
                .collect();
            format!("`{needle}` not found (looked at {})", looked.join(", "))
        })
}

/// The terms, a list given as one term spread out.
fn spread(terms: &[Value]) -> Result<Vec<Value>, Error> {
    let mut out = Vec::new();
    for term in terms {
        if term.kind() == ValueKind::Seq {
            out.extend(term.try_iter()?);
        } else {
            out.push(term.clone());
        }
    }
    Ok(out)
}

fn strings(terms: &[Value], name: &str) -> Result<Vec<String>, LookupError> {
    spread(terms)?
        .iter()
        .map(|term| match term.as_str() {
            Some(text) => Ok(text.to_owned()),
            None if term.is_undefined() => Err(LookupError::Options(Error::new(
                ErrorKind::UndefinedError,
                format!("a term given to the `{name}` lookup is undefined"),
            ))),
            None => Err(options(format!(
                "the `{name}` lookup takes strings, got {}",
                term.kind()
            ))),
        })
        .collect()
}

fn run(
    state: &State,
    name: &str,
    terms: &[Value],
    kwargs: &Kwargs,
) -> Result<Vec<Value>, LookupError> {
    let results = match name {
        "env" => env_lookup(terms, kwargs)?,
        "file" => file_lookup(state, terms, kwargs)?,
        "template" => template_lookup(state, terms, kwargs)?,
        "first_found" => first_found(state, terms, kwargs)?,
        "fileglob" => fileglob(state, terms)?,
        "pipe" => pipe(state, terms)?,
        "password" => lookup_password::password(state, &strings(terms, name)?, kwargs)?,
        "vars" => vars_lookup(state, terms, kwargs)?,
        other => {
            return Err(options(format!(
                "unknown lookup `{other}`; fleet has env, file, template, first_found, fileglob, pipe, password and vars"
            )));
        }
    };
    kwargs.assert_all_used().map_err(LookupError::Options)?;
    Ok(results)
}

/// `errors=` and the error a failure becomes.
fn outcome(
    state: &State,
    name: &str,
    terms: &[Value],
    kwargs: &Kwargs,
) -> Result<Option<Vec<Value>>, Error> {
    let errors = kwargs.get::<Option<&str>>("errors")?.unwrap_or("strict");
    if !matches!(errors, "strict" | "warn" | "ignore") {
        return Err(failed(format!(
            "errors must be strict, warn or ignore, got `{errors}`"
        )));
    }
    match run(state, name, terms, kwargs) {
        Ok(results) => Ok(Some(results)),
        Err(LookupError::Options(err)) => Err(err),
        Err(LookupError::Failed(_)) if errors != "strict" => Ok(None),
        Err(LookupError::Failed(message)) => Err(failed(format!("lookup('{name}'): {message}"))),
    }
}

fn lookup(state: &State, name: &str, terms: Rest<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    let wantlist = kwargs.get::<Option<bool>>("wantlist")?.unwrap_or(false);
    let Some(results) = outcome(state, name, &terms, &kwargs)? else {
        return Ok(if wantlist {
            Value::from(Vec::<Value>::new())
        } else {
            Value::from(())
        });
    };
    if wantlist || results.is_empty() {
        return Ok(Value::from(results));
    }
    if results.iter().all(|item| item.kind() == ValueKind::String) {
        let texts: Vec<&str> = results.iter().filter_map(Value::as_str).collect();
        return Ok(Value::from(texts.join(",")));
    }
    Ok(match <[Value; 1]>::try_from(results) {
        Ok([single]) => single,
        Err(results) => Value::from(results),
    })
}

fn query(state: &State, name: &str, terms: Rest<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    let _ = kwargs.get::<Option<bool>>("wantlist")?;
    let results = outcome(state, name, &terms, &kwargs)?.unwrap_or_default();
    Ok(Value::from(results))
}

/// The variables, or `default` ('') for one that is not set.
fn env_lookup(terms: &[Value], kwargs: &Kwargs) -> Result<Vec<Value>, LookupError> {
    let default = kwargs
        .get::<Option<Value>>("default")?
        .unwrap_or(Value::from(""));
    let mut out = Vec::new();
    for term in strings(terms, "env")? {
        let name = term.split_whitespace().next().unwrap_or_default();
        out.push(
            std::env::var(name)
                .map(Value::from)
                .unwrap_or_else(|_| default.clone()),
        );
    }
    Ok(out)
}

/// The files' text; trailing blanks dropped (`rstrip=true`), leading ones
/// kept (`lstrip=false`).
fn file_lookup(state: &State, terms: &[Value], kwargs: &Kwargs) -> Result<Vec<Value>, LookupError> {
    let rstrip = kwargs.get::<Option<bool>>("rstrip")?.unwrap_or(true);
    let lstrip = kwargs.get::<Option<bool>>("lstrip")?.unwrap_or(false);
    let mut out = Vec::new();
    for term in strings(terms, "file")? {
        let path = find_file(state, "files", &term).map_err(LookupError::Failed)?;
        let text = std::fs::read_to_string(&path)
            .map_err(|err| LookupError::Failed(format!("cannot read {}: {err}", path.display())))?;
        let text = if rstrip {
            text.trim_end()
        } else {
            text.as_str()
        };
        let text = if lstrip { text.trim_start() } else { text };
        out.push(Value::from(text));
    }
    Ok(out)
}

/// Every variable the template sees, plus `template_vars`.
fn template_context(state: &State, extra: Option<Value>) -> Result<Value, Error> {
    let mut vars: BTreeMap<String, Value> = state
        .known_variables()
        .into_iter()
        .filter_map(|name| state.lookup(&name).map(|value| (name.into_owned(), value)))
        .collect();
    // As in the template module, unless a variable sets it.
    vars.entry("ansible_managed".into())
        .or_insert_with(|| Value::from(crate::magic::ANSIBLE_MANAGED));
    if let Some(extra) = extra.filter(|extra| !extra.is_none()) {
        if extra.kind() != ValueKind::Map {
            return Err(failed("template_vars must be a map"));
        }
        for key in extra.try_iter()? {
            let value = extra.get_item(&key)?;
            vars.insert(key.to_string(), value);
        }
    }
    Ok(Value::from(vars))
}

/// The template files rendered with the current variables.
fn template_lookup(
    state: &State,
    terms: &[Value],
    kwargs: &Kwargs,
) -> Result<Vec<Value>, LookupError> {
    let context = template_context(state, kwargs.get::<Option<Value>>("template_vars")?)?;
    let mut out = Vec::new();
    for term in strings(terms, "template")? {
        let path = find_file(state, "templates", &term).map_err(LookupError::Failed)?;
        let source = std::fs::read_to_string(&path)
            .map_err(|err| LookupError::Failed(format!("cannot read {}: {err}", path.display())))?;
        let rendered = state
            .env()
            .render_named_str(&path.display().to_string(), &source, context.clone())
            .map_err(|err| {
                let message = format!(
                    "{}:{}: {}",
                    path.display(),
                    err.line().unwrap_or(1),
                    err.detail().unwrap_or_default()
                );
                // An undefined variable is the playbook's mistake, never ignored.
                if err.kind() == ErrorKind::UndefinedError {
                    LookupError::Options(Error::new(ErrorKind::UndefinedError, message))
                } else {
                    LookupError::Failed(message)
                }
            })?;
        out.push(Value::from(rendered));
    }
    Ok(out)
}

/// Splits `a,b;c` as Ansible's `first_found` does.
fn split_names(value: &Value, separators: &[char]) -> Result<Vec<String>, Error> {
    let mut out = Vec::new();
    if let Some(text) = value.as_str() {
        out.extend(text.split(separators).map(str::to_owned));
    } else if value.kind() == ValueKind::Seq {
        for item in value.try_iter()? {
            out.extend(split_names(&item, separators)?);
        }
    } else if !value.is_none() && !value.is_undefined() {
        return Err(failed(format!(
            "first_found: files and paths are strings or lists, got {}",
            value.kind()
        )));
    }
    Ok(out)
}

/// The first of the candidates that exists, as an absolute path.
fn first_found(state: &State, terms: &[Value], kwargs: &Kwargs) -> Result<Vec<Value>, LookupError> {
    let mut skip = kwargs.get::<Option<bool>>("skip")?.unwrap_or(false);
    let given_files = kwargs.get::<Option<Value>>("files")?;
    let given_paths = kwargs
        .get::<Option<Value>>("paths")?
        .unwrap_or(Value::from(()));
    let mut terms = spread(terms)?;
    if terms.is_empty()
        && let Some(files) = given_files
    {
        terms.push(files);
    }
    let mut candidates = Vec::new();
    for term in &terms {
        let (files, paths) = if term.kind() == ValueKind::Map {
            for key in term.try_iter()? {
                let key = key.to_string();
                if !matches!(key.as_str(), "files" | "paths" | "skip") {
                    return Err(options(format!(
                        "first_found: unknown option `{key}`; use files, paths or skip"
                    )));
                }
            }
            if let Ok(value) = term.get_attr("skip")
                && !value.is_undefined()
            {
                skip = value.is_true();
            }
            (term.get_attr("files")?, term.get_attr("paths")?)
        } else {
            (term.clone(), given_paths.clone())
        };
        let files = split_names(&files, &[',', ';'])?;
        let paths = split_names(&paths, &[',', ':', ';'])?;
        if paths.is_empty() {
            candidates.extend(files);
        } else {
            for path in &paths {
                candidates.extend(
                    files
                        .iter()
                        .map(|file| Path::new(path).join(file).display().to_string()),
                );
            }
        }
    }
    let bases = base_dirs(state);
    for candidate in candidates.iter().filter(|candidate| !candidate.is_empty()) {
        if let Some(found) = search_path(&bases, "files", candidate)
            .into_iter()
            .find(|path| path.exists())
        {
            return Ok(vec![Value::from(found.display().to_string())]);
        }
    }
    if skip {
        return Ok(Vec::new());
    }
    Err(LookupError::Failed(format!(
        "first_found: none of {} was found",
        candidates.join(", ")
    )))
}

/// The files (not folders) matching the patterns: a pattern with a folder
/// in that folder (looked up as a file is), else under `files/` and then
/// next to the playbook, the first place with a match.
fn fileglob(state: &State, terms: &[Value]) -> Result<Vec<Value>, LookupError> {
    let bases = base_dirs(state);
    let mut out = Vec::new();
    for term in strings(terms, "fileglob")? {
        let path = Path::new(&term);
        let file_pattern = path
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default();
        let folders: Vec<PathBuf> = match path
            .parent()
            .filter(|parent| !parent.as_os_str().is_empty())
        {
            Some(parent) => search_path(&bases, "files", &parent.display().to_string())
                .into_iter()
                .filter(|folder| folder.is_dir())
                .take(1)
                .collect(),
            None => bases
                .iter()
                .flat_map(|base| [base.join("files"), base.clone()])
                .collect(),
        };
        for folder in folders {
            let pattern = folder.join(&file_pattern).display().to_string();
            let matches = glob::glob(&pattern)
                .map_err(|err| options(format!("fileglob: bad pattern `{term}`: {err}")))?;
            let found: Vec<Value> = matches
                .filter_map(Result::ok)
                .filter(|found| found.is_file())
                .map(|found| Value::from(found.display().to_string()))
                .collect();
            if !found.is_empty() {
                out.extend(found);
                break;
            }
        }
    }
    Ok(out)
}

/// Each command run by `sh -c` in the play's folder; its output without
/// trailing blanks. A command that fails fails the lookup.
fn pipe(state: &State, terms: &[Value]) -> Result<Vec<Value>, LookupError> {
    let mut out = Vec::new();
    for command in strings(terms, "pipe")? {
        let result = std::process::Command::new("sh")
            .arg("-c")
            .arg(&command)
            .current_dir(base_dir(state))
            .stdin(std::process::Stdio::null())
            .stderr(std::process::Stdio::inherit())
            .output()
            .map_err(|err| LookupError::Failed(format!("cannot run `{command}`: {err}")))?;
        if !result.status.success() {
            let code = result
                .status
                .code()
                .map_or_else(|| "a signal".to_owned(), |code| code.to_string());
            return Err(LookupError::Failed(format!(
                "`{command}` exited with {code}"
            )));
        }
        out.push(Value::from(
            String::from_utf8_lossy(&result.stdout).trim_end(),
        ));
    }
    Ok(out)
}

/// Top-level variables by name; `default` for one that is not set, else
/// an error.
fn vars_lookup(state: &State, terms: &[Value], kwargs: &Kwargs) -> Result<Vec<Value>, LookupError> {
    let default = kwargs.get::<Option<Value>>("default")?;
    let mut out = Vec::new();
    for term in spread(terms)? {
        let name = text_of(&term, "vars").map_err(LookupError::Options)?;
        if term.kind() != ValueKind::String {
            return Err(options(format!(
                "the `vars` lookup takes variable names, got {}",
                term.kind()
            )));
        }
        match (
            state.lookup(&name).filter(|value| !value.is_undefined()),
            &default,
        ) {
            (Some(value), _) => out.push(value),
            (None, Some(default)) => out.push(default.clone()),
            (None, None) => {
                return Err(LookupError::Options(Error::new(
                    ErrorKind::UndefinedError,
                    format!("lookup('vars'): no variable named `{name}`"),
                )));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
#[path = "lookups_tests.rs"]
mod tests;
