//! A templated `serial`, rendered once per play before its first batch
//! from the variables known before any host: the play's `vars`, vars files
//! and role defaults, and `-e` vars, which win. The rendered value passes
//! the checks of a written `serial`.

use std::sync::LazyLock;

use fleet_yaml::{message_quote, parse_document};
use serde_json::{Map, Value};

use crate::error::PlaybookError;
use crate::serial::{PlaySerial, Serial, SerialTemplate, SizeValue, size_of};
use crate::templater::Templater;
use crate::{Play, host_vars};

static TEMPLATER: LazyLock<Templater> = LazyLock::new(Templater::new);

/// The hint of every error of a templated `serial`.
pub(crate) const RENDER_HINT: &str = "a templated `serial` is rendered before the play starts, \
     from the play's `vars`, vars files, role defaults and -e vars (not host or inventory vars), \
     and must give a host count like 2, a share like \"30%\", or a list like [1, \"10%\", \"100%\"]";

impl Play {
    /// The play's batch sizes: `serial` as written, or its template
    /// rendered from the play's vars, vars files and role defaults, and
    /// `extra` (`-e`, which wins). `None` for a play without `serial`.
    ///
    /// An error is located at the `serial` value: a variable it cannot
    /// render, or a rendered value that is not a valid `serial`.
    pub fn serial_sizes(
        &self,
        extra: &Map<String, Value>,
    ) -> Result<Option<Serial>, PlaybookError> {
        match &self.serial {
            None => Ok(None),
            Some(PlaySerial::Sizes(serial)) => Ok(Some(serial.clone())),
            Some(PlaySerial::Template(template)) => {
                render(template, &play_level_vars(self, extra)).map(Some)
            }
        }
    }

    /// Replaces a templated `serial` by the sizes it renders to (see
    /// [`Play::serial_sizes`]), so that it is rendered once.
    pub fn render_serial(&mut self, extra: &Map<String, Value>) -> Result<(), PlaybookError> {
        if let Some(serial) = self.serial_sizes(extra)? {
            self.serial = Some(PlaySerial::Sizes(serial));
        }
        Ok(())
    }
}

/// The variables known before any host: no inventory vars, facts or
/// registered results.
pub(crate) fn play_level_vars(play: &Play, extra: &Map<String, Value>) -> Value {
    host_vars(&Map::new(), play, &Map::new(), extra, "", None)
}

/// Renders `template` with `vars` and checks what it gives.
pub(crate) fn render(template: &SerialTemplate, vars: &Value) -> Result<Serial, PlaybookError> {
    let rendered = TEMPLATER
        .render_value(&template.written, vars)
        .map_err(|err| {
            PlaybookError::template(
                template.at.clone(),
                format!("cannot render `serial`: {err}"),
                RENDER_HINT,
            )
        })?;
    sizes_of(&rendered).map_err(|message| {
        PlaybookError::invalid(
            template.at.clone(),
            format!("{message} (rendered from {})", shown(&template.written)),
            RENDER_HINT,
        )
    })
}

/// The sizes a rendered `serial` means: a count, a percentage, or a list
/// of them, each a number or a string; a string that is a YAML or JSON
/// list (`"[1, '25%']"`) counts as that list.
fn sizes_of(rendered: &Value) -> Result<Serial, String> {
    let parsed;
    let value = match rendered {
        Value::String(text) if text.trim_start().starts_with('[') => {
            parsed = parse_list(text)?;
            &parsed
        }
        other => other,
    };
    match value {
        Value::Array(items) if items.is_empty() => {
            Err("`serial` must not be an empty list".to_owned())
        }
        Value::Array(items) => items
            .iter()
            .map(|item| size_of(size_value(item)))
            .collect::<Result<_, _>>()
            .map(Serial),
        other => Ok(Serial(vec![size_of(size_value(other))?])),
    }
}

fn parse_list(text: &str) -> Result<Value, String> {
    parse_document(text, "serial")
        .map(|node| node.value.to_json())
        .map_err(|_| {
            format!(
                "`serial` must be a host count, a percentage or a list of them, got {}, \
                 which is not a valid list",
                message_quote(text)
            )
        })
}

fn size_value(value: &Value) -> SizeValue<'_> {
    match value {
        Value::Number(number) => match number.as_i64() {
            Some(count) => SizeValue::Int(i128::from(count)),
            None => match number.as_u64() {
                Some(count) => SizeValue::Int(i128::from(count)),
                None => SizeValue::Other(number.to_string()),
            },
        },
        Value::String(text) => SizeValue::Str(text),
        Value::Null => SizeValue::Other("nothing (null)".to_owned()),
        Value::Bool(flag) => SizeValue::Other(flag.to_string()),
        Value::Array(_) => SizeValue::Other("a list".to_owned()),
        Value::Object(_) => SizeValue::Other("a map".to_owned()),
    }
}

/// The written template, for messages.
fn shown(written: &Value) -> String {
    match written {
        Value::String(text) => message_quote(text),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::sizes_of;
    use crate::serial::{BatchSize, Serial};

    #[test]
    fn rendered_values_become_sizes() {
        let ramp = Serial(vec![
            BatchSize::Count(1),
            BatchSize::Percent(25.0),
            BatchSize::Percent(100.0),
        ]);
        assert_eq!(sizes_of(&json!([1, "25%", "100%"])), Ok(ramp.clone()));
        assert_eq!(sizes_of(&json!("[1, '25%', '100%']")), Ok(ramp.clone()));
        assert_eq!(sizes_of(&json!("[1, \"25%\", \"100%\"]")), Ok(ramp));
        assert_eq!(sizes_of(&json!(3)), Ok(Serial(vec![BatchSize::Count(3)])));
        assert_eq!(
            sizes_of(&json!(" 3 ")),
            Ok(Serial(vec![BatchSize::Count(3)]))
        );
        assert_eq!(
            sizes_of(&json!("30%")),
            Ok(Serial(vec![BatchSize::Percent(30.0)]))
        );
    }

    #[test]
    fn rendered_values_pass_the_checks_of_written_ones() {
        let message = |value| sizes_of(&value).expect_err("should be refused");
        assert_eq!(message(json!(0)), "`serial` must be at least 1 host, got 0");
        assert_eq!(
            message(json!("abc")),
            "`serial` must be a host count or a percentage like \"30%\", got \"abc\""
        );
        assert_eq!(
            message(json!("0%")),
            "a `serial` percentage must be from 1% to 100%, got \"0%\""
        );
        assert_eq!(message(json!([])), "`serial` must not be an empty list");
        assert_eq!(message(json!("[]")), "`serial` must not be an empty list");
        assert_eq!(
            message(json!([1, [2]])),
            "`serial` must be a host count, a percentage or a list of them, got a list"
        );
        assert_eq!(
            message(json!(2.5)),
            "`serial` must be a host count, a percentage or a list of them, got 2.5"
        );
        assert_eq!(
            message(json!(null)),
            "`serial` must be a host count, a percentage or a list of them, got nothing (null)"
        );
        assert!(message(json!("[1, ")).contains("not a valid list"));
    }
}
