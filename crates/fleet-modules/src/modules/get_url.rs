//! `get_url`: downloads a file on the host with `curl`, like Ansible's
//! `get_url`. The probe reads the destination (kind, attributes, sha1 and,
//! with `checksum`, its digest) and, for a `checksum` given as a URL, the
//! checksum file. A file that exists with the right checksum is left alone
//! unless `force`; otherwise one step downloads to a temp file next to the
//! destination, checks the checksum, and renames it over the destination
//! only when its content differs. Whether that changed anything is known
//! after the step ([`Module::applied`]).

use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::file_attrs::{Attrs, Scope};
use super::get_url_checksum::{Checksum, Wanted, checksum_from_file, url_filename};
use super::path_facts::{Kind, PathFacts, STAT_FORMAT};
use super::{de, uri};
use crate::text::{decode_base64, fields};
use crate::{
    Applied, Arg, Cmd, Controller, Module, ModuleError, Plan, Probe, Script, Step, StepOutput,
    parse_params,
};

pub const PARAMS: &[&str] = &[
    "url",
    "dest",
    "force",
    "checksum",
    "backup",
    "timeout",
    "headers",
    "url_username",
    "username",
    "url_password",
    "password",
    "force_basic_auth",
    "validate_certs",
    "use_proxy",
    "http_agent",
    "tmp_dest",
    "decompress",
    "mode",
    "owner",
    "group",
];

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GetUrlParams {
    pub url: String,
    pub dest: String,
    #[serde(default, deserialize_with = "de::boolean")]
    pub force: bool,
    /// `algorithm:hex` or `algorithm:URL` of a checksum file.
    #[serde(default)]
    pub checksum: String,
    #[serde(default, deserialize_with = "de::boolean")]
    pub backup: bool,
    #[serde(default = "ten", deserialize_with = "de::whole_number")]
    pub timeout: u64,
    #[serde(default)]
    pub headers: Map<String, Value>,
    #[serde(alias = "username")]
    pub url_username: Option<String>,
    #[serde(alias = "password")]
    pub url_password: Option<String>,
    /// curl sends basic auth with the first request either way.
    #[serde(default, deserialize_with = "de::boolean")]
    pub force_basic_auth: bool,
    #[serde(default = "de::yes", deserialize_with = "de::boolean")]
    pub validate_certs: bool,
    #[serde(default = "de::yes", deserialize_with = "de::boolean")]
    pub use_proxy: bool,
    #[serde(default = "default_agent")]
    pub http_agent: String,
    /// The temp file is always next to `dest`, for an atomic rename.
    pub tmp_dest: Option<String>,
    /// curl asks for no compression, so there is nothing to decompress.
    #[serde(default = "de::yes", deserialize_with = "de::boolean")]
    pub decompress: bool,
    #[serde(default, deserialize_with = "de::mode")]
    pub mode: Option<u32>,
    pub owner: Option<String>,
    pub group: Option<String>,
}

fn ten() -> u64 {
    10
}

fn default_agent() -> String {
    "ansible-httpget".into()
}

#[derive(Debug)]
pub struct GetUrl {
    params: GetUrlParams,
    attrs: Attrs,
    checksum: Option<Checksum>,
    /// curl with its options, before the output, auth and URL.
    curl: Cmd,
    /// The file name for a `dest` that is a directory.
    name: String,
}

pub(crate) fn invalid(message: impl Into<String>) -> ModuleError {
    ModuleError::Params {
        module: "get_url".into(),
        message: message.into(),
    }
}

pub fn build(params: Value, _controller: &dyn Controller) -> Result<Box<dyn Module>, ModuleError> {
    let params: GetUrlParams = parse_params("get_url", params)?;
    let scheme_ok = ["http://", "https://", "ftp://"]
        .iter()
        .any(|scheme| params.url.starts_with(scheme));
    if !scheme_ok {
        return Err(invalid(format!(
            "url must start with http://, https:// or ftp://, got {:?}",
            params.url
        )));
    }
    if !params.dest.starts_with('/') {
        return Err(invalid(format!(
            "dest must be an absolute path, got {:?}",
            params.dest
        )));
    }
    if params.url_password.is_some() && params.url_username.is_none() {
        return Err(invalid("url_password needs url_username"));
    }
    let checksum = Checksum::parse(&params.checksum)?;
    let attrs = Attrs::new(
        "get_url",
        params.mode,
        params.owner.clone(),
        params.group.clone(),
    )?;
    let mut curl = Cmd::new("curl")
        .flag("-sS")
        .flag("-L")
        .opt("--max-time", params.timeout.max(1).to_string())
        .opt("-A", params.http_agent.as_str())
        .flag_if(!params.validate_certs, "-k");
    if !params.use_proxy {
        curl = curl.opt("--noproxy", "*");
    }
    for line in uri::header_lines(&params.headers).map_err(invalid)? {
        curl = curl.opt("-H", line);
    }
    let name = url_filename(&params.url);
    Ok(Box::new(GetUrl {
        params,
        attrs,
        checksum,
        curl,
        name,
    }))
}

/// Prints the destination `$t` (`$dest`, or `$dest/$name` when `$dest` is
/// a directory), its attributes and sha1, and whether curl is there.
const PROBE: &str = r#"if [ -d "$dest" ]; then echo dest_is_dir=1; t="${dest%/}/$name"; else echo dest_is_dir=0; t=$dest; fi
printf 'path=%s\n' "$t"
if [ -d "${t%/*}/" ]; then echo parent=1; else echo parent=0; fi
if [ -d "$t" ]; then echo kind=directory
elif [ -f "$t" ]; then
echo kind=file
stat -L --printf "$stat_format" -- "$t"
s=$(sha1sum < "$t"); printf 'sha1=%s\n' "${s%% *}"
if [ -n "$sumcmd" ]; then s=$("$sumcmd" < "$t"); printf 'digest=%s\n' "${s%% *}"; fi
elif [ -e "$t" ]; then echo kind=other
else echo kind=absent; fi
if command -v curl >/dev/null 2>&1; then echo curl=1; else echo curl=0; fi
"#;

/// Before the download: a temp file next to `$t`, and where curl writes
/// the status.
const DOWNLOAD_PREPARE: &str = r#"dir=${t%/*}; [ -n "$dir" ] || dir=/
if [ ! -d "$dir" ]; then printf 'Destination %s does not exist\n' "$dir" >&2; exit 1; fi
tmp=$(mktemp "$dir/.get_url.XXXXXX") || exit 1
code_file="$tmp.code"
"#;

/// After curl: the status, the checksum check, and the rename when the
/// content differs (keeping a replaced file's mode and owner). Prints
/// `status_code=`, `checksum_src=`, `checksum_dest=`, `size=` and
/// `replaced=`.
const DOWNLOAD_FINISH: &str = r#"rc=$?
code=$(cat -- "$code_file" 2>/dev/null); rm -f -- "$code_file"
if [ "$rc" != 0 ]; then rm -f -- "$tmp"; exit 1; fi
printf 'status_code=%s\n' "$code"
case $code in
304) rm -f -- "$tmp"; echo replaced=0; echo not_modified=1; exit 0;;
200) ;;
*) rm -f -- "$tmp"; printf 'Request failed: HTTP status %s\n' "$code" >&2; exit 1;;
esac
s=$(sha1sum < "$tmp"); src=${s%% *}; printf 'checksum_src=%s\n' "$src"
printf 'size=%s\n' "$(stat -c %s -- "$tmp")"
old=
if [ -f "$t" ]; then s=$(sha1sum < "$t"); old=${s%% *}; printf 'checksum_dest=%s\n' "$old"; fi
if [ -n "$want" ]; then
s=$("$sumcmd" < "$tmp")
if [ "${s%% *}" != "$want" ]; then rm -f -- "$tmp"; printf 'The checksum for %s did not match %s; it was %s.\n' "$tmp" "$want" "${s%% *}" >&2; exit 1; fi
fi
if [ "$src" = "$old" ]; then rm -f -- "$tmp"; echo replaced=0
else
if [ -f "$t" ]; then
if [ "$backup" = 1 ]; then b="$t".$(date +%Y-%m-%d@%H:%M:%S)~; cp -p -- "$t" "$b" && printf 'backup_file=%s\n' "$b"; fi
chmod --reference="$t" -- "$tmp" && chown --reference="$t" -- "$tmp"
else chmod "$(printf '%o' $((0666 & ~$(umask))))" -- "$tmp"; fi
mv -f -- "$tmp" "$t" && echo replaced=1
fi
printf 'attrs_differ=%s\n' "$attrs_differ"
"#;

/// What the probe found.
struct Found {
    dest_is_dir: bool,
    path: String,
    parent_exists: bool,
    facts: PathFacts,
    sha1: Option<String>,
    digest: Option<String>,
    sums: Option<String>,
}

impl GetUrl {
    fn sum_program(&self) -> &'static str {
        self.checksum
            .as_ref()
            .map_or("", |checksum| checksum.algorithm.program())
    }

    fn parse(&self, probe: &Probe) -> Result<Found, ModuleError> {
        let values = fields(&probe.stdout);
        if values.get("curl") != Some(&"1") {
            return Err(ModuleError::Failed(
                "get_url needs curl on the host (apt: curl)".into(),
            ));
        }
        let facts = PathFacts::parse(&probe.stdout)?;
        let sums = values
            .get("sums")
            .map(|encoded| decode_base64(encoded, "checksum file"))
            .transpose()?
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned());
        Ok(Found {
            dest_is_dir: values.get("dest_is_dir") == Some(&"1"),
            path: facts
                .path
                .clone()
                .unwrap_or_else(|| self.params.dest.clone()),
            parent_exists: facts.parent_exists.unwrap_or(false),
            sha1: values.get("sha1").map(|s| s.to_string()),
            digest: values.get("digest").map(|s| s.to_string()),
            facts,
            sums,
        })
    }

    /// The hex digest the file must have, once a checksum URL is read.
    fn wanted(&self, found: &Found) -> Result<Option<String>, ModuleError> {
        let Some(checksum) = &self.checksum else {
            return Ok(None);
        };
        match &checksum.wanted {
            Wanted::Hex(hex) => Ok(Some(hex.clone())),
            Wanted::Url(url) => {
                let text = found.sums.as_deref().unwrap_or_default();
                let hex = checksum_from_file(text, &self.name).ok_or_else(|| {
                    ModuleError::Failed(format!(
                        "Unable to find a checksum for file '{}' in '{url}'",
                        self.name
                    ))
                })?;
                Checksum::clean(&hex).map(Some)
            }
        }
    }

    fn base_data(&self, dest: &str) -> Map<String, Value> {
        let mut data = Map::new();
        data.insert("dest".into(), json!(dest));
        data.insert("url".into(), json!(self.params.url));
        data.insert("checksum_src".into(), Value::Null);
        data.insert("checksum_dest".into(), Value::Null);
        data.insert("elapsed".into(), json!(0));
        data
    }
}

impl Module for GetUrl {
    fn probe(&self) -> Option<Script> {
        let mut script = Script::new()
            .set("dest", self.params.dest.as_str())
            .set("name", self.name.as_str())
            .set("stat_format", STAT_FORMAT)
            .set("sumcmd", self.sum_program())
            .snippet(PROBE);
        if let Some(Checksum {
            wanted: Wanted::Url(url),
            ..
        }) = &self.checksum
        {
            script = script
                .cmd(Cmd::without_end_of_options("printf").arg("sums="))
                .pipeline([
                    self.curl.clone().flag("-f").operand(url.as_str()),
                    Cmd::new("base64").flag("-w0"),
                ])
                .cmd(Cmd::without_end_of_options("echo"));
        }
        Some(script)
    }

    fn target(&self) -> Option<&str> {
        Some(&self.params.dest)
    }

    fn plan(&self, probe: &Probe) -> Result<Plan, ModuleError> {
        let found = self.parse(probe)?;
        let want = self.wanted(&found)?;
        let kind = found.facts.kind.unwrap_or(Kind::Absent);
        if matches!(kind, Kind::Directory | Kind::Other) && !found.dest_is_dir {
            return Err(ModuleError::Failed(format!(
                "{} exists and is not a regular file",
                found.path
            )));
        }
        let exists = kind == Kind::File;
        let mut data = self.base_data(&found.path);
        let attr_lines = match (&found.facts.attrs, exists) {
            (Some(current), true) => self.attrs.changes(current),
            _ => Vec::new(),
        };
        if exists
            && !found.dest_is_dir
            && !self.params.force
            && let Some(want) = &want
            && found.digest.as_deref() == Some(want.as_str())
        {
            let current = found.facts.attrs.as_ref().expect("a file's attributes");
            let fix = self.attrs.fix(found.path.as_str(), current, Scope::Path);
            let mut plan = match fix {
                Some(script) => {
                    let mut plan = Plan::change(vec![Step::run(script)]);
                    plan.diff = Some(attr_lines.join("\n") + "\n");
                    plan.msg = Some("file already exists but file attributes changed".into());
                    plan
                }
                None => Plan {
                    msg: Some("file already exists".into()),
                    ..Plan::unchanged()
                },
            };
            plan.data = data;
            return Ok(plan);
        }
        if !found.parent_exists {
            return Err(ModuleError::Failed(format!(
                "Destination {} does not exist",
                super::content_file::parent(&found.path)
            )));
        }
        data.insert("checksum_dest".into(), json!(found.sha1));
        let auth = self.params.url_username.as_ref().map(|user| {
            let password = self.params.url_password.as_deref().unwrap_or_default();
            let quoted = format!("{user}:{password}")
                .replace('\\', "\\\\")
                .replace('"', "\\\"");
            format!("user = \"{quoted}\"\n").into_bytes()
        });
        let mut curl = self
            .curl
            .clone()
            .opt("-o", Arg::var("tmp"))
            .opt("-w", "%{http_code}");
        if exists && !self.params.force {
            curl = curl.opt("-z", Arg::var("t"));
        }
        if auth.is_some() {
            curl = curl.flag("--basic").opt("-K", "-");
        }
        let curl = curl
            .operand(Arg::var("url"))
            .stdout_to(Arg::var("code_file"));
        let attrs_differ = !attr_lines.is_empty();
        let mut script = Script::new()
            .set("stat_format", STAT_FORMAT)
            .set("t", found.path.as_str())
            .set("url", self.params.url.as_str())
            .set("want", want.clone().unwrap_or_default())
            .set("sumcmd", self.sum_program())
            .set("backup", if self.params.backup { "1" } else { "0" })
            .set("attrs_differ", if attrs_differ { "1" } else { "0" })
            .snippet(DOWNLOAD_PREPARE)
            .cmd(curl)
            .snippet(DOWNLOAD_FINISH);
        for cmd in self.attrs.set_cmds(Arg::var("t"), Scope::Path) {
            script = script.cmd(cmd);
        }
        let script = script
            .snippet(r#"s=$(md5sum < "$t"); printf 'md5sum=%s\n' "${s%% *}""#)
            .snippet(r#"stat -L --printf "$stat_format" -- "$t""#);
        let step = match auth {
            Some(config) => Step::run_with_stdin(script, config),
            None => Step::run(script),
        };
        let mut lines = attr_lines;
        lines.insert(
            0,
            format!(
                "download {} -> {}",
                self.params.url,
                if exists {
                    "replace if it differs"
                } else {
                    "new file"
                }
            ),
        );
        let mut plan = Plan::change(vec![step]).with_diff(Some(lines.join("\n") + "\n"));
        plan.data = data;
        Ok(plan)
    }

    fn outcome(&self, outputs: &[StepOutput]) -> Result<(), ModuleError> {
        super::apt_sources::outcome(outputs)
    }

    fn applied(&self, outputs: &[StepOutput]) -> Option<Applied> {
        let out = outputs.last()?;
        let values = fields(&out.stdout);
        let replaced = values.get("replaced") == Some(&"1");
        let not_modified = values.get("not_modified") == Some(&"1");
        let mut data = Map::new();
        for key in ["checksum_src", "checksum_dest", "md5sum", "backup_file"] {
            if let Some(value) = values.get(key) {
                data.insert(key.into(), json!(value));
            }
        }
        let status: Option<u16> = values.get("status_code").and_then(|code| code.parse().ok());
        data.insert("status_code".into(), json!(status));
        if let Ok(facts) = PathFacts::parse(&out.stdout)
            && let Some(current) = facts.attrs
        {
            data.insert("mode".into(), json!(format!("{:04o}", current.mode)));
            data.insert("uid".into(), json!(current.uid));
            data.insert("gid".into(), json!(current.gid));
            data.insert("owner".into(), json!(current.owner));
            data.insert("group".into(), json!(current.group));
            data.insert("state".into(), json!("file"));
        }
        let size = values.get("size").copied().unwrap_or("unknown");
        Some(Applied {
            changed: replaced || (!not_modified && values.get("attrs_differ") == Some(&"1")),
            data,
            msg: Some(if not_modified {
                "Not Modified".into()
            } else {
                format!("OK ({size} bytes)")
            }),
        })
    }
}

#[cfg(test)]
#[path = "get_url_tests.rs"]
mod tests;
