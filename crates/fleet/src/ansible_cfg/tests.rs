use std::collections::BTreeMap;
use std::path::Path;

use super::*;

const CFG: &str = "\
[defaults]
inventory = hosts.yaml, ~/more.yaml
remote_user = deploy
private_key_file = keys/deploy
roles_path = ../shared/roles:/opt/roles
host_key_checking = False
forks = 7
timeout = 30
vault_password_file = ~/.vault_pass
stdout_callback = yaml
retry_files_enabled = no

[privilege_escalation]
become = yes
become_method = su
become_user = app
become_ask_pass = false

[ssh_connection]
ssh_args = -C -o ControlMaster=auto -J ops@bastion:2222
pipelining = True

[colors]
ok = green
";

fn resolve_with(text: Option<&str>, env: &[(&str, &str)]) -> Result<AnsibleCfg, CfgError> {
    let env: BTreeMap<String, String> = env
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let lookup = move |name: &str| env.get(name).cloned();
    AnsibleCfg::resolve(&Sources {
        file: text.map(|text| (Path::new("site/ansible.cfg"), text)),
        env: &lookup,
        cwd: Path::new("/work/here"),
        home: Some(Path::new("/home/me")),
    })
}

#[test]
fn every_honoured_key_from_the_file() {
    let cfg = resolve_with(Some(CFG), &[]).unwrap();
    assert_eq!(
        cfg.inventory.clone().unwrap(),
        [
            Path::new("/work/here/site/hosts.yaml"),
            Path::new("/home/me/more.yaml")
        ]
    );
    assert_eq!(cfg.remote_user.clone().unwrap().as_str(), "deploy");
    assert_eq!(
        cfg.private_key_file.clone().unwrap(),
        Path::new("/work/here/site/keys/deploy")
    );
    assert_eq!(
        cfg.roles_path.clone().unwrap(),
        [
            Path::new("/work/here/site/../shared/roles"),
            Path::new("/opt/roles")
        ]
    );
    assert!(cfg.host_key_checking_off());
    assert_eq!(cfg.forks, Some(7));
    assert_eq!(cfg.timeout, Some(30));
    assert_eq!(
        cfg.vault_password_file(),
        Some(Path::new("/home/me/.vault_pass"))
    );
    assert_eq!(cfg.r#become, Some(true));
    assert_eq!(cfg.become_method, Some(BecomeMethod::Su));
    assert_eq!(cfg.become_user.clone().unwrap().as_str(), "app");
    assert_eq!(cfg.become_ask_pass, Some(false));
    assert_eq!(
        cfg.ssh_args.jump.clone().unwrap().to_string(),
        "ops@bastion:2222"
    );
}

#[test]
fn ignored_keys_are_listed_once_in_file_order() {
    let cfg = resolve_with(Some(CFG), &[]).unwrap();
    assert_eq!(
        cfg.ignored,
        [
            "defaults.stdout_callback",
            "defaults.retry_files_enabled",
            "ssh_connection.pipelining",
            "colors.ok"
        ]
    );
    assert_eq!(
        cfg.ignored_line().unwrap(),
        "site/ansible.cfg: ignored keys: defaults.stdout_callback, \
         defaults.retry_files_enabled, ssh_connection.pipelining, colors.ok; \
         ssh_args words not used: -C -o ControlMaster=auto"
    );
    let quiet = resolve_with(Some("[defaults]\nforks = 2\n"), &[]).unwrap();
    assert_eq!(quiet.ignored_line(), None);
    // `become` is read from [privilege_escalation] only, as in ansible-core.
    let misplaced = resolve_with(Some("[defaults]\nbecome = true\n"), &[]).unwrap();
    assert_eq!(misplaced.r#become, None);
    assert_eq!(misplaced.ignored, ["defaults.become"]);
}

#[test]
fn variables_win_over_the_file() {
    let env = [
        ("ANSIBLE_INVENTORY", "a.yaml,b.yaml"),
        ("ANSIBLE_REMOTE_USER", "ops"),
        ("ANSIBLE_PRIVATE_KEY_FILE", "id_ops"),
        ("ANSIBLE_ROLES_PATH", "r1:r2"),
        ("ANSIBLE_HOST_KEY_CHECKING", "yes"),
        ("ANSIBLE_FORKS", "3"),
        ("ANSIBLE_TIMEOUT", "5"),
        ("ANSIBLE_BECOME", "no"),
        ("ANSIBLE_BECOME_METHOD", "sudo"),
        ("ANSIBLE_BECOME_USER", "root"),
        ("ANSIBLE_BECOME_ASK_PASS", "1"),
        ("ANSIBLE_SSH_ARGS", "-o ControlPersist=10s"),
    ];
    let cfg = resolve_with(Some(CFG), &env).unwrap();
    // Relative paths from a variable are against the working folder.
    assert_eq!(
        cfg.inventory.clone().unwrap(),
        [
            Path::new("/work/here/a.yaml"),
            Path::new("/work/here/b.yaml")
        ]
    );
    assert_eq!(cfg.remote_user.clone().unwrap().as_str(), "ops");
    assert_eq!(
        cfg.private_key_file.clone().unwrap(),
        Path::new("/work/here/id_ops")
    );
    assert_eq!(
        cfg.roles_path.clone().unwrap(),
        [Path::new("/work/here/r1"), Path::new("/work/here/r2")]
    );
    assert_eq!(cfg.host_key_checking, Some(true));
    assert_eq!((cfg.forks, cfg.timeout), (Some(3), Some(5)));
    assert_eq!(cfg.r#become, Some(false));
    assert_eq!(cfg.become_method, Some(BecomeMethod::Sudo));
    assert_eq!(cfg.become_user.clone().unwrap().as_str(), "root");
    assert_eq!(cfg.become_ask_pass, Some(true));
    assert_eq!(cfg.ssh_args.jump, None);
    assert_eq!(cfg.ssh_args.ignored, ["-o ControlPersist=10s"]);
}

#[test]
fn variables_alone_and_the_later_place_wins() {
    let cfg = resolve_with(None, &[("ANSIBLE_FORKS", "4")]).unwrap();
    assert_eq!(cfg.forks, Some(4));
    assert_eq!(cfg.file, None);
    assert_eq!(cfg.ignored_line(), None);
    let both = "[defaults]\ntimeout = 10\nhost_key_checking = true\n\
                [ssh_connection]\ntimeout = 20\nhost_key_checking = false\n";
    let cfg = resolve_with(Some(both), &[]).unwrap();
    assert_eq!(cfg.timeout, Some(20));
    assert!(cfg.host_key_checking_off());
    let cfg = resolve_with(
        Some(both),
        &[("ANSIBLE_TIMEOUT", "3"), ("ANSIBLE_SSH_TIMEOUT", "4")],
    )
    .unwrap();
    assert_eq!(cfg.timeout, Some(4));
    let empty = resolve_with(Some(""), &[]).unwrap();
    assert_eq!(empty.inventory, None);
}

#[test]
fn bad_values_name_their_line_or_variable() {
    let err = resolve_with(Some("[defaults]\n\nforks = many\n"), &[]).unwrap_err();
    assert_eq!(err.at, "site/ansible.cfg:3:1");
    assert!(err.message.contains("forks `many`"), "{err}");
    let err = resolve_with(None, &[("ANSIBLE_BECOME", "perhaps")]).unwrap_err();
    assert_eq!(err.at, "ANSIBLE_BECOME");
    let err = resolve_with(Some("[defaults]\nforks\n"), &[]).unwrap_err();
    assert_eq!(err.at, "site/ansible.cfg:2:1");
    assert!(err.to_string().contains("\n  hint: "), "{err}");
    let err = AnsibleCfg::resolve(&Sources {
        file: Some((Path::new("site/config.txt"), "")),
        env: &|_| None,
        cwd: Path::new("/"),
        home: None,
    })
    .unwrap_err();
    assert!(err.message.contains(".cfg or .ini"), "{err}");
}
