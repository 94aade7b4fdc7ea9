//! Errors of this crate.
//!
//! Every [`PlaybookError`] except [`PlaybookError::Io`] is a located
//! [`Diagnostic`] with a hint. `Display` renders them as
//!
//! ```text
//! playbooks/site.yaml:12:7: unknown module `copyy`
//!   hint: did you mean `copy`?
//! ```
//!
//! A location inside a template file has no column:
//! `templates/unit.j2:3: syntax error: ...`.

use std::path::PathBuf;

use fleet_yaml::{Diagnostic, Location, YamlError, YamlErrorKind};

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
    /// Located where the parser stopped.
    #[error("{0}")]
    Yaml(Diagnostic),

    /// Valid YAML that is not a valid playbook: an unknown key, a wrong
    /// type, a bad module parameter, a missing import, an unknown handler...
    /// Located at the offending key or value.
    #[error("{0}")]
    Invalid(Diagnostic),

    /// A template string or template file does not compile, or a template
    /// file is missing. Located at the string in the playbook, or the line
    /// in the template file.
    #[error("{0}")]
    Template(Diagnostic),

    /// A template or expression uses a variable that is defined nowhere.
    #[error("{diagnostic}")]
    Undefined {
        /// The string or expression using it; the message names the
        /// variable and where it is used, the hint close names or where
        /// variables come from.
        diagnostic: Diagnostic,
        /// The variable's name.
        name: String,
    },
}

impl PlaybookError {
    /// The located message; `None` only for [`PlaybookError::Io`].
    pub fn diagnostic(&self) -> Option<&Diagnostic> {
        match self {
            Self::Io { .. } => None,
            Self::Yaml(diagnostic)
            | Self::Invalid(diagnostic)
            | Self::Template(diagnostic)
            | Self::Undefined { diagnostic, .. } => Some(diagnostic),
        }
    }

    /// Where the error is; `None` only for [`PlaybookError::Io`].
    pub fn location(&self) -> Option<&Location> {
        self.diagnostic().map(|diagnostic| &diagnostic.location)
    }

    /// The hint line, without the `hint: ` prefix; `None` for [`PlaybookError::Io`].
    pub fn hint(&self) -> Option<&str> {
        self.diagnostic().and_then(Diagnostic::hint)
    }

    pub(crate) fn invalid(
        location: Location,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) -> Self {
        Self::Invalid(Diagnostic::hinted(location, message, hint))
    }

    pub(crate) fn template(
        location: Location,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) -> Self {
        Self::Template(Diagnostic::hinted(location, message, hint))
    }

    pub(crate) fn undefined(
        location: Location,
        message: impl Into<String>,
        hint: impl Into<String>,
        name: String,
    ) -> Self {
        Self::Undefined {
            diagnostic: Diagnostic::hinted(location, message, hint),
            name,
        }
    }
}

impl From<YamlError> for PlaybookError {
    fn from(err: YamlError) -> Self {
        let hint = match err.kind {
            YamlErrorKind::Vault => return Self::Yaml(err.diagnostic),
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
        Self::Yaml(err.diagnostic.with_hint(hint))
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
