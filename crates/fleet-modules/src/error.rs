//! Errors of the modules crate.

use thiserror::Error;

/// Why a module could not be built, or why its task failed on a host.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ModuleError {
    #[error("{module}: {message}")]
    Params { module: String, message: String },
    #[error("cannot read {path} on the controller: {reason}")]
    ControllerFile { path: String, reason: String },
    #[error("template {path}: {reason}")]
    Template { path: String, reason: String },
    #[error("unexpected probe output: {0}")]
    Probe(String),
    #[error("command failed (rc={rc}): {stderr}")]
    StepFailed { rc: i32, stderr: String },
    #[error("{0}")]
    Failed(String),
}

/// A problem with a task's params found before any host is contacted.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ParamError {
    #[error("unknown module `{name}`")]
    UnknownModule {
        name: String,
        /// ``did you mean `copy`?`` when a module has a close name.
        suggestion: Option<String>,
    },
    #[error("`{module}` has no parameter `{param}`")]
    UnknownParam {
        module: String,
        param: String,
        valid: Vec<&'static str>,
    },
    #[error("`{module}`: {message}")]
    Invalid { module: String, message: String },
}

impl ParamError {
    /// A hint for the operator, listing what would have been valid.
    pub fn hint(&self) -> String {
        match self {
            ParamError::UnknownModule {
                suggestion: Some(suggestion),
                ..
            } => suggestion.clone(),
            ParamError::UnknownModule { .. } => {
                format!("built-in modules: {}", crate::MODULES.join(", "))
            }
            ParamError::UnknownParam { valid, .. } if valid.is_empty() => {
                "this module takes no parameters".into()
            }
            ParamError::UnknownParam { valid, .. } => {
                format!("valid parameters: {}", valid.join(", "))
            }
            ParamError::Invalid { module, .. } => format!("see docs/modules/{module}.md"),
        }
    }
}
