//! Text helpers shared by modules: diffs, modes and probe fields.

use std::collections::BTreeMap;

use base64::Engine;

use crate::ModuleError;

/// A unified diff of `before` → `after` for `path`, or `None` when equal.
pub fn unified_diff(path: &str, before: &str, after: &str) -> Option<String> {
    if before == after {
        return None;
    }
    let diff = similar::TextDiff::from_lines(before, after);
    Some(
        diff.unified_diff()
            .context_radius(3)
            .header(&format!("{path} (before)"), &format!("{path} (after)"))
            .to_string(),
    )
}

/// Parses an octal mode such as `"0644"`, `"644"` or `"1777"`.
pub fn parse_mode(mode: &str) -> Result<u32, String> {
    let digits = mode.trim();
    let valid =
        (3..=4).contains(&digits.len()) && digits.bytes().all(|b| (b'0'..=b'7').contains(&b));
    if !valid {
        return Err(format!(
            "mode must be octal digits such as \"0644\", got {mode:?}"
        ));
    }
    u32::from_str_radix(digits, 8).map_err(|err| err.to_string())
}

/// Decodes a probe field that a script printed with `base64 -w0`; `what`
/// names it in the error.
pub fn decode_base64(encoded: &str, what: &str) -> Result<Vec<u8>, ModuleError> {
    base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .map_err(|err| ModuleError::Probe(format!("{what}: {err}")))
}

/// Reads `key=value` lines, as probe scripts print them.
pub fn fields(stdout: &str) -> BTreeMap<&str, &str> {
    stdout
        .lines()
        .filter_map(|line| line.split_once('='))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff_shows_changed_lines_only_when_different() {
        assert_eq!(unified_diff("/f", "a\n", "a\n"), None);
        let diff = unified_diff("/f", "a\nb\n", "a\nc\n").unwrap();
        assert!(diff.contains("-b\n") && diff.contains("+c\n"), "{diff}");
    }

    #[test]
    fn modes_are_octal() {
        assert_eq!(parse_mode("0644"), Ok(0o644));
        assert_eq!(parse_mode("1777"), Ok(0o1777));
        assert!(parse_mode("0999").is_err());
        assert!(parse_mode("rw").is_err());
    }

    #[test]
    fn fields_split_at_the_first_equals() {
        let f = fields("exists=1\nline=a=b\nnoise\n");
        assert_eq!(f["exists"], "1");
        assert_eq!(f["line"], "a=b");
    }
}
