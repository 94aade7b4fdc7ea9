//! The shell scripts of `release`: the probe and each phase of a deploy or
//! a rollback.
//!
//! Every phase prints `fleet-release: <phase>` on stderr first, so that a
//! failure can be named. Phases chain commands with `&&` rather than
//! relying on `set -e`, which a shell ignores inside the `( a ) && ( b )`
//! the engine joins consecutive scripts into.

use super::{Artifact, LOG_LINES, MARKER_FILE, Release};
use crate::Step;
use crate::shell::quote;

const PHASES: &[&str] = &[
    "lock", "prepare", "unpack", "link", "pip", "migrate", "switch", "restart", "health", "prune",
    "unlock",
];

/// The phase a `fleet-release: <phase>` marker line names.
pub(super) fn phase_of(line: &str) -> Option<&str> {
    let phase = line.strip_prefix("fleet-release: ")?.trim_end();
    PHASES.contains(&phase).then_some(phase)
}

pub(super) fn marker(phase: &str) -> String {
    format!("echo 'fleet-release: {phase}' >&2")
}

impl Release {
    /// `<root>/<rel>`, quoted.
    fn at(&self, rel: &str) -> String {
        quote(&format!("{}/{rel}", self.root))
    }
}

pub(super) fn probe(release: &Release) -> String {
    let mut script = format!(
        "p={root}\n\
         echo \"now=$(date -u +%Y%m%d_%H%M%S)\"\n\
         if [ -L \"$p/current\" ]; then echo \"current=$(readlink -- \"$p/current\")\"; fi\n\
         if [ -f \"$p/current/{MARKER_FILE}\" ]; then \
         sed -n 's/^sha256=/current_sha256=/p; s/^artifact=/current_artifact=/p; \
         s/^by=/current_by=/p; s/^pid=/current_pid=/p' \"$p/current/{MARKER_FILE}\"; fi\n\
         for d in \"$p\"/releases/*; do \
         if [ -d \"$d\" ] && [ ! -L \"$d\" ]; then echo \"release=${{d##*/}}\"; fi; done\n\
         {lock}",
        root = quote(&release.root),
        lock = super::lock::probe(),
    );
    if release.state == super::ReleaseState::Info {
        let log = quote(&release.log);
        script.push_str(&format!(
            "if [ -f {log} ]; then echo \"log=$(tail -n {LOG_LINES} -- {log} | base64 -w0)\"; fi\n"
        ));
    }
    script.push_str("exit 0");
    script
}

/// The steps of a deploy of `artifact` as release `name`, replacing
/// `previous`, then deleting `pruned`.
pub(super) fn deploy(
    release: &Release,
    artifact: &Artifact,
    name: &str,
    previous: Option<&str>,
    pruned: &[String],
) -> Vec<Step> {
    let releases = release.at("releases");
    let partial = release.at(&format!("releases/.{name}.partial"));
    let extension = if artifact.gzip { "tar.gz" } else { "tar" };
    let tarball = format!("{}/releases/.{name}.{extension}", release.root);
    let abandon = format!(
        "fleet-release: release {name} not deployed; current is still {}",
        previous.unwrap_or("none")
    );
    // Before the switch, a failure removes the partial release.
    let guarded = |phase: &str, body: String| {
        format!(
            "{} && {{ {body}; }} || {{ rc=$?; rm -rf -- {partial}; echo {} >&2; exit $rc; }}",
            marker(phase),
            quote(&abandon)
        )
    };
    let mut steps = vec![
        Step::run(format!(
            "{} && mkdir -p -- {releases} {shared} && \
             find {releases} -mindepth 1 -maxdepth 1 -name '.*' \
             \\( -name '*.partial' -o -name '*.tar' -o -name '*.tar.gz' \\) -exec rm -rf -- {{}} + && \
             find {root} -mindepth 1 -maxdepth 1 -name '.current.*.tmp' -exec rm -f -- {{}} + && \
             mkdir -- {partial}",
            marker("prepare"),
            shared = release.at("shared"),
            root = quote(&release.root),
        )),
        Step::Upload {
            dest: tarball.clone(),
            contents: artifact.upload.clone(),
            mode: 0o600,
            owner: None,
        },
    ];
    let gzip = if artifact.gzip { "z" } else { "" };
    let tarball = quote(&tarball);
    steps.push(Step::run(guarded(
        "unpack",
        format!(
            "tar -x{gzip} --no-same-owner -f {tarball} -C {partial}; rc=$?; rm -f -- {tarball}; \
             [ \"$rc\" -eq 0 ] && printf 'sha256=%s\\nartifact=%s\\nby=%s\\npid=%s\\n' {} {} {} {} \
             > {partial}/{MARKER_FILE}",
            quote(&artifact.sha256),
            quote(&artifact.name),
            quote(&release.holder.operator),
            release.holder.pid,
        ),
    )));
    steps.push(Step::run(guarded("link", link(release, &partial))));
    steps.push(Step::run(guarded("pip", pip(release, &partial))));
    if let Some(command) = &release.migrate {
        steps.push(Step::run(guarded(
            "migrate",
            migrate(release, &partial, command),
        )));
    }
    let log = log_line(
        release,
        &[
            ("action", "deploy"),
            ("release", name),
            ("artifact", &artifact.name),
            ("sha256", &artifact.sha256),
        ],
    );
    steps.push(Step::run(format!(
        "{} && {} && mv -T -- {partial} {} && {} && {log}",
        marker("switch"),
        read_previous(release),
        release.at(&format!("releases/{name}")),
        switch_current(release, name),
    )));
    steps.extend(restart(release));
    steps.extend(health(release, name, previous));
    if !pruned.is_empty() {
        let doomed: Vec<String> = pruned
            .iter()
            .map(|old| release.at(&format!("releases/{old}")))
            .collect();
        steps.push(Step::run(format!(
            "{} && rm -rf -- {} && echo {}",
            marker("prune"),
            doomed.join(" "),
            quote(&format!("removed: {}", pruned.join(" "))),
        )));
    }
    steps
}

/// The steps of a rollback from `previous` to `target`.
pub(super) fn rollback(release: &Release, target: &str, previous: Option<&str>) -> Vec<Step> {
    let dir = release.at(&format!("releases/{target}"));
    let missing = quote(&format!("fleet-release: releases/{target} is missing"));
    let log = log_line(release, &[("action", "rollback"), ("release", target)]);
    let mut steps = vec![Step::run(format!(
        "{} && if [ ! -d {dir} ]; then echo {missing} >&2; exit 1; fi && {} && {} && {log}",
        marker("switch"),
        read_previous(release),
        switch_current(release, target),
    ))];
    steps.extend(restart(release));
    steps.extend(health(release, target, previous));
    steps
}

/// Points `current` at `releases/<name>`: a new relative symlink renamed
/// over the old one (`mv -T` is one rename(2)), so `current` always exists.
fn switch_current(release: &Release, name: &str) -> String {
    let temp = release.at(&format!(".current.{name}.tmp"));
    format!(
        "rm -f -- {temp} && ln -s -- {} {temp} && mv -T -- {temp} {} && echo {}",
        quote(&format!("releases/{name}")),
        release.at("current"),
        quote(&format!("current -> releases/{name}")),
    )
}

/// Links the shared paths and the env file into the release, then hands
/// the release to its owner.
fn link(release: &Release, partial: &str) -> String {
    let mut commands = Vec::new();
    for path in &release.shared {
        let shared = release.at(&format!("shared/{path}"));
        let chown = match &release.chown {
            Some(spec) => format!(" && chown {} -- {shared}", quote(spec)),
            None => String::new(),
        };
        commands.push(format!(
            "if [ ! -d {shared} ]; then mkdir -p -- {shared}{chown}; fi"
        ));
        let target = format!("{partial}/{}", quote(path));
        commands.push(format!("rm -rf -- {target}"));
        if let Some((parent, _)) = path.rsplit_once('/') {
            commands.push(format!("mkdir -p -- {partial}/{}", quote(parent)));
        }
        commands.push(format!("ln -s -- {shared} {target}"));
    }
    commands.push(format!("rm -rf -- {partial}/.env"));
    commands.push(format!(
        "ln -s -- {} {partial}/.env",
        quote(&release.env_file)
    ));
    if let Some(spec) = &release.chown {
        commands.push(format!("chown -R {} -- {partial}", quote(spec)));
    }
    commands.join(" && ")
}

/// Installs the release's requirements into the venv, when it has them.
fn pip(release: &Release, partial: &str) -> String {
    let requirements = quote(&release.requirements);
    let pip = quote(&format!("{}/bin/pip", release.venv));
    let args: String = release
        .pip_args
        .iter()
        .map(|arg| format!(" {}", quote(arg)))
        .collect();
    let no_pip = quote(&format!(
        "fleet-release: the release has {} but {}/bin/pip is missing; create the venv first",
        release.requirements, release.venv
    ));
    format!(
        "if [ -f {partial}/{requirements} ]; then \
         if [ -x {pip} ]; then cd {partial} && {pip} install -r {requirements}{args}; \
         else echo {no_pip} >&2; false; fi; fi"
    )
}

/// Runs `command` in the release, with the env file's variables, the venv
/// first on `PATH`, and as the owner when there is one.
fn migrate(release: &Release, partial: &str, command: &str) -> String {
    let bin = quote(&format!("{}/bin", release.venv));
    let inner = quote(&format!("PATH={bin}:\"$PATH\"; export PATH; {command}"));
    let run_as = match &release.owner {
        Some(owner) => format!("runuser -u {} -- ", quote(owner)),
        None => String::new(),
    };
    format!(
        "cd {partial} && ( if [ -f ./.env ]; then set -a && . ./.env && set +a; fi && \
         PATH={bin}:\"$PATH\" && export PATH && {run_as}sh -c {inner} )"
    )
}

/// Restarts the enabled ones of the `restart` units, in order.
fn restart(release: &Release) -> Option<Step> {
    if release.restart.is_empty() {
        return None;
    }
    let mut commands = vec![marker("restart")];
    for unit in &release.restart {
        let unit = quote(unit);
        commands.push(format!(
            "if systemctl is-enabled --quiet {unit}; then systemctl restart {unit} && \
             echo restarted: {unit}; else echo not enabled, not restarted: {unit}; fi"
        ));
    }
    Some(Step::run(commands.join(" && ")))
}

/// Waits until every health URL answers 2xx. On failure, says which URL
/// failed and how, which release is current now, and shows the journal of
/// the first restarted unit.
fn health(release: &Release, current: &str, previous: Option<&str>) -> Option<Step> {
    if release.health_urls.is_empty() {
        return None;
    }
    let urls: Vec<String> = release.health_urls.iter().map(|url| quote(url)).collect();
    let context = quote(&format!(
        "fleet-release: current is now {current} (previous: {}); not switched back",
        previous.unwrap_or("none")
    ));
    let journal = match release.restart.first() {
        Some(unit) => format!(
            "  echo {} >&2\n  journalctl -u {} -n 30 --no-pager >&2\n",
            quote(&format!("fleet-release: last 30 journal lines of {unit}:")),
            quote(unit)
        ),
        None => String::new(),
    };
    Some(Step::run(format!(
        r#"{marker}
command -v curl >/dev/null || {{ echo 'fleet-release: health_urls need curl on the host' >&2; exit 1; }}
body=$(mktemp) && err=$(mktemp) || exit 1
failed=
for url in {urls}; do
  n=0
  while :; do
    n=$((n + 1))
    code=$(curl -sS --max-time {timeout} -o "$body" -w '%{{http_code}}' "$url" 2>"$err")
    case $code in 2??) break ;; esac
    if [ "$n" -ge {retries} ]; then failed=$url; break; fi
    sleep {delay}
  done
  [ -z "$failed" ] || break
done
if [ -n "$failed" ]; then
  case $code in 000|'') last=$(cat "$err") ;; *) last="HTTP $code: $(head -c 300 "$body")" ;; esac
  printf 'fleet-release: health check failed: %s: %s\n' "$failed" "$last" >&2
  echo {context} >&2
{journal}fi
rm -f -- "$body" "$err"
[ -z "$failed" ]"#,
        marker = marker("health"),
        urls = urls.join(" "),
        timeout = release.health_timeout,
        retries = release.health_retries,
        delay = release.health_delay,
    )))
}

/// Reads the release `current` points to before the switch into `$prev`
/// (for the log: another run may have switched it since the plan was made).
fn read_previous(release: &Release) -> String {
    format!(
        "prev=$(readlink -- {} 2>/dev/null || true)",
        release.at("current")
    )
}

/// Appends one tab-separated `key=value` line to the release log, after
/// the host's UTC time and the operator, ending with `previous=`: the
/// release `$prev` names (see [`read_previous`]).
fn log_line(release: &Release, fields: &[(&str, &str)]) -> String {
    let clean = |value: &str| value.replace(['\t', '\n', '\r'], " ");
    let mut rest = vec![format!("by={}", clean(&release.holder.operator))];
    rest.extend(
        fields
            .iter()
            .map(|(key, value)| format!("{key}={}", clean(value))),
    );
    let dir = match release.log.rsplit_once('/') {
        Some(("", _)) | None => "/".to_string(),
        Some((dir, _)) => dir.to_string(),
    };
    format!(
        "mkdir -p -- {} && printf 'time=%s\\t%s\\tprevious=%s\\n' \"$(date -u +%Y-%m-%dT%H:%M:%SZ)\" {} \"${{prev##*/}}\" >> {}",
        quote(&dir),
        quote(&rest.join("\t")),
        quote(&release.log)
    )
}
