//! `uri`: an HTTP request made from the host with `curl`, like Ansible's
//! `uri`. GET and HEAD only read, so they run in the probe (also in check
//! mode) and report `status` and `content`; other methods are changes.

use serde::Deserialize;
use serde_json::{Map, Value};

use super::de;
use crate::text::{decode_base64, fields};
use crate::{
    Arg, Cmd, Controller, Module, ModuleError, Plan, Probe, Script, Step, StepOutput, parse_params,
};

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
    #[serde(default = "default_timeout", deserialize_with = "de::whole_number")]
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
    /// The curl command without the output, body and URL.
    curl: Cmd,
}

fn invalid(message: impl Into<String>) -> ModuleError {
    ModuleError::Params {
        module: "uri".into(),
        message: message.into(),
    }
}

/// The `headers` param as curl `-H` lines, `Name: value`, in order.
/// A header name is a token: no `@`, which would make curl read a file,
/// and no `:`, space or newline; a value has no line break.
pub(crate) fn header_lines(headers: &Map<String, Value>) -> Result<Vec<String>, String> {
    headers
        .iter()
        .map(|(name, value)| {
            let value =
                de::scalar_text(value).ok_or_else(|| format!("header {name} must be a string"))?;
            let token = !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
            if !token || value.contains(['\n', '\r']) {
                return Err(format!("invalid header {name:?}"));
            }
            Ok(format!("{name}: {value}"))
        })
        .collect()
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
    let mut curl = Cmd::new("curl")
        .flag("-sS")
        .opt("--max-time", params.timeout.max(1).to_string())
        .flag_if(!params.validate_certs, "-k");
    curl = match params.method.as_str() {
        "GET" => curl.flag("-L"),
        "HEAD" => curl.flag("-L").flag("--head"),
        method => curl.opt("-X", method),
    };
    if body.is_some() && params.method == "GET" {
        curl = curl.opt("-X", "GET");
    }
    let has_content_type = params
        .headers
        .keys()
        .any(|name| name.eq_ignore_ascii_case("content-type"));
    for line in header_lines(&params.headers).map_err(invalid)? {
        curl = curl.opt("-H", line);
    }
    if params.body_format == BodyFormat::Json && body.is_some() && !has_content_type {
        curl = curl.opt("-H", "Content-Type: application/json");
    }
    Ok(Box::new(Uri {
        params,
        statuses,
        body,
        curl,
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

impl Uri {
    /// The request: curl reads the body, if any, from its stdin (`@-`), so
    /// that no body (one starting with `@`, say) is read as a file name.
    fn request(&self, discard_content: bool) -> Cmd {
        let mut curl = self.curl.clone();
        if discard_content {
            curl = curl.opt("-o", "/dev/null");
        }
        if self.body.is_some() {
            curl = curl.opt("--data-binary", "@-");
        }
        curl.opt("-w", "\\n%{http_code}")
            .operand(self.params.url.as_str())
    }
}

impl Module for Uri {
    /// `response=` and the base64 of what curl printed, in one pipeline:
    /// `printf` (a builtin) hands curl the body.
    fn probe(&self) -> Option<Script> {
        if !self.reads_only() {
            return None;
        }
        let curl = self.request(!self.params.return_content);
        let encode = Cmd::new("base64").flag("-w0");
        let script = Script::new().cmd(Cmd::without_end_of_options("printf").arg("response="));
        let script = match &self.body {
            Some(body) => script.set("body", body.as_str()).pipeline([
                Cmd::without_end_of_options("printf")
                    .arg("%s")
                    .operand(Arg::var("body")),
                curl,
                encode,
            ]),
            None => script.pipeline([curl, encode]),
        };
        Some(script.cmd(Cmd::without_end_of_options("echo")))
    }

    fn plan(&self, probe: &Probe) -> Result<Plan, ModuleError> {
        if !self.reads_only() {
            let script = Script::of(self.request(false));
            let step = match &self.body {
                Some(body) => Step::run_with_stdin(script, body.clone().into_bytes()),
                None => Step::run(script),
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
    use crate::modules::command::stub_sh::{run, run_step, scripts};
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
            "printf 'response='\n\
             curl -sS --max-time 30 -L -H 'X-Token: a b' -o /dev/null -w '\\n%{http_code}' -- http://127.0.0.1:8000/health | base64 -w0\n\
             echo\n"
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
            scripts(&plan.steps),
            [
                "curl -sS --max-time 30 -X POST -H 'Content-Type: application/json' --data-binary @- -w '\\n%{http_code}' -- http://x/api\n"
            ]
        );
        assert!(
            matches!(&plan.steps[0], Step::Run { stdin: Some(stdin), .. } if stdin.bytes() == b"{\"a\":1}")
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

    /// A curl that prints its words and what it read on stdin.
    const CURL: &str = "curl() { argv curl \"$@\"; printf 'stdin [%s]\\n' \"$(cat)\"; }\n";

    #[test]
    fn a_body_is_data_even_when_it_starts_with_an_at_sign() {
        let get = uri(json!({"url": "http://x/q", "body": "@/etc/passwd", "return_content": true}));
        let out = run(CURL, &get.probe().unwrap(), b"");
        let facts = fields(&out.stdout);
        let sent = decode_base64(facts["response"], "response").unwrap();
        assert_eq!(
            String::from_utf8(sent).unwrap(),
            "curl [-sS] [--max-time] [30] [-L] [-X] [GET] [--data-binary] [@-] [-w] [\\n%{http_code}] [--] [http://x/q]\n\
             stdin [@/etc/passwd]\n"
        );
        let post = uri(json!({"url": "http://x/q", "method": "PUT", "body": "@/etc/shadow $(id)"}));
        let plan = post.plan(&Probe::default()).unwrap();
        assert_eq!(
            run_step(CURL, &plan.steps[0]).stdout,
            "curl [-sS] [--max-time] [30] [-X] [PUT] [--data-binary] [@-] [-w] [\\n%{http_code}] [--] [http://x/q]\n\
             stdin [@/etc/shadow $(id)]\n"
        );
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
        assert!(
            build(
                json!({"url": "http://x", "headers": {"@/etc/passwd": "c"}}),
                &NoFiles
            )
            .is_err()
        );
        assert!(build(json!({"url": "http://x", "body": {"a": 1}}), &NoFiles).is_err());
        assert!(build(json!({"url": "http://x", "status_code": "ok"}), &NoFiles).is_err());
    }
}
