//! Rendering with minijinja, the way Ansible renders: strict about
//! undefined variables, no HTML escaping, `trim_blocks`, trailing newlines
//! kept, and a string that is a single `{{ expr }}` keeping the
//! expression's type.

use std::collections::BTreeSet;
use std::path::Path;

use fleet_yaml::message_quote;
use minijinja::syntax::SyntaxConfig;
use minijinja::value::Serde;
use minijinja::{AutoEscape, Environment, ErrorKind, UndefinedBehavior};
use serde_json::Value;

use crate::error::TemplateError;
use crate::fields::strip_braces;
use crate::filters;
use crate::vars::UNRESOLVED;

// Ansible's tests, filters and lookups, one file each; see each file.
#[path = "filters_data.rs"]
mod filters_data;
#[path = "filters_text.rs"]
mod filters_text;
#[path = "literals.rs"]
mod literals;
#[path = "lookup_password.rs"]
mod lookup_password;
#[path = "lookups.rs"]
mod lookups;
#[path = "password_hash.rs"]
mod password_hash;
#[path = "predicates.rs"]
mod predicates;
#[path = "pyrandom.rs"]
mod pyrandom;
#[path = "serialize.rs"]
mod serialize;
#[path = "version.rs"]
mod version;
#[path = "yaml_emit.rs"]
mod yaml_emit;

/// The value of the `omit` variable: a map entry rendered to it is dropped
/// (`mode: "{{ mode | default(omit) }}"`).
pub const OMIT: &str = "__fleet_omit_place_holder__";

/// Renders templates and evaluates conditions. Build one and share it: it
/// holds the filter table.
///
/// ```
/// use fleet_playbook::Templater;
/// use serde_json::json;
///
/// let templater = Templater::new();
/// let vars = json!({"app": "shop", "ports": [80, 443], "rc": 0});
/// assert_eq!(templater.render_str("/opt/{{ app }}", &vars).unwrap(), "/opt/shop");
/// assert_eq!(templater.render_value(&json!("{{ ports }}"), &vars).unwrap(), json!([80, 443]));
/// assert!(templater.eval_bool("rc == 0 and 443 in ports", &vars).unwrap());
/// assert!(templater.render_str("{{ appp }}", &vars).is_err());
/// ```
#[derive(Debug)]
pub struct Templater {
    env: Environment<'static>,
}

impl Default for Templater {
    fn default() -> Self {
        Self::new()
    }
}

/// What went wrong, before it is tied to a string or a file.
struct Failure {
    kind: FailureKind,
    line: usize,
    message: String,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum FailureKind {
    Syntax,
    Undefined,
    Render,
}

impl From<minijinja::Error> for Failure {
    fn from(err: minijinja::Error) -> Self {
        let kind = match err.kind() {
            ErrorKind::SyntaxError | ErrorKind::BadEscape => FailureKind::Syntax,
            ErrorKind::UndefinedError => FailureKind::Undefined,
            _ => FailureKind::Render,
        };
        let message = match err.detail() {
            Some(detail) => format!("{}: {detail}", err.kind()),
            None => err.kind().to_string(),
        };
        Failure {
            kind,
            line: err.line().unwrap_or(1),
            message,
        }
    }
}

impl Failure {
    /// For an undefined variable that [`crate::host_vars`] could not
    /// render, adds why.
    fn explained(mut self, vars: &Value) -> Failure {
        if self.kind != FailureKind::Undefined {
            return self;
        }
        let Some(unresolved) = vars.get(UNRESOLVED).and_then(Value::as_object) else {
            return self;
        };
        let named = unresolved
            .iter()
            .find(|(name, _)| self.message.contains(&format!("`{name}` is undefined")));
        if let Some((name, why)) = named {
            let why = why.as_str().unwrap_or_default();
            self.message = format!("{}; `{name}` could not be rendered: {why}", self.message);
        }
        self
    }

    /// Ties the failure to a string from the playbook (quoted in the
    /// message) or to a template file.
    fn into_error(self, text: &str, file: Option<&Path>) -> TemplateError {
        let file = file.map(Path::to_path_buf);
        let message = if file.is_some() {
            self.message
        } else {
            format!("{} in {}", self.message, message_quote(text))
        };
        let line = self.line;
        match self.kind {
            FailureKind::Syntax => TemplateError::Syntax {
                file,
                line,
                message,
            },
            FailureKind::Undefined => TemplateError::Undefined {
                file,
                line,
                message,
            },
            FailureKind::Render => TemplateError::Render {
                file,
                line,
                message,
            },
        }
    }
}

/// Whether `text` holds template syntax at all.
pub(crate) fn is_template(text: &str) -> bool {
    text.contains("{{") || text.contains("{%") || text.contains("{#")
}

/// The expression of a string that is exactly one `{{ expr }}`.
fn single_expression(text: &str) -> Option<&str> {
    let inner = text
        .strip_prefix("{{")?
        .strip_suffix("}}")?
        .trim_start_matches('-')
        .trim_end_matches('-');
    let nested = ["{{", "}}", "{%", "%}", "{#", "#}"]
        .iter()
        .any(|marker| inner.contains(marker));
    (!nested && !inner.trim().is_empty()).then_some(inner.trim())
}

/// How a template file's whitespace around block tags is handled: the
/// `template` module's `trim_blocks` and `lstrip_blocks`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Whitespace {
    /// Drop the newline after a block tag (Ansible's default: on).
    pub trim_blocks: bool,
    /// Strip spaces and tabs before a block tag on its line (default off).
    pub lstrip_blocks: bool,
}

impl Default for Whitespace {
    fn default() -> Self {
        Whitespace {
            trim_blocks: true,
            lstrip_blocks: false,
        }
    }
}

impl Whitespace {
    /// The syntax with these settings. Without `keep_trailing_newline`, a
    /// single final newline of the source is dropped, as in Jinja (see
    /// [`Templater::render_file_with`] for how Ansible puts it back).
    fn syntax(self, keep_trailing_newline: bool) -> SyntaxConfig {
        SyntaxConfig::builder()
            .trim_blocks(self.trim_blocks)
            .lstrip_blocks(self.lstrip_blocks)
            .keep_trailing_newline(keep_trailing_newline)
            .build()
            .unwrap_or_default()
    }
}

impl Templater {
    /// A templater with the Ansible filters (see the `filters` module) and
    /// `UndefinedBehavior::Strict`.
    pub fn new() -> Templater {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_syntax(Whitespace::default().syntax(true));
        env.set_auto_escape_callback(|_| AutoEscape::None);
        // Python's methods on strings, maps and lists: `name.split('.')`,
        // `cfg.items()`, `cfg.get('port', 80)`, `path.startswith('/')`.
        env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
        // Jinja2 has no `debug()` global: without this, an undefined
        // variable named `debug` would be minijinja's function, which is
        // true, and `debug | default(false)` would be on.
        env.remove_global("debug");
        filters::register(&mut env);
        serialize::register(&mut env);
        filters_data::register(&mut env);
        filters_text::register(&mut env);
        predicates::register(&mut env);
        lookups::register(&mut env);
        Templater { env }
    }

    fn context(vars: &Value) -> minijinja::Value {
        minijinja::Value::from(Serde(vars))
    }

    /// Renders a template string. Text without template syntax comes back
    /// as is.
    pub fn render_str(&self, source: &str, vars: &Value) -> Result<String, TemplateError> {
        if !is_template(source) {
            return Ok(source.to_owned());
        }
        self.env
            .render_str(&literals::in_template(source), Self::context(vars))
            .map_err(|err| Failure::from(err).explained(vars).into_error(source, None))
    }

    /// Renders every string inside `value`. A string that is exactly one
    /// `{{ expr }}` becomes the expression's value with its own type (a
    /// list, a number, a bool), as in Ansible. Map entries that render to
    /// [`OMIT`] are dropped.
    pub fn render_value(&self, value: &Value, vars: &Value) -> Result<Value, TemplateError> {
        Ok(match value {
            Value::String(text) => match single_expression(text) {
                Some(expr) => self.eval_native(expr, text, vars)?,
                None => Value::String(self.render_str(text, vars)?),
            },
            Value::Array(items) => Value::Array(
                items
                    .iter()
                    .map(|item| self.render_value(item, vars))
                    .collect::<Result<_, _>>()?,
            ),
            Value::Object(map) => {
                let mut rendered = serde_json::Map::new();
                for (key, item) in map {
                    let item = self.render_value(item, vars)?;
                    if item.as_str() != Some(OMIT) {
                        rendered.insert(key.clone(), item);
                    }
                }
                Value::Object(rendered)
            }
            other => other.clone(),
        })
    }

    fn eval_native(&self, expr: &str, text: &str, vars: &Value) -> Result<Value, TemplateError> {
        let value = self
            .eval(expr, vars)
            .map_err(|failure| failure.explained(vars).into_error(text, None))?;
        serde_json::to_value(&value).map_err(|err| TemplateError::Render {
            file: None,
            line: 1,
            message: format!(
                "cannot convert the result: {err} in {}",
                message_quote(text)
            ),
        })
    }

    /// Evaluates a bare expression; an undefined result is an error.
    fn eval(&self, expr: &str, vars: &Value) -> Result<minijinja::Value, Failure> {
        let expr = literals::in_expression(expr);
        let compiled = self.env.compile_expression(&expr)?;
        let value = compiled.eval(Self::context(vars))?;
        if value.is_undefined() {
            let missing = compiled
                .undeclared_variables(false)
                .into_iter()
                .find(|name| vars.get(name).is_none());
            return Err(Failure {
                kind: FailureKind::Undefined,
                line: 1,
                message: match missing {
                    Some(name) => format!("undefined value: `{name}` is undefined"),
                    None => "undefined value: the expression is undefined".to_owned(),
                },
            });
        }
        Ok(value)
    }

    /// Evaluates a condition (`when`, `changed_when`, `failed_when`,
    /// `until`): a bare expression such as `result.rc != 0`, `true` or
    /// `false`. `{{ expr }}` is accepted too. The result's truthiness
    /// counts, as in Jinja: the string `"false"` is true (use `| bool`).
    ///
    /// A condition with templates inside (`"'{{ env }}' == 'prod'"`) is
    /// rendered first and the text evaluated, as Ansible does.
    pub fn eval_bool(&self, expr: &str, vars: &Value) -> Result<bool, TemplateError> {
        let mut bare = strip_braces(expr).to_owned();
        if is_template(&bare) {
            // `{{ a }} == 1`: rendered first, as Ansible does.
            bare = self.render_str(&bare, vars)?;
        }
        self.eval(&bare, vars)
            .map(|value| value.is_true())
            .map_err(|failure| failure.explained(vars).into_error(expr, None))
    }

    /// The value of a bare expression (`{{ expr }}` is accepted too);
    /// `None` when it is undefined.
    pub fn eval_value(&self, expr: &str, vars: &Value) -> Result<Option<Value>, TemplateError> {
        match self.eval(strip_braces(expr), vars) {
            Ok(value) => {
                serde_json::to_value(&value)
                    .map(Some)
                    .map_err(|err| TemplateError::Render {
                        file: None,
                        line: 1,
                        message: format!(
                            "cannot convert the result: {err} in {}",
                            message_quote(expr)
                        ),
                    })
            }
            Err(failure) if failure.kind == FailureKind::Undefined => Ok(None),
            Err(failure) => Err(failure.explained(vars).into_error(expr, None)),
        }
    }

    /// Reads and renders a template file. Errors name the file and line:
    /// `templates/unit.j2:3: undefined value: ...`. A vault-encrypted
    /// template is rendered from its plaintext, as Ansible's template does.
    pub fn render_file(&self, path: &Path, vars: &Value) -> Result<String, TemplateError> {
        self.render_file_with(path, vars, Whitespace::default())
    }

    /// [`Templater::render_file`] with the `template` module's
    /// `trim_blocks` and `lstrip_blocks`.
    pub fn render_file_with(
        &self,
        path: &Path,
        vars: &Value,
        whitespace: Whitespace,
    ) -> Result<String, TemplateError> {
        let source = std::fs::read_to_string(path).map_err(|error| TemplateError::Read {
            path: path.to_path_buf(),
            error,
        })?;
        let source = if fleet_vault::is_encrypted(source.as_bytes()) {
            let unreadable = |reason: String| TemplateError::Read {
                path: path.to_path_buf(),
                error: std::io::Error::other(reason),
            };
            let plaintext = fleet_vault::decrypt_loaded(source.as_bytes())
                .map_err(|err| {
                    unreadable(format!(
                        "cannot decrypt this vault-encrypted template: {err}"
                    ))
                })?
                .plaintext;
            let plaintext = String::from_utf8(plaintext)
                .map_err(|_| unreadable("the decrypted template is not UTF-8 text".into()))?;
            fleet_vault::register_content(&plaintext);
            plaintext
        } else {
            source
        };
        let name = path.display().to_string();
        let mut env = self.env.clone();
        env.set_syntax(whitespace.syntax(false));
        let mut rendered = env
            .render_named_str(&name, &source, Self::context(vars))
            .map_err(|err| {
                Failure::from(err)
                    .explained(vars)
                    .into_error(&source, Some(path))
            })?;
        // Ansible renders without Jinja's `keep_trailing_newline`, then
        // gives back the final newlines the rendering has fewer of than
        // the file.
        let trailing = |text: &str| text.len() - text.trim_end_matches('\n').len();
        let missing = trailing(&source).saturating_sub(trailing(&rendered));
        rendered.push_str(&"\n".repeat(missing));
        Ok(rendered)
    }

    /// Compiles a template and returns the top-level names it reads but
    /// does not set itself, minus the environment's globals (`range`...).
    /// On a syntax error: its line and message.
    pub(crate) fn template_names(&self, source: &str) -> Result<BTreeSet<String>, (usize, String)> {
        let source = literals::in_template(source);
        let template = self.env.template_from_str(&source).map_err(failure_parts)?;
        Ok(self.without_globals(template.undeclared_variables(false)))
    }

    /// Like [`Templater::template_names`] for a bare expression.
    pub(crate) fn expression_names(&self, expr: &str) -> Result<BTreeSet<String>, (usize, String)> {
        let bare = strip_braces(expr);
        if is_template(bare) {
            // Rendered before it is evaluated (see `eval_bool`).
            return self.template_names(bare);
        }
        let bare = literals::in_expression(bare);
        let compiled = self.env.compile_expression(&bare).map_err(failure_parts)?;
        Ok(self.without_globals(compiled.undeclared_variables(false)))
    }

    fn without_globals(&self, names: impl IntoIterator<Item = String>) -> BTreeSet<String> {
        names
            .into_iter()
            .filter(|name| !self.env.globals().any(|(global, _)| global == name))
            .collect()
    }
}

fn failure_parts(err: minijinja::Error) -> (usize, String) {
    let failure = Failure::from(err);
    (failure.line, failure.message)
}

#[cfg(test)]
#[path = "templater_tests.rs"]
mod tests;
