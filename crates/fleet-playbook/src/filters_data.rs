//! Ansible's filters on lists and maps: `combine`, `dict2items`,
//! `items2dict`, `flatten`, `product`, `zip_longest`, `intersect`,
//! `difference`, `union`, `symmetric_difference`, `random` and `shuffle`.
//! Maps keep their key order, as Python's dicts do. `zip`, `dictsort` and
//! `items` give lists of lists, which print as `[['a', 1]]` as in Ansible
//! (minijinja's own give tuples, which print as `('a', 1)`).

use minijinja::value::{Kwargs, Rest, Serde, ValueKind};
use minijinja::{Environment, Error, State, Value};
use serde_json::{Map, Value as Json};

use super::pyrandom::{PyRandom, Seed};
use super::serialize::to_json_value;
use crate::filters::{defined, failed};

pub(crate) fn register(env: &mut Environment<'_>) {
    env.add_filter("combine", combine);
    env.add_filter("dict2items", dict2items);
    env.add_filter("items2dict", items2dict);
    env.add_filter("flatten", flatten);
    env.add_filter("product", product);
    env.add_filter("zip_longest", zip_longest);
    env.add_filter("intersect", intersect);
    env.add_filter("difference", difference);
    env.add_filter("union", union);
    env.add_filter("symmetric_difference", symmetric_difference);
    env.add_filter("random", random);
    env.add_filter("shuffle", shuffle);
    env.add_filter("zip", |state: &State, value: Value, others: Rest<Value>| {
        untupled(&minijinja::filters::zip(state, value, others)?)
    });
    env.add_filter("dictsort", |value: &Value, kwargs: Kwargs| {
        untupled(&minijinja::filters::dictsort(value, kwargs)?)
    });
    env.add_filter("items", |value: &Value| {
        untupled(&minijinja::filters::items(value)?)
    });
}

/// The items of `pairs` (an iterable of tuples) as a list of lists.
fn untupled(pairs: &Value) -> Result<Value, Error> {
    let mut items = Vec::new();
    for item in pairs.try_iter()? {
        items.push(match item.is_tuple() {
            true => Value::from(item.try_iter()?.collect::<Vec<_>>()),
            false => item,
        });
    }
    Ok(Value::from(items))
}

fn to_value(json: Json) -> Value {
    Value::from(Serde(json))
}

fn kind_name(value: &Json) -> &'static str {
    match value {
        Json::Null => "none",
        Json::Bool(_) => "a bool",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "a list",
        Json::Object(_) => "a map",
    }
}

fn list_of(value: &Value, filter: &str) -> Result<Vec<Json>, Error> {
    match to_json_value(value, filter)? {
        Json::Array(items) => Ok(items),
        other => Err(failed(format!(
            "{filter} expects a list, got {}",
            kind_name(&other)
        ))),
    }
}

/// How `combine` merges two lists found under the same key.
#[derive(Clone, Copy, PartialEq, Eq)]
enum ListMerge {
    Replace,
    Keep,
    Append,
    Prepend,
    AppendRp,
    PrependRp,
}

impl ListMerge {
    fn from_name(name: &str) -> Result<ListMerge, Error> {
        Ok(match name {
            "replace" => ListMerge::Replace,
            "keep" => ListMerge::Keep,
            "append" => ListMerge::Append,
            "prepend" => ListMerge::Prepend,
            "append_rp" => ListMerge::AppendRp,
            "prepend_rp" => ListMerge::PrependRp,
            other => {
                return Err(failed(format!(
                    "combine: list_merge must be replace, keep, append, prepend, append_rp or prepend_rp, got `{other}`"
                )));
            }
        })
    }

    /// `low` and `high` merged, `high` taking precedence.
    fn lists(self, low: &[Json], high: &[Json]) -> Vec<Json> {
        let missing_from_high = || low.iter().filter(|item| !high.contains(item)).cloned();
        match self {
            ListMerge::Replace => high.to_vec(),
            ListMerge::Keep => low.to_vec(),
            ListMerge::Append => low.iter().chain(high).cloned().collect(),
            ListMerge::Prepend => high.iter().chain(low).cloned().collect(),
            ListMerge::AppendRp => missing_from_high().chain(high.iter().cloned()).collect(),
            ListMerge::PrependRp => high.iter().cloned().chain(missing_from_high()).collect(),
        }
    }
}

/// `high` merged into a copy of `low`: keys of `low` first, in their
/// order, then the new ones of `high`.
fn merge(
    low: &Map<String, Json>,
    high: &Map<String, Json>,
    recursive: bool,
    lists: ListMerge,
) -> Map<String, Json> {
    let mut merged = low.clone();
    for (key, high_value) in high {
        let value = match (merged.get(key), high_value) {
            (Some(Json::Object(low_map)), Json::Object(high_map)) if recursive => {
                Json::Object(merge(low_map, high_map, recursive, lists))
            }
            (Some(Json::Array(low_items)), Json::Array(high_items)) => {
                Json::Array(lists.lists(low_items, high_items))
            }
            _ => high_value.clone(),
        };
        merged.insert(key.clone(), value);
    }
    merged
}

/// `a | combine(b, c, recursive=false, list_merge='replace')`; the maps
/// may also come as lists of maps (`[a, b] | combine`). Later maps win.
fn combine(value: &Value, others: Rest<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    let recursive = kwargs.get::<Option<bool>>("recursive")?.unwrap_or(false);
    let lists = ListMerge::from_name(
        kwargs
            .get::<Option<&str>>("list_merge")?
            .unwrap_or("replace"),
    )?;
    kwargs.assert_all_used()?;
    let mut maps = Vec::new();
    for term in std::iter::once(value).chain(others.iter()) {
        match to_json_value(term, "combine")? {
            Json::Array(items) => maps.extend(items),
            other => maps.push(other),
        }
    }
    let maps = maps
        .into_iter()
        .map(|map| match map {
            Json::Object(map) => Ok(map),
            other => Err(failed(format!(
                "combine expects maps, got {}",
                kind_name(&other)
            ))),
        })
        .collect::<Result<Vec<_>, _>>()?;
    // As Ansible does: the highest-precedence map merged under each lower one.
    let mut maps = maps.into_iter().rev();
    let Some(mut merged) = maps.next() else {
        return Ok(to_value(Json::Object(Map::new())));
    };
    for lower in maps {
        merged = merge(&lower, &merged, recursive, lists);
    }
    Ok(to_value(Json::Object(merged)))
}

fn names(kwargs: &Kwargs) -> Result<(String, String), Error> {
    let key = kwargs
        .get::<Option<String>>("key_name")?
        .unwrap_or_else(|| "key".into());
    let value = kwargs
        .get::<Option<String>>("value_name")?
        .unwrap_or_else(|| "value".into());
    kwargs.assert_all_used()?;
    Ok((key, value))
}

/// `{a: 1} | dict2items` is `[{key: a, value: 1}]`.
fn dict2items(value: &Value, kwargs: Kwargs) -> Result<Value, Error> {
    let (key_name, value_name) = names(&kwargs)?;
    let Json::Object(map) = to_json_value(value, "dict2items")? else {
        return Err(failed(format!(
            "dict2items expects a map, got {}",
            value.kind()
        )));
    };
    let items = map
        .into_iter()
        .map(|(key, item)| {
            let mut entry = Map::new();
            entry.insert(key_name.clone(), Json::String(key));
            entry.insert(value_name.clone(), item);
            Json::Object(entry)
        })
        .collect();
    Ok(to_value(Json::Array(items)))
}

/// The reverse of `dict2items`.
fn items2dict(value: &Value, kwargs: Kwargs) -> Result<Value, Error> {
    let (key_name, value_name) = names(&kwargs)?;
    let mut map = Map::new();
    for item in list_of(value, "items2dict")? {
        let Json::Object(entry) = &item else {
            return Err(failed(format!(
                "items2dict expects a list of maps, got {} in it",
                kind_name(&item)
            )));
        };
        let (Some(key), Some(field)) = (entry.get(&key_name), entry.get(&value_name)) else {
            return Err(failed(format!(
                "items2dict: each map needs the keys `{key_name}` and `{value_name}`, got {item}"
            )));
        };
        let key = match key {
            Json::String(text) => text.clone(),
            other => other.to_string(),
        };
        map.insert(key, field.clone());
    }
    Ok(to_value(Json::Object(map)))
}

/// `flatten(levels=None, skip_nulls=true)`: nested lists spliced in, down
/// to `levels` deep; none and the strings `None` and `null` dropped.
fn flatten(value: &Value, levels: Option<usize>, kwargs: Kwargs) -> Result<Value, Error> {
    let levels = match levels {
        Some(levels) => Some(levels),
        None => kwargs.get::<Option<usize>>("levels")?,
    };
    let skip_nulls = kwargs.get::<Option<bool>>("skip_nulls")?.unwrap_or(true);
    kwargs.assert_all_used()?;
    fn walk(items: Vec<Json>, levels: Option<usize>, skip_nulls: bool, out: &mut Vec<Json>) {
        for item in items {
            let null = matches!(&item, Json::Null)
                || matches!(&item, Json::String(s) if s == "None" || s == "null");
            match item {
                _ if skip_nulls && null => {}
                Json::Array(inner) if levels != Some(0) => {
                    walk(inner, levels.map(|l| l - 1), skip_nulls, out);
                }
                other => out.push(other),
            }
        }
    }
    let mut out = Vec::new();
    walk(list_of(value, "flatten")?, levels, skip_nulls, &mut out);
    Ok(to_value(Json::Array(out)))
}

/// The cartesian product: `[1, 2] | product(['a'])` is `[[1, 'a'], [2, 'a']]`.
fn product(value: &Value, others: Rest<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    let repeat = kwargs.get::<Option<usize>>("repeat")?.unwrap_or(1);
    kwargs.assert_all_used()?;
    let mut pools = vec![list_of(value, "product")?];
    for other in others.iter() {
        pools.push(list_of(other, "product")?);
    }
    let pools: Vec<Vec<Json>> = std::iter::repeat_n(pools, repeat).flatten().collect();
    let mut rows: Vec<Vec<Json>> = vec![Vec::new()];
    for pool in &pools {
        rows = rows
            .iter()
            .flat_map(|row| {
                pool.iter().map(move |item| {
                    let mut next = row.clone();
                    next.push(item.clone());
                    next
                })
            })
            .collect();
    }
    Ok(to_value(Json::Array(
        rows.into_iter().map(Json::Array).collect(),
    )))
}

/// Like `zip`, to the longest list, padding with `fillvalue` (none).
fn zip_longest(value: &Value, others: Rest<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    let fill = match kwargs.get::<Option<Value>>("fillvalue")? {
        Some(fill) => to_json_value(&fill, "zip_longest")?,
        None => Json::Null,
    };
    kwargs.assert_all_used()?;
    let mut lists = vec![list_of(value, "zip_longest")?];
    for other in others.iter() {
        lists.push(list_of(other, "zip_longest")?);
    }
    let longest = lists.iter().map(Vec::len).max().unwrap_or(0);
    let rows = (0..longest)
        .map(|index| {
            Json::Array(
                lists
                    .iter()
                    .map(|list| list.get(index).cloned().unwrap_or_else(|| fill.clone()))
                    .collect(),
            )
        })
        .collect();
    Ok(to_value(Json::Array(rows)))
}

fn unique(items: impl IntoIterator<Item = Json>) -> Vec<Json> {
    let mut out: Vec<Json> = Vec::new();
    for item in items {
        if !out.contains(&item) {
            out.push(item);
        }
    }
    out
}

/// The items of both lists, once each, in the first list's order.
fn intersect(value: &Value, other: &Value) -> Result<Value, Error> {
    let (a, b) = (list_of(value, "intersect")?, list_of(other, "intersect")?);
    Ok(to_value(Json::Array(unique(
        a.into_iter().filter(|item| b.contains(item)),
    ))))
}

fn difference(value: &Value, other: &Value) -> Result<Value, Error> {
    let (a, b) = (list_of(value, "difference")?, list_of(other, "difference")?);
    Ok(to_value(Json::Array(unique(
        a.into_iter().filter(|item| !b.contains(item)),
    ))))
}

fn union(value: &Value, other: &Value) -> Result<Value, Error> {
    let (a, b) = (list_of(value, "union")?, list_of(other, "union")?);
    Ok(to_value(Json::Array(unique(a.into_iter().chain(b)))))
}

fn symmetric_difference(value: &Value, other: &Value) -> Result<Value, Error> {
    let (a, b) = (
        list_of(value, "symmetric_difference")?,
        list_of(other, "symmetric_difference")?,
    );
    let only_a = a.iter().filter(|item| !b.contains(item)).cloned();
    let only_b = b.iter().filter(|item| !a.contains(item)).cloned();
    Ok(to_value(Json::Array(unique(
        only_a.chain(only_b).collect::<Vec<_>>(),
    ))))
}

/// The generator for `seed`: Python's, seeded alike, so that a seed picks
/// what Ansible picks; without one, seeded by the system.
pub(crate) fn generator(seed: Option<&Value>, filter: &str) -> Result<PyRandom, Error> {
    match seed {
        None => PyRandom::from_entropy().map_err(|err| failed(format!("{filter}: {err}"))),
        Some(seed) => {
            if let Some(text) = seed.as_str() {
                Ok(PyRandom::new(&Seed::Text(text)))
            } else if seed.kind() == ValueKind::Bool {
                Ok(PyRandom::new(&Seed::Int(i128::from(seed.is_true()))))
            } else if let Some(number) = seed.as_i64().filter(|_| seed.is_integer()) {
                Ok(PyRandom::new(&Seed::Int(i128::from(number))))
            } else {
                Err(failed(format!(
                    "{filter}: the seed must be a string or a whole number, got {}",
                    seed.kind()
                )))
            }
        }
    }
}

/// `end | random(start=0, step=1, seed=None)`: a number from `start` up
/// to (not including) `end`; on a list or string, one of its items.
fn random(
    value: &Value,
    start: Option<i64>,
    step: Option<i64>,
    kwargs: Kwargs,
) -> Result<Value, Error> {
    defined(value, "random")?;
    let start = match start {
        Some(start) => Some(start),
        None => kwargs.get::<Option<i64>>("start")?,
    };
    let step = match step {
        Some(step) => Some(step),
        None => kwargs.get::<Option<i64>>("step")?,
    };
    let seed = kwargs.get::<Option<Value>>("seed")?;
    kwargs.assert_all_used()?;
    let mut generator = generator(seed.as_ref().filter(|seed| !seed.is_none()), "random")?;
    if value.is_integer() {
        let end = value
            .as_i64()
            .ok_or_else(|| failed("random: the number is too large"))?;
        // Ansible treats a start or step of 0 as not given.
        let start = start.filter(|&s| s != 0).unwrap_or(0);
        let step = step.filter(|&s| s != 0).unwrap_or(1);
        return generator
            .range(start, end, step)
            .map(Value::from)
            .map_err(|err| failed(format!("random: {err}")));
    }
    if start.is_some_and(|s| s != 0) || step.is_some_and(|s| s != 0) {
        return Err(failed(
            "random: start and step can only be used with a number",
        ));
    }
    let items: Vec<Value> = match value.kind() {
        ValueKind::String => value
            .as_str()
            .unwrap_or_default()
            .chars()
            .map(Value::from)
            .collect(),
        ValueKind::Seq => value.try_iter()?.collect(),
        other => {
            return Err(failed(format!(
                "random takes a number, a list or a string, got {other}"
            )));
        }
    };
    if items.is_empty() {
        return Err(failed("random: cannot choose from an empty list"));
    }
    let index = generator.below(items.len() as u64) as usize;
    Ok(items[index].clone())
}

/// The list in a random order; with `seed=`, the order Ansible gives.
fn shuffle(value: &Value, kwargs: Kwargs) -> Result<Value, Error> {
    defined(value, "shuffle")?;
    let seed = kwargs.get::<Option<Value>>("seed")?;
    kwargs.assert_all_used()?;
    let mut items: Vec<Value> = match value.kind() {
        ValueKind::String => value
            .as_str()
            .unwrap_or_default()
            .chars()
            .map(Value::from)
            .collect(),
        ValueKind::Seq | ValueKind::Map => value.try_iter()?.collect(),
        other => return Err(failed(format!("shuffle takes a list, got {other}"))),
    };
    let seed = seed.filter(Value::is_true);
    generator(seed.as_ref(), "shuffle")?.shuffle(&mut items);
    Ok(Value::from(items))
}

#[cfg(test)]
#[path = "filters_data_tests.rs"]
mod tests;
