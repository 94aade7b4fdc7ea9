//! The located message every loader reports: where, what is wrong, and
//! what to do about it.

use std::fmt;

use crate::location::Location;

/// A problem at a place in a source text, with an optional hint.
///
/// `Display` renders it on one line, plus an indented hint line when there
/// is a hint:
///
/// ```text
/// inventories/prod.yaml:7:15: port must be a number from 1 to 65535, got 70000
///   hint: write the SSH port as a plain integer, e.g. `port: 2222`
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Diagnostic {
    /// The offending key or value, or where the parser stopped.
    pub location: Location,
    /// What is wrong, on one line.
    pub message: String,
    /// What is expected instead, without the `hint: ` prefix.
    pub hint: Option<String>,
}

impl Diagnostic {
    /// A diagnostic without a hint.
    pub fn new(location: Location, message: impl Into<String>) -> Self {
        Self {
            location,
            message: message.into(),
            hint: None,
        }
    }

    /// A diagnostic with a hint.
    pub fn hinted(location: Location, message: impl Into<String>, hint: impl Into<String>) -> Self {
        Self::new(location, message).with_hint(hint)
    }

    /// The same diagnostic with `hint` (replacing any hint it had).
    pub fn with_hint(self, hint: impl Into<String>) -> Self {
        Self {
            hint: Some(hint.into()),
            ..self
        }
    }

    /// The hint, if there is one.
    pub fn hint(&self) -> Option<&str> {
        self.hint.as_deref()
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.location, self.message)?;
        match &self.hint {
            Some(hint) => write!(f, "\n  hint: {hint}"),
            None => Ok(()),
        }
    }
}

impl std::error::Error for Diagnostic {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_the_location_the_message_and_the_hint_line() {
        let diagnostic = Diagnostic::hinted(
            Location::new("inventories/prod.yaml", 7, 15),
            "port must be a number from 1 to 65535, got 70000",
            "write the SSH port as a plain integer, e.g. `port: 2222`",
        );
        assert_eq!(
            diagnostic.to_string(),
            "inventories/prod.yaml:7:15: port must be a number from 1 to 65535, got 70000\n  \
             hint: write the SSH port as a plain integer, e.g. `port: 2222`"
        );
        assert_eq!(
            diagnostic.hint(),
            Some("write the SSH port as a plain integer, e.g. `port: 2222`")
        );
    }

    #[test]
    fn displays_one_line_without_a_hint() {
        let diagnostic = Diagnostic::new(Location::new("site.yaml", 3, 1), "duplicate key `a`");
        assert_eq!(diagnostic.to_string(), "site.yaml:3:1: duplicate key `a`");
        assert_eq!(diagnostic.hint(), None);
    }

    #[test]
    fn template_lines_have_no_column() {
        let diagnostic = Diagnostic::hinted(
            Location::line_only("templates/unit.j2", 3),
            "undefined variable `port` in the template",
            "define it in the play's `vars`",
        );
        assert_eq!(
            diagnostic.to_string(),
            "templates/unit.j2:3: undefined variable `port` in the template\n  \
             hint: define it in the play's `vars`"
        );
    }

    #[test]
    fn with_hint_adds_or_replaces_the_hint() {
        let at = Location::new("a.yaml", 1, 1);
        let diagnostic = Diagnostic::new(at.clone(), "bad").with_hint("first");
        assert_eq!(diagnostic.hint(), Some("first"));
        let diagnostic = diagnostic.with_hint("second");
        assert_eq!(diagnostic, Diagnostic::hinted(at, "bad", "second"));
    }
}
