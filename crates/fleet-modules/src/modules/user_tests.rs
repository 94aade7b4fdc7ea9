//! Unit tests of `user`: probes and plans from passwd, group and shadow facts.
use super::*;
use crate::modules::command::stub_sh::{argv_stubs, run, run_step, scripts};
use crate::modules::tests::NoFiles;
use serde_json::json;

const PASSWD: &str = "passwd=app:x:1001:1001:App:/home/app:/bin/sh\nprimary=app\nhome_exists=1\n";

const PROBE: &str = "name=app\n\
     if entry=$(getent passwd \"$name\"); then echo \"passwd=$entry\"\n\
     groups=$(id -Gn -- \"$name\"); echo \"primary=${groups%% *}\"; echo \"groups=$groups\"\n\
     shadow=$(getent shadow \"$name\"); echo \"shadow=${shadow#*:}\"\n\
     home=${entry#*:*:*:*:*:}; home=${home%:*}; [ -d \"$home\" ] && echo home_exists=1\n\
     else getent group \"$name\" >/dev/null && echo own_group=1; fi\n\
     true\n";

fn user(params: Value) -> Box<dyn Module> {
    build(params, &NoFiles).unwrap()
}

#[test]
fn creates_a_missing_user_with_its_attributes() {
    let module = user(json!({
        "name": "app", "system": true, "shell": "/usr/sbin/nologin", "uid": 990,
        "groups": ["adm", "www-data"], "comment": "App user", "create_home": false,
    }));
    assert_eq!(module.probe().unwrap(), PROBE);
    let plan = module.plan(&Probe::ok("")).unwrap();
    assert_eq!(
        scripts(&plan.steps),
        ["useradd -r -u 990 -G adm,www-data -s /usr/sbin/nologin -c 'App user' -M -- app\n"]
    );
    assert_eq!(plan.diff.as_deref(), Some("user: absent -> present\n"));
    let plan = module.plan(&Probe::ok("own_group=1\n")).unwrap();
    assert_eq!(
        scripts(&plan.steps),
        ["useradd -r -u 990 -g app -G adm,www-data -s /usr/sbin/nologin -c 'App user' -M -- app\n"]
    );
}

#[test]
fn changes_only_what_differs() {
    let module = user(json!({"name": "app", "shell": "/usr/sbin/nologin", "home": "/home/app"}));
    let plan = module
        .plan(&Probe::ok(&format!("{PASSWD}groups=app\n")))
        .unwrap();
    assert_eq!(
        scripts(&plan.steps),
        ["usermod -s /usr/sbin/nologin -- app\n"]
    );
    assert_eq!(
        plan.diff.as_deref(),
        Some("shell: /bin/sh -> /usr/sbin/nologin\n")
    );
    let same = user(json!({"name": "app", "shell": "/bin/sh", "uid": 1001, "group": "1001"}));
    assert_eq!(
        same.plan(&Probe::ok(&format!("{PASSWD}groups=app\n")))
            .unwrap(),
        Plan::unchanged()
    );
}

#[test]
fn groups_are_exact_unless_appended() {
    let probe = Probe::ok(&format!("{PASSWD}groups=app adm audio\n"));
    let exact = user(json!({"name": "app", "groups": "adm,sudo"}));
    let plan = exact.plan(&probe).unwrap();
    assert_eq!(scripts(&plan.steps), ["usermod -G adm,sudo -- app\n"]);
    assert_eq!(
        plan.diff.as_deref(),
        Some("groups: adm,audio -> adm,sudo\n")
    );
    let append = user(json!({"name": "app", "groups": ["sudo"], "append": true}));
    let plan = append.plan(&probe).unwrap();
    assert_eq!(scripts(&plan.steps), ["usermod -a -G sudo -- app\n"]);
    assert_eq!(
        plan.diff.as_deref(),
        Some("groups: adm,audio -> adm,audio,sudo\n")
    );
    let present = user(json!({"name": "app", "groups": ["adm"], "append": true}));
    assert!(!present.plan(&probe).unwrap().changed);
    let none = user(json!({"name": "app", "groups": []}));
    assert_eq!(
        scripts(&none.plan(&probe).unwrap().steps),
        ["usermod -G '' -- app\n"]
    );
}

#[test]
fn the_password_goes_to_chpasswd_and_never_into_the_diff() {
    let hash = "$6$salt$secrethash";
    let module = user(json!({"name": "app", "password": hash}));
    assert_eq!(module.probe().unwrap(), PROBE);
    let plan = module
        .plan(&Probe::ok(&format!("{PASSWD}groups=app\nshadow=!\n")))
        .unwrap();
    assert_eq!(
        plan.steps,
        vec![Step::run_with_stdin(
            Script::of(Cmd::new("chpasswd").flag("-e")),
            Stdin::Secret(Secret::new(format!("app:{hash}\n")))
        )]
    );
    assert_eq!(scripts(&plan.steps), ["chpasswd -e\n"]);
    assert_eq!(format!("{:?}", plan.steps[0]).matches("secret").count(), 0);
    let diff = plan.diff.unwrap();
    assert_eq!(diff, "password: (changed)\n");
    assert!(!diff.contains("secret"));
    let same = Probe::ok(&format!("{PASSWD}groups=app\nshadow={hash}\n"));
    assert!(!module.plan(&same).unwrap().changed);
    let on_create = user(json!({"name": "app", "password": hash, "update_password": "on_create"}));
    let differs = Probe::ok(&format!("{PASSWD}groups=app\nshadow=!\n"));
    assert!(!on_create.plan(&differs).unwrap().changed);
    assert_eq!(on_create.plan(&Probe::ok("")).unwrap().steps.len(), 2);
}

#[test]
fn absent_removes_with_or_without_home() {
    let module = user(json!({"name": "app", "state": "absent", "remove": true}));
    let plan = module.plan(&Probe::ok(PASSWD)).unwrap();
    assert_eq!(scripts(&plan.steps), ["userdel -r -- app\n"]);
    assert!(!module.plan(&Probe::ok("")).unwrap().changed);
}

#[test]
fn the_probe_reads_passwd_groups_and_shadow() {
    let stubs = "getent() { case \"$1 $2\" in\n\
                 'passwd app') echo 'app:x:1001:1001:App:/nonexistent/app:/bin/sh' ;;\n\
                 'shadow app') echo 'app:$6$s$h:19000:0:99999:7:::' ;;\n\
                 *) return 2 ;; esac; }\n\
                 id() { echo 'app adm'; }\n";
    let module = user(json!({"name": "app", "password": "$6$s$h"}));
    assert_eq!(
        run(stubs, &module.probe().unwrap(), b"").stdout,
        "passwd=app:x:1001:1001:App:/nonexistent/app:/bin/sh\nprimary=app\ngroups=app adm\nshadow=$6$s$h:19000:0:99999:7:::\n"
    );
    let missing = user(json!({"name": "web"}));
    assert_eq!(run(stubs, &missing.probe().unwrap(), b"").stdout, "");
}

#[test]
fn values_reach_useradd_as_single_words() {
    let module = user(json!({"name": "app", "comment": "$(id) `x` 'y'", "shell": "-x"}));
    let plan = module.plan(&Probe::ok("")).unwrap();
    assert_eq!(
        run_step(&argv_stubs(&["useradd"]), &plan.steps[0]).stdout,
        "useradd [-s] [-x] [-c] [$(id) `x` 'y'] [-m] [--] [app]\n"
    );
}

#[test]
fn rejects_bad_params() {
    let err = build(json!({"name": "app", "shel": "/bin/sh"}), &NoFiles).unwrap_err();
    assert!(err.to_string().contains("unknown field `shel`"), "{err}");
    assert!(build(json!({"name": "app", "groups": ["a b"]}), &NoFiles).is_err());
    assert!(build(json!({"name": "app", "comment": "a:b"}), &NoFiles).is_err());
    assert!(build(json!({"name": "app", "password": "x\ny"}), &NoFiles).is_err());
    assert!(build(json!({"name": "app", "state": "gone"}), &NoFiles).is_err());
}

#[test]
fn dates_are_utc_days() {
    assert_eq!(civil_date(0), "1970-01-01");
    assert_eq!(civil_date(19_723), "2024-01-01");
    assert_eq!(
        expiry(1_767_225_600.0),
        ("2026-01-01".to_string(), Some(20_454))
    );
    assert_eq!(expiry(-1.0), (String::new(), None));
}

#[test]
fn expires_lock_and_ageing_change_only_when_they_differ() {
    let module = user(json!({
        "name": "app", "expires": 1_767_225_600, "password_lock": true,
        "password_expire_max": 90, "password_expire_min": "1",
    }));
    let fresh = Probe::ok(&format!(
        "{PASSWD}groups=app\nshadow=$6$x:19000:0:99999:7:::\n"
    ));
    let plan = module.plan(&fresh).unwrap();
    assert_eq!(
        scripts(&plan.steps),
        [
            "usermod -e 2026-01-01 -L -- app\n",
            "chage -m 1 -M 90 -- app\n"
        ]
    );
    assert_eq!(
        plan.diff.as_deref(),
        Some("expires: never -> 2026-01-01\npassword: locked\npassword ageing: changed\n")
    );
    let done = Probe::ok(&format!(
        "{PASSWD}groups=app\nshadow=!$6$x:19000:1:90:7::20454:\n"
    ));
    assert!(!module.plan(&done).unwrap().changed);
    let never = user(json!({"name": "app", "expires": -1, "password_lock": false}));
    assert_eq!(
        scripts(&never.plan(&done).unwrap().steps),
        ["usermod -e '' -U -- app\n"]
    );
}

#[test]
fn a_locked_password_keeps_its_hash_and_new_users_get_all_options() {
    let module = user(json!({
        "user": "app", "password": "$6$s$h", "password_lock": true, "uid": 1500,
        "non_unique": true, "expires": 0, "skeleton": "/srv/skel", "umask": "0077",
    }));
    let plan = module.plan(&Probe::ok("")).unwrap();
    assert_eq!(
        scripts(&plan.steps),
        [
            "useradd -u 1500 -o -e 1970-01-01 -m -k /srv/skel -K 'UMASK=0077' -- app\n",
            "chpasswd -e\n"
        ]
    );
    let Step::Run {
        stdin: Some(stdin), ..
    } = &plan.steps[1]
    else {
        panic!("no stdin")
    };
    assert_eq!(stdin.bytes(), b"app:!$6$s$h\n");
    let same = Probe::ok(&format!(
        "{PASSWD}groups=app\nshadow=!$6$s$h:19000:0:99999:7::0:\n"
    ));
    let module = user(json!({"name": "app", "password": "$6$s$h", "password_lock": true}));
    assert!(!module.plan(&same).unwrap().changed);
}

#[test]
fn move_home_force_and_a_missing_home() {
    let moved = user(json!({"name": "app", "home": "/srv/app", "move_home": true}));
    let plan = moved
        .plan(&Probe::ok(&format!("{PASSWD}groups=app\n")))
        .unwrap();
    assert_eq!(scripts(&plan.steps), ["usermod -d /srv/app -m -- app\n"]);
    let gone = user(json!({"name": "app", "state": "absent", "force": true, "remove": true}));
    assert_eq!(
        scripts(&gone.plan(&Probe::ok(PASSWD)).unwrap().steps),
        ["userdel -f -r -- app\n"]
    );
    let homeless =
        Probe::ok("passwd=app:x:1001:1001:App:/home/app:/bin/sh\nprimary=app\ngroups=app\n");
    let plan = user(json!({"name": "app"})).plan(&homeless).unwrap();
    assert_eq!(plan.diff.as_deref(), Some("home: created\n"));
    let out = run_step("", &plan.steps[0]);
    assert_eq!(out.rc, 0, "{out:?}");
    let no_home = user(json!({"name": "app", "create_home": false}));
    assert!(!no_home.plan(&homeless).unwrap().changed);
}

#[test]
fn ssh_keys_are_generated_once_with_the_passphrase_on_stdin() {
    let module = user(json!({
        "name": "app", "generate_ssh_key": true, "ssh_key_type": "ed25519",
        "ssh_key_comment": "app key", "ssh_key_passphrase": "p4ss",
    }));
    let probe = module.probe().unwrap();
    assert!(probe.as_str().contains(
        "key_file=.ssh/id_ed25519\nkey=$home/$key_file\n[ -e \"$key\" ] && echo key_exists=1\n"
    ));
    let plan = module
        .plan(&Probe::ok(&format!("{PASSWD}groups=app\n")))
        .unwrap();
    assert_eq!(plan.diff.as_deref(), Some("ssh key: generated\n"));
    assert_eq!(
        scripts(&plan.steps),
        [
            "key=/home/app/.ssh/id_ed25519\nowner=1001:1001\ncomment='app key'\n\
          dir=${key%/*}\n\
          [ -d \"$dir\" ] || { mkdir -m 0700 -- \"$dir\" && chown -- \"$owner\" \"$dir\"; } || exit 1\n\
          rm -f -- \"$key\" \"$key.pub\"\n\
          ssh-keygen -q -t ed25519 -C \"$comment\" -f \"$key\" && chown -- \"$owner\" \"$key\" \"$key\".pub\n"
        ]
    );
    let Step::Run {
        stdin: Some(stdin), ..
    } = &plan.steps[0]
    else {
        panic!("no stdin")
    };
    assert_eq!(stdin.bytes(), b"p4ss\np4ss\n");
    assert!(!format!("{:?}", plan.steps).contains("p4ss"));
    let there = Probe::ok(&format!("{PASSWD}groups=app\nkey_exists=1\n"));
    assert!(!module.plan(&there).unwrap().changed);
    let forced =
        user(json!({"name": "app", "generate_ssh_key": true, "force": true, "ssh_key_bits": 4096}));
    let plan = forced.plan(&there).unwrap();
    assert!(scripts(&plan.steps)[0].contains("comment=\"ansible-generated on $(hostname)\"\n"));
    assert!(
        scripts(&plan.steps)[0]
            .contains("ssh-keygen -q -t rsa -b 4096 -C \"$comment\" -f \"$key\" -N '' && chown")
    );
    assert!(build(json!({"name": "app", "ssh_key_type": "rsa; id"}), &NoFiles).is_err());
    assert!(build(json!({"name": "app", "local": true}), &NoFiles).is_err());
}
