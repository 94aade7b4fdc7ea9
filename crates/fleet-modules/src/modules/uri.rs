//! `uri`: an HTTP request made from the host with `curl`, like Ansible's
//! `uri`. GET and HEAD only read, so they run in the probe (also in check
//! mode) and report `status` and `content`; other methods are changes.

use serde::Deserialize;
use serde_json::{Map, Value};

use super::de;
use crate::shell::quote;
use crate::text::{decode_base64, fields};
use crate::{Controller, Module, ModuleError, Plan, Probe, Step, StepOutput, parse_params};

pub const PARAMS: &[&str] = &[
    "url",
    "method",
    "status_code",
    "return_content",
    "timeout",
    "headers",
    "body",
    "body_format",
    "validate_certs",
];

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UriParams {
    pub url: String,
    #[serde(default = "default_method")]
    pub method: String,
    /// The accepted statuses: one or a list.
    pub status_code: Option<StatusCodes>,
    #[serde(default, deserialize_with = "de::boolean")]
    pub return_content: bool,
    #[serde(default = "default_timeout")]
    pub timeout: u64,
    #[serde(default)]
    pub headers: Map<String, Value>,
    pub body: Option<Value>,
    #[serde(default)]
    pub body_format: BodyFormat,
    #[serde(default = "de::yes", deserialize_with = "de::boolean")]
    pub validate_certs: bool,
}

fn default_method() -> String {
    "GET".into()
}

fn default_timeout() -> u64 {
    30
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum StatusCodes {
    One(u16),
    Many(Vec<u16>),
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BodyFormat {
    #[default]
    Raw,
    Json,
}

#[derive(Debug)]
pub struct Uri {
    params: UriParams,
    statuses: Vec<u16>,
    body: Option<String>,
    /// The curl command without the URL and body.
    curl: String,
}

fn invalid(message: impl Into<String>) -> ModuleError {
    ModuleError::Params {
        module: "uri".into(),
        message: message.into(),
    }
}

fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(flag) => Some(flag.to_string()),
        _ => None,
    }
}

pub fn build(params: Value, _controller: &dyn Controller) -> Result<Box<dyn Module>, ModuleError> {
    let mut params: UriParams = parse_params("uri", params)?;
    params.method = params.method.to_ascii_uppercase();
    if !params.url.starts_with("http://") && !params.url.starts_with("https://") {
        return Err(invalid(format!(
            "url must start with http:// or https://, got {:?}",
            params.url
        )));
    }
    if params.method.is_empty() || !params.method.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(invalid(format!("invalid method {:?}", params.method)));
    }
    let statuses = match &params.status_code {
        None => vec![200],
        Some(StatusCodes::One(code)) => vec![*code],
        Some(StatusCodes::Many(codes)) => codes.clone(),
    };
    let body = match (&params.body, params.body_format) {
        (None, _) => None,
        (Some(Value::String(text)), BodyFormat::Raw) => Some(text.clone()),
        (Some(value), BodyFormat::Json) => Some(value.to_string()),
        (Some(_), BodyFormat::Raw) => {
            return Err(invalid("body must be a string unless body_format is json"));
        }
    };
    let mut curl = vec![format!("curl -sS --max-time {}", params.timeout.max(1))];
    if !params.validate_certs {
        curl.push("-k".into());
    }
    match params.method.as_str() {
        "GET" => curl.push("-L".into()),
        "HEAD" => curl.push("-L --head".into()),
        method => curl.push(format!("-X {method}")),
    }
    if body.is_some() && params.method == "GET" {
        curl.push("-X GET".into());
    }
    let mut has_content_type = false;
    for (name, value) in &params.headers {
        let value =
            scalar(value).ok_or_else(|| invalid(format!("header {name} must be a string")))?;
        if name.is_empty() || name.contains([':', '\n', ' ']) || value.contains('\n') {
            return Err(invalid(format!("invalid header {name:?}")));
        }
        has_content_type |= name.eq_ignore_ascii_case("content-type");
        curl.push(format!("-H {}", quote(&format!("{name}: {value}"))));
    }
    if params.body_format == BodyFormat::Json && body.is_some() && !has_content_type {
        curl.push("-H 'Content-Type: application/json'".into());
    }
    Ok(Box::new(Uri {
        params,
        statuses,
        body,
        curl: curl.join(" "),
    }))
}

impl Uri {
    fn reads_only(&self) -> bool {
        matches!(self.params.method.as_str(), "GET" | "HEAD")
    }

    fn check_status(&self, status: u16, error: &str) -> Result<(), ModuleError> {
        if status == 0 {
            return Err(ModuleError::Failed(format!(
                "request to {} failed: {}",
                self.params.url,
                error.trim()
            )));
        }
        if !self.statuses.contains(&status) {
            return Err(ModuleError::Failed(format!(
                "Status code was {status} and not {:?}: {}",
                self.statuses, self.params.url
            )));
        }
        Ok(())
    }
}

/// Splits `body\nSTATUS` as curl's `-w '\n%{http_code}'` prints it.
fn split_status(output: &str) -> (&str, u16) {
    let (body, status) = output.rsplit_once('\n').unwrap_or(("", output));
    (body, status.trim().parse().unwrap_or(0))
}

impl Module for Uri {
    fn probe(&self) -> Option<crate::Script> {
        if !self.reads_only() {
            return None;
        }
        let output = if self.params.return_content {
            ""
        } else {
            " -o /dev/null"
        };
        let data = match &self.body {
            Some(body) => format!(" --data-binary {}", quote(body)),
            None => String::new(),
        };
        Some(
            format!(
                "echo \"response=$({}{output}{data} -w '\\n%{{http_code}}' {} | base64 -w0)\"",
                self.curl,
                quote(&self.params.url)
            )
            .into(),
        )
    }

    fn plan(&self, probe: &Probe) -> Result<Plan, ModuleError> {
        if !self.reads_only() {
            let data = if self.body.is_some() {
                " --data-binary @-"
            } else {
                ""
            };
            let script = format!(
                "{}{data} -w '\\n%{{http_code}}' {}",
                self.curl,
                quote(&self.params.url)
            );
            let step = Step::Run {
                script: script.into(),
                stdin: self.body.clone().map(String::into_bytes).map(Into::into),
            };
            return Ok(Plan::change(vec![step]).with_diff(Some(format!(
                "{} {}\n",
                self.params.method, self.params.url
            ))));
        }
        let facts = fields(&probe.stdout);
        let bytes = decode_base64(facts.get("response").copied().unwrap_or(""), "response")?;
        let response = String::from_utf8_lossy(&bytes);
        let (content, status) = split_status(&response);
        self.check_status(status, &probe.stderr)?;
        let mut plan = Plan::unchanged();
        plan.data.insert("status".into(), status.into());
        plan.data
            .insert("url".into(), self.params.url.clone().into());
        if self.params.return_content {
            if let Ok(json) = serde_json::from_str::<Value>(content) {
                plan.data.insert("json".into(), json);
            }
            plan.data.insert("content".into(), content.into());
        }
        Ok(plan)
    }

    /// The status curl printed last must be one of `status_code`.
    fn outcome(&self, outputs: &[StepOutput]) -> Result<(), ModuleError> {
        let Some(out) = outputs.last() else {
            return Ok(());
        };
        let (_, status) = split_status(out.stdout.trim_end());
        let status = if out.rc == 0 { status } else { 0 };
        self.check_status(status, &out.stderr)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::tests::NoFiles;
    use base64::Engine;
    use serde_json::json;

    fn uri(params: Value) -> Box<dyn Module> {
        build(params, &NoFiles).unwrap()
    }

    fn response(text: &str) -> Probe {
        let encoded = base64::engine::general_purpose::STANDARD.encode(text);
        Probe::ok(&format!("response={encoded}\n"))
    }

    #[test]
    fn get_runs_in_the_probe() {
        let module =
            uri(json!({"url": "http://127.0.0.1:8000/health", "headers": {"X-Token": "a b"}}));
        assert_eq!(
            module.probe().unwrap(),
            "echo \"response=$(curl -sS --max-time 30 -L -H 'X-Token: a b' -o /dev/null -w '\\n%{http_code}' http://127.0.0.1:8000/health | base64 -w0)\""
        );
        let plan = module.plan(&response("\n200")).unwrap();
        assert!(!plan.changed);
        assert_eq!(plan.data["status"], 200);
        assert!(!plan.data.contains_key("content"));
    }

    #[test]
    fn return_content_reports_the_body_and_its_json() {
        let module = uri(
            json!({"url": "https://x/ready", "return_content": true, "validate_certs": false, "status_code": [200, 204]}),
        );
        assert!(
            module
                .probe()
                .unwrap()
                .contains("curl -sS --max-time 30 -k -L -w")
        );
        let plan = module.plan(&response("{\"ok\":true}\n204")).unwrap();
        assert_eq!(plan.data["status"], 204);
        assert_eq!(plan.data["content"], "{\"ok\":true}");
        assert_eq!(plan.data["json"], json!({"ok": true}));
    }

    #[test]
    fn an_unexpected_status_or_no_connection_fails() {
        let module = uri(json!({"url": "http://127.0.0.1:9/"}));
        let err = module.plan(&response("\n503")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Status code was 503 and not [200]: http://127.0.0.1:9/"
        );
        let refused = Probe {
            stderr: "curl: (7) Failed to connect".into(),
            ..response("\n000")
        };
        let err = module.plan(&refused).unwrap_err();
        assert_eq!(
            err.to_string(),
            "request to http://127.0.0.1:9/ failed: curl: (7) Failed to connect"
        );
    }

    #[test]
    fn other_methods_are_changes_with_the_body_on_stdin() {
        let module = uri(
            json!({"url": "http://x/api", "method": "post", "body": {"a": 1}, "body_format": "json", "status_code": 201}),
        );
        assert_eq!(module.probe(), None);
        let plan = module.plan(&Probe::default()).unwrap();
        assert!(plan.changed);
        assert_eq!(
            plan.steps,
            vec![Step::Run {
                script: "curl -sS --max-time 30 -X POST -H 'Content-Type: application/json' --data-binary @- -w '\\n%{http_code}' http://x/api".into(),
                stdin: Some(b"{\"a\":1}".to_vec().into()),
            }]
        );
        let created = StepOutput {
            stdout: "{\"id\":1}\n201".into(),
            ..StepOutput::default()
        };
        assert!(module.outcome(&[created]).is_ok());
        let rejected = StepOutput {
            stdout: "no\n400".into(),
            ..StepOutput::default()
        };
        assert!(module.outcome(&[rejected]).is_err());
    }

    #[test]
    fn rejects_bad_params() {
        let err = build(
            json!({"url": "http://x", "return_contents": true}),
            &NoFiles,
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("unknown field `return_contents`"),
            "{err}"
        );
        assert!(build(json!({"url": "ftp://x"}), &NoFiles).is_err());
        assert!(build(json!({"url": "http://x", "method": "GET;"}), &NoFiles).is_err());
        assert!(
            build(
                json!({"url": "http://x", "headers": {"A\nB": "c"}}),
                &NoFiles
            )
            .is_err()
        );
        assert!(build(json!({"url": "http://x", "body": {"a": 1}}), &NoFiles).is_err());
        assert!(build(json!({"url": "http://x", "status_code": "ok"}), &NoFiles).is_err());
    }
}
