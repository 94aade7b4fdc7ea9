//! Positions in source texts, shown as `file:line:col` or `file:line`.

use std::fmt;

/// A position in a source text: a YAML file, a template, or a host pattern.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Location {
    /// What the position is in: a path as shown in messages
    /// (`inventories/prod.yaml`, `templates/unit.j2`), or a label such as `-l`.
    pub source: String,
    /// Line, counted from 1.
    pub line: u64,
    /// Column, counted from 1, in characters (not bytes); `None` where only
    /// the line is known, as in template files.
    pub column: Option<u64>,
}

impl Location {
    /// A line and column; 0 (unknown) is shown as 1.
    pub fn new(source: impl Into<String>, line: u64, column: u64) -> Self {
        Self {
            source: source.into(),
            line: line.max(1),
            column: Some(column.max(1)),
        }
    }

    /// A line only, for template files.
    pub fn line_only(source: impl Into<String>, line: u64) -> Self {
        Self {
            source: source.into(),
            line: line.max(1),
            column: None,
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.column {
            Some(column) => write!(f, "{}:{}:{}", self.source, self.line, column),
            None => write!(f, "{}:{}", self.source, self.line),
        }
    }
}

/// Converts a serde-saphyr location (such as a node's `referenced` span)
/// into ours.
pub fn location(source: &str, at: &serde_saphyr::Location) -> Location {
    Location::new(source, at.line(), at.column())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_line_and_column_or_line_only() {
        assert_eq!(Location::new("a.yaml", 3, 7).to_string(), "a.yaml:3:7");
        assert_eq!(Location::line_only("unit.j2", 4).to_string(), "unit.j2:4");
    }

    #[test]
    fn unknown_line_and_column_show_as_one() {
        assert_eq!(Location::new("-l", 0, 0).to_string(), "-l:1:1");
        assert_eq!(Location::line_only("unit.j2", 0).line, 1);
    }
}
