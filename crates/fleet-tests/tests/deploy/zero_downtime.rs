//! Blue/green releases under steady load through nginx on every web host
//! (`hey`, 10 requests/s per host), counted: (a) a good release rolled out
//! in batches `[1, 50%, 100%]`, with (d) `/slow?seconds=5` requests in
//! flight on lab9 when it switches; (b) a release whose health check fails
//! on one host of batch 2, which never serves a request there; (c)
//! `fleet rollback` on every host. Each drops no request.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use fleet_tests::load::{Load, LoadReport};

use super::*;

/// `hey` clients per host, and each one's requests per second.
const WORKERS: u32 = 2;
const RATE: u32 = 5;

fn urls(deploy: &Deploy) -> Vec<String> {
    WEB.iter()
        .map(|host| format!("http://{}/", deploy.lab.address(host)))
        .collect()
}

/// Runs `fleet` under load on every web host; returns its output and what
/// the load counted, after printing it.
fn under_load(
    deploy: &Deploy,
    scenario: &str,
    run: impl FnOnce() -> Output,
) -> (Output, Vec<LoadReport>) {
    let load = Load::start(&urls(deploy), WORKERS, RATE);
    std::thread::sleep(Duration::from_secs(2));
    let out = run();
    std::thread::sleep(Duration::from_secs(2));
    let reports = load.stop();
    for report in &reports {
        eprintln!(
            "zero-downtime {scenario}: {} sent {} failed {} statuses {:?} p50 {:?} p99 {:?} {:?}",
            report.url,
            report.sent(),
            report.failed(),
            report.statuses,
            report.p50,
            report.p99,
            report.error_lines,
        );
    }
    (out, reports)
}

fn assert_none_failed(scenario: &str, reports: &[LoadReport]) {
    for report in reports {
        assert!(report.sent() > 0, "{scenario}: {} got load", report.url);
        assert_eq!(report.failed(), 0, "{scenario}: {report:?}");
    }
}

/// Every web host runs exactly one api instance, the one nginx's upstream
/// file names.
fn assert_one_instance(deploy: &Deploy) {
    for host in WEB {
        let live = deploy.sh(
            host,
            "sed -n 's/^server 127.0.0.1:\\([0-9]*\\);$/\\1/p' /etc/nginx/shop-api-upstream.conf",
        );
        let running = deploy.sh(
            host,
            "systemctl list-units 'shop-api@*' --state=active --plain --no-legend | awk '{print $1}'",
        );
        assert_eq!(running, format!("shop-api@{live}.service"), "{host}");
    }
}

fn serving(deploy: &Deploy) -> Vec<String> {
    WEB.iter()
        .map(|host| {
            deploy.through_nginx(host)["release"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect()
}

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// One `/slow?seconds=5` request: when it started and ended (seconds since
/// the epoch), its status, and the release that answered.
struct Slow {
    start: f64,
    end: f64,
    status: String,
    release: String,
}

/// Sends a `/slow?seconds=5` request to `host` through nginx every half
/// second until `stop` is set.
fn slow_requests(
    address: String,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> std::thread::JoinHandle<Vec<Slow>> {
    std::thread::spawn(move || {
        let mut running = Vec::new();
        while !stop.load(std::sync::atomic::Ordering::Relaxed) {
            let url = format!("http://{address}/slow?seconds=5");
            running.push(std::thread::spawn(move || {
                let start = now();
                let out = Command::new("curl")
                    .args(["-sS", "--max-time", "30", "-w", "\n%{http_code}", &url])
                    .output()
                    .unwrap();
                let text = String::from_utf8_lossy(&out.stdout).into_owned();
                let (body, status) = text.rsplit_once('\n').unwrap_or(("", &text));
                let release = serde_json::from_str::<Value>(body)
                    .ok()
                    .and_then(|answer| answer["release"].as_str().map(str::to_string))
                    .unwrap_or_default();
                Slow {
                    start,
                    end: now(),
                    status: status.to_string(),
                    release,
                }
            }));
            std::thread::sleep(Duration::from_millis(500));
        }
        running
            .into_iter()
            .map(|slow| slow.join().unwrap())
            .collect()
    })
}

/// The epoch second of the last switch in `host`'s release log.
fn last_switch(deploy: &Deploy, host: &str) -> f64 {
    let stamp = deploy.sh(
        host,
        "tail -n 1 /opt/shop/releases.log | tr '\\t' '\\n' | sed -n 's/^time=//p' | xargs -I{} date -d {} +%s",
    );
    stamp
        .parse()
        .unwrap_or_else(|_| panic!("{host}: switch time {stamp:?}"))
}

fn artifact(version: &str, extra: &[&str]) -> String {
    let mut args = vec!["--version", version];
    args.extend_from_slice(extra);
    build("examples/app/build", &args);
    let path = repo_root().join(format!("examples/app/dist/app-{version}.tar.gz"));
    format!("release_artifact={}", path.display())
}

pub(super) fn zero_downtime(deploy: &Deploy) {
    let ramp = r#"{"release_serial": [1, "50%", "100%"]}"#;

    // (a) and (d)
    let good = artifact("1.1.0", &[]);
    let before = serving(deploy);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let slow = slow_requests(deploy.lab.address("lab9"), stop.clone());
    let (out, reports) = under_load(deploy, "(a) rolling release", || {
        deploy.fleet(
            "apply",
            "playbooks/release.yaml",
            &["-e", &good, "-e", ramp],
        )
    });
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let slow = slow.join().unwrap();
    assert_exit(&out, 0);
    assert_none_failed("(a)", &reports);
    let good_releases = serving(deploy);
    for (index, host) in WEB.iter().enumerate() {
        assert_ne!(
            good_releases[index], before[index],
            "{host} runs the new release"
        );
    }
    assert_one_instance(deploy);
    let switched = last_switch(deploy, "lab9");
    assert!(
        slow.iter().all(|s| s.status == "200"),
        "(d): every slow request completes"
    );
    let across: Vec<&Slow> = slow
        .iter()
        .filter(|s| s.release == before[0] && s.start < switched && s.end > switched + 1.0)
        .collect();
    eprintln!(
        "zero-downtime (d): {} slow requests, {} of the old release in flight across the switch",
        slow.len(),
        across.len()
    );
    assert!(
        !across.is_empty(),
        "(d): a slow request spans lab9's switch"
    );

    // (b): broken on lab10, in batch 2 (lab10, lab11, lab31).
    let broken = artifact("1.1.1", &["--broken-health-on", "lab10"]);
    let started = Instant::now();
    let (out, reports) = under_load(deploy, "(b) broken in batch 2", || {
        deploy.fleet(
            "apply",
            "playbooks/release.yaml",
            &["-e", &broken, "-e", ramp],
        )
    });
    assert_exit(&out, 2);
    assert_none_failed("(b)", &reports);
    let stopped = events(&out.stdout)
        .into_iter()
        .find(|e| e["event"] == "rollout_stopped")
        .and_then(|e| e["batch"].as_u64());
    assert_eq!(stopped, Some(2));
    let after_b = serving(deploy);
    assert_ne!(
        after_b[0], good_releases[0],
        "batch 1 keeps the new release"
    );
    for (index, host) in WEB.iter().enumerate().skip(1) {
        assert_eq!(after_b[index], good_releases[index], "{host} serves 1.1.0");
    }
    let seconds = started.elapsed().as_secs() + 5;
    let lab10_releases = deploy.sh(
        DB,
        &format!(
            "runuser -u postgres -- psql -d shop -tAc \"SELECT DISTINCT release FROM visits \
             WHERE host = 'lab10' AND created_at > now() - interval '{seconds} seconds'\""
        ),
    );
    assert_eq!(
        lab10_releases, good_releases[1],
        "the broken release never answered a request on lab10"
    );
    assert_one_instance(deploy);

    // (c)
    let (out, reports) = under_load(deploy, "(c) fleet rollback", || {
        deploy.fleet("rollback", "playbooks/release.yaml", &[])
    });
    assert_exit(&out, 0);
    assert_none_failed("(c)", &reports);
    let after_c = serving(deploy);
    for (index, host) in WEB.iter().enumerate() {
        assert_ne!(after_c[index], after_b[index], "{host} went back");
    }
    assert_one_instance(deploy);
}
