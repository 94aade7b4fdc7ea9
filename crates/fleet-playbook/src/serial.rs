//! Rolling batches: the `serial` and `rollback` play keys.

use std::fmt;

use fleet_yaml::{Location, Node, YamlNode, did_you_mean, message_quote};
use serde::{Serialize, Serializer};
use serde_json::Value;

use crate::error::PlaybookError;
use crate::fields::Fields;
use crate::templater::is_template;

/// How many hosts one batch of a rolling play takes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum BatchSize {
    /// This many hosts (at least 1).
    Count(usize),
    /// This share of the play's hosts, from 1 to 100: rounded down, but
    /// never less than one host.
    Percent(f64),
}

impl BatchSize {
    /// The number of hosts this size means in a play of `play_hosts` hosts.
    /// It may exceed the hosts left; the caller takes what is there.
    pub fn hosts(self, play_hosts: usize) -> usize {
        match self {
            BatchSize::Count(count) => count,
            BatchSize::Percent(percent) => {
                let share = (percent * play_hosts as f64 / 100.0).floor();
                (share as usize).max(1)
            }
        }
    }
}

impl fmt::Display for BatchSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BatchSize::Count(count) => write!(f, "{count}"),
            BatchSize::Percent(percent) => write!(f, "{percent}%"),
        }
    }
}

/// A number stays a number and a percentage a `"30%"` string, as written.
impl Serialize for BatchSize {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            BatchSize::Count(count) => serializer.serialize_u64(*count as u64),
            BatchSize::Percent(_) => serializer.collect_str(self),
        }
    }
}

/// A play's `serial`: the batch sizes in order; the last one repeats until
/// every host has had its batch. Never empty.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(transparent)]
pub struct Serial(pub Vec<BatchSize>);

/// A play's `serial` as written.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum PlaySerial {
    /// Sizes written as such, checked when the playbook loads.
    Sizes(Serial),
    /// A template, or a list holding one: rendered from the play's
    /// variables and `-e` before the play's first batch
    /// ([`Play::serial_sizes`](crate::Play::serial_sizes)).
    Template(SerialTemplate),
}

/// A templated `serial`: `"{{ release_serial }}"`, `["{{ first }}", "100%"]`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(transparent)]
pub struct SerialTemplate {
    /// The value as written: a string, or a list of strings and numbers.
    pub written: Value,
    /// Where it is written, for the errors of its rendering.
    #[serde(skip)]
    pub at: Location,
}

impl SerialTemplate {
    fn new(f: &Fields, node: &YamlNode) -> SerialTemplate {
        SerialTemplate {
            written: node.value.to_json(),
            at: f.at(node),
        }
    }
}

/// What a failed rolling play rolls back (`rollback:`): the `release`
/// module's switch of `current`. See `docs/modules/release.md`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Rollback {
    /// Only the batch that failed.
    #[default]
    Batch,
    /// Every host the play has released to, earlier batches included.
    All,
    /// Nothing: failed hosts stay as they are.
    None,
}

const ROLLBACK_VALUES: &[&str] = &["batch", "all", "none"];

const SERIAL_HINT: &str = "write a host count like `serial: 2`, a share of the play's hosts \
     like `serial: \"30%\"`, or a ramp like `serial: [1, \"10%\", \"100%\"]`";

/// Reads `serial` as written: the sizes themselves, checked here, or a
/// template (a string, or a list with one) kept to render before the play
/// starts. The plain entries of a templated list are checked here too.
pub(crate) fn parse_serial(f: &Fields, node: &YamlNode) -> Result<PlaySerial, PlaybookError> {
    match &node.value {
        Node::Seq(items) if items.is_empty() => Err(PlaybookError::invalid(
            f.at(node),
            "`serial` must not be an empty list",
            SERIAL_HINT,
        )),
        Node::Seq(items) if items.iter().any(is_templated) => {
            for item in items.iter().filter(|item| !is_templated(item)) {
                batch_size(f, item)?;
            }
            Ok(PlaySerial::Template(SerialTemplate::new(f, node)))
        }
        Node::Seq(items) => items
            .iter()
            .map(|item| batch_size(f, item))
            .collect::<Result<_, _>>()
            .map(|sizes| PlaySerial::Sizes(Serial(sizes))),
        _ if is_templated(node) => Ok(PlaySerial::Template(SerialTemplate::new(f, node))),
        _ => Ok(PlaySerial::Sizes(Serial(vec![batch_size(f, node)?]))),
    }
}

fn is_templated(node: &YamlNode) -> bool {
    node.value.as_str().is_some_and(is_template)
}

fn batch_size(f: &Fields, node: &YamlNode) -> Result<BatchSize, PlaybookError> {
    let written = match &node.value {
        Node::Int(count) => SizeValue::Int(*count),
        Node::Str(text) => SizeValue::Str(text),
        other => SizeValue::Other(other.describe()),
    };
    size_of(written).map_err(|message| PlaybookError::invalid(f.at(node), message, SERIAL_HINT))
}

/// One entry of `serial`, as written or rendered.
pub(crate) enum SizeValue<'a> {
    Int(i128),
    Str(&'a str),
    /// Anything else, described for the message.
    Other(String),
}

/// The batch size `value` means, or why it means none.
pub(crate) fn size_of(value: SizeValue) -> Result<BatchSize, String> {
    match value {
        SizeValue::Int(count) if count >= 1 => usize::try_from(count)
            .map(BatchSize::Count)
            .map_err(|_| format!("`serial` {count} is too large")),
        SizeValue::Int(count) => Err(format!("`serial` must be at least 1 host, got {count}")),
        SizeValue::Str(text) => {
            let text = text.trim();
            if let Ok(count) = text.parse::<i128>() {
                // `"3"`, and `-e size=0`: -e values are strings.
                return size_of(SizeValue::Int(count));
            }
            if let Some(number) = text.strip_suffix('%') {
                return match number.trim().parse::<f64>() {
                    Ok(percent) if (1.0..=100.0).contains(&percent) => {
                        Ok(BatchSize::Percent(percent))
                    }
                    Ok(_) => Err(format!(
                        "a `serial` percentage must be from 1% to 100%, got {}",
                        message_quote(text)
                    )),
                    Err(_) => Err(format!(
                        "`serial` percentage {} is not a number",
                        message_quote(text)
                    )),
                };
            }
            Err(format!(
                "`serial` must be a host count or a percentage like \"30%\", got {}",
                message_quote(text)
            ))
        }
        SizeValue::Other(described) => Err(format!(
            "`serial` must be a host count, a percentage or a list of them, got {described}"
        )),
    }
}

pub(crate) fn parse_rollback(f: &Fields, node: &YamlNode) -> Result<Rollback, PlaybookError> {
    let word = f.string(node, "rollback", "rollback: batch")?;
    match word.trim() {
        "batch" => Ok(Rollback::Batch),
        "all" => Ok(Rollback::All),
        "none" => Ok(Rollback::None),
        other => {
            let near = did_you_mean(other, ROLLBACK_VALUES.iter().copied())
                .map(|near| near + " ")
                .unwrap_or_default();
            Err(PlaybookError::invalid(
                f.at(node),
                format!("unknown `rollback` value {}", message_quote(other)),
                format!(
                    "{near}`rollback` is `batch` (the default: the failed batch), \
                     `all` (every batch so far) or `none`"
                ),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::BatchSize;

    #[test]
    fn a_percentage_rounds_down_but_takes_at_least_one_host() {
        assert_eq!(BatchSize::Percent(30.0).hosts(10), 3);
        assert_eq!(BatchSize::Percent(30.0).hosts(20), 6);
        assert_eq!(BatchSize::Percent(50.0).hosts(5), 2);
        assert_eq!(BatchSize::Percent(10.0).hosts(4), 1);
        assert_eq!(BatchSize::Percent(1.0).hosts(1), 1);
        assert_eq!(BatchSize::Percent(100.0).hosts(7), 7);
        // 29% of 100 is 29, not the 28 a naive 0.29 * 100 gives.
        assert_eq!(BatchSize::Percent(29.0).hosts(100), 29);
        assert_eq!(BatchSize::Percent(12.5).hosts(8), 1);
    }

    #[test]
    fn a_count_is_itself() {
        assert_eq!(BatchSize::Count(3).hosts(10), 3);
        assert_eq!(BatchSize::Count(5).hosts(2), 5);
    }

    #[test]
    fn sizes_display_and_serialize_as_written() {
        assert_eq!(BatchSize::Percent(30.0).to_string(), "30%");
        assert_eq!(BatchSize::Percent(12.5).to_string(), "12.5%");
        assert_eq!(
            serde_json::to_value([BatchSize::Count(1), BatchSize::Percent(50.0)]).ok(),
            Some(serde_json::json!([1, "50%"]))
        );
    }
}
