//! `with_sequence`: numbers as formatted strings, like Ansible's sequence
//! lookup. A term is the short form `[start-]end[/stride][:format]`
//! (`5`, `2-10/2`, `4:host%02d`), `key=value` words (`start=0 end=8
//! stride=2 format=web%02d`, or `count=` instead of `end=`), or a map of
//! the same keys. Numbers may be decimal, hex (`0x1f`) or octal (`017`).

use std::sync::LazyLock;

use regex::Regex;
use serde_json::{Map, Value};

use crate::loop_lookups::key_values;

const KEYS: &[&str] = &["start", "end", "count", "stride", "format"];

static SHORT_FORM: LazyLock<Regex> = LazyLock::new(|| {
    let number = "(0?x?[0-9a-f]+)";
    Regex::new(&format!(
        "(?i)^(?:{number}-)?{number}(?:/{number})?(?::(.+))?$"
    ))
    .expect("the short form pattern compiles")
});

/// The items of one `with_sequence` term.
pub(crate) fn sequence(term: &Value) -> Result<Vec<Value>, String> {
    let fields = match term {
        Value::String(text) => match short_form(text.trim()) {
            Some(fields) => fields,
            None => key_values(text)?,
        },
        Value::Object(map) => map.clone(),
        other => return Err(format!("`with_sequence` cannot read {other}")),
    };
    if let Some(key) = fields.keys().find(|key| !KEYS.contains(&key.as_str())) {
        return Err(format!(
            "`with_sequence` has no argument `{key}`; it takes {}",
            KEYS.join(", ")
        ));
    }
    let number = |key: &str| -> Result<Option<i64>, String> {
        fields
            .get(key)
            .map(|value| parse_number(key, value))
            .transpose()
    };
    let mut start = number("start")?.unwrap_or(1);
    let mut stride = number("stride")?.unwrap_or(1);
    let format = match fields.get("format") {
        None => "%d".to_owned(),
        Some(Value::String(text)) => text.clone(),
        Some(other) => other.to_string(),
    };
    let end = match (number("end")?, number("count")?) {
        (None, None) => return Err("`with_sequence` needs `end` or `count`".to_owned()),
        (Some(_), Some(_)) => {
            return Err("`with_sequence` takes `end` or `count`, not both".to_owned());
        }
        (Some(end), None) => end,
        (None, Some(0)) => {
            (start, stride) = (0, 0);
            0
        }
        (None, Some(count)) => start + count * stride - 1,
    };
    if stride > 0 && end < start {
        return Err(format!(
            "`with_sequence` from {start} down to {end}: to count backwards make `stride` negative"
        ));
    }
    if stride < 0 && end > start {
        return Err(format!(
            "`with_sequence` from {start} up to {end}: to count forwards make `stride` positive"
        ));
    }
    if format.matches('%').count() != 1 {
        return Err(format!(
            "`with_sequence` format {format:?} must hold exactly one `%` conversion, e.g. `web%02d`"
        ));
    }
    let mut items = Vec::new();
    let mut value = start;
    while stride != 0 && (stride > 0 && value <= end || stride < 0 && value >= end) {
        items.push(Value::String(printf(&format, value)?));
        value += stride;
    }
    Ok(items)
}

fn short_form(text: &str) -> Option<Map<String, Value>> {
    let captures = SHORT_FORM.captures(text)?;
    let mut fields = Map::new();
    for (index, key) in [(1, "start"), (2, "end"), (3, "stride"), (4, "format")] {
        if let Some(found) = captures.get(index) {
            fields.insert(key.to_owned(), Value::String(found.as_str().to_owned()));
        }
    }
    Some(fields)
}

fn parse_number(key: &str, value: &Value) -> Result<i64, String> {
    let parsed = match value {
        Value::Number(number) => number.as_i64(),
        Value::String(text) => {
            let text = text.trim();
            let (negative, digits) = match text.strip_prefix('-') {
                Some(rest) => (true, rest),
                None => (false, text),
            };
            let magnitude = if let Some(hex) = digits
                .strip_prefix("0x")
                .or_else(|| digits.strip_prefix("0X"))
            {
                i64::from_str_radix(hex, 16).ok()
            } else if digits.len() > 1 && digits.starts_with('0') {
                i64::from_str_radix(&digits[1..], 8).ok()
            } else {
                digits.parse().ok()
            };
            magnitude.map(|n| if negative { -n } else { n })
        }
        _ => None,
    };
    parsed.ok_or_else(|| format!("`with_sequence` `{key}` must be a whole number, got {value}"))
}

/// `format` with its one `%` conversion applied to `value`: flags
/// `-0+ #`, a width, a precision, and `d i u x X o s f F e E c`; `%%`
/// is not one.
fn printf(format: &str, value: i64) -> Result<String, String> {
    let bad = || format!("`with_sequence` cannot format {value} with {format:?}");
    let at = format.find('%').ok_or_else(bad)?;
    let (before, spec) = (&format[..at], &format[at + 1..]);
    let flags_end = spec.find(|c: char| !"-0+ #".contains(c)).ok_or_else(bad)?;
    let flags = &spec[..flags_end];
    let rest = &spec[flags_end..];
    let width_end = rest.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
    let width: usize = rest[..width_end].parse().unwrap_or(0);
    let mut rest = &rest[width_end..];
    let mut precision = None;
    if let Some(after) = rest.strip_prefix('.') {
        let end = after.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
        precision = Some(after[..end].parse().unwrap_or(0));
        rest = &after[end..];
    }
    let conversion = rest.chars().next().ok_or_else(bad)?;
    let after = &rest[conversion.len_utf8()..];
    let sign = if value < 0 {
        "-"
    } else if flags.contains('+') {
        "+"
    } else if flags.contains(' ') {
        " "
    } else {
        ""
    };
    let magnitude = value.unsigned_abs();
    let alternate = flags.contains('#');
    let (prefix, digits) = match conversion {
        'd' | 'i' | 'u' => ("", magnitude.to_string()),
        'x' => (if alternate { "0x" } else { "" }, format!("{magnitude:x}")),
        'X' => (if alternate { "0X" } else { "" }, format!("{magnitude:X}")),
        'o' => (if alternate { "0o" } else { "" }, format!("{magnitude:o}")),
        'f' | 'F' => (
            "",
            format!("{:.*}", precision.unwrap_or(6), magnitude as f64),
        ),
        'e' => (
            "",
            format!("{:.*e}", precision.unwrap_or(6), magnitude as f64),
        ),
        'E' => (
            "",
            format!("{:.*E}", precision.unwrap_or(6), magnitude as f64),
        ),
        's' => ("", value.to_string()),
        'c' => {
            let c = u32::try_from(value)
                .ok()
                .and_then(char::from_u32)
                .ok_or_else(bad)?;
            ("", c.to_string())
        }
        _ => return Err(bad()),
    };
    let digits = match (precision, conversion) {
        (Some(precision), 'd' | 'i' | 'u' | 'x' | 'X' | 'o') if digits.len() < precision => {
            "0".repeat(precision - digits.len()) + &digits
        }
        _ => digits,
    };
    let (sign, prefix) = if conversion == 's' || conversion == 'c' {
        ("", "")
    } else {
        (sign, prefix)
    };
    let body_len = sign.len() + prefix.len() + digits.len();
    let pad = width.saturating_sub(body_len);
    let field = if flags.contains('-') {
        format!("{sign}{prefix}{digits}{}", " ".repeat(pad))
    } else if flags.contains('0') && conversion != 's' && conversion != 'c' {
        format!("{sign}{prefix}{}{digits}", "0".repeat(pad))
    } else {
        format!("{}{sign}{prefix}{digits}", " ".repeat(pad))
    };
    Ok(format!("{before}{field}{after}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn items(term: Value) -> Vec<String> {
        sequence(&term)
            .unwrap_or_else(|err| panic!("{term}: {err}"))
            .into_iter()
            .map(|item| item.as_str().unwrap_or_default().to_owned())
            .collect()
    }

    #[test]
    fn the_short_form() {
        assert_eq!(items(json!("5")), ["1", "2", "3", "4", "5"]);
        assert_eq!(items(json!("5-8")), ["5", "6", "7", "8"]);
        assert_eq!(items(json!("2-10/2")), ["2", "4", "6", "8", "10"]);
        assert_eq!(
            items(json!("4:host%02d")),
            ["host01", "host02", "host03", "host04"]
        );
    }

    #[test]
    fn key_value_words_and_maps() {
        assert_eq!(items(json!("start=1 end=5")), ["1", "2", "3", "4", "5"]);
        assert_eq!(
            items(json!("start=5 end=11 stride=2 format=0x%02x")),
            ["0x05", "0x07", "0x09", "0x0b"]
        );
        assert_eq!(items(json!("count=3")), ["1", "2", "3"]);
        assert_eq!(
            items(json!("start=0x0f00 count=4 format=%04x")),
            ["0f00", "0f01", "0f02", "0f03"]
        );
        assert_eq!(
            items(json!("start=0 count=5 stride=2")),
            ["0", "2", "4", "6", "8"]
        );
        assert_eq!(items(json!("start=10 end=0 stride=-5")), ["10", "5", "0"]);
        assert_eq!(items(json!("start=010 end=012")), ["8", "9", "10"]);
        assert_eq!(items(json!("count=0")), Vec::<String>::new());
        assert_eq!(
            items(json!({"start": 1, "end": 3, "format": "web%-3d|"})),
            ["web1  |", "web2  |", "web3  |"]
        );
        assert_eq!(
            items(json!({"end": 2, "format": "%+.3d"})),
            ["+001", "+002"]
        );
    }

    #[test]
    fn bad_terms_say_what_is_wrong() {
        let err = |term: Value| sequence(&term).unwrap_err();
        assert!(err(json!("start=1")).contains("needs `end` or `count`"));
        assert!(err(json!("end=3 count=2")).contains("not both"));
        assert!(err(json!("start=5 end=1")).contains("make `stride` negative"));
        assert!(err(json!("start=1 end=5 stride=-1")).contains("positive"));
        assert!(err(json!("end=3 format=a%db%d")).contains("exactly one"));
        assert!(err(json!("end=3 step=2")).contains("no argument `step`"));
        assert!(err(json!("end=x")).contains("whole number"));
        assert!(err(json!("end=3 format=%q")).contains("cannot format"));
    }
}
