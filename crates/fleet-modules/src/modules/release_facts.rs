//! What `release`'s probe reports: release names, the current release,
//! the release dirs and the release log, and the choices made from them.

use serde_json::{Map, Value};

use super::lock::Lock;
use crate::text::decode_base64;
use crate::{ModuleError, Probe};

/// Orders release names as they were deployed: `YYYYmmdd_HHMMSS`, then the
/// `_N` suffix of a second deploy in the same second. `None` for other names.
pub(crate) fn release_key(name: &str) -> Option<(&str, u32)> {
    let stamp = name.get(..15)?;
    let bytes = stamp.as_bytes();
    let digits = |range: std::ops::Range<usize>| bytes[range].iter().all(u8::is_ascii_digit);
    if !(digits(0..8) && bytes[8] == b'_' && digits(9..15)) {
        return None;
    }
    match &name[15..] {
        "" => Some((stamp, 1)),
        rest => {
            let suffix = rest.strip_prefix('_')?;
            if suffix.starts_with('0') || !suffix.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let n: u32 = suffix.parse().ok()?;
            (n >= 2).then_some((stamp, n))
        }
    }
}

/// What the probe found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Facts {
    /// The host's UTC time, `YYYYmmdd_HHMMSS`.
    pub now: String,
    /// The host's time in seconds since the epoch.
    pub now_epoch: Option<u64>,
    /// The release `current` points to.
    pub current: Option<String>,
    /// `current`'s link target as read.
    pub current_link: Option<String>,
    pub current_sha256: Option<String>,
    pub current_artifact: Option<String>,
    /// Who deployed the current release, and the fleet process that did.
    pub current_by: Option<String>,
    pub current_pid: Option<u32>,
    /// Release names, oldest first.
    pub releases: Vec<String>,
    /// The release log's last lines (`info` only).
    pub log: Vec<String>,
    /// The deploy lock, when it is held.
    pub lock: Option<Lock>,
    /// Blue/green: the port nginx's upstream file names.
    pub live_port: Option<u16>,
    /// Blue/green: each slot's link and instance.
    pub slots: Vec<SlotFacts>,
}

/// One blue/green slot as the probe found it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct SlotFacts {
    pub port: u16,
    /// `slots/<port>`'s link text, when it exists.
    pub link: Option<String>,
    /// The release the link names.
    pub release: Option<String>,
    /// `systemctl is-active` of the slot's instance.
    pub state: String,
}

impl SlotFacts {
    pub fn is_active(&self) -> bool {
        matches!(self.state.as_str(), "active" | "activating" | "reloading")
    }
}

/// The last path component of a link's text.
fn release_of(link: &str) -> Option<String> {
    let name = link.trim_end_matches('/').rsplit('/').next()?;
    (!name.is_empty()).then(|| name.to_string())
}

impl Facts {
    pub fn parse(probe: &Probe) -> Result<Facts, ModuleError> {
        if probe.rc != 0 {
            return Err(ModuleError::Probe(probe.stderr.trim().to_string()));
        }
        let mut facts = Facts::default();
        let mut lock_mtime = None;
        let mut lock_owner = None;
        for line in probe.stdout.lines() {
            let Some((key, value)) = line.split_once('=') else {
                continue;
            };
            let value = value.trim();
            match key {
                "now" => facts.now = value.to_string(),
                "now_epoch" => facts.now_epoch = value.parse().ok(),
                "current" => {
                    facts.current_link = Some(value.to_string());
                    facts.current = release_of(value);
                }
                "live_port" => facts.live_port = value.parse().ok(),
                "slot" | "slot_state" => {
                    let (port, rest) = value.split_once(' ').unwrap_or((value, ""));
                    let Ok(port) = port.parse() else { continue };
                    let slot = match facts.slots.iter().position(|slot| slot.port == port) {
                        Some(index) => &mut facts.slots[index],
                        None => {
                            facts.slots.push(SlotFacts {
                                port,
                                ..SlotFacts::default()
                            });
                            facts.slots.last_mut().expect("just pushed")
                        }
                    };
                    let rest = rest.trim();
                    if key == "slot_state" {
                        slot.state = rest.to_string();
                    } else if !rest.is_empty() {
                        slot.link = Some(rest.to_string());
                        slot.release = release_of(rest);
                    }
                }
                "current_sha256" => facts.current_sha256 = Some(value.to_string()),
                "current_artifact" => facts.current_artifact = Some(value.to_string()),
                "current_by" => facts.current_by = Some(value.to_string()),
                "current_pid" => facts.current_pid = value.parse().ok(),
                "release" if release_key(value).is_some() => {
                    facts.releases.push(value.to_string());
                }
                "log" => {
                    let bytes = decode_base64(value, "release log")?;
                    facts.log = String::from_utf8_lossy(&bytes)
                        .lines()
                        .filter(|line| !line.trim().is_empty())
                        .map(String::from)
                        .collect();
                }
                "lock_mtime" => lock_mtime = value.parse().ok(),
                "lock_owner" => {
                    let bytes = decode_base64(value, "deploy lock owner")?;
                    lock_owner = Some(String::from_utf8_lossy(&bytes).into_owned());
                }
                _ => {}
            }
        }
        if release_key(&facts.now).is_none() {
            return Err(ModuleError::Probe(format!(
                "no host time in the probe output: {:?}",
                probe.stdout
            )));
        }
        facts
            .releases
            .sort_by(|a, b| release_key(a).cmp(&release_key(b)));
        facts.releases.dedup();
        facts.lock = lock_owner.map(|text| Lock::parse(&text, lock_mtime));
        Ok(facts)
    }

    /// The newest release older than `name`.
    pub fn older_than(&self, name: &str) -> Option<&str> {
        let key = release_key(name)?;
        self.releases
            .iter()
            .rev()
            .find(|release| release_key(release).is_some_and(|k| k < key))
            .map(String::as_str)
    }

    /// The name of a release deployed now: the host's time, with `_2`,
    /// `_3`… when a release of that second exists. Names always sort after
    /// the existing releases: when the host's clock is behind the newest
    /// one, its time is reused with the next suffix.
    pub fn new_name(&self) -> String {
        let newest = self.releases.last().and_then(|name| release_key(name));
        let stamp = match newest {
            Some((stamp, _)) if stamp > self.now.as_str() => stamp,
            _ => self.now.as_str(),
        };
        std::iter::once(stamp.to_string())
            .chain((2..).map(|n| format!("{stamp}_{n}")))
            .find(|name| release_key(name) > newest)
            .unwrap_or_default()
    }
}

/// The releases to delete after a deploy: all but the newest `keep`, never
/// one of `protect`. `releases` is oldest first.
pub(crate) fn prune(releases: &[String], keep: u32, protect: &[Option<&str>]) -> Vec<String> {
    let cut = releases.len().saturating_sub(keep as usize);
    releases[..cut]
        .iter()
        .filter(|release| !protect.contains(&Some(release.as_str())))
        .cloned()
        .collect()
}

/// One release log line as an object; an empty value is `null`.
pub(crate) fn parse_log_line(line: &str) -> Value {
    let mut object = Map::new();
    for field in line.split('\t') {
        if let Some((key, value)) = field.split_once('=') {
            let value = if value.is_empty() {
                Value::Null
            } else {
                Value::String(value.to_string())
            };
            object.insert(key.to_string(), value);
        }
    }
    Value::Object(object)
}
