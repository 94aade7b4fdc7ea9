//! Unit tests of `apt`: probes and plans from dpkg and apt facts.
use super::*;
use crate::Step;
use crate::modules::command::stub_sh::{run_with_programs, scripts};
use crate::modules::tests::NoFiles;
use serde_json::json;

fn sh_out(text: &str) -> String {
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(text)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn apt(params: Value) -> Box<dyn Module> {
    build(params, &NoFiles).unwrap()
}

fn error(params: Value) -> String {
    build(params, &NoFiles).unwrap_err().to_string()
}

const APT_GET: &str = "export DEBIAN_FRONTEND=noninteractive\napt-get -o 'DPkg::Lock::Timeout=60'";
const UPDATE: &str = "export DEBIAN_FRONTEND=noninteractive\n\
    tries=5\n\
    max_delay=12\n\
    n=0\n\
    until \n\
    apt-get -o 'DPkg::Lock::Timeout=60' update -q\n\
    do n=$((n + 1)); [ \"$n\" -lt \"$tries\" ] || exit 1; d=$((1 << (n - 1))); [ \"$d\" -le \"$max_delay\" ] || d=$max_delay; sleep \"$d\"; done\n\
    mkdir -p -- /var/lib/apt/periodic && touch -- /var/lib/apt/periodic/update-success-stamp\n";
const DPKG_OPTIONS: &str =
    "-o 'Dpkg::Options::=--force-confdef' -o 'Dpkg::Options::=--force-confold'";

#[test]
fn probes_dpkg_and_candidates() {
    let probe = apt(json!({"name": ["tree", "hello"], "state": "latest"}))
        .probe()
        .unwrap();
    assert_eq!(
        probe,
        "format='${db:Status-Abbrev}|${Version}\\n'\n\
         set -- tree hello\n\
         for p in \"$@\"; do echo \"pkg.$p=$(dpkg-query -W -f=\"$format\" -- \"$p\" 2>/dev/null | head -n 1)\"; done\n\
         for p in \"$@\"; do echo \"candidate.$p=$(LC_ALL=C apt-cache policy -- \"$p\" 2>/dev/null | sed -n 's/^ *Candidate: *//p' | head -n 1)\"; done\n"
    );
    // `echo` as bash's: dash's would turn the `\n` dpkg-query got
    // into a newline.
    let stubs = "sed() { cat; }\necho() { printf '%s\\n' \"$*\"; }\n";
    assert_eq!(
        run_with_programs(&["dpkg-query", "apt-cache"], stubs, &probe, b"").stdout,
        "pkg.tree=dpkg-query [-W] [-f=${db:Status-Abbrev}|${Version}\\n] [--] [tree]\n\
         pkg.hello=dpkg-query [-W] [-f=${db:Status-Abbrev}|${Version}\\n] [--] [hello]\n\
         candidate.tree=apt-cache [policy] [--] [tree]\n\
         candidate.hello=apt-cache [policy] [--] [hello]\n"
    );
    assert_eq!(apt(json!({"update_cache": true})).probe(), None);
}

#[test]
fn present_installs_only_what_is_missing() {
    let module = apt(json!({"name": "tree,hello"}));
    let plan = module
        .plan(&Probe::ok("pkg.tree=ii |2.1.0-1\npkg.hello=un |\n"))
        .unwrap();
    assert!(plan.changed);
    assert_eq!(plan.diff.as_deref(), Some("install: hello\n"));
    assert_eq!(
        scripts(&plan.steps),
        [format!("{APT_GET} install -y -q {DPKG_OPTIONS} -- hello\n")]
    );
    let Step::Run { script, .. } = &plan.steps[0] else {
        panic!("not a script")
    };
    let out = run_with_programs(&["apt-get"], "", script, b"");
    assert_eq!(
        out.stdout,
        "apt-get [-o] [DPkg::Lock::Timeout=60] [install] [-y] [-q] \
         [-o] [Dpkg::Options::=--force-confdef] [-o] [Dpkg::Options::=--force-confold] [--] [hello]\n"
    );

    let plan = module
        .plan(&Probe::ok("pkg.tree=ii |2.1.0-1\npkg.hello=ii |2.10-3\n"))
        .unwrap();
    assert_eq!(plan, Plan::unchanged());
}

#[test]
fn a_half_installed_or_missing_package_is_installed() {
    let module = apt(json!({"name": ["tree"]}));
    assert!(
        module
            .plan(&Probe::ok("pkg.tree=iF |2.1\n"))
            .unwrap()
            .changed
    );
    assert!(module.plan(&Probe::ok("pkg.tree=\n")).unwrap().changed);
}

#[test]
fn pinned_versions_are_compared() {
    let module = apt(json!({"name": "tree=2.1.0-1"}));
    assert!(
        !module
            .plan(&Probe::ok("pkg.tree=ii |2.1.0-1\n"))
            .unwrap()
            .changed
    );
    let plan = module.plan(&Probe::ok("pkg.tree=ii |2.0-1\n")).unwrap();
    assert_eq!(
        plan.diff.as_deref(),
        Some("version: tree 2.0-1 -> 2.1.0-1\n")
    );
}

#[test]
fn latest_compares_the_candidate() {
    let module = apt(json!({"name": ["tree", "hello"], "state": "latest"}));
    let plan = module
        .plan(&Probe::ok(
            "pkg.tree=ii |2.0\npkg.hello=ii |2.10-3\ncandidate.tree=2.1\ncandidate.hello=2.10-3\n",
        ))
        .unwrap();
    assert_eq!(plan.diff.as_deref(), Some("upgrade: tree 2.0 -> 2.1\n"));
    let plan = module
        .plan(&Probe::ok(
            "pkg.tree=ii |2.1\npkg.hello=ii |2.10-3\ncandidate.tree=2.1\ncandidate.hello=2.10-3\n",
        ))
        .unwrap();
    assert!(!plan.changed);
    let err = module
        .plan(&Probe::ok("pkg.tree=\ncandidate.tree=(none)\n"))
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("no installation candidate for package tree")
    );
}

#[test]
fn absent_removes_or_purges() {
    let module = apt(json!({"name": "cowsay", "state": "absent"}));
    let plan = module.plan(&Probe::ok("pkg.cowsay=ii |3.03\n")).unwrap();
    assert_eq!(plan.diff.as_deref(), Some("remove: cowsay\n"));
    assert_eq!(
        scripts(&plan.steps),
        [format!("{APT_GET} remove -y -q {DPKG_OPTIONS} -- cowsay\n")]
    );
    assert!(
        !module
            .plan(&Probe::ok("pkg.cowsay=rc |3.03\n"))
            .unwrap()
            .changed
    );
    let waiting = apt(json!({"name": "cowsay", "state": "absent", "lock_timeout": 5}));
    let plan = waiting.plan(&Probe::ok("pkg.cowsay=ii |3.03\n")).unwrap();
    assert_eq!(
        scripts(&plan.steps),
        [format!(
            "export DEBIAN_FRONTEND=noninteractive\napt-get -o 'DPkg::Lock::Timeout=5' remove -y -q {DPKG_OPTIONS} -- cowsay\n"
        )]
    );
    let purge = apt(json!({"name": "cowsay", "state": "absent", "purge": true}));
    let plan = purge.plan(&Probe::ok("pkg.cowsay=rc |3.03\n")).unwrap();
    assert_eq!(plan.diff.as_deref(), Some("purge: cowsay\n"));
    assert!(!purge.plan(&Probe::ok("pkg.cowsay=un |\n")).unwrap().changed);
}

#[test]
fn cache_valid_time_updates_only_a_stale_cache() {
    let module = apt(json!({"cache_valid_time": 3600}));
    assert_eq!(
        module.probe().unwrap(),
        "echo now=$(date +%s)\n\
         [ -e /var/lib/apt/periodic/update-success-stamp ] && echo stamp_mtime=$(stat -c %Y /var/lib/apt/periodic/update-success-stamp)\n\
         [ -e /var/lib/apt/lists ] && echo lists_mtime=$(stat -c %Y /var/lib/apt/lists)\n\
         true\n"
    );
    let fresh = module
        .plan(&Probe::ok(
            "now=10000\nlists_mtime=9000\nstamp_mtime=7000\n",
        ))
        .unwrap();
    assert!(!fresh.changed);
    let stale = module
        .plan(&Probe::ok("now=10000\nlists_mtime=5000\n"))
        .unwrap();
    assert!(stale.changed);
    assert_eq!(stale.diff.as_deref(), Some("update cache\n"));
    assert_eq!(scripts(&stale.steps), [UPDATE]);
}

#[test]
fn update_cache_alone_always_updates_and_with_names_only_when_installing() {
    let plan = apt(json!({"update_cache": "yes"}))
        .plan(&Probe::default())
        .unwrap();
    assert!(plan.changed);
    let with_names = apt(json!({"name": "tree", "update_cache": true}));
    assert!(
        !with_names
            .plan(&Probe::ok("pkg.tree=ii |2\n"))
            .unwrap()
            .changed
    );
    let plan = with_names.plan(&Probe::ok("pkg.tree=un |\n")).unwrap();
    assert_eq!(plan.steps.len(), 2);
    assert_eq!(plan.diff.as_deref(), Some("update cache\ninstall: tree\n"));
}

#[test]
fn rejects_bad_params() {
    assert!(error(json!({"name": "tree", "stat": "present"})).contains("unknown field `stat`"));
    assert!(error(json!({"name": "tree; reboot"})).contains("invalid package"));
    assert!(error(json!({"name": "tree=1", "state": "latest"})).contains("state: present"));
    assert!(error(json!({"name": "tree", "state": "installed"})).contains("unknown variant"));
}

#[test]
fn aliases_and_install_options_reach_apt_get() {
    let module = apt(json!({
        "pkg": ["tree"], "install-recommends": false, "default_release": "bookworm-backports",
        "force": true, "allow_downgrades": true, "only_upgrade": false, "autoremove": true,
        "dpkg_options": "force-confnew",
    }));
    let plan = module.plan(&Probe::ok("pkg.tree=un |\n")).unwrap();
    assert_eq!(
        scripts(&plan.steps),
        [format!(
            "{APT_GET} install -y -q --force-yes -t bookworm-backports -o 'APT::Install-Recommends=no' \
             --allow-downgrades -o 'Dpkg::Options::=--force-confnew' --auto-remove -- tree\n"
        )]
    );
    let recommends = apt(json!({"name": "tree", "install_recommends": "yes"}));
    let plan = recommends.plan(&Probe::ok("pkg.tree=un |\n")).unwrap();
    assert!(scripts(&plan.steps)[0].contains("-o 'APT::Install-Recommends=yes'"));
}

#[test]
fn latest_reads_candidates_from_the_default_release() {
    let module = apt(json!({"name": "tree", "state": "latest", "default-release": "stable"}));
    let probe = module.probe().unwrap();
    assert!(
        probe
            .as_str()
            .contains("release=stable\nfor p in \"$@\"; do echo \"candidate.$p=$(LC_ALL=C apt-cache -t \"$release\" policy -- \"$p\""),
        "{probe:?}"
    );
}

#[test]
fn only_upgrade_leaves_missing_packages_alone() {
    let module = apt(json!({"name": ["tree", "pv"], "state": "latest", "only_upgrade": true}));
    let plan = module
        .plan(&Probe::ok(
            "pkg.tree=ii |1\npkg.pv=un |\ncandidate.tree=2\ncandidate.pv=1\n",
        ))
        .unwrap();
    assert_eq!(plan.diff.as_deref(), Some("upgrade: tree 1 -> 2\n"));
    assert!(scripts(&plan.steps)[0].ends_with("--only-upgrade -- tree\n"));
    let present = apt(json!({"name": "pv", "only_upgrade": true}));
    assert!(!present.plan(&Probe::ok("pkg.pv=un |\n")).unwrap().changed);
}

#[test]
fn upgrade_asks_a_simulation_what_would_change() {
    let module = apt(json!({"upgrade": "dist", "autoremove": true}));
    let probe = module.probe().unwrap();
    assert_eq!(
        probe,
        "printf 'simulated='\n\
         apt-get -o 'DPkg::Lock::Timeout=60' dist-upgrade -y -q -o 'Dpkg::Options::=--force-confdef' \
         -o 'Dpkg::Options::=--force-confold' --auto-remove --simulate | grep -c '^\\(Inst\\|Remv\\|Purg\\|Del\\) '\n\
         true\n"
    );
    assert_eq!(
        run_with_programs(&["apt-get"], "", &probe, b"").stdout,
        "simulated=0\n"
    );
    let counted = sh_out(
        "printf 'Reading\\nInst tree [1] (2 Debian)\\nConf tree\\nRemv old [1]\\n' | grep -c '^\\(Inst\\|Remv\\|Purg\\|Del\\) '",
    );
    assert_eq!(counted, "2\n");
    let plan = module.plan(&Probe::ok("simulated=2\n")).unwrap();
    assert_eq!(plan.diff.as_deref(), Some("upgrade: 2 package(s)\n"));
    assert_eq!(
        scripts(&plan.steps),
        [format!(
            "{APT_GET} dist-upgrade -y -q {DPKG_OPTIONS} --auto-remove\n"
        )]
    );
    assert!(!module.plan(&Probe::ok("simulated=0\n")).unwrap().changed);
    let safe = apt(json!({"upgrade": true}));
    assert!(
        safe.probe()
            .unwrap()
            .as_str()
            .contains(" upgrade -y -q -o 'Dpkg::Options::=--force-confdef' -o 'Dpkg::Options::=--force-confold' --with-new-pkgs --simulate")
    );
    assert!(
        apt(json!({"upgrade": "no", "update_cache": true}))
            .plan(&Probe::ok(""))
            .unwrap()
            .changed
    );
    let everything = apt(json!({"name": "*", "state": "latest"}));
    assert!(
        everything
            .probe()
            .unwrap()
            .as_str()
            .contains("--with-new-pkgs --simulate")
    );
}

#[test]
fn autoremove_and_autoclean_alone() {
    let module = apt(json!({"autoremove": true, "purge": true}));
    assert!(
        module
            .probe()
            .unwrap()
            .as_str()
            .contains(" autoremove -y -q -o 'Dpkg::Options::=--force-confdef' -o 'Dpkg::Options::=--force-confold' --purge --simulate |")
    );
    let plan = module.plan(&Probe::ok("simulated=3\n")).unwrap();
    assert_eq!(plan.diff.as_deref(), Some("autoremove: 3 package(s)\n"));
    assert_eq!(
        scripts(&plan.steps),
        [format!(
            "{APT_GET} autoremove -y -q {DPKG_OPTIONS} --purge\n"
        )]
    );
    assert!(!module.plan(&Probe::ok("simulated=0\n")).unwrap().changed);
    // Ansible runs autoclean, and only it, when both are set.
    let both = apt(json!({"autoremove": true, "autoclean": true}));
    assert!(both.probe().unwrap().as_str().contains(" autoclean -y"));
    // With update_cache and no names, only the update runs, as in Ansible.
    let update = apt(json!({"autoremove": true, "update_cache": true}));
    assert_eq!(update.probe(), None);
    assert_eq!(
        scripts(&update.plan(&Probe::default()).unwrap().steps),
        [UPDATE]
    );
}

#[test]
fn clean_runs_and_counts_only_on_its_own() {
    let alone = apt(json!({"clean": true}));
    let plan = alone.plan(&Probe::default()).unwrap();
    assert!(plan.changed);
    assert_eq!(scripts(&plan.steps), [format!("{APT_GET} clean -y\n")]);
    let with_names = apt(json!({"name": "tree", "clean": true}));
    let plan = with_names.plan(&Probe::ok("pkg.tree=ii |1\n")).unwrap();
    assert!(!plan.changed);
    assert_eq!(plan.steps.len(), 1, "clean still runs");
}

#[test]
fn deb_installs_a_file_unless_that_version_is_there() {
    let module = apt(json!({"deb": "/tmp/x/hello_1.0_all.deb"}));
    let probe = module.probe().unwrap();
    let dir = std::env::temp_dir().join(format!("fleet-apt-deb-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("hello_1.0_all.deb");
    std::fs::write(&file, b"x").unwrap();
    let programs = [
        (
            "dpkg-deb",
            "case $3 in Package) echo hello ;; Version) echo 1.0 ;; esac",
        ),
        ("dpkg-query", "printf 'ii |0.9\\n'"),
    ];
    for (name, body) in programs {
        let status = std::process::Command::new("sh")
            .arg("-c")
            .arg("printf '#!/bin/sh\\n%s\\n' \"$2\" > \"$1\" && chmod 755 \"$1\"")
            .arg("sh")
            .arg(dir.join(name))
            .arg(body)
            .status()
            .unwrap();
        assert!(status.success());
    }
    let local = apt(json!({"deb": file.to_str().unwrap()}));
    let stubs = format!("PATH={}:$PATH\n", dir.display());
    assert_eq!(
        crate::modules::command::stub_sh::run(&stubs, &local.probe().unwrap(), b"").stdout,
        "deb.package=hello\ndeb.version=1.0\ndeb.installed=ii |0.9\n"
    );
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(probe.as_str().starts_with("format="));
    let plan = module
        .plan(&Probe::ok(
            "deb.package=hello\ndeb.version=1.0\ndeb.installed=ii |0.9\n",
        ))
        .unwrap();
    assert_eq!(
        plan.diff.as_deref(),
        Some("install: hello=1.0 from /tmp/x/hello_1.0_all.deb\n")
    );
    assert_eq!(
        scripts(&plan.steps),
        [format!(
            "export DEBIAN_FRONTEND=noninteractive\ndeb=/tmp/x/hello_1.0_all.deb\n\
             apt-get -o 'DPkg::Lock::Timeout=60' install -y -q {DPKG_OPTIONS} -- /tmp/x/hello_1.0_all.deb\n"
        )]
    );
    let same = Probe::ok("deb.package=hello\ndeb.version=1.0\ndeb.installed=ii |1.0\n");
    assert!(!module.plan(&same).unwrap().changed);
    let err = module.plan(&Probe::ok("")).unwrap_err().to_string();
    assert!(err.contains("not a readable .deb file"), "{err}");

    let url = apt(json!({"deb": "http://files.example/hello.deb"}));
    assert!(
        url.probe()
            .unwrap()
            .as_str()
            .contains("curl -fsSL -o \"$tmp/p.deb\" \"$deb\"")
    );
    let plan = url
        .plan(&Probe::ok("deb.package=hello\ndeb.version=1.0\n"))
        .unwrap();
    assert!(scripts(&plan.steps)[0].contains(" -- \"$tmp\"/p.deb\nrc=$?\n"));
}

#[test]
fn build_dep_follows_the_simulation() {
    let module = apt(json!({"name": "hello", "state": "build-dep"}));
    assert!(
        module
            .probe()
            .unwrap()
            .as_str()
            .contains(" build-dep -y -q -o 'Dpkg::Options::=--force-confdef' -o 'Dpkg::Options::=--force-confold' --simulate -- hello |")
    );
    let plan = module.plan(&Probe::ok("simulated=4\n")).unwrap();
    assert_eq!(plan.diff.as_deref(), Some("build-dep: 4 package(s)\n"));
    assert!(!module.plan(&Probe::ok("simulated=0\n")).unwrap().changed);
    let fixed = apt(json!({"name": "tree", "state": "fixed"}));
    let plan = fixed.plan(&Probe::ok("pkg.tree=un |\n")).unwrap();
    assert!(scripts(&plan.steps)[0].contains(" --fix-broken -- tree\n"));
}

#[test]
fn rejects_what_ansible_rejects() {
    assert!(
        error(json!({"name": "tree", "deb": "/x.deb"})).contains("mutually exclusive: name|deb")
    );
    assert!(error(json!({"name": "tree", "upgrade": "dist"})).contains("mutually exclusive"));
    assert!(
        error(json!({"deb": "/x.deb", "state": "absent"}))
            .contains("deb only supports state: present")
    );
    assert!(error(json!({"deb": "x.deb"})).contains("absolute path"));
    assert!(error(json!({"upgrade": "sometimes"})).contains("upgrade must be one of"));
    assert!(error(json!({"name": "*"})).contains("state: latest"));
    assert!(
        error(json!({"name": ["*", "tree"], "state": "latest"})).contains("additional packages")
    );
    assert!(error(json!({"name": "tree", "dpkg_options": "--force-all"})).contains("without `--`"));
    assert!(
        error(json!({"name": "tree", "policy_rc_d": 101})).contains("unknown field `policy_rc_d`")
    );
    assert!(error(json!({"name": "tree", "state": "removed"})).contains("unknown variant"));
    assert!(apt(json!({})).plan(&Probe::default()).unwrap() == Plan::unchanged());
}
