//! `include_vars`: reads variables from YAML or JSON files on the
//! controller, like Ansible's. `file` names one file, `dir` every file of a
//! folder (sorted, optionally filtered); `name` puts them all under one
//! key. Where the files are looked up is the controller's business
//! ([`Controller::read_vars`]). It never touches the host; the result
//! carries the variables under `ansible_facts`, which the engine gives the
//! host with the precedence of Ansible's `include_vars`.

use serde::Deserialize;
use serde_json::{Map, Value};

use super::set_fact::FACTS_KEY;
use crate::{Controller, Module, ModuleError, Plan, Probe, parse_params};

pub const PARAMS: &[&str] = &[
    "file",
    "dir",
    "name",
    "depth",
    "files_matching",
    "ignore_files",
    "extensions",
    "ignore_unknown_extensions",
];

/// What the result lists the files read under, as Ansible does.
pub const FILES_KEY: &str = "ansible_included_var_files";

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Params {
    file: Option<String>,
    dir: Option<String>,
    name: Option<String>,
    depth: Option<usize>,
    files_matching: Option<String>,
    #[serde(default)]
    ignore_files: Vec<String>,
    extensions: Option<Vec<String>>,
    #[serde(default)]
    ignore_unknown_extensions: bool,
}

/// Which files `include_vars` reads.
#[derive(Debug, Clone, PartialEq)]
pub enum VarsSource {
    /// One file, looked up like Ansible's vars files.
    File(String),
    /// Every file of a folder.
    Dir(DirSource),
}

/// `dir` and its filters.
#[derive(Debug, Clone, PartialEq)]
pub struct DirSource {
    pub dir: String,
    /// How many folder levels down; 0 is all of them.
    pub depth: usize,
    /// A regex a file name must match (searched, not anchored).
    pub files_matching: Option<String>,
    /// Regexes of file names to leave out (anchored at the end).
    pub ignore_files: Vec<String>,
    pub extensions: Vec<String>,
    /// Leave out files of other extensions instead of failing on them.
    pub ignore_unknown_extensions: bool,
}

/// What the files held: their variables, later files over earlier ones,
/// and the files, in the order read.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IncludedVars {
    pub vars: Map<String, Value>,
    pub files: Vec<String>,
}

#[derive(Debug)]
pub struct IncludeVars {
    vars: Map<String, Value>,
    files: Vec<String>,
}

/// The source `params` name, checked.
pub fn source(params: Value) -> Result<(VarsSource, Option<String>), ModuleError> {
    let invalid = |message: &str| ModuleError::Params {
        module: "include_vars".into(),
        message: message.into(),
    };
    let params: Params = parse_params("include_vars", params)?;
    let dir_only = params.depth.is_some()
        || params.files_matching.is_some()
        || !params.ignore_files.is_empty()
        || params.extensions.is_some()
        || params.ignore_unknown_extensions;
    let source = match (params.file, params.dir) {
        (Some(_), Some(_)) => return Err(invalid("give `file` or `dir`, not both")),
        (Some(_), None) if dir_only => {
            return Err(invalid(
                "`depth`, `files_matching`, `ignore_files`, `extensions` and \
                 `ignore_unknown_extensions` go with `dir`, not `file`",
            ));
        }
        (Some(file), None) => VarsSource::File(file),
        (None, Some(dir)) => VarsSource::Dir(DirSource {
            dir,
            depth: params.depth.unwrap_or(0),
            files_matching: params.files_matching,
            ignore_files: params.ignore_files,
            extensions: params
                .extensions
                .unwrap_or_else(|| ["yaml", "yml", "json"].map(String::from).to_vec()),
            ignore_unknown_extensions: params.ignore_unknown_extensions,
        }),
        (None, None) => {
            return Err(invalid(
                "give the file to read (`file`) or a folder (`dir`)",
            ));
        }
    };
    if let VarsSource::Dir(dir) = &source {
        for pattern in dir.files_matching.iter().chain(&dir.ignore_files) {
            regex::Regex::new(pattern)
                .map_err(|err| invalid(&format!("{pattern:?} is not a valid regex: {err}")))?;
        }
    }
    Ok((source, params.name))
}

pub fn build(params: Value, controller: &dyn Controller) -> Result<Box<dyn Module>, ModuleError> {
    let (source, name) = source(params)?;
    let included = controller.read_vars(&source)?;
    let vars = match name {
        Some(name) => {
            let mut nested = Map::new();
            nested.insert(name, Value::Object(included.vars));
            nested
        }
        None => included.vars,
    };
    Ok(Box::new(IncludeVars {
        vars,
        files: included.files,
    }))
}

impl Module for IncludeVars {
    fn probe(&self) -> Option<crate::Script> {
        None
    }

    fn plan(&self, _: &Probe) -> Result<Plan, ModuleError> {
        let mut data = Map::new();
        data.insert(FACTS_KEY.into(), Value::Object(self.vars.clone()));
        data.insert(FILES_KEY.into(), Value::from(self.files.clone()));
        Ok(Plan {
            data,
            ..Plan::unchanged()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::tests::NoFiles;
    use serde_json::json;

    #[test]
    fn file_or_dir_with_its_filters() {
        let (file, name) = source_of(json!({"file": "vars/a.yml", "name": "a"}));
        assert_eq!(file, VarsSource::File("vars/a.yml".into()));
        assert_eq!(name.as_deref(), Some("a"));
        let (dir, _) = source_of(json!({"dir": "vars", "files_matching": "^app", "depth": 1}));
        let VarsSource::Dir(dir) = dir else {
            panic!("a dir");
        };
        assert_eq!(
            (dir.depth, dir.files_matching.as_deref()),
            (1, Some("^app"))
        );
        assert_eq!(dir.extensions, ["yaml", "yml", "json"]);
        let refused = |params: Value| source(params).unwrap_err().to_string();
        assert!(refused(json!({"file": "a", "dir": "b"})).contains("not both"));
        assert!(refused(json!({"file": "a", "depth": 1})).contains("go with `dir`"));
        assert!(refused(json!({})).contains("give the file"));
        assert!(refused(json!({"dir": "v", "files_matching": "("})).contains("regex"));
        assert!(refused(json!({"fil": "a"})).contains("fil"));
    }

    fn source_of(params: Value) -> (VarsSource, Option<String>) {
        source(params).unwrap()
    }

    #[test]
    fn sets_the_vars_under_name_when_given() {
        let module = build(json!({"file": "a.yml", "name": "conf"}), &NoFiles).unwrap();
        let plan = module.plan(&Probe::default()).unwrap();
        assert!(!plan.changed && plan.steps.is_empty());
        assert_eq!(plan.data[FACTS_KEY], json!({"conf": {"from": "a.yml"}}));
        assert_eq!(plan.data[FILES_KEY], json!(["a.yml"]));
    }
}
