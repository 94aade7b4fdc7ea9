//! The shell scripts of `release`: the probe and each phase of a deploy or
//! a rollback, built with fleet-shell: values are bound to variables, the
//! shell text around them is fixed.
//!
//! Every phase prints `fleet-release: <phase>` on stderr first, so that a
//! failure can be named. Phases chain commands with `&&` rather than
//! relying on `set -e`, which a shell ignores inside the `( a ) && ( b )`
//! the engine joins consecutive scripts into.

use super::facts::Facts;
use super::slots::{Target, go_live};
use super::{Artifact, LOG_LINES, MARKER_FILE, Release};
use crate::{Arg, Cmd, Raw, Script, Step};

const PHASES: &[&str] = &[
    "lock", "prepare", "unpack", "link", "pip", "migrate", "start", "switch", "stop", "restart",
    "health", "prune", "unlock",
];

/// The phase a `fleet-release: <phase>` marker line names.
pub(super) fn phase_of(line: &str) -> Option<&str> {
    let phase = line.strip_prefix("fleet-release: ")?.trim_end();
    PHASES.contains(&phase).then_some(phase)
}

/// A script that starts phase `phase`: its marker line on stderr.
pub(super) fn phase(phase: &'static str) -> Script {
    debug_assert!(PHASES.contains(&phase), "unknown phase {phase}");
    Script::new().cmd(message(format!("fleet-release: {phase}")))
}

/// Prints `text` on stderr.
fn message(text: String) -> Cmd {
    Cmd::without_end_of_options("printf")
        .arg("%s\\n")
        .arg(text)
        .to_stderr()
}

const PROBE: &str = r#"echo "now=$(date -u +%Y%m%d_%H%M%S)"
if [ -L "$p/current" ]; then echo "current=$(readlink -- "$p/current")"; fi
if [ -f "$p/current/$marker_file" ]; then sed -n 's/^sha256=/current_sha256=/p; s/^artifact=/current_artifact=/p; s/^by=/current_by=/p; s/^pid=/current_pid=/p' -- "$p/current/$marker_file"; fi
for d in "$p"/releases/*; do if [ -d "$d" ] && [ ! -L "$d" ]; then echo "release=${d##*/}"; fi; done"#;

const PROBE_LOG: &str =
    r#"if [ -f "$log" ]; then echo "log=$(tail -n "$log_lines" -- "$log" | base64 -w0)"; fi"#;

pub(super) fn probe(release: &Release) -> Script {
    let script = Script::new()
        .set("p", &release.root)
        .set("marker_file", MARKER_FILE)
        .snippet(PROBE);
    let script = super::lock::probe(release, script);
    let script = match &release.slots {
        Some(slots) => super::slots::probe(slots, script),
        None => script,
    };
    let script = if release.state == super::ReleaseState::Info {
        script
            .set("log", &release.log)
            .set("log_lines", LOG_LINES.to_string())
            .snippet(PROBE_LOG)
    } else {
        script
    };
    script.snippet("exit 0")
}

const PREPARE: &str = r#"mkdir -p -- "$p/releases" "$p/shared" &&
find "$p/releases" -mindepth 1 -maxdepth 1 -name '.*' \( -name '*.partial' -o -name '*.tar' -o -name '*.tar.gz' \) -exec rm -rf -- {} + &&
find "$p" -mindepth 1 -maxdepth 1 -name '.current.*.tmp' -exec rm -f -- {} + &&
mkdir -- "$partial""#;

/// Closes a phase before the switch: when it fails, the partial release is
/// removed.
const ABANDON_ON_FAILURE: &str = r#"} || {
  rc=$?
  rm -rf -- "$partial"
  printf '%s\n' "$abandon" >&2
  exit "$rc"
}"#;

const UNPACK_RESULT: &str = r#"rc=$?
rm -f -- "$tarball"
[ "$rc" -eq 0 ] && printf 'sha256=%s\nartifact=%s\nby=%s\npid=%s\n' "$sha256" "$artifact" "$by" "$pid" > "$partial/$marker_file""#;

/// The steps of a deploy of `artifact` as release `name`, replacing
/// `previous`, then deleting `pruned`.
pub(super) fn deploy(
    release: &Release,
    facts: &Facts,
    artifact: &Artifact,
    name: &str,
    previous: Option<&str>,
    pruned: &[String],
) -> Vec<Step> {
    let partial = format!("{}/releases/.{name}.partial", release.root);
    let extension = if artifact.gzip { "tar.gz" } else { "tar" };
    let tarball = format!("{}/releases/.{name}.{extension}", release.root);
    let abandon = format!(
        "fleet-release: release {name} not deployed; current is still {}",
        previous.unwrap_or("none")
    );
    // Before the switch, a failure removes the partial release.
    let guarded = |phase_name: &'static str, body: Script| {
        phase(phase_name)
            .set("partial", &partial)
            .set("abandon", &abandon)
            .snippet("{")
            .then(body)
            .snippet(ABANDON_ON_FAILURE)
    };
    let prepare = phase("prepare")
        .set("p", &release.root)
        .set("partial", &partial)
        .snippet(PREPARE);
    let mut steps = vec![
        Step::run(prepare),
        Step::Upload {
            dest: tarball.clone(),
            contents: artifact.upload.clone(),
            mode: 0o600,
            owner: None,
        },
    ];
    let tar = Cmd::new("tar")
        .flag(if artifact.gzip { "-xz" } else { "-x" })
        .flag("--no-same-owner")
        .opt("-f", &tarball)
        .opt("-C", &partial);
    let unpack = Script::new()
        .set("partial", &partial)
        .set("tarball", &tarball)
        .set("marker_file", MARKER_FILE)
        .set("sha256", &artifact.sha256)
        .set("artifact", &artifact.name)
        .set("by", &release.holder.operator)
        .set("pid", release.holder.pid.to_string())
        .cmd(tar)
        .snippet(UNPACK_RESULT);
    steps.push(Step::run(guarded("unpack", unpack)));
    steps.push(Step::run(guarded("link", link(release, &partial))));
    steps.push(Step::run(guarded("pip", pip(release, &partial))));
    if let Some(command) = &release.migrate {
        steps.push(Step::run(guarded(
            "migrate",
            migrate(release, &partial, command),
        )));
    }
    let log = [
        ("action", "deploy"),
        ("release", name),
        ("artifact", &artifact.name),
        ("sha256", &artifact.sha256),
    ];
    match &release.slots {
        Some(slots) => {
            let target = Target {
                name,
                partial: Some(&partial),
                log: &log,
                abandon,
            };
            steps.extend(go_live(release, slots, facts, &target));
            steps.extend(restart(release));
        }
        None => {
            let switch = switch_script(release, name, &log)
                .set("partial", &partial)
                .snippet(MOVE_PARTIAL)
                .snippet(SWITCH_AND_LOG);
            steps.push(Step::run(switch));
            steps.extend(restart(release));
            steps.extend(health(release, name, previous));
        }
    }
    if !pruned.is_empty() {
        let doomed = pruned
            .iter()
            .map(|old| format!("{}/releases/{old}", release.root));
        let removed = Cmd::without_end_of_options("printf")
            .arg("%s\\n")
            .arg(format!("removed: {}", pruned.join(" ")));
        let prune = phase("prune").all([Cmd::new("rm").flag("-rf").operands(doomed), removed]);
        steps.push(Step::run(prune));
    }
    steps
}

const MOVE_PARTIAL: &str = r#"mv -T -- "$partial" "$p/releases/$name" &&"#;

const TARGET_EXISTS: &str = r#"if [ ! -d "$p/releases/$name" ]; then printf 'fleet-release: releases/%s is missing\n' "$name" >&2; exit 1; fi &&"#;

/// Reads the release `current` points to before the switch into `$prev`
/// (for the log: another run may have switched it since the plan was
/// made), then points `current` at `releases/<name>`: a new relative
/// symlink renamed over the old one (`mv -T` is one rename(2)), so
/// `current` always exists. Then appends one tab-separated line to the
/// release log: the host's UTC time, the fields, and `previous=`, the
/// release `$prev` names.
pub(super) const SWITCH_AND_LOG: &str = r#"prev=$(readlink -- "$p/current" 2>/dev/null || true) &&
tmp="$p/.current.$name.tmp" &&
rm -f -- "$tmp" && ln -s -- "releases/$name" "$tmp" && mv -T -- "$tmp" "$p/current" &&
printf 'current -> releases/%s\n' "$name" &&
mkdir -p -- "$log_dir" &&
printf 'time=%s\t%s\tprevious=%s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$log_fields" "${prev##*/}" >> "$log""#;

/// The start of the switch phase to release `name`, logging `fields`: the
/// values [`SWITCH_AND_LOG`] reads.
pub(super) fn switch_script(release: &Release, name: &str, fields: &[(&str, &str)]) -> Script {
    let clean = |value: &str| value.replace(['\t', '\n', '\r'], " ");
    let mut line = vec![format!("by={}", clean(&release.holder.operator))];
    line.extend(
        fields
            .iter()
            .map(|(key, value)| format!("{key}={}", clean(value))),
    );
    let log_dir = match release.log.rsplit_once('/') {
        Some(("", _)) | None => "/".to_string(),
        Some((dir, _)) => dir.to_string(),
    };
    phase("switch")
        .set("p", &release.root)
        .set("name", name)
        .set("log", &release.log)
        .set("log_dir", log_dir)
        .set("log_fields", line.join("\t"))
}

/// The steps of a rollback from `previous` to `target`.
pub(super) fn rollback(
    release: &Release,
    facts: &Facts,
    target: &str,
    previous: Option<&str>,
) -> Vec<Step> {
    let fields = [("action", "rollback"), ("release", target)];
    if let Some(slots) = &release.slots {
        let abandon = format!(
            "fleet-release: not rolled back to {target}; current is still {}",
            previous.unwrap_or("none")
        );
        let target = Target {
            name: target,
            partial: None,
            log: &fields,
            abandon,
        };
        let mut steps = go_live(release, slots, facts, &target);
        steps.extend(restart(release));
        return steps;
    }
    let switch = switch_script(release, target, &fields)
        .snippet(TARGET_EXISTS)
        .snippet(SWITCH_AND_LOG);
    let mut steps = vec![Step::run(switch)];
    steps.extend(restart(release));
    steps.extend(health(release, target, previous));
    steps
}

/// Links one shared path into the release: creates it (owned by `$owner`
/// when that is set) when missing, then replaces `$target` with a link.
const LINK_SHARED: &str = r#"if [ ! -d "$shared" ]; then mkdir -p -- "$shared" && { [ -z "$owner" ] || chown "$owner" -- "$shared"; }; fi &&
rm -rf -- "$target" && mkdir -p -- "${target%/*}" && ln -s -- "$shared" "$target""#;

const LINK_ENV: &str = r#"rm -rf -- "$target" && ln -s -- "$env_file" "$target""#;

/// Links the shared paths and the env file into the release, then hands
/// the release to its owner.
fn link(release: &Release, partial: &str) -> Script {
    let owner = release.chown.as_deref().unwrap_or_default();
    let mut parts: Vec<Script> = release
        .shared
        .iter()
        .map(|path| {
            Script::new()
                .set("shared", format!("{}/shared/{path}", release.root))
                .set("target", format!("{partial}/{path}"))
                .set("owner", owner)
                .snippet(LINK_SHARED)
        })
        .collect();
    parts.push(
        Script::new()
            .set("target", format!("{partial}/.env"))
            .set("env_file", &release.env_file)
            .snippet(LINK_ENV),
    );
    if let Some(spec) = &release.chown {
        parts.push(Script::of(
            Cmd::new("chown").flag("-R").arg(spec).operand(partial),
        ));
    }
    Script::all_of(parts)
}

const PIP_WHEN_NEEDED: &str = r#"if [ ! -f "$partial/$requirements" ]; then
  true
elif [ ! -x "$pip" ]; then
  printf '%s\n' "$no_pip" >&2
  false
else
  cd "$partial" &&"#;

/// Installs the release's requirements into the venv, when it has them.
fn pip(release: &Release, partial: &str) -> Script {
    let no_pip = format!(
        "fleet-release: the release has {} but {}/bin/pip is missing; create the venv first",
        release.requirements, release.venv
    );
    let install = Cmd::at(Arg::var("pip"))
        .flag("install")
        .opt("-r", Arg::var("requirements"));
    let install = release
        .pip_args
        .iter()
        .fold(install, |install, arg| install.arg(arg));
    Script::new()
        .set("partial", partial)
        .set("requirements", &release.requirements)
        .set("pip", format!("{}/bin/pip", release.venv))
        .set("no_pip", no_pip)
        .snippet(PIP_WHEN_NEEDED)
        .cmd(install)
        .snippet("fi")
}

/// Enters the release with the env file's variables exported; the hook runs
/// in the subshell this opens. After the env file is sourced, no variable
/// is read: the hook is inline, and sets `PATH` itself.
const MIGRATE_ENVIRONMENT: &str = r#"cd "$partial" && (
if [ -f ./.env ]; then set -a && . ./.env && set +a; fi &&"#;

/// Runs `command` (the operator's shell text) in the release, with the env
/// file's variables, the venv first on `PATH`, and as the owner when there
/// is one.
fn migrate(release: &Release, partial: &str, command: &str) -> Script {
    let bin = format!("{}/bin", release.venv);
    let hook = Script::new()
        .set("bin", bin)
        .snippet(r#"PATH="$bin:$PATH"; export PATH"#)
        .raw(Raw::operator_text(command));
    let sh = match &release.owner {
        Some(owner) => Cmd::new("runuser")
            .opt("-u", owner)
            .operands(["sh", "-c"])
            .operand(hook.as_str()),
        None => Cmd::without_end_of_options("sh")
            .arg("-c")
            .arg(hook.as_str()),
    };
    Script::new()
        .set("partial", partial)
        .snippet(MIGRATE_ENVIRONMENT)
        .cmd(sh)
        .snippet(")")
}

const RESTART_UNIT: &str = r#"if systemctl is-enabled --quiet -- "$unit"; then
  systemctl restart -- "$unit" && printf 'restarted: %s\n' "$unit"
else
  printf 'not enabled, not restarted: %s\n' "$unit"
fi"#;

/// Restarts the enabled ones of the `restart` units, in order.
fn restart(release: &Release) -> Option<Step> {
    if release.restart.is_empty() {
        return None;
    }
    let units = release
        .restart
        .iter()
        .map(|unit| Script::new().set("unit", unit).snippet(RESTART_UNIT));
    Some(Step::run(phase("restart").then(Script::all_of(units))))
}

pub(super) const NEEDS_CURL: &str = r#"command -v curl >/dev/null || { echo 'fleet-release: health_urls need curl on the host' >&2; exit 1; }"#;

/// Waits until `$url` answers 2xx, `$retries` times at most, `$delay`
/// seconds apart; says how it failed when it does not.
const CHECK_URL: &str = r#"body=$(mktemp) && err=$(mktemp) || exit 1
n=0
while :; do
  n=$((n + 1))
  code=$(curl -sS --max-time "$timeout" -o "$body" -w '%{http_code}' "$url" 2>"$err")
  case $code in 2??) rm -f -- "$body" "$err"; exit 0 ;; esac
  if [ "$n" -ge "$retries" ]; then break; fi
  sleep "$delay"
done
case $code in 000|'') last=$(cat -- "$err") ;; *) last="HTTP $code: $(head -c 300 -- "$body")" ;; esac
printf 'fleet-release: health check failed: %s: %s\n' "$url" "$last" >&2
rm -f -- "$body" "$err"
exit 1"#;

/// Waits until `url` answers 2xx, per the release's retries and timeout.
pub(super) fn check_url(release: &Release, url: &str) -> Script {
    Script::new()
        .set("url", url)
        .set("timeout", release.health_timeout.to_string())
        .set("retries", release.health_retries.to_string())
        .set("delay", release.health_delay.to_string())
        .snippet(CHECK_URL)
}

const HEALTH_FAILED: &str = r#"} || {
  printf '%s\n' "$context" >&2
  exit 1
}"#;

const HEALTH_FAILED_WITH_JOURNAL: &str = r#"} || {
  printf '%s\n' "$context" >&2
  printf 'fleet-release: last 30 journal lines of %s:\n' "$unit" >&2
  journalctl -u "$unit" -n 30 --no-pager >&2
  exit 1
}"#;

/// Waits until every health URL answers 2xx. On failure, says which URL
/// failed and how, which release is current now, and shows the journal of
/// the first restarted unit.
fn health(release: &Release, current: &str, previous: Option<&str>) -> Option<Step> {
    if release.health_urls.is_empty() {
        return None;
    }
    let checks = release
        .health_urls
        .iter()
        .map(|url| check_url(release, url));
    let context = format!(
        "fleet-release: current is now {current} (previous: {}); not switched back",
        previous.unwrap_or("none")
    );
    let script = phase("health").snippet(NEEDS_CURL).set("context", context);
    let script = match release.restart.first() {
        Some(unit) => script.set("unit", unit),
        None => script,
    };
    let script = script.snippet("{").then(Script::all_of(checks));
    let script = match release.restart.first() {
        Some(_) => script.snippet(HEALTH_FAILED_WITH_JOURNAL),
        None => script.snippet(HEALTH_FAILED),
    };
    Some(Step::run(script))
}
