//! Validation after parsing: module parameters, handler names, template
//! syntax, template files, and variables defined nowhere.
//!
//! A variable is known at a task when the inventory (any selected host) or
//! `-e` defines it, the play's vars or vars files do, the task's own `vars`
//! do, it is built in, it is a loop variable of a looped task (`item`, or
//! `loop_control`'s `loop_var` and `index_var`, and `ansible_loop`), or an
//! earlier task registers it (handlers see every registered name;
//! `changed_when`, `failed_when` and `until` also see the task's own result,
//! under its `register` name and as `result`). Facts (`ansible_<fact>`) are
//! known once gathered: in a play with `gather_facts` (the default), after
//! a `setup` task, and in the plays after either.
//! Names only used as `name | default(...)` or `name is defined` are fine.

use std::collections::BTreeSet;

use fleet_modules::ParamError;
use fleet_yaml::{Location, Node, YamlNode, did_you_mean, message_quote};

use crate::error::PlaybookError;
use crate::fields::{Fields, entry, strip_braces};
use crate::magic::{fact_variables, is_fact_variable};
use crate::play::ParsedPlay;
use crate::templater::{Templater, is_template};
use crate::vars::BUILTIN_VARS;
use crate::{LoadOptions, Task, template_candidates};

#[path = "check_left_out.rs"]
mod left_out;
#[path = "check_serial.rs"]
mod serial;
#[path = "check_templates.rs"]
mod templates;
#[path = "check_text.rs"]
mod text;

use left_out::{LeftOut, leave_out};
use text::{guarded, line_of, walk_strings};

/// Among the known names: facts have been gathered, so every fact
/// variable is known, those of network interfaces (`ansible_eth0`)
/// included.
const FACTS_GATHERED: &str = "\0facts";

/// What a gathering of facts defines.
fn gathered() -> impl Iterator<Item = String> {
    fact_variables()
        .into_iter()
        .chain(std::iter::once(FACTS_GATHERED.to_string()))
}

/// Whether `name` is known.
fn is_known(known: &BTreeSet<String>, name: &str) -> bool {
    known.contains(name) || (is_fact_variable(name) && known.contains(FACTS_GATHERED))
}

/// Checks every play, in order.
pub(crate) fn check(plays: &mut [ParsedPlay], options: &LoadOptions) -> Result<(), PlaybookError> {
    let templater = Templater::new();
    let mut registered = BTreeSet::new();
    for parsed in plays.iter_mut() {
        let mut known: BTreeSet<String> =
            BUILTIN_VARS.iter().map(|name| (*name).to_owned()).collect();
        known.extend(options.known_vars.iter().cloned());
        known.extend(options.extra_vars.keys().cloned());
        known.extend(parsed.play.vars.keys().cloned());
        known.extend(parsed.play.defaults.keys().cloned());
        known.extend(
            parsed
                .play
                .vars_prompt
                .iter()
                .map(|prompt| prompt.name.clone()),
        );
        let checker = Checker {
            templater: &templater,
            hosts: options.inventory_hosts.as_ref(),
            parsed,
            f: Fields {
                label: &parsed.label,
                text: "",
            },
            known,
            registers: registered_at(parsed),
        };
        serial::check_serial(&templater, parsed, &options.extra_vars)?;
        let (names, left_out) = checker.check_play(registered)?;
        registered = names;
        leave_out(parsed, left_out)?;
    }
    Ok(())
}

struct Checker<'a> {
    templater: &'a Templater,
    /// The inventory's host names, when known: a `delegate_to` that names
    /// a host must name one of them.
    hosts: Option<&'a BTreeSet<String>>,
    parsed: &'a ParsedPlay,
    f: Fields<'a>,
    /// Known everywhere in the play.
    known: BTreeSet<String>,
    /// (name, task origin) of every `register` in the play.
    registers: Vec<(String, String)>,
}

/// Where each name registered in a play is registered: for the hint of a
/// result used before its task.
fn registered_at(parsed: &ParsedPlay) -> Vec<(String, String)> {
    let play = &parsed.play;
    play.tasks
        .iter()
        .chain(&play.handlers)
        .flat_map(|task| {
            defined_by(play, task)
                .into_iter()
                .map(|name| (name, task.origin.clone()))
        })
        .collect()
}

impl Checker<'_> {
    /// Checks the play; takes the names registered by earlier plays and
    /// returns them with this play's, and the include candidates to leave
    /// out (see [`leave_out`]).
    fn check_play(
        &self,
        mut before: BTreeSet<String>,
    ) -> Result<(BTreeSet<String>, Vec<LeftOut>), PlaybookError> {
        let play = &self.parsed.play;
        if play.gather_facts {
            before.extend(gathered());
        }
        let every_registered: BTreeSet<String> = before
            .iter()
            .cloned()
            .chain(
                play.tasks
                    .iter()
                    .chain(&play.handlers)
                    .flat_map(|task| defined_by(play, task)),
            )
            .collect();
        for (label, node) in &self.parsed.vars_nodes {
            let f = Fields { label, text: "" };
            let known = self.with(&every_registered, &[]);
            walk_strings(node, &mut |string, text| {
                self.check_template_string(&f, string, text, &known, "the vars")
            })?;
        }
        let mut registered = before;
        let mut left_out: Vec<LeftOut> = Vec::new();
        for (task, (label, node)) in play.tasks.iter().zip(&self.parsed.task_nodes) {
            if left_out.iter().any(|left| left.holds(task)) {
                continue;
            }
            match self.in_file(label).check_task(task, node, &registered) {
                Ok(()) => {}
                Err(err @ PlaybookError::Undefined { .. }) => match self.candidate_of(task) {
                    Some((include, file)) => left_out.push(LeftOut {
                        include,
                        file,
                        error: err,
                    }),
                    None => return Err(err),
                },
                Err(err) => return Err(err),
            }
            registered.extend(defined_by(play, task));
        }
        for (handler, (label, node)) in play.handlers.iter().zip(&self.parsed.handler_nodes) {
            self.in_file(label)
                .check_task(handler, node, &every_registered)?;
        }
        registered.extend(play.handlers.iter().flat_map(|task| defined_by(play, task)));
        Ok((registered, left_out))
    }

    /// This checker, reporting locations in the file `label`.
    fn in_file<'l>(&'l self, label: &'l str) -> Checker<'l> {
        Checker {
            templater: self.templater,
            hosts: self.hosts,
            parsed: self.parsed,
            f: Fields { label, text: "" },
            known: self.known.clone(),
            registers: self.registers.clone(),
        }
    }

    /// `registered` plus the names of the task's own `vars`.
    fn with_task_vars(&self, task: &Task, registered: &BTreeSet<String>) -> BTreeSet<String> {
        registered.iter().chain(task.vars.keys()).cloned().collect()
    }

    /// The play's known names plus `registered` and `extra`.
    fn with(&self, registered: &BTreeSet<String>, extra: &[&str]) -> BTreeSet<String> {
        let mut known = self.known.clone();
        known.extend(registered.iter().cloned());
        known.extend(extra.iter().map(|name| (*name).to_owned()));
        known
    }

    fn check_task(
        &self,
        task: &Task,
        node: &YamlNode,
        registered: &BTreeSet<String>,
    ) -> Result<(), PlaybookError> {
        let (module_key, params) = entry(node, &task.module_as_written).ok_or_else(|| {
            PlaybookError::invalid(
                self.f.at(node),
                "internal: the module key went missing",
                "report this",
            )
        })?;
        let mut item = if task.r#loop.is_some() {
            task.loop_control.variables()
        } else {
            Vec::new()
        };
        item.extend(self.include_loop_variables(task));
        let item: &[&str] = &item;
        let registered = &self.with_task_vars(task, registered);
        let mut known = self.with(registered, item);
        known.extend(task.role_defaults.keys().cloned());
        if task
            .blocks
            .iter()
            .any(|part| part.section == crate::Section::Rescue)
        {
            known.extend(["ansible_failed_task", "ansible_failed_result"].map(String::from));
        }
        if task.module == "template" {
            let mut in_file = known.clone();
            in_file.insert("ansible_managed".into());
            self.check_template_file(task, params, &in_file)?;
        }
        if task.module == "include_vars" {
            self.check_vars_files(task, params)?;
        }
        let args = entry(node, "args").map(|(_, args)| args);
        let validated = match task.module.as_str() {
            "meta" | "include_tasks" => Ok(()),
            _ => validate(task),
        };
        if let Err(err) = validated {
            let at = match &err {
                ParamError::UnknownParam { param, .. } => entry(params, param)
                    .or_else(|| args.and_then(|args| entry(args, param)))
                    .map_or(module_key, |(key, _)| key),
                _ => module_key,
            };
            return Err(PlaybookError::invalid(
                self.f.at(at),
                err.to_string(),
                err.hint(),
            ));
        }
        self.check_notify(task, node)?;
        if let Some((_, name)) = entry(node, "name") {
            self.check_strings(name, &known, "the task name")?;
        }
        let context = format!("the `{}` params", task.module);
        self.check_strings(params, &known, &context)?;
        if let Some(args) = args {
            self.check_strings(args, &known, "`args`")?;
        }
        if let Some((_, vars)) = entry(node, "vars") {
            self.check_strings(vars, &known, "the task vars")?;
        }
        if let Some((_, environment)) = entry(node, "environment") {
            self.check_strings(environment, &known, "`environment`")?;
        }
        if let Some((_, key)) = entry(node, "once_per") {
            self.check_strings(key, &self.with(registered, &[]), "`once_per`")?;
        }
        let loop_key = task.loop_with.map_or("loop", |lookup| lookup.keyword());
        if let Some((_, spec)) = entry(node, loop_key) {
            let context = format!("`{loop_key}`");
            self.check_strings(spec, &self.with(registered, &[]), &context)?;
        }
        if let Some((_, control)) = entry(node, "loop_control") {
            self.check_strings(control, &known, "`loop_control`")?;
        }
        if let Some((_, when)) = entry(node, "when") {
            self.check_condition(when, &known, "when")?;
        }
        if let Some((_, delegate)) = entry(node, "delegate_to") {
            self.check_strings(delegate, &known, "`delegate_to`")?;
        }
        self.check_delegate(task)?;
        self.check_expression_params(task, params, args, &known)?;
        let mut own = vec!["result"];
        own.extend(task.register.as_deref());
        own.extend(item);
        let with_result = self.with(registered, &own);
        for key in ["changed_when", "failed_when", "until"] {
            if let Some((_, condition)) = entry(node, key) {
                self.check_condition(condition, &with_result, key)?;
            }
        }
        Ok(())
    }

    /// An `include_vars` whose params are not templated: its files exist
    /// and hold maps.
    fn check_vars_files(&self, task: &Task, params: &YamlNode) -> Result<(), PlaybookError> {
        if is_template(&task.params.to_string()) {
            return Ok(());
        }
        let Ok((source, _)) = fleet_modules::modules::include_vars::source(task.params.clone())
        else {
            return Ok(());
        };
        let play = &self.parsed.play;
        match crate::read_included_vars(play, task.role_dir.as_deref(), &task.origin, &source) {
            Ok(_) => Ok(()),
            Err(message) => Err(PlaybookError::invalid(
                self.f.at(params),
                format!("`include_vars`: {message}"),
                "vars files are read on the controller: a `file` is looked for under `vars/` \
                 and next to the role, the task's file and the playbook; a `dir` is under the \
                 role's `vars/`, or next to the task's file",
            )),
        }
    }

    /// The innermost include `task` comes from that can include one of
    /// several files, and which of them holds the task.
    fn candidate_of(&self, task: &Task) -> Option<(usize, usize)> {
        task.included.iter().rev().find_map(|part| {
            let several = self.parsed.play.tasks.iter().any(|include| {
                include
                    .include
                    .as_ref()
                    .is_some_and(|include| include.id == part.include && include.files.len() > 1)
            });
            several.then_some((part.include, part.file))
        })
    }

    /// The loop variables of the looped dynamic includes `task` comes from.
    fn include_loop_variables(&self, task: &Task) -> Vec<&str> {
        let tasks = &self.parsed.play.tasks;
        task.included
            .iter()
            .filter_map(|part| {
                tasks.iter().find(|include| {
                    include
                        .include
                        .as_ref()
                        .is_some_and(|include| include.id == part.include)
                })
            })
            .filter(|include| include.r#loop.is_some())
            .flat_map(|include| include.loop_control.variables())
            .collect()
    }

    /// A `delegate_to` written as a host name names a host of the
    /// inventory, or the controller. A template may render to any name: a
    /// host outside the inventory is then reached by that name, as Ansible
    /// does.
    fn check_delegate(&self, task: &Task) -> Result<(), PlaybookError> {
        let (Some(target), Some(hosts)) = (&task.delegate_to, self.hosts) else {
            return Ok(());
        };
        if is_template(target)
            || crate::CONTROLLER_NAMES.contains(&target.as_str())
            || hosts.contains(target)
        {
            return Ok(());
        }
        let near = did_you_mean(target, hosts.iter().map(String::as_str))
            .map(|near| near + " ")
            .unwrap_or_default();
        let Some(at) = task.delegate_at.clone() else {
            return Ok(());
        };
        Err(PlaybookError::invalid(
            at,
            format!("`delegate_to: {target}` names no host of the inventory"),
            format!(
                "{near}delegate to an inventory host, or to `localhost` for the controller; \
                 add {target} to the inventory to reach it"
            ),
        ))
    }

    /// The params a module evaluates as expressions: `assert`'s `that` are
    /// conditions, like `when`; `debug`'s `var` must compile, and may name
    /// what is undefined (it says so when it runs).
    fn check_expression_params(
        &self,
        task: &Task,
        params: &YamlNode,
        args: Option<&YamlNode>,
        known: &BTreeSet<String>,
    ) -> Result<(), PlaybookError> {
        for key in fleet_modules::expression_params(&task.module) {
            let Some((_, node)) = entry(params, key).or_else(|| args.and_then(|a| entry(a, key)))
            else {
                continue;
            };
            if task.module == "assert" {
                self.check_condition(node, known, key)?;
                continue;
            }
            let Some(text) = node.value.as_str() else {
                continue;
            };
            if let Err((_, message)) = self.templater.expression_names(text) {
                return Err(PlaybookError::template(
                    self.f.at(node),
                    format!(
                        "`{key}` is not a valid expression: {message} in {}",
                        message_quote(text)
                    ),
                    format!(
                        "write a variable name or a bare expression, e.g. `{key}: result.stdout_lines`"
                    ),
                ));
            }
        }
        Ok(())
    }

    fn check_notify(&self, task: &Task, node: &YamlNode) -> Result<(), PlaybookError> {
        let handlers: Vec<&str> = self
            .parsed
            .play
            .handlers
            .iter()
            .flat_map(|h| std::iter::once(&h.name).chain(&h.aliases).chain(&h.listen))
            .map(String::as_str)
            .collect();
        let Some((_, notify)) = entry(node, "notify") else {
            return Ok(());
        };
        for name in &task.notify {
            if handlers.contains(&name.as_str()) {
                continue;
            }
            let at = match &notify.value {
                Node::Seq(items) => items
                    .iter()
                    .find(|i| i.value.as_str() == Some(name))
                    .unwrap_or(notify),
                _ => notify,
            };
            let hint = if handlers.is_empty() {
                "this play has no handlers; define one under `handlers:` with this name".to_owned()
            } else {
                let near = did_you_mean(name, handlers.iter().copied())
                    .map(|near| near + " ")
                    .unwrap_or_default();
                format!("{near}handlers of this play: {}", handlers.join(", "))
            };
            return Err(PlaybookError::invalid(
                self.f.at(at),
                format!(
                    "`notify` names no handler of this play: {}",
                    message_quote(name)
                ),
                hint,
            ));
        }
        Ok(())
    }

    fn undefined_hint(&self, name: &str, known: &BTreeSet<String>) -> String {
        if is_fact_variable(name) && !known.contains(FACTS_GATHERED) {
            let later = self
                .registers
                .iter()
                .find(|(registered, _)| registered == FACTS_GATHERED)
                .map(|(_, origin)| format!(" (the `setup` task at {origin} comes later)"))
                .unwrap_or_default();
            return format!(
                "`{name}` is a fact, and no facts are gathered before this point{later}: \
                 a play gathers them unless it says `gather_facts: false`, and so does a \
                 `setup` task"
            );
        }
        if let Some((_, origin)) = self
            .registers
            .iter()
            .find(|(registered, _)| registered == name)
        {
            return format!(
                "`{name}` is registered by the task at {origin}, which has not run yet \
                 at this point; a result is known only after the task that registers it"
            );
        }
        undefined_hint(name, known)
    }
}

/// The variables a task defines for the tasks after it: its `register`,
/// the names a `set_fact` sets, those of an `include_vars`, and the facts a
/// `setup` gathers (or `hostname` sets).
fn defined_by(play: &crate::Play, task: &Task) -> Vec<String> {
    let facts = match (&task.params, task.module.as_str()) {
        (serde_json::Value::Object(params), "set_fact") => params
            .keys()
            .filter(|name| *name != "cacheable")
            .cloned()
            .collect(),
        (_, "include_vars") => crate::include_vars::names_set(play, task),
        (_, "setup") => gathered().collect(),
        (_, "package_facts") => vec!["ansible_facts".into(), "packages".into()],
        (_, "service_facts") => vec!["ansible_facts".into(), "services".into()],
        (_, "hostname") => [
            "ansible_facts",
            "ansible_hostname",
            "ansible_nodename",
            "ansible_fqdn",
            "ansible_domain",
        ]
        .map(String::from)
        .to_vec(),
        _ => Vec::new(),
    };
    task.register.iter().cloned().chain(facts).collect()
}

/// The module's params checked by the module, except params given as one
/// template (`apt: "{{ apt_params }}"`), known only per host.
fn validate(task: &Task) -> Result<(), ParamError> {
    let variable = !fleet_modules::takes_free_form(&task.module)
        && task.params.as_str().is_some_and(is_template);
    if variable {
        return Ok(());
    }
    fleet_modules::validate(&task.module, &task.params)
}

fn undefined_hint(name: &str, known: &BTreeSet<String>) -> String {
    match did_you_mean(name, known.iter().map(String::as_str)) {
        Some(near) => near,
        None => format!(
            "define it in the play's `vars`, a vars file, the inventory, or with `-e {name}=...`; \
             a registered result is known only after the task that registers it"
        ),
    }
}
