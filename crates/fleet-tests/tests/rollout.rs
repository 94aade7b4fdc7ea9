//! Rolling releases on lab1-lab6: batches, the health gate with automatic
//! rollback, and the `max_fail_percentage` boundary, all blue/green. Each
//! test deploys its own stand-in app (`rollout/server.py`) with the
//! `release` module: two slots (template unit instances on port + 1000 and
//! port + 2000) behind its own nginx site on `port`, so the tests can run
//! side by side. After every run, each host serves one release from
//! exactly one running instance, the one nginx's upstream names.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{PoisonError, RwLock, RwLockReadGuard};

use fleet_tests::{Lab, assert_exit, events, scratch_dir};
use serde_json::Value;

const HOSTS: [&str; 6] = ["lab1", "lab2", "lab3", "lab4", "lab5", "lab6"];

/// The tests share lab1-lab6; the one that cuts a host's link runs alone.
static LINKS: RwLock<()> = RwLock::new(());

fn shared_links() -> RwLockReadGuard<'static, ()> {
    LINKS.read().unwrap_or_else(PoisonError::into_inner)
}

struct App {
    name: String,
    port: u16,
    scratch: PathBuf,
}

/// nginx on every host, installed once for all tests.
fn nginx_everywhere() {
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    INSTALLED.call_once(|| {
        let install = "dpkg -s nginx >/dev/null 2>&1 || { apt-get update -q >/dev/null && \
            DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=120 install -y -q nginx >/dev/null; } && \
            rm -f /etc/nginx/sites-enabled/default && systemctl reload-or-restart nginx";
        let installs: Vec<_> = HOSTS
            .iter()
            .map(|host| std::thread::spawn(move || (host, Lab::get().ssh(host, install))))
            .collect();
        for install in installs {
            let (host, out) = install.join().unwrap();
            assert!(
                out.status.success(),
                "{host}: nginx: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    });
}

impl App {
    /// Installs the app's template unit and nginx site on every host and
    /// deploys release v1.
    fn new(name: &str, port: u16, play: &str) -> App {
        let lab = Lab::get();
        nginx_everywhere();
        let scratch = scratch_dir(name);
        let app = App {
            name: name.to_string(),
            port,
            scratch,
        };
        let unit = format!(
            "[Service]\nWorkingDirectory=/opt/{name}/slots/%i\n\
             ExecStart=/usr/bin/python3 server.py %i\nRestart=always\nRestartSec=1\n\
             [Install]\nWantedBy=multi-user.target\n"
        );
        let site = format!(
            "upstream {name} {{ include /etc/nginx/{name}-upstream.conf; }}\n\
             server {{ listen {port}; location / {{ proxy_pass http://{name}; }} }}\n"
        );
        let [blue, _] = app.slot_ports();
        for host in HOSTS {
            let setup = format!(
                "systemctl stop '{name}-api@*' 2>/dev/null; systemctl disable --now {name}-api 2>/dev/null; \
                 rm -f /etc/systemd/system/{name}-api.service; \
                 rm -rf /opt/{name} /etc/{name}-fail /etc/systemd/system/multi-user.target.wants/{name}-api@*; \
                 printf '%s' '{unit}' > /etc/systemd/system/{name}-api@.service && \
                 printf 'server 127.0.0.1:{blue};\n' > /etc/nginx/{name}-upstream.conf && \
                 printf '%s' '{site}' > /etc/nginx/sites-enabled/{name}.conf && \
                 nginx -t -q && nginx -s reload && systemctl daemon-reload"
            );
            let out = lab.ssh(host, &setup);
            assert!(
                out.status.success(),
                "{host}: setup: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::fs::write(app.scratch.join("playbook.yaml"), play).unwrap();
        let v1 = app.artifact("v1", false);
        let first = app.deploy(&v1, &[]);
        assert_exit(&first, 0);
        app.assert_one_live_instance_everywhere();
        app
    }

    fn slot_ports(&self) -> [u16; 2] {
        [self.port + 1000, self.port + 2000]
    }

    /// The gate's invariant: `host` runs exactly one instance of the app,
    /// on the port nginx's upstream names, and serves through nginx.
    fn assert_one_live_instance(&self, host: &str) {
        let name = &self.name;
        let out = Lab::get().ssh(
            host,
            &format!(
                "sed -n 's/^server 127.0.0.1:\\([0-9]*\\);$/\\1/p' /etc/nginx/{name}-upstream.conf; \
                 systemctl list-units '{name}-api@*' --state=active --plain --no-legend | awk '{{print $1}}'"
            ),
        );
        let lines: Vec<String> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_string)
            .collect();
        let (live, running) = lines.split_first().expect("the upstream file names a port");
        assert_eq!(
            running,
            [format!("{name}-api@{live}.service")],
            "{host}: one instance, the live one"
        );
        self.serving(host);
    }

    fn assert_one_live_instance_everywhere(&self) {
        for host in HOSTS {
            self.assert_one_live_instance(host);
        }
    }

    /// A release tarball; `failing` ones fail their health check on hosts
    /// that have `/etc/<app>-fail`.
    fn artifact(&self, version: &str, failing: bool) -> PathBuf {
        let dir = self.scratch.join(version);
        std::fs::create_dir_all(&dir).unwrap();
        let server = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/rollout/server.py");
        std::fs::copy(server, dir.join("server.py")).unwrap();
        std::fs::write(dir.join("VERSION"), version).unwrap();
        if failing {
            std::fs::write(dir.join("FAIL_IF"), format!("/etc/{}-fail", self.name)).unwrap();
        }
        let tarball = self.scratch.join(format!("{version}.tar.gz"));
        let status = Command::new("tar")
            .arg("-czf")
            .arg(&tarball)
            .arg("-C")
            .arg(&dir)
            .arg(".")
            .status()
            .unwrap();
        assert!(status.success());
        tarball
    }

    fn deploy(&self, artifact: &Path, extra: &[&str]) -> Output {
        Lab::get()
            .fleet("apply")
            .arg(self.scratch.join("playbook.yaml"))
            .args(["--format", "json", "-e"])
            .arg(self.vars(artifact))
            .args(extra)
            .output()
            .unwrap()
    }

    /// The playbook's vars, as `-e` JSON.
    fn vars(&self, artifact: &Path) -> String {
        serde_json::json!({
            "app": self.name,
            "slot_ports": self.slot_ports(),
            "artifact": artifact.display().to_string(),
        })
        .to_string()
    }

    fn fail_health_on(&self, hosts: &[&str]) {
        for host in hosts {
            Lab::get().ssh(host, &format!("touch /etc/{}-fail", self.name));
        }
    }

    /// The release the app serves on `host`, asked on `port` (nginx's).
    fn serving(&self, host: &str) -> String {
        let url = format!("http://{}:{}/", Lab::get().address(host), self.port);
        let out = Command::new("curl")
            .args(["-fsS", "--max-time", "5", &url])
            .output()
            .unwrap();
        assert!(out.status.success(), "{url}");
        let answer: Value = serde_json::from_slice(&out.stdout).unwrap();
        answer["release"].as_str().unwrap().to_string()
    }

    fn release_dirs(&self, host: &str) -> usize {
        let out = Lab::get().ssh(host, &format!("ls /opt/{}/releases | wc -l", self.name));
        String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
    }
}

fn playbook(serial: &str, extra: &str) -> String {
    format!(
        r#"- name: roll out
  hosts: lab1:lab2:lab3:lab4:lab5:lab6
  serial: {serial}
{extra}  tasks:
    - name: deploy
      release:
        path: "/opt/{{{{ app }}}}"
        artifact: "{{{{ artifact }}}}"
        slots:
          unit: "{{{{ app }}}}-api"
          ports: "{{{{ slot_ports }}}}"
          upstream_file: "/etc/nginx/{{{{ app }}}}-upstream.conf"
        health_urls: ["http://127.0.0.1:{{port}}/health/ready"]
        health_retries: 4
        health_delay: 1
"#
    )
}

/// `host_release` events: which release each host reported at the end.
fn reported(output: &Output) -> Vec<(String, String)> {
    events(&output.stdout)
        .iter()
        .filter(|e| e["event"] == "host_release")
        .map(|e| {
            let release = e["release"].as_str().unwrap_or_default().to_string();
            (e["host"].as_str().unwrap().to_string(), release)
        })
        .collect()
}

fn stopped_after(output: &Output) -> Option<u64> {
    events(&output.stdout)
        .iter()
        .find(|e| e["event"] == "rollout_stopped")
        .and_then(|e| e["batch"].as_u64())
}

#[test]
fn a_failed_batch_goes_back_and_the_rollout_stops() {
    let _links = shared_links();
    let app = App::new("roll-a", 8101, &playbook("[1, \"50%\", \"100%\"]", ""));
    let v1: Vec<String> = HOSTS.iter().map(|h| app.serving(h)).collect();
    app.fail_health_on(&["lab2", "lab3", "lab4"]);
    let v2 = app.artifact("v2", true);

    let out = app.deploy(&v2, &[]);
    assert_exit(&out, 2);
    assert_eq!(stopped_after(&out), Some(2));
    let failed: Vec<Value> = events(&out.stdout)
        .into_iter()
        .filter(|e| e["event"] == "task_result" && e["status"] == "failed")
        .collect();
    assert!(!failed.is_empty());
    let why = failed[0]["stderr"].as_str().unwrap_or_default().to_string()
        + failed[0]["msg"].as_str().unwrap_or_default();
    assert!(
        why.contains("roll-a-api"),
        "the journal of the api unit: {why}"
    );

    let lab1_now = app.serving("lab1");
    assert_ne!(lab1_now, v1[0], "the first batch keeps the new release");
    for (index, host) in HOSTS.iter().enumerate().skip(1) {
        assert_eq!(
            app.serving(host),
            v1[index],
            "{host} serves the previous release"
        );
    }
    for host in ["lab5", "lab6"] {
        assert_eq!(
            app.release_dirs(host),
            1,
            "{host}: the third batch is never touched"
        );
    }
    let mut expected: Vec<(String, String)> = vec![("lab1".into(), lab1_now)];
    for (index, host) in HOSTS.iter().enumerate().take(4).skip(1) {
        expected.push((host.to_string(), v1[index].clone()));
    }
    let mut got = reported(&out);
    got.sort();
    assert_eq!(got, expected);
    app.assert_one_live_instance_everywhere();
}

#[test]
fn rollback_all_also_returns_the_earlier_batches() {
    let _links = shared_links();
    let app = App::new(
        "roll-b",
        8102,
        &playbook("[1, \"50%\", \"100%\"]", "  rollback: all\n"),
    );
    let v1: Vec<String> = HOSTS.iter().map(|h| app.serving(h)).collect();
    app.fail_health_on(&["lab2", "lab3", "lab4"]);
    let out = app.deploy(&app.artifact("v2", true), &[]);
    assert_exit(&out, 2);
    for (index, host) in HOSTS.iter().enumerate() {
        assert_eq!(
            app.serving(host),
            v1[index],
            "{host} serves the previous release"
        );
    }
    let reported = reported(&out);
    assert_eq!(reported.len(), 4, "{reported:?}");
    assert!(reported.iter().all(|(host, release)| {
        let index = HOSTS.iter().position(|h| h == host).unwrap();
        *release == v1[index]
    }));
    app.assert_one_live_instance_everywhere();
}

/// `max_fail_percentage: 25` with batches of 4: one failure in 4 is 25%,
/// not more, so the rollout goes on (the failed host alone goes back);
/// two failures in 4 are 50%, past it, so the rollout stops and the batch
/// goes back.
#[test]
fn max_fail_percentage_is_exceeded_only_past_the_threshold() {
    let _links = shared_links();
    let play = playbook("4", "  max_fail_percentage: 25\n");
    let app = App::new("roll-f", 8106, &play);
    let v1: Vec<String> = HOSTS.iter().map(|h| app.serving(h)).collect();

    app.fail_health_on(&["lab2"]);
    let at = app.deploy(&app.artifact("v2", true), &[]);
    assert_exit(&at, 2);
    assert_eq!(
        stopped_after(&at),
        None,
        "25% of the batch is not more than 25"
    );
    assert_eq!(app.serving("lab2"), v1[1], "the failed host went back");
    for (index, host) in HOSTS.iter().enumerate() {
        if *host != "lab2" {
            assert_ne!(app.serving(host), v1[index], "{host} runs the new release");
        }
    }

    let v2: Vec<String> = HOSTS.iter().map(|h| app.serving(h)).collect();
    app.fail_health_on(&["lab3"]);
    let past = app.deploy(&app.artifact("v3", true), &[]);
    assert_exit(&past, 2);
    assert_eq!(
        stopped_after(&past),
        Some(1),
        "50% of the batch is more than 25"
    );
    for (index, host) in HOSTS.iter().enumerate() {
        assert_eq!(app.serving(host), v2[index], "{host} is back where it was");
    }
    app.assert_one_live_instance_everywhere();
}

/// Takes `host`'s link on the lab bridge down, and up again when dropped.
struct CutOff(&'static str);

impl CutOff {
    fn link(host: &str, state: &str) {
        let status = Command::new("ip")
            .args(["link", "set", &format!("vb-{host}"), state])
            .status()
            .unwrap();
        assert!(status.success(), "ip link set vb-{host} {state}");
    }
}

impl Drop for CutOff {
    fn drop(&mut self) {
        CutOff::link(self.0, "up");
    }
}

/// A host cut off in the middle of its batch: its step times out, it
/// counts as failed, the rest of its batch goes back, the next batch is
/// never touched, and the run ends within its timeouts.
#[test]
fn a_host_cut_off_mid_rollout_counts_as_failed_and_nothing_hangs() {
    let _alone = LINKS.write().unwrap_or_else(PoisonError::into_inner);
    let mut play = playbook("3", "");
    play = play.replace(
        "        health_delay: 1\n",
        "        health_delay: 1\n        migrate: \"sleep {{ migrate_seconds | default(0) }}\"\n      timeout: 15\n",
    );
    let app = App::new("roll-e", 8105, &play);
    let v1: Vec<String> = HOSTS.iter().map(|h| app.serving(h)).collect();

    let v2 = app.artifact("v2", false);
    let started = std::time::Instant::now();
    let cut = std::thread::spawn(|| {
        std::thread::sleep(std::time::Duration::from_secs(2));
        CutOff::link("lab2", "down");
        CutOff("lab2")
    });
    let out = app.deploy(&v2, &["-e", "migrate_seconds=4"]);
    let restored = cut.join().unwrap();
    let took = started.elapsed();
    drop(restored);

    assert_exit(&out, 2);
    assert!(took.as_secs() < 120, "the run ended in {took:?}");
    let lab2: Vec<Value> = events(&out.stdout)
        .into_iter()
        .filter(|e| e["event"] == "task_result" && e["host"] == "lab2" && e["task"] == "deploy")
        .collect();
    assert!(
        lab2.iter()
            .any(|e| e["status"] == "failed" || e["status"] == "unreachable"),
        "{lab2:?}"
    );
    assert_eq!(stopped_after(&out), Some(1));
    for (index, host) in ["lab1", "lab3"].iter().enumerate() {
        let index = if index == 0 { 0 } else { 2 };
        assert_eq!(app.serving(host), v1[index], "{host} went back");
    }
    for host in ["lab4", "lab5", "lab6"] {
        assert_eq!(app.release_dirs(host), 1, "{host} was never touched");
    }
    // Back on the network, the cut-off host runs a complete release.
    let check = "test -f /opt/roll-e/current/.fleet-release && \
                 ! ls -a /opt/roll-e/releases | grep -q partial && \
                 [ \"$(systemctl list-units 'roll-e-api@*' --state=active --no-legend | wc -l)\" = 1 ] && \
                 echo complete";
    let complete = (0..30).any(|_| {
        let out = Lab::get().ssh("lab2", check);
        let done = String::from_utf8_lossy(&out.stdout).contains("complete");
        if !done {
            std::thread::sleep(std::time::Duration::from_secs(1));
        }
        done
    });
    assert!(complete, "lab2 ends on a complete release");
    app.assert_one_live_instance_everywhere();
}

/// Ctrl-C in the middle of a release: the hosts in flight finish their
/// release, no new batch starts, nothing is left half-switched or locked,
/// and fleet exits 130.
#[test]
fn sigint_mid_release_leaves_every_host_on_a_complete_release() {
    let _links = shared_links();
    let play = playbook("3", "").replace(
        "        health_delay: 1\n",
        "        health_delay: 1\n        migrate: \"sleep {{ migrate_seconds | default(0) }}\"\n",
    );
    let app = App::new("roll-d", 8104, &play);
    let v2 = app.artifact("v2", false);
    let child = Lab::get()
        .fleet("apply")
        .arg(app.scratch.join("playbook.yaml"))
        .args(["--format", "json", "-e"])
        .arg(app.vars(&v2))
        .args(["-e", "migrate_seconds=4"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_secs(2));
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    assert_exit(&out, 130);

    for host in ["lab1", "lab2", "lab3"] {
        let state = Lab::get().ssh(
            host,
            "cd /opt/roll-d && test -f current/.fleet-release && echo complete; \
             ls -a releases | grep -c partial; test -e .fleet-lock && echo locked; true",
        );
        let state = String::from_utf8_lossy(&state.stdout).into_owned();
        assert_eq!(state.trim(), "complete\n0", "{host}: {state}");
        app.assert_one_live_instance(host);
    }
    for host in ["lab4", "lab5", "lab6"] {
        assert_eq!(app.release_dirs(host), 1, "{host}: no new batch started");
    }
}

/// A deploy lock held by another fleet run is refused, naming its owner;
/// `--lock-wait` waits for it to be freed and then deploys.
#[test]
fn a_held_deploy_lock_is_refused_and_lock_wait_waits_for_it() {
    let _links = shared_links();
    let play = playbook("3", "").replace(
        "        health_delay: 1\n",
        "        health_delay: 1\n        migrate: \"sleep {{ migrate_seconds | default(0) }}\"\n",
    );
    let app = App::new("roll-c", 8103, &play);
    let v2 = app.artifact("v2", false);
    let v3 = app.artifact("v3", false);
    let holder = Lab::get()
        .fleet("apply")
        .arg(app.scratch.join("playbook.yaml"))
        .args(["-l", "lab1", "--format", "json", "-e"])
        .arg(app.vars(&v2))
        .args(["-e", "migrate_seconds=6"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_secs(2));

    let refused = app.deploy(&v3, &["-l", "lab1"]);
    assert_exit(&refused, 2);
    let text = String::from_utf8_lossy(&refused.stdout).into_owned();
    assert!(text.contains("held by"), "{text}");
    assert!(
        text.contains(&format!("pid {}", holder.id())),
        "names its owner: {text}"
    );

    let waited = app.deploy(&v3, &["-l", "lab1", "--lock-wait", "60"]);
    assert_exit(&waited, 0);
    assert_exit(&holder.wait_with_output().unwrap(), 0);
    let log = Lab::get().ssh("lab1", "tail -n 1 /opt/roll-c/releases.log");
    assert!(String::from_utf8_lossy(&log.stdout).contains("v3.tar.gz"));
    let lock = Lab::get().ssh(
        "lab1",
        "test -e /opt/roll-c/.fleet-lock && echo locked; true",
    );
    assert!(
        String::from_utf8_lossy(&lock.stdout).trim().is_empty(),
        "the lock is released"
    );
}

/// `restart` (no `slots`), for apps that cannot run twice: `current`
/// switches, the single unit restarts, then its health is checked; a failed
/// check on lab2 rolls lab2 back, and lab1, which passed, keeps the release.
#[test]
fn without_slots_a_release_restarts_the_api_in_place() {
    let _links = shared_links();
    let lab = Lab::get();
    let (name, port) = ("roll-g", 8107);
    let unit = format!(
        "[Service]\nWorkingDirectory=/opt/{name}/current\nExecStart=/usr/bin/python3 server.py {port}\n\
         Restart=always\nRestartSec=1\n[Install]\nWantedBy=multi-user.target\n"
    );
    for host in ["lab1", "lab2"] {
        let setup = format!(
            "systemctl disable --now {name}-api 2>/dev/null; rm -rf /opt/{name} /etc/{name}-fail; \
             printf '%s' '{unit}' > /etc/systemd/system/{name}-api.service && \
             systemctl daemon-reload && systemctl enable --quiet {name}-api"
        );
        assert!(lab.ssh(host, &setup).status.success(), "{host}: setup");
    }
    let app = App {
        name: name.to_string(),
        port,
        scratch: scratch_dir(name),
    };
    let play = format!(
        r#"- hosts: lab1:lab2
  serial: 1
  tasks:
    - name: deploy
      release:
        path: /opt/{name}
        artifact: "{{{{ artifact }}}}"
        restart: [{name}-api]
        health_urls: ["http://127.0.0.1:{port}/health/ready"]
        health_retries: 4
        health_delay: 1
"#
    );
    std::fs::write(app.scratch.join("playbook.yaml"), play).unwrap();
    // No nginx: the app answers on `port` itself.
    assert_exit(&app.deploy(&app.artifact("v1", false), &[]), 0);
    let v1: Vec<String> = ["lab1", "lab2"].iter().map(|h| app.serving(h)).collect();
    app.fail_health_on(&["lab2"]);
    let out = app.deploy(&app.artifact("v2", true), &[]);
    assert_exit(&out, 2);
    assert_ne!(
        app.serving("lab1"),
        v1[0],
        "lab1 passed its check and keeps v2"
    );
    assert_eq!(app.serving("lab2"), v1[1], "lab2 went back");
    let restarted = events(&out.stdout).iter().any(|e| {
        e["host"] == "lab1"
            && e["stdout"]
                .as_str()
                .is_some_and(|out| out.contains(&format!("restarted: {name}-api")))
    });
    assert!(restarted, "the unit restarted in place");
}
