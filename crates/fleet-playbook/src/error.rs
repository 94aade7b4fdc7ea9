//! Errors of this crate.
//!
//! Every [`PlaybookError`] except [`PlaybookError::Io`] points at a
//! [`Location`] and carries a hint. `Display` renders them as
//!
//! ```text
//! playbooks/site.yaml:12:7: unknown module `copyy`
//!   hint: did you mean `copy`?
//! ```
//!
//! A location inside a template file has no column:
//! `templates/unit.j2:3: syntax error: ...`.

use std::path::PathBuf;

use fleet_yaml::{Location, YamlError, YamlErrorKind};

/// Everything that makes a playbook invalid. The CLI maps every variant to
/// exit code 4: nothing has run on any host yet.
#[derive(Debug, thiserror::Error)]
pub enum PlaybookError {
    /// The top-level playbook file could not be read.
    #[error(
        "{}: cannot read the playbook: {source}\n  hint: check the playbook path",
        path.display()
    )]
    Io {
        /// The path as the caller gave it.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },

    /// Not valid YAML: a syntax error, a duplicate key, several documents.
    #[error("{location}: {message}\n  hint: {hint}")]
    Yaml {
        /// Where the parser stopped.
        location: Location,
        /// What is wrong.
        message: String,
        /// What is expected instead.
        hint: String,
    },

    /// Valid YAML that is not a valid playbook: an unknown key, a wrong
    /// type, a bad module parameter, a missing import, an unknown handler...
    #[error("{location}: {message}\n  hint: {hint}")]
    Invalid {
        /// The offending key or value.
        location: Location,
        /// What is wrong.
        message: String,
        /// What is expected instead.
        hint: String,
    },

    /// A template string or template file does not compile, or a template
    /// file is missing.
    #[error("{location}: {message}\n  hint: {hint}")]
    Template {
        /// The string in the playbook, or the line in the template file.
        location: Location,
        /// What is wrong.
        message: String,
        /// What is expected instead.
        hint: String,
    },

    /// A template or expression uses a variable that is defined nowhere.
    #[error("{location}: {message}\n  hint: {hint}")]
    Undefined {
        /// The string or expression using it.
        location: Location,
        /// The variable's name.
        name: String,
        /// What is wrong (names the variable and where it is used).
        message: String,
        /// Close names, or where variables come from.
        hint: String,
    },
}

impl PlaybookError {
    /// Where the error is; `None` only for [`PlaybookError::Io`].
    pub fn location(&self) -> Option<&Location> {
        match self {
            Self::Io { .. } => None,
            Self::Yaml { location, .. }
            | Self::Invalid { location, .. }
            | Self::Template { location, .. }
            | Self::Undefined { location, .. } => Some(location),
        }
    }

    /// The hint line, without the `hint: ` prefix; `None` for [`PlaybookError::Io`].
    pub fn hint(&self) -> Option<&str> {
        match self {
            Self::Io { .. } => None,
            Self::Yaml { hint, .. }
            | Self::Invalid { hint, .. }
            | Self::Template { hint, .. }
            | Self::Undefined { hint, .. } => Some(hint),
        }
    }

    pub(crate) fn invalid(
        location: Location,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) -> Self {
        Self::Invalid {
            location,
            message: message.into(),
            hint: hint.into(),
        }
    }

    pub(crate) fn template(
        location: Location,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) -> Self {
        Self::Template {
            location,
            message: message.into(),
            hint: hint.into(),
        }
    }
}

impl From<YamlError> for PlaybookError {
    fn from(err: YamlError) -> Self {
        let hint = match err.kind {
            YamlErrorKind::Syntax => {
                "check the indentation (spaces, not tabs), colons and quotes near this spot"
            }
            YamlErrorKind::DuplicateKey => {
                "a key may appear only once per map: merge the two entries into one, \
                 or split them into two tasks"
            }
            YamlErrorKind::MultipleDocuments => {
                "a playbook file is one document: a play, a list of plays, or a list of `- import: file.yaml`"
            }
        };
        Self::Yaml {
            location: err.location,
            message: err.message,
            hint: hint.to_owned(),
        }
    }
}

/// Why a template or an expression could not be rendered.
///
/// `Display`: `templates/unit.j2:3: message` for template files, and the
/// message alone for strings (it quotes the string).
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    /// The text does not compile: `{{ app ` with no closing braces.
    #[error("{}", located(file, *line, message))]
    Syntax {
        /// The template file, or `None` for a string from the playbook.
        file: Option<PathBuf>,
        /// Line in the template (1 for most strings).
        line: usize,
        /// What is wrong, quoting the string when there is no file.
        message: String,
    },
    /// A variable is not defined for this host.
    #[error("{}", located(file, *line, message))]
    Undefined {
        /// The template file, or `None` for a string from the playbook.
        file: Option<PathBuf>,
        /// Line in the template.
        line: usize,
        /// What is wrong, naming the variable.
        message: String,
    },
    /// Rendering failed otherwise: a filter error, a wrong type, `mandatory`.
    #[error("{}", located(file, *line, message))]
    Render {
        /// The template file, or `None` for a string from the playbook.
        file: Option<PathBuf>,
        /// Line in the template.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// The template file could not be read.
    #[error("{}: cannot read the template: {error}", path.display())]
    Read {
        /// The template's path.
        path: PathBuf,
        /// The underlying error.
        error: std::io::Error,
    },
}

impl TemplateError {
    /// The line in the template, when known.
    pub fn line(&self) -> Option<usize> {
        match self {
            Self::Syntax { line, .. }
            | Self::Undefined { line, .. }
            | Self::Render { line, .. } => Some(*line),
            Self::Read { .. } => None,
        }
    }

    /// The message without the file and line.
    pub fn message(&self) -> String {
        match self {
            Self::Syntax { message, .. }
            | Self::Undefined { message, .. }
            | Self::Render { message, .. } => message.clone(),
            Self::Read { error, .. } => format!("cannot read the template: {error}"),
        }
    }
}

fn located(file: &Option<PathBuf>, line: usize, message: &str) -> String {
    match file {
        Some(path) => format!("{}:{line}: {message}", path.display()),
        None => message.to_owned(),
    }
}
