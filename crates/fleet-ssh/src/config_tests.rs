use super::*;

const CONFIG: &str = "\
Host web1
    HostName 10.0.0.5
    User deploy
    Port 2201
    IdentityFile ~/.ssh/web1_key

Host db*
    User dba
    ProxyJump admin@bastion:2222

Host 10.9.*
    User byaddress

Host multi
    ProxyJump hop1,ops@hop2:2022

Host direct
    ProxyJump none

Host bastion
    HostName 192.0.2.1
    User jumper
    IdentityFile ~/.ssh/bastion_key

Host *
    User everyone
    IdentityFile ~/.ssh/global_key
";

fn resolver() -> Resolver {
    Resolver::from_text(
        CONFIG,
        Path::new("/home/t"),
        Some(Path::new("/keys/cli")),
        "me",
    )
    .unwrap()
}

fn paths(e: &Endpoint) -> Vec<(String, bool)> {
    e.identities
        .iter()
        .map(|i| (i.path.display().to_string(), i.explicit))
        .collect()
}

#[test]
fn config_fills_unset_fields_by_inventory_name() {
    let route = resolver().route(&Target::new("web1")).unwrap();
    let t = &route.target;
    assert_eq!(
        (t.host.as_str(), t.port, t.user.as_str()),
        ("10.0.0.5", 2201, "deploy")
    );
    assert_eq!(
        paths(t),
        vec![
            ("/keys/cli".into(), true),
            ("/home/t/.ssh/web1_key".into(), false),
            ("/home/t/.ssh/global_key".into(), false),
            ("/home/t/.ssh/id_ed25519".into(), false),
        ]
    );
    assert!(route.jumps.is_empty());
    assert_eq!(t.label(), "web1 (10.0.0.5:2201)");
}

#[test]
fn explicit_inventory_vars_win() {
    let target = Target {
        name: "web1".into(),
        address: "10.1.1.1".into(),
        port: Some(22),
        user: Some("root".into()),
        identity_file: Some("~/.ssh/inv_key".into()),
        jump: None,
    };
    let route = resolver().route(&target).unwrap();
    let t = &route.target;
    assert_eq!(
        (t.host.as_str(), t.port, t.user.as_str()),
        ("10.1.1.1", 22, "root")
    );
    assert_eq!(paths(t)[0], ("/home/t/.ssh/inv_key".into(), true));
    assert_eq!(paths(t)[1], ("/keys/cli".into(), true));
}

#[test]
fn address_is_matched_after_the_name() {
    let mut target = Target::new("app7");
    target.address = "10.9.0.7".into();
    let t = resolver().route(&target).unwrap().target;
    assert_eq!(t.user, "byaddress");
    assert_eq!(t.host, "10.9.0.7");
}

#[test]
fn defaults_when_nothing_matches_specifically() {
    let r = Resolver::from_text("", Path::new("/home/t"), None, "me").unwrap();
    let t = r.route(&Target::new("plain")).unwrap().target;
    assert_eq!(
        (t.host.as_str(), t.port, t.user.as_str()),
        ("plain", 22, "me")
    );
    assert_eq!(t.label(), "plain");
    // `Host *` applies when present.
    let t = resolver().route(&Target::new("plain")).unwrap().target;
    assert_eq!(t.user, "everyone");
}

#[test]
fn proxy_jump_from_config_and_jump_host_config() {
    let route = resolver().route(&Target::new("db1")).unwrap();
    assert_eq!(route.target.user, "dba");
    assert_eq!(route.jumps.len(), 1);
    let j = &route.jumps[0];
    // The hop's own spec wins for user and port; HostName comes from config.
    assert_eq!(
        (j.host.as_str(), j.port, j.user.as_str()),
        ("192.0.2.1", 2222, "admin")
    );
    assert_eq!(paths(j)[1], ("/home/t/.ssh/bastion_key".into(), false));
    assert_eq!(j.name, "bastion");
    assert_eq!(j.label(), "bastion (192.0.2.1:2222)");
    // The jump host falls back to the keys of the host behind it.
    let jump_paths: Vec<String> = paths(j).into_iter().map(|(path, _)| path).collect();
    for (path, _) in paths(&route.target) {
        assert!(
            jump_paths.contains(&path),
            "{path} not tried on the jump host"
        );
    }

    let route = resolver().route(&Target::new("multi")).unwrap();
    let hops: Vec<_> = route
        .jumps
        .iter()
        .map(|j| (j.host.as_str(), j.port, j.user.as_str()))
        .collect();
    assert_eq!(hops, vec![("hop1", 22, "everyone"), ("hop2", 2022, "ops")]);

    assert!(
        resolver()
            .route(&Target::new("direct"))
            .unwrap()
            .jumps
            .is_empty()
    );
}

#[test]
fn explicit_jump_beats_config() {
    let mut target = Target::new("db1");
    target.jump = Some(JumpTarget {
        user: None,
        host: "other".into(),
        port: Some(22),
    });
    let route = resolver().route(&target).unwrap();
    assert_eq!(route.jumps.len(), 1);
    assert_eq!(route.jumps[0].host, "other");
}

#[test]
fn jump_specs() {
    let ok = |spec: &str, user: Option<&str>, host: &str, port: Option<u16>| {
        let j = parse_jump(spec).unwrap();
        assert_eq!(
            (j.user.as_deref(), j.host.as_str(), j.port),
            (user, host, port),
            "{spec}"
        );
    };
    ok("bastion", None, "bastion", None);
    ok("bastion:2222", None, "bastion", Some(2222));
    ok("admin@bastion", Some("admin"), "bastion", None);
    ok("admin@bastion:22", Some("admin"), "bastion", Some(22));
    ok(
        "ssh://admin@bastion:2200",
        Some("admin"),
        "bastion",
        Some(2200),
    );
    ok("[2001:db8::1]:2200", None, "2001:db8::1", Some(2200));
    ok("u@[2001:db8::1]", Some("u"), "2001:db8::1", None);
    ok("2001:db8::1", None, "2001:db8::1", None);
    ok("a@b@host", Some("a@b"), "host", None);
    for bad in [
        "",
        "@host",
        "host:",
        "host:0",
        "host:99999",
        "host:x",
        "[::1",
        "[::1]x",
        "u@",
    ] {
        assert!(parse_jump(bad).is_err(), "{bad:?} should fail");
    }
}

#[test]
fn bad_config_is_reported_with_its_path() {
    let err = Resolver::from_text("Port notanumber\n", Path::new("/h"), None, "me").unwrap_err();
    assert!(matches!(err, SshError::Config { .. }), "{err}");
}

#[test]
fn missing_config_file_is_fine() {
    let r = Resolver::new(
        Path::new("/nonexistent/fleet/ssh_config"),
        Path::new("/h"),
        None,
    )
    .unwrap();
    assert_eq!(r.route(&Target::new("x")).unwrap().target.port, 22);
}
