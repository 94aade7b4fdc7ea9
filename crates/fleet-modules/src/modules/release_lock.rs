//! The deploy lock of `release`: the directory `<path>/.fleet-lock`, taken
//! with `mkdir` (atomic: of two runs, exactly one creates it), holding an
//! `owner` file that names the run holding it:
//!
//! ```text
//! operator=alice@ci-runner
//! pid=4242
//! run=1795507199123456789
//! playbook=playbooks/release.yaml
//! since=1795507200
//! since_iso=2026-11-24T08:00:00Z
//! ```
//!
//! A deploy and a rollback take it before they change anything and release
//! it when they are done, also when they fail; only the run its owner file
//! names removes it. A lock older than `lock_ttl` seconds is stale: it is
//! still refused, until `state: unlock` breaks it.

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use super::Release;
use super::facts::Facts;
use super::script::phase;
use crate::{ModuleError, Plan, Script, Step};

pub(super) const LOCK_DIR: &str = ".fleet-lock";
const OWNER_FILE: &str = "owner";
/// The prefix of the lines the lock step prints on stderr when it gives up.
const REFUSED: &str = "fleet-lock: ";

/// This run, as a lock's owner file names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Holder {
    /// `user@controller`.
    pub operator: String,
    /// The fleet process.
    pub pid: u32,
    /// The controller's clock (ns since the epoch) when the task's module
    /// was built: with `operator` and `pid`, it tells this run's lock from
    /// one taken later.
    pub run: u128,
    /// The playbook file, as given.
    pub playbook: String,
}

impl Holder {
    pub fn new(operator: String, playbook: String) -> Holder {
        let run = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_nanos());
        Holder {
            operator: one_line(&operator),
            pid: std::process::id(),
            run,
            playbook: one_line(&playbook),
        }
    }

    /// The owner file's lines that identify this run.
    fn identity(&self) -> [String; 3] {
        [
            format!("operator={}", self.operator),
            format!("pid={}", self.pid),
            format!("run={}", self.run),
        ]
    }
}

fn one_line(text: &str) -> String {
    text.replace(['\n', '\r', '\t'], " ").trim().to_string()
}

/// A lock found on the host.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Lock {
    /// The owner file as read; empty when it is missing.
    pub text: String,
    pub operator: Option<String>,
    pub pid: Option<u32>,
    pub playbook: Option<String>,
    /// When it was taken, host time in seconds since the epoch.
    pub since: Option<u64>,
    pub since_iso: Option<String>,
    /// The lock directory's mtime.
    pub mtime: Option<u64>,
}

impl Lock {
    /// Reads an owner file's `key=value` lines; unknown keys and lines
    /// without `=` are ignored.
    pub fn parse(text: &str, mtime: Option<u64>) -> Lock {
        let mut lock = Lock {
            text: text.to_string(),
            mtime,
            ..Lock::default()
        };
        for line in text.lines() {
            let Some((key, value)) = line.split_once('=') else {
                continue;
            };
            let value = value.trim();
            if value.is_empty() {
                continue;
            }
            match key.trim() {
                "operator" => lock.operator = Some(value.to_string()),
                "pid" => lock.pid = value.parse().ok(),
                "playbook" => lock.playbook = Some(value.to_string()),
                "since" => lock.since = value.parse().ok(),
                "since_iso" => lock.since_iso = Some(value.to_string()),
                _ => {}
            }
        }
        lock
    }

    /// When it was taken: the owner file's `since`, else the directory's
    /// mtime.
    fn taken(&self) -> Option<u64> {
        self.since.or(self.mtime)
    }

    /// Seconds since it was taken (0 when the host's clock went back).
    pub fn age(&self, now: u64) -> Option<u64> {
        self.taken().map(|taken| now.saturating_sub(taken))
    }

    /// Older than `ttl` seconds. A lock whose age cannot be told is stale.
    pub fn is_stale(&self, now: u64, ttl: u32) -> bool {
        self.age(now).is_none_or(|age| age > u64::from(ttl))
    }

    /// `alice@ci-runner (pid 4242, since 2026-11-24T08:00:00Z, playbooks/release.yaml)`.
    pub fn describe(&self) -> String {
        let mut details = Vec::new();
        if self.text.trim().is_empty() {
            details.push("no owner file".to_string());
        }
        if let Some(pid) = self.pid {
            details.push(format!("pid {pid}"));
        }
        if let Some(since) = self.since_text() {
            details.push(format!("since {since}"));
        }
        if let Some(playbook) = &self.playbook {
            details.push(playbook.clone());
        }
        let who = self.operator.as_deref().unwrap_or("an unknown run");
        if details.is_empty() {
            who.to_string()
        } else {
            format!("{who} ({})", details.join(", "))
        }
    }

    fn since_text(&self) -> Option<String> {
        self.since_iso
            .clone()
            .or_else(|| self.taken().map(iso_time))
    }

    /// [`Lock::describe`], then its age and whether it is stale.
    pub fn describe_with_age(&self, now: Option<u64>, ttl: u32) -> String {
        let mut text = self.describe();
        if let Some(now) = now {
            if let Some(age) = self.age(now) {
                text.push_str(&format!(", {} old", span(age)));
            }
            if self.is_stale(now, ttl) {
                text.push_str(", stale");
            }
        }
        text
    }

    pub fn to_json(&self, now: Option<u64>, ttl: u32) -> Value {
        json!({
            "operator": self.operator,
            "pid": self.pid,
            "playbook": self.playbook,
            "since": self.since_text(),
            "age": now.and_then(|now| self.age(now)),
            "stale": now.map(|now| self.is_stale(now, ttl)),
        })
    }
}

fn lock_dir(release: &Release) -> String {
    format!("{}/{LOCK_DIR}", release.root)
}

/// `$l` is the lock dir, `$owner_file` its owner file.
fn with_lock_paths(release: &Release, script: Script) -> Script {
    let dir = lock_dir(release);
    script
        .set("owner_file", format!("{dir}/{OWNER_FILE}"))
        .set("l", dir)
}

const PROBE: &str = r#"echo "now_epoch=$(date -u +%s)"
if [ -e "$l" ] || [ -L "$l" ]; then
  echo "lock_mtime=$(stat -c %Y -- "$l" 2>/dev/null)"
  if [ -f "$owner_file" ]; then echo "lock_owner=$(base64 -w0 < "$owner_file")"; else echo lock_owner=; fi
fi"#;

/// The probe's part: the host's clock in seconds, and the lock's mtime and
/// owner file when it is held.
pub(super) fn probe(release: &Release, script: Script) -> Script {
    with_lock_paths(release, script).snippet(PROBE)
}

/// What must still hold once the lock is taken: a run that held it
/// meanwhile may have changed the host since the plan was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Guard<'a> {
    /// A deploy goes on whatever is current then (the log records what it
    /// replaced), but the release it creates must not exist yet.
    NewRelease(&'a str),
    /// A rollback's target was chosen from `current`: it must still point
    /// where it did (this link text; `None`: no `current`).
    Current(Option<&'a str>),
}

/// Takes the lock (`mkdir`), polling every second up to `$wait` times; when
/// it stays held, prints what [`refusal_in`] reads and fails. Then writes
/// the owner file.
const ACQUIRE: &str = r#"mkdir -p -- "$p" || exit 1
n=0
while ! mkdir -- "$l" 2>/dev/null; do
  if [ ! -e "$l" ] && [ ! -L "$l" ]; then
    mkdir -- "$l" && break
    exit 1
  fi
  if [ "$n" -ge "$wait" ]; then
    echo "${refused}now=$(date -u +%s)" >&2
    echo "${refused}mtime=$(stat -c %Y -- "$l" 2>/dev/null)" >&2
    echo "${refused}waited=$n" >&2
    if [ -f "$owner_file" ]; then sed "s/^/${refused}owner: /" -- "$owner_file" >&2; fi
    exit 1
  fi
  n=$((n + 1))
  sleep 1
done
set -- $(date -u +'%s %Y-%m-%dT%H:%M:%SZ')
if ! printf '%s\nsince=%s\nsince_iso=%s\n' "$owner_lines" "$1" "$2" > "$owner_file"; then
  rm -rf -- "$l"
  exit 1
fi"#;

const NEW_RELEASE_GUARD: &str = r#"if [ -e "$p/releases/$name" ]; then
  printf '%s\n' "$changed" >&2
  exit 1
fi"#;

const CURRENT_GUARD: &str = r#"if [ "$(readlink -- "$p/current" 2>/dev/null)" != "$link" ]; then
  printf '%s\n' "$changed" >&2
  exit 1
fi"#;

/// Takes the lock, waiting up to `lock_wait` seconds, and writes the owner
/// file; then checks `guard`.
pub(super) fn acquire(release: &Release, guard: Guard<'_>) -> Step {
    let holder = &release.holder;
    let mut lines = holder.identity().to_vec();
    lines.push(format!("playbook={}", holder.playbook));
    let script = with_lock_paths(release, phase("lock").set("p", &release.root))
        .set("wait", release.lock_wait.to_string())
        .set("refused", REFUSED)
        .set("owner_lines", lines.join("\n"))
        .snippet(ACQUIRE);
    let script = match guard {
        Guard::NewRelease(name) => script
            .set("name", name)
            .set(
                "changed",
                format!(
                    "fleet-release: release {name} was made while this run waited for the deploy \
                     lock; nothing was changed: run again"
                ),
            )
            .snippet(NEW_RELEASE_GUARD),
        Guard::Current(link) => script
            .set("link", link.unwrap_or(""))
            .set(
                "changed",
                format!(
                    "fleet-release: current changed while this run waited for the deploy lock \
                     (it was {}); nothing was changed: run again",
                    link.unwrap_or("missing")
                ),
            )
            .snippet(CURRENT_GUARD),
    };
    Step::run(script)
}

const RELEASE: &str = r#"if [ -f "$owner_file" ] && grep -qxF -- "$operator" "$owner_file" && grep -qxF -- "$pid" "$owner_file" && grep -qxF -- "$run" "$owner_file"; then
  rm -rf -- "$l"
fi"#;

/// Removes the lock when its owner file still names this run: a lock
/// broken and taken by another run meanwhile is left alone.
pub(super) fn release(release: &Release) -> Step {
    let [operator, pid, run] = release.holder.identity();
    let script = with_lock_paths(release, phase("unlock"))
        .set("operator", operator)
        .set("pid", pid)
        .set("run", run)
        .snippet(RELEASE);
    Step::run(script)
}

/// Why the lock step gave up, from what it printed on stderr; `None` when
/// it did not.
pub(super) fn refusal_in(release: &Release, stderr: &str) -> Option<String> {
    let mut seen = false;
    let (mut now, mut mtime, mut waited) = (None, None, 0);
    let mut owner = String::new();
    for line in stderr.lines() {
        let Some(rest) = line.strip_prefix(REFUSED) else {
            continue;
        };
        seen = true;
        if let Some(line) = rest.strip_prefix("owner: ") {
            owner.push_str(line);
            owner.push('\n');
        } else if let Some((key, value)) = rest.split_once('=') {
            let value = value.trim();
            match key {
                "now" => now = value.parse().ok(),
                "mtime" => mtime = value.parse().ok(),
                "waited" => waited = value.parse().unwrap_or(0),
                _ => {}
            }
        }
    }
    seen.then(|| refusal(release, &Lock::parse(&owner, mtime), now, waited))
}

/// Why a deploy or rollback did not take the lock.
pub(super) fn refusal(release: &Release, lock: &Lock, now: Option<u64>, waited: u32) -> String {
    let dir = lock_dir(release);
    let held = lock.describe();
    let ttl = release.lock_ttl;
    match now {
        Some(now) if lock.is_stale(now, ttl) => {
            let age = lock
                .age(now)
                .map_or_else(|| "an unknown time".to_string(), span);
            format!(
                "deploy lock {dir} is stale: held by {held} for {age}, longer than lock_ttl \
                 ({ttl}s); a stale lock is never broken silently\n  hint: if that run is gone, \
                 break the lock with `fleet unlock -i INV PLAYBOOK -l HOST`, then run again"
            )
        }
        _ if waited > 0 => {
            format!("deploy lock {dir} is held by {held}; still held after waiting {waited}s")
        }
        _ => format!(
            "deploy lock {dir} is held by {held}\n  hint: another deploy or rollback is \
             running there; wait for it with --lock-wait S"
        ),
    }
}

/// `unlock`: breaks the lock when it is stale, or any lock with `force`.
pub(super) fn plan_unlock(release: &Release, facts: &Facts) -> Result<Plan, ModuleError> {
    let dir = lock_dir(release);
    let Some(lock) = &facts.lock else {
        let mut plan = Plan::unchanged();
        plan.msg = Some(format!("no deploy lock in {}", release.root));
        plan.data.insert("lock".into(), Value::Null);
        return Ok(plan);
    };
    let now = facts
        .now_epoch
        .ok_or_else(|| ModuleError::Probe("no host time (now_epoch) in the probe output".into()))?;
    let ttl = release.lock_ttl;
    let stale = lock.is_stale(now, ttl);
    let age = lock
        .age(now)
        .map_or_else(|| "an unknown time".to_string(), span);
    if !stale && !release.force {
        return Err(ModuleError::Failed(format!(
            "deploy lock {dir} is held by {} for {age}, less than lock_ttl ({ttl}s): not stale, \
             not broken\n  hint: if that run is gone (killed, or its connection lost), break the \
             lock anyway with `fleet unlock --force`",
            lock.describe()
        )));
    }
    let kind = if stale {
        "stale deploy lock"
    } else {
        "live deploy lock (forced)"
    };
    let mut plan =
        Plan::change(vec![break_lock(release, lock)]).with_diff(Some(format!("remove: {dir}\n")));
    plan.msg = Some(format!("{kind} of {}, {age} old", lock.describe()));
    plan.data
        .insert("lock".into(), lock.to_json(Some(now), ttl));
    Ok(plan)
}

const BREAK: &str = r#"if [ ! -e "$l" ] && [ ! -L "$l" ]; then exit 0; fi
if [ "$(cat -- "$owner_file" 2>/dev/null)" != "$read" ]; then
  echo 'fleet-release: the deploy lock changed since it was read (taken again?); not broken: run fleet unlock again to see its owner' >&2
  exit 1
fi
rm -rf -- "$l""#;

/// Removes the lock if its owner file is still the one the probe read.
fn break_lock(release: &Release, lock: &Lock) -> Step {
    let script = with_lock_paths(release, phase("unlock"))
        .set("read", lock.text.trim_end_matches('\n'))
        .snippet(BREAK);
    Step::run(script)
}

/// `42s`, `12m05s`, `2h05m`, `3d04h`.
pub(crate) fn span(secs: u64) -> String {
    match secs {
        0..60 => format!("{secs}s"),
        60..3600 => format!("{}m{:02}s", secs / 60, secs % 60),
        3600..86_400 => format!("{}h{:02}m", secs / 3600, secs % 3600 / 60),
        _ => format!("{}d{:02}h", secs / 86_400, secs % 86_400 / 3600),
    }
}

/// `2026-11-24T08:00:00Z` for seconds since the epoch.
pub(crate) fn iso_time(epoch: u64) -> String {
    let (year, month, day) = civil_from_days(epoch / 86_400);
    let secs = epoch % 86_400;
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

/// The Gregorian date `days` after 1970-01-01: days are counted in
/// 400-year eras of 146097 days, from a year that starts on March 1st so
/// that the leap day comes last.
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let shifted = days + 719_468;
    let era = shifted / 146_097;
    let day_of_era = shifted % 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = era * 400 + year_of_era + u64::from(month <= 2);
    (year, month, day)
}
