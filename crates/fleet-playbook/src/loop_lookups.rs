//! The items of a `with_*` loop, from its rendered value, as the Ansible
//! lookup of the same name gives them.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::free_form::{Parsed, module_args};
use crate::loops::LoopLookup;

impl LoopLookup {
    /// The loop's items from the keyword's value rendered for one host.
    /// `dir` is the folder of the file that holds the play (`with_fileglob`
    /// looks in its `files/`, then in it).
    pub fn items(self, terms: Value, dir: &Path) -> Result<Vec<Value>, String> {
        self.items_in(terms, &[dir])
    }

    /// Like [`LoopLookup::items`], with `with_fileglob` looking in each of
    /// `dirs` in turn: a role's task gives its role's folder, then the
    /// play's, as Ansible searches a role first.
    pub fn items_in(self, terms: Value, dirs: &[&Path]) -> Result<Vec<Value>, String> {
        let keyword = self.keyword();
        match self {
            LoopLookup::Items => Ok(flatten(listify(terms))),
            LoopLookup::List => match terms {
                Value::Array(items) => Ok(items),
                other => Err(format!("`with_list` needs a list, got {}", shown(&other))),
            },
            LoopLookup::Dict => dict_items(terms),
            LoopLookup::Together => Ok(together(lists(terms, keyword)?)),
            LoopLookup::Nested => Ok(nested(lists(terms, keyword)?)),
            LoopLookup::Sequence => {
                listify(terms)
                    .into_iter()
                    .try_fold(Vec::new(), |mut all, term| {
                        all.extend(crate::sequence::sequence(&term)?);
                        Ok(all)
                    })
            }
            LoopLookup::Subelements => subelements(terms),
            LoopLookup::Fileglob => listify(terms).iter().try_fold(Vec::new(), |mut all, term| {
                let pattern = term.as_str().ok_or_else(|| {
                    format!("`with_fileglob` needs patterns, got {}", shown(term))
                })?;
                all.extend(fileglob(pattern, dirs)?.into_iter().map(Value::String));
                Ok(all)
            }),
        }
    }
}

/// A value as a short text for messages.
fn shown(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() > 80 {
        text.chars().take(77).collect::<String>() + "..."
    } else {
        text
    }
}

/// A list as it is; anything else as a list of itself.
fn listify(terms: Value) -> Vec<Value> {
    match terms {
        Value::Array(items) => items,
        other => vec![other],
    }
}

/// Lists in `items` spliced in, one level.
fn flatten(items: Vec<Value>) -> Vec<Value> {
    let mut flat = Vec::with_capacity(items.len());
    for item in items {
        match item {
            Value::Array(inner) => flat.extend(inner),
            other => flat.push(other),
        }
    }
    flat
}

fn dict_items(terms: Value) -> Result<Vec<Value>, String> {
    let mut items = Vec::new();
    for term in listify(terms) {
        let Value::Object(map) = term else {
            return Err(format!("`with_dict` needs a map, got {}", shown(&term)));
        };
        for (key, value) in map {
            let mut item = Map::new();
            item.insert("key".into(), Value::String(key));
            item.insert("value".into(), value);
            items.push(Value::Object(item));
        }
    }
    Ok(items)
}

/// The lists of `with_together` and `with_nested`: each element of the
/// value, a list or else a list of itself.
fn lists(terms: Value, keyword: &str) -> Result<Vec<Vec<Value>>, String> {
    match terms {
        Value::Array(lists) if !lists.is_empty() => Ok(lists.into_iter().map(listify).collect()),
        other => Err(format!(
            "`{keyword}` needs a list of lists, got {}",
            shown(&other)
        )),
    }
}

fn together(lists: Vec<Vec<Value>>) -> Vec<Value> {
    let longest = lists.iter().map(Vec::len).max().unwrap_or(0);
    (0..longest)
        .map(|index| {
            let row = lists
                .iter()
                .map(|list| list.get(index).cloned().unwrap_or(Value::Null))
                .collect();
            Value::Array(flatten(row))
        })
        .collect()
}

fn nested(lists: Vec<Vec<Value>>) -> Vec<Value> {
    let mut combinations: Vec<Vec<Value>> = vec![Vec::new()];
    for list in lists {
        combinations = combinations
            .iter()
            .flat_map(|combination| {
                list.iter().map(move |element| {
                    let mut next = combination.clone();
                    next.push(element.clone());
                    next
                })
            })
            .collect();
    }
    combinations
        .into_iter()
        .map(|combination| Value::Array(flatten(combination)))
        .collect()
}

/// `[list or map of maps, "key" or "key.sub", {skip_missing: bool}]`: each
/// map paired with each element of its list at that key, as
/// `[map without that list, element]`.
fn subelements(terms: Value) -> Result<Vec<Value>, String> {
    const SHAPE: &str =
        "`with_subelements` needs a list of maps, a key, and optionally {skip_missing: true}";
    let Value::Array(terms) = terms else {
        return Err(SHAPE.to_owned());
    };
    let (elements, path, flags) = match terms.as_slice() {
        [elements, Value::String(path)] => (elements, path, None),
        [elements, Value::String(path), Value::Object(flags)] => (elements, path, Some(flags)),
        _ => return Err(SHAPE.to_owned()),
    };
    let skip_missing = match flags {
        None => false,
        Some(flags) => {
            if let Some(other) = flags.keys().find(|key| *key != "skip_missing") {
                return Err(format!("{SHAPE}; `{other}` is not a flag"));
            }
            flags.get("skip_missing").is_some_and(truthy)
        }
    };
    let elements: Vec<Value> = match elements {
        Value::Array(list) => list.clone(),
        Value::Object(map) if map.get("skipped").is_some_and(|s| *s != Value::Bool(false)) => {
            return Ok(Vec::new());
        }
        Value::Object(map) => map.values().cloned().collect(),
        other => return Err(format!("{SHAPE}, got {}", shown(other))),
    };
    let keys: Vec<&str> = path.split('.').collect();
    let mut items = Vec::new();
    for element in elements {
        let Value::Object(mut element) = element else {
            return Err(format!(
                "`with_subelements` needs maps, got {}",
                shown(&element)
            ));
        };
        if element
            .get("skipped")
            .is_some_and(|s| *s != Value::Bool(false))
        {
            continue;
        }
        let Some(sublist) = take_sublist(&mut element, &keys, skip_missing)? else {
            continue;
        };
        for sub in sublist {
            items.push(Value::Array(vec![Value::Object(element.clone()), sub]));
        }
    }
    Ok(items)
}

/// Removes and returns the list at `keys` under `element`; `None` when a
/// key is missing and `skip_missing` is set.
fn take_sublist(
    element: &mut Map<String, Value>,
    keys: &[&str],
    skip_missing: bool,
) -> Result<Option<Vec<Value>>, String> {
    let (last, parents) = keys.split_last().unwrap_or((&"", &[]));
    let mut current = element;
    for key in parents {
        match current.get_mut(*key) {
            Some(Value::Object(inner)) => current = inner,
            Some(other) if !skip_missing => {
                return Err(format!(
                    "the key `{key}` should hold a map, got {}",
                    shown(other)
                ));
            }
            None if !skip_missing => {
                return Err(format!("could not find the key `{key}` in the item"));
            }
            _ => return Ok(None),
        }
    }
    match current.remove(*last) {
        Some(Value::Array(list)) => Ok(Some(list)),
        Some(other) => Err(format!(
            "the key `{last}` should hold a list, got {}",
            shown(&other)
        )),
        None if skip_missing => Ok(None),
        None => Err(format!("could not find the key `{last}` in the item")),
    }
}

fn truthy(value: &Value) -> bool {
    match value {
        Value::Bool(flag) => *flag,
        Value::String(text) => matches!(
            text.to_ascii_lowercase().as_str(),
            "yes" | "true" | "on" | "1" | "y"
        ),
        Value::Number(number) => number.as_f64().is_some_and(|n| n != 0.0),
        _ => false,
    }
}

/// The controller files `pattern` matches, sorted. A pattern with a folder
/// (`conf.d/*.conf`) or without is looked for under `dir/files/`, then
/// under `dir`, for each of `dirs`: the first place with a match wins. Only
/// the file name may hold wildcards; an absolute pattern is used as is.
pub(crate) fn fileglob(pattern: &str, dirs: &[&Path]) -> Result<Vec<String>, String> {
    let written = Path::new(pattern);
    let name = written
        .file_name()
        .and_then(|name| name.to_str())
        .ok_or_else(|| format!("`with_fileglob` pattern {pattern:?} names no file"))?;
    let folder = written.parent().unwrap_or(Path::new(""));
    let places: Vec<PathBuf> = if written.is_absolute() {
        vec![folder.to_path_buf()]
    } else {
        dirs.iter()
            .flat_map(|dir| {
                let base = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
                [base.join("files").join(folder), base.join(folder)]
            })
            .collect()
    };
    for place in places {
        let full = format!(
            "{}/{name}",
            glob::Pattern::escape(&place.display().to_string())
        );
        let paths = glob::glob(&full)
            .map_err(|err| format!("bad `with_fileglob` pattern {pattern:?}: {err}"))?;
        let mut found: Vec<String> = paths
            .filter_map(Result::ok)
            .filter(|path| path.is_file())
            .map(|path| crate::loader::normalize(&path).display().to_string())
            .collect();
        if !found.is_empty() {
            found.sort();
            return Ok(found);
        }
    }
    Ok(Vec::new())
}

/// Arguments given as `key=value` words, as `with_sequence` takes them.
pub(crate) fn key_values(text: &str) -> Result<Map<String, Value>, String> {
    match module_args(text) {
        Ok(Parsed::Params(params)) => Ok(params),
        _ => Err(format!(
            "cannot read {text:?}: write `key=value` words, e.g. `start=1 end=5`"
        )),
    }
}

#[cfg(test)]
#[path = "loop_lookups_tests.rs"]
mod tests;
