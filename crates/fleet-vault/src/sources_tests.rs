use std::os::unix::fs::PermissionsExt;

use crate::{VaultError, VaultOptions, read_source, split_slug};

fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("fleet-vault-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn slugs_keep_ansibles_order() {
    let options = VaultOptions {
        vault_ids: vec!["prod@p.txt".into(), "dev.txt".into()],
        password_files: vec!["pw".into()],
        ask_vault_pass: true,
        configured_file: Some("cfg".into()),
        new_password: false,
    };
    assert_eq!(
        options.slugs(),
        [
            "prod@p.txt",
            "dev.txt",
            "default@pw",
            "default@cfg",
            "default@prompt"
        ]
    );
    assert_eq!(split_slug("a@b@c"), (Some("a"), "b@c"));
    assert_eq!(split_slug("file"), (None, "file"));
}

#[test]
fn a_file_is_stripped_a_script_is_run() {
    let dir = scratch("sources");
    let file = dir.join("pw");
    std::fs::write(&file, "  secret one \n\n").unwrap();
    assert_eq!(read_source(&file, "default").unwrap(), b"secret one");
    let script = dir.join("pw.sh");
    std::fs::write(&script, "#!/bin/sh\nprintf 'from script\\n'\n").unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o700)).unwrap();
    assert_eq!(read_source(&script, "default").unwrap(), b"from script");
    let client = dir.join("pw-client.sh");
    std::fs::write(&client, "#!/bin/sh\nprintf '%s-%s' \"$1\" \"$2\"\n").unwrap();
    std::fs::set_permissions(&client, std::fs::Permissions::from_mode(0o700)).unwrap();
    assert_eq!(read_source(&client, "prod").unwrap(), b"--vault-id-prod");
    let failing = dir.join("fail.sh");
    std::fs::write(&failing, "#!/bin/sh\nexit 3\n").unwrap();
    std::fs::set_permissions(&failing, std::fs::Permissions::from_mode(0o700)).unwrap();
    assert!(matches!(
        read_source(&failing, "default"),
        Err(VaultError::Source(_))
    ));
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_missing_file_is_skipped_when_another_source_loads() {
    let dir = scratch("skip");
    std::fs::write(dir.join("good"), "pw\n").unwrap();
    let options = VaultOptions {
        vault_ids: vec![
            format!("a@{}", dir.join("missing").display()),
            format!("b@{}", dir.join("good").display()),
        ],
        ..VaultOptions::default()
    };
    let mut warnings = Vec::new();
    let ring = options.load(&mut |warning| warnings.push(warning)).unwrap();
    assert_eq!(ring.ids(), ["b"]);
    assert_eq!(warnings.len(), 1);
    let only_missing = VaultOptions {
        vault_ids: vec![format!("a@{}", dir.join("missing").display())],
        ..VaultOptions::default()
    };
    assert!(matches!(
        only_missing.load(&mut |_| {}),
        Err(VaultError::Source(_))
    ));
    std::fs::remove_dir_all(dir).unwrap();
}
