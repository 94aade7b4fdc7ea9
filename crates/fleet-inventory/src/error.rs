//! Errors of this crate.
//!
//! Every error except [`InventoryError::Io`] is a located [`Diagnostic`]
//! with a hint that says what was expected. `Display` renders them as
//!
//! ```text
//! inventories/prod.yaml:7:15: port must be a number from 1 to 65535, got 70000
//!   hint: write the SSH port as a plain integer, e.g. `port: 2222`
//! ```

use std::path::PathBuf;

use fleet_yaml::{Diagnostic, Location, YamlError, YamlErrorKind};

/// Everything that can go wrong while loading an inventory or selecting hosts.
///
/// All variants mean "invalid input": the CLI maps every one of them to exit
/// code 4, before anything runs on any host.
#[derive(Debug, thiserror::Error)]
pub enum InventoryError {
    /// The inventory file could not be read.
    #[error(
        "{}: cannot read the inventory: {source}\n  hint: check the path given with -i",
        path.display()
    )]
    Io {
        /// The path as the caller gave it.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },

    /// The file is not valid YAML: a syntax error, a duplicate key in a map,
    /// more than one document. Located where the parser stopped.
    #[error("{0}")]
    Yaml(Diagnostic),

    /// Valid YAML that is not a valid inventory: an unknown key, a wrong
    /// type, a port out of range, an empty host name, a group cycle...
    /// Located at the offending key or value.
    #[error("{0}")]
    Invalid(Diagnostic),

    /// A host pattern is malformed: an empty term, `&` or `!` alone, a bad
    /// glob. Located at the offending character of the pattern.
    #[error("{0}")]
    Pattern(Diagnostic),

    /// A host pattern, or one of its terms, matches no host. Located at the
    /// term that matches nothing, or the start of the pattern.
    #[error("{0}")]
    NoMatch(Diagnostic),
}

impl InventoryError {
    /// The located message; `None` only for [`InventoryError::Io`].
    pub fn diagnostic(&self) -> Option<&Diagnostic> {
        match self {
            Self::Io { .. } => None,
            Self::Yaml(diagnostic)
            | Self::Invalid(diagnostic)
            | Self::Pattern(diagnostic)
            | Self::NoMatch(diagnostic) => Some(diagnostic),
        }
    }

    /// Where the error is; `None` only for [`InventoryError::Io`].
    pub fn location(&self) -> Option<&Location> {
        self.diagnostic().map(|diagnostic| &diagnostic.location)
    }

    /// The hint line, without the `hint: ` prefix; `None` for [`InventoryError::Io`].
    pub fn hint(&self) -> Option<&str> {
        self.diagnostic().and_then(Diagnostic::hint)
    }

    /// Shorthand used by the loader for [`InventoryError::Invalid`].
    pub(crate) fn invalid(
        location: Location,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) -> Self {
        Self::Invalid(Diagnostic::hinted(location, message, hint))
    }
}

impl From<YamlError> for InventoryError {
    fn from(err: YamlError) -> Self {
        let diagnostic = err.diagnostic;
        Self::Yaml(match err.kind {
            YamlErrorKind::Vault => diagnostic,
            YamlErrorKind::Syntax => diagnostic.with_hint(
                "check the indentation (spaces, not tabs), colons and quotes near this spot",
            ),
            YamlErrorKind::DuplicateKey => diagnostic.with_hint(
                "a key may appear only once per map: merge the two entries into one \
                 (a host may be listed in several groups, but only once per group)",
            ),
            YamlErrorKind::MultipleDocuments => Diagnostic::hinted(
                diagnostic.location,
                "more than one YAML document (`---`) in the inventory",
                "an inventory is a single document whose top level is `all:`",
            ),
        })
    }
}

/// Why a ProxyJump spec such as `admin@bastion:22` could not be parsed.
///
/// Returned by `Jump::from_str`; inside an inventory it becomes an
/// [`InventoryError::Invalid`] pointing at the `jump:` value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JumpError {
    /// The spec is empty.
    #[error("the spec is empty")]
    Empty,
    /// The spec contains a space, a tab or a newline.
    #[error("it contains whitespace")]
    Whitespace,
    /// The spec lists several jump hosts (`a,b`), which is not supported.
    #[error("jump chains like `a,b` are not supported")]
    Chain,
    /// `@` with nothing before it.
    #[error("the user before `@` is empty")]
    EmptyUser,
    /// Nothing where the host should be.
    #[error("the host part is empty")]
    EmptyHost,
    /// More than one `@`, or a `:` in an unbracketed host.
    #[error("the host part `{0}` is not a host name or address")]
    BadHost(String),
    /// The port is not a number from 1 to 65535.
    #[error("the port `{0}` is not a number from 1 to 65535")]
    BadPort(String),
}

/// Why a text is not a [`UserName`](crate::UserName).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a user name: it must not be empty or contain whitespace")]
pub struct UserNameError(pub String);
