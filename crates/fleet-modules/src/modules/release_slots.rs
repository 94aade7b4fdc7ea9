//! `release`'s blue/green slots: the api runs as instances of a template
//! unit, `<unit>@<port>`, one per slot port, each from the release its
//! `<path>/slots/<port>` link names. nginx's upstream is a file this module
//! owns, `server 127.0.0.1:<port>;`: the live slot.
//!
//! A deploy or a rollback starts the target release on the idle slot,
//! checks its health on its own port, and only then switches: the
//! upstream file is rewritten (temp file, rename), `nginx -t`, `nginx -s
//! reload` (graceful), and `current` is switched. The old instance is
//! stopped last: its readiness turns 503 and it drains its requests. When
//! the new instance fails its check, it is stopped and nothing else has
//! changed: the host keeps serving the live slot.

use serde::Deserialize;

use super::Release;
use super::facts::{Facts, SlotFacts};
use super::script::{NEEDS_CURL, SWITCH_AND_LOG, check_url, phase, switch_script};
use crate::modules::apt::StringList;
use crate::{Script, Step};

/// The `slots` param, as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlotsParams {
    /// The template unit's name without `@`: instances are `<unit>@<port>`.
    pub unit: String,
    /// The two slots' ports.
    pub ports: Vec<PortParam>,
    /// The file nginx's upstream block includes.
    pub upstream_file: String,
    /// Units stopped and disabled once a slot is live (the single api unit
    /// a host ran before it went blue/green).
    pub replaces: Option<StringList>,
}

/// A port written as a number or, as `-e` gives it, a string.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum PortParam {
    Number(u64),
    Text(String),
}

impl PortParam {
    fn port(&self) -> Option<u16> {
        match self {
            PortParam::Number(number) => u16::try_from(*number).ok(),
            PortParam::Text(text) => text.trim().parse().ok(),
        }
        .filter(|port| *port > 0)
    }
}

/// The slots, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slots {
    pub unit: String,
    pub ports: [u16; 2],
    pub upstream_file: String,
    pub replaces: Vec<String>,
}

/// The upstream file's text for `port`.
fn upstream_text(port: u16) -> String {
    format!(
        "# Managed by fleet (release): the live slot of the blue/green api.\n\
         server 127.0.0.1:{port};\n"
    )
}

impl Slots {
    /// Checks `params`; `health_urls` must each name the slot's `{port}`.
    pub fn build(params: &SlotsParams, health_urls: &[String]) -> Result<Slots, String> {
        let ports: Vec<u16> = params
            .ports
            .iter()
            .map(|port| port.port().ok_or(format!("slots.ports: bad port {port:?}")))
            .collect::<Result<_, _>>()?;
        let [blue, green] = ports[..] else {
            return Err(format!(
                "slots.ports must be two ports, got {}",
                ports.len()
            ));
        };
        if blue == green {
            return Err(format!("slots.ports must differ, got {blue} twice"));
        }
        if !params.upstream_file.starts_with('/') || params.upstream_file.contains('\n') {
            return Err(format!(
                "slots.upstream_file must be an absolute path, got {:?}",
                params.upstream_file
            ));
        }
        if let Some(url) = health_urls.iter().find(|url| !url.contains("{port}")) {
            return Err(format!(
                "with slots, each health URL names the slot's port as {{port}}, so that \
                 the new instance is checked before it gets traffic; got {url:?}"
            ));
        }
        Ok(Slots {
            unit: params.unit.clone(),
            ports: [blue, green],
            upstream_file: params.upstream_file.clone(),
            replaces: params
                .replaces
                .as_ref()
                .map_or_else(Vec::new, StringList::to_vec),
        })
    }

    pub fn instance(&self, port: u16) -> String {
        format!("{}@{port}", self.unit)
    }

    /// The slot nginx sends traffic to, when it is one of ours and runs a
    /// release.
    pub fn live(&self, facts: &Facts) -> Option<u16> {
        facts
            .live_port
            .filter(|port| self.ports.contains(port))
            .filter(|port| slot(facts, *port).is_some_and(|slot| slot.link.is_some()))
    }

    /// The slot a new release starts on: the one that is not live.
    pub fn idle(&self, facts: &Facts) -> u16 {
        match self.live(facts) {
            Some(live) if live == self.ports[0] => self.ports[1],
            _ => self.ports[0],
        }
    }
}

/// Whether the live slot runs `release` and is up.
pub fn serves(slots: &Slots, facts: &Facts, release: &str) -> bool {
    slots
        .live(facts)
        .and_then(|live| slot(facts, live))
        .is_some_and(|slot| slot.release.as_deref() == Some(release) && slot.is_active())
}

fn slot(facts: &Facts, port: u16) -> Option<&SlotFacts> {
    facts.slots.iter().find(|slot| slot.port == port)
}

/// `live slot 8001 (<release>), idle slot 8002 (<release>, stopped)`.
pub fn describe(slots: &Slots, facts: &Facts) -> String {
    let live = slots.live(facts);
    let parts: Vec<String> = slots
        .ports
        .iter()
        .map(|port| {
            let role = if live == Some(*port) { "live" } else { "idle" };
            let found = slot(facts, *port);
            let release = found
                .and_then(|slot| slot.release.as_deref())
                .unwrap_or("no release");
            let state = match found {
                Some(slot) if slot.is_active() => "running",
                _ => "stopped",
            };
            format!("{role} slot {port} ({release}, {state})")
        })
        .collect();
    match live {
        Some(_) => parts.join(", "),
        None => format!(
            "no live slot: nginx's upstream names no slot; {}",
            parts.join(", ")
        ),
    }
}

/// The slots for `info`'s data: port, release, instance state, live.
pub fn to_json(slots: &Slots, facts: &Facts) -> serde_json::Value {
    let live = slots.live(facts);
    let list: Vec<serde_json::Value> = slots
        .ports
        .iter()
        .map(|port| {
            let found = slot(facts, *port);
            serde_json::json!({
                "port": port,
                "unit": slots.instance(*port),
                "release": found.and_then(|slot| slot.release.clone()),
                "state": found.map_or("inactive", |slot| slot.state.as_str()),
                "live": live == Some(*port),
            })
        })
        .collect();
    serde_json::Value::Array(list)
}

const PROBE: &str = r#"for port in $slot_ports; do
  printf 'slot=%s %s\n' "$port" "$(readlink -- "$p/slots/$port" 2>/dev/null)"
  printf 'slot_state=%s %s\n' "$port" "$(systemctl is-active -- "$slot_unit@$port" 2>/dev/null)"
done
if [ -f "$upstream_file" ]; then sed -n 's/^[[:space:]]*server[[:space:]][[:space:]]*127\.0\.0\.1:\([0-9][0-9]*\);.*$/live_port=\1/p' -- "$upstream_file"; fi"#;

/// The probe's part: each slot's link and instance state, and the port the
/// upstream file names.
pub fn probe(slots: &Slots, script: Script) -> Script {
    let ports = format!("{} {}", slots.ports[0], slots.ports[1]);
    script
        .set("slot_ports", ports)
        .set("slot_unit", &slots.unit)
        .set("upstream_file", &slots.upstream_file)
        .snippet(PROBE)
}

/// What a go-live brings onto the idle slot.
pub struct Target<'a> {
    /// The release's name under `releases/`.
    pub name: &'a str,
    /// A deploy's partial dir, moved into `releases/` first and removed
    /// again when the release fails; `None` for a release that exists.
    pub partial: Option<&'a str>,
    /// What the release log records.
    pub log: &'a [(&'a str, &'a str)],
    /// Said when the release does not go live.
    pub abandon: String,
}

/// Starts the idle slot's instance on the release (moved in from its
/// partial dir first), checks its health on its port; on failure, shows
/// its journal, stops it, puts the slot's link back and, for a deploy,
/// removes the release.
const START_FAILED: &str = r#"} || {
  printf 'fleet-release: last 30 journal lines of %s:\n' "$instance" >&2
  journalctl -u "$instance" -n 30 --no-pager >&2
  systemctl stop -- "$instance"
  if [ -n "$link_before" ]; then ln -sfn -- "$link_before" "$p/slots/$port"; else rm -f -- "$p/slots/$port"; fi
  if [ -n "$partial" ]; then rm -rf -- "$partial" "$p/releases/$name"; fi
  printf '%s\n' "$abandon" >&2
  exit 1
}"#;

const START: &str = r#"{
  { [ -z "$partial" ] || mv -T -- "$partial" "$p/releases/$name"; } &&
  mkdir -p -- "$p/slots" &&
  ln -sfn -- "../releases/$name" "$p/slots/.$port.tmp" && mv -T -- "$p/slots/.$port.tmp" "$p/slots/$port" &&
  systemctl restart -- "$instance" &&
  printf 'started: %s on releases/%s\n' "$instance" "$name" &&
  printf 'fleet-release: health\n' >&2 &&"#;

/// Points the upstream file at `$port` (temp file, rename), checks nginx's
/// config and reloads it; on failure puts the old file back, stops the new
/// instance and, for a deploy, removes the release.
const POINT_UPSTREAM: &str = r#"{
  before="$upstream_file.fleet-before" && tmp="$upstream_file.fleet-tmp" &&
  mkdir -p -- "${upstream_file%/*}" &&
  { [ ! -f "$upstream_file" ] || cp -p -- "$upstream_file" "$before"; } &&
  printf '%s' "$upstream_text" > "$tmp" && mv -T -- "$tmp" "$upstream_file" &&
  master=$(cat /run/nginx.pid 2>/dev/null || true) &&
  workers=" $(ps -o pid= --ppid "${master:-0}" 2>/dev/null | tr -s ' \n' '  ') " &&
  nginx -t -q && nginx -s reload && {
    # The reload is asynchronous, and a master that cannot apply the new
    # config keeps its old workers: wait for a new worker.
    n=0
    while [ -n "$master" ] && [ "$n" -le 100 ]; do
      for pid in $(ps -o pid= --ppid "$master" 2>/dev/null); do
        case $workers in *" $pid "*) ;; *) master= ;; esac
      done
      [ -z "$master" ] || { n=$((n + 1)); sleep 0.1; }
    done
    [ -z "$master" ] || { echo 'fleet-release: nginx kept its old config after the reload (see its error log)' >&2; false; }
  } &&
  printf 'nginx: upstream -> 127.0.0.1:%s\n' "$port"
} || {
  if [ -f "$before" ]; then mv -T -- "$before" "$upstream_file"; else rm -f -- "$upstream_file"; fi
  systemctl stop -- "$instance"
  if [ -n "$link_before" ]; then ln -sfn -- "$link_before" "$p/slots/$port"; else rm -f -- "$p/slots/$port"; fi
  if [ -n "$partial" ]; then rm -rf -- "$p/releases/$name"; fi
  printf '%s\n' "$abandon" >&2
  exit 1
}
rm -f -- "$before"
"#;

/// Enables the new instance, then disables and stops the old one (its
/// readiness turns 503 and it drains), and the units it replaces.
const STOP_OLD: &str = r#"systemctl enable --quiet -- "$instance" &&
if [ -n "$old" ]; then
  systemctl disable --quiet -- "$old" && systemctl stop -- "$old" && printf 'stopped: %s\n' "$old"
fi"#;

const STOP_REPLACED: &str = r#"if systemctl is-enabled --quiet -- "$unit" 2>/dev/null || systemctl is-active --quiet -- "$unit"; then
  systemctl disable --now --quiet -- "$unit" && printf 'replaced, stopped: %s\n' "$unit"
fi"#;

/// The steps that bring `target` live on the idle slot.
pub fn go_live(release: &Release, slots: &Slots, facts: &Facts, target: &Target<'_>) -> Vec<Step> {
    let port = slots.idle(facts);
    let instance = slots.instance(port);
    let link_before = slot(facts, port)
        .and_then(|slot| slot.link.clone())
        .unwrap_or_default();
    let common = |script: Script| {
        script
            .set("p", &release.root)
            .set("name", target.name)
            .set("port", port.to_string())
            .set("instance", &instance)
            .set("partial", target.partial.unwrap_or_default())
            .set("abandon", &target.abandon)
            .set("link_before", &link_before)
    };
    let checks = release.health_urls.iter().map(|url| {
        let url = url.replace("{port}", &port.to_string());
        check_url(release, &url)
    });
    let checks: Vec<Script> = checks.collect();
    let checks = match checks.is_empty() {
        true => Script::new().snippet("true"),
        false => Script::all_of(checks),
    };
    let start = common(phase("start"))
        .snippet(NEEDS_CURL)
        .snippet(START)
        .then(checks)
        .snippet(START_FAILED);
    let switch = common(switch_script(release, target.name, target.log))
        .set("upstream_file", &slots.upstream_file)
        .set("upstream_text", upstream_text(port))
        .snippet(POINT_UPSTREAM)
        .snippet(SWITCH_AND_LOG);
    let old = slots
        .live(facts)
        .filter(|live| *live != port)
        .map(|live| slots.instance(live))
        .unwrap_or_default();
    let replaced = slots
        .replaces
        .iter()
        .map(|unit| Script::new().set("unit", unit).snippet(STOP_REPLACED));
    let stop_old = Script::new()
        .set("instance", &instance)
        .set("old", old)
        .snippet(STOP_OLD);
    let stop = phase("stop").then(Script::all_of(std::iter::once(stop_old).chain(replaced)));
    vec![Step::run(start), Step::run(switch), Step::run(stop)]
}
