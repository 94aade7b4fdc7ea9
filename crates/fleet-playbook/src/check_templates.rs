//! The checks of templates: strings, conditions and template files, and
//! the names they read.

use super::*;

impl Checker<'_> {
    /// Checks every string under `node` as a template.
    pub(super) fn check_strings(
        &self,
        node: &YamlNode,
        known: &BTreeSet<String>,
        context: &str,
    ) -> Result<(), PlaybookError> {
        walk_strings(node, &mut |string, text| {
            self.check_template_string(&self.f, string, text, known, context)
        })
    }

    pub(super) fn check_template_string(
        &self,
        f: &Fields,
        node: &YamlNode,
        text: &str,
        known: &BTreeSet<String>,
        context: &str,
    ) -> Result<(), PlaybookError> {
        if !is_template(text) {
            return Ok(());
        }
        match self.templater.template_names(text) {
            Ok(names) => self.check_names(f.at(node), text, names, known, context),
            Err((line, message)) => {
                let within = if line > 1 {
                    format!(" (line {line} of the string)")
                } else {
                    String::new()
                };
                Err(PlaybookError::template(
                    f.at(node),
                    format!("{message} in {}{within}", message_quote(text)),
                    "every `{{` needs its `}}` and every `{%` its `%}`; \
                     a YAML value that starts with `{{` must be quoted",
                ))
            }
        }
    }

    /// A condition: an expression, a bool, or a list of them.
    pub(super) fn check_condition(
        &self,
        node: &YamlNode,
        known: &BTreeSet<String>,
        key: &str,
    ) -> Result<(), PlaybookError> {
        let text = match &node.value {
            Node::Seq(items) => {
                return items
                    .iter()
                    .try_for_each(|item| self.check_condition(item, known, key));
            }
            Node::Str(text) => text,
            _ => return Ok(()),
        };
        let context = format!("`{key}`");
        if is_template(text) && strip_braces(text) == text.trim() {
            // `"{{ a }} == 1"`: a template first, as Ansible allows.
            return self.check_template_string(&self.f, node, text, known, &context);
        }
        match self.templater.expression_names(text) {
            Ok(names) => self.check_names(self.f.at(node), text, names, known, &context),
            Err((_, message)) => Err(PlaybookError::template(
                self.f.at(node),
                format!(
                    "`{key}` is not a valid expression: {message} in {}",
                    message_quote(text)
                ),
                format!(
                    "write a bare Jinja expression without braces, e.g. \
                     `{key}: result.rc == 0` or `{key}: app_env == \"prod\"`"
                ),
            )),
        }
    }

    /// A `template:` task: the file exists, compiles, and uses only known
    /// variables.
    pub(super) fn check_template_file(
        &self,
        task: &Task,
        params: &YamlNode,
        known: &BTreeSet<String>,
    ) -> Result<(), PlaybookError> {
        let Some((_, src_node)) = entry(params, "src") else {
            return Ok(());
        };
        let Some(src) = src_node.value.as_str().filter(|src| !is_template(src)) else {
            return Ok(());
        };
        let play = &self.parsed.play;
        let candidates = template_candidates(
            task.role_dir.as_deref(),
            &play.dir,
            &play.template_dirs,
            src,
        );
        let Some(path) = candidates.iter().find(|path| path.is_file()) else {
            let looked: Vec<String> = candidates
                .iter()
                .map(|path| path.display().to_string())
                .collect();
            return Err(PlaybookError::template(
                self.f.at(src_node),
                format!("template file {} not found", message_quote(src)),
                format!("looked for {}", looked.join(", ")),
            ));
        };
        let label = path.display().to_string();
        let used_by = format!("the template is used by the task at {}", task.origin);
        let source = std::fs::read_to_string(path).map_err(|err| {
            PlaybookError::template(
                Location::line_only(&label, 1),
                format!("cannot read the template: {err}"),
                used_by.clone(),
            )
        })?;
        match self.templater.template_names(&source) {
            Err((line, message)) => Err(PlaybookError::template(
                Location::line_only(&label, line as u64),
                message,
                format!("{used_by}; every `{{{{` needs its `}}}}` and every `{{%` its `%}}`"),
            )),
            Ok(names) => {
                let unknown = names
                    .into_iter()
                    .filter(|name| !is_known(known, name) && !guarded(&source, name));
                let first = unknown.map(|name| (line_of(&source, &name), name)).min();
                match first {
                    None => Ok(()),
                    Some((line, name)) => Err(PlaybookError::undefined(
                        Location::line_only(&label, line as u64),
                        format!("undefined variable `{name}` in the template"),
                        format!("{}; {used_by}", self.undefined_hint(&name, known)),
                        name,
                    )),
                }
            }
        }
    }

    /// Reports the first name of `names` that is not known.
    pub(super) fn check_names(
        &self,
        location: Location,
        text: &str,
        names: BTreeSet<String>,
        known: &BTreeSet<String>,
        context: &str,
    ) -> Result<(), PlaybookError> {
        let first = names
            .into_iter()
            .filter(|name| !is_known(known, name) && !guarded(text, name))
            .min_by_key(|name| text.find(name.as_str()));
        match first {
            None => Ok(()),
            Some(name) => Err(PlaybookError::undefined(
                location,
                format!("undefined variable `{name}` in {context}"),
                self.undefined_hint(&name, known),
                name,
            )),
        }
    }
}
