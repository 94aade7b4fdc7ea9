//! Unit tests of `copy` with a controller directory: the probe and the
//! steps run in a real `sh` (uploads written directly).

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use serde_json::{Value, json};

use crate::modules::path_facts::tests::TempDir;
use crate::{Controller, LocalEntry, ModuleError, Plan, Probe, Step};

struct Tree(PathBuf);

impl Controller for Tree {
    fn read_file(&self, src: &str) -> Result<Vec<u8>, ModuleError> {
        std::fs::read(self.0.join(src)).map_err(|err| ModuleError::Failed(err.to_string()))
    }
    fn render_template(&self, _src: &str) -> Result<String, ModuleError> {
        Ok(String::new())
    }
    fn read_tree(&self, src: &str) -> Result<Vec<LocalEntry>, ModuleError> {
        crate::read_local_tree(&self.0.join(src.trim_end_matches('/'))).map_err(ModuleError::Failed)
    }
}

fn run(dir: &TempDir, params: Value) -> Plan {
    let module = crate::modules::copy::build(params, &Tree(dir.path.join("ctl"))).unwrap();
    let (rc, stdout) = dir.sh(&module.probe().unwrap());
    assert_eq!(rc, 0, "{stdout}");
    let plan = module.plan(&Probe::ok(&stdout)).unwrap();
    for step in &plan.steps {
        match step {
            Step::Run { script, .. } => assert_eq!(dir.sh(script).0, 0, "{script}"),
            Step::Upload {
                dest,
                contents,
                mode,
                ..
            } => {
                std::fs::write(dest, contents).unwrap();
                std::fs::set_permissions(dest, std::fs::Permissions::from_mode(*mode)).unwrap();
            }
            other => panic!("{other:?}"),
        }
    }
    plan
}

fn tree(dir: &TempDir) {
    std::fs::create_dir_all(dir.path.join("ctl/conf/sub")).unwrap();
    std::fs::create_dir_all(dir.path.join("ctl/conf/empty")).unwrap();
    dir.file("ctl/conf/a.conf", "a\n");
    dir.file("ctl/conf/sub/b.conf", "b\n");
    std::os::unix::fs::symlink("a.conf", dir.path.join("ctl/conf/link.conf")).unwrap();
}

#[test]
fn a_controller_tree_is_copied_with_directory_mode() {
    let dir = TempDir::new("copy-tree");
    tree(&dir);
    let params = json!({"src": "conf", "dest": dir.join("etc/app"), "directory_mode": "0750"});
    let first = run(&dir, params.clone());
    assert!(first.changed);
    assert_eq!(
        std::fs::read_to_string(dir.path.join("etc/app/conf/sub/b.conf")).unwrap(),
        "b\n"
    );
    // A symlink is copied as the file it points to.
    assert_eq!(
        std::fs::read_to_string(dir.path.join("etc/app/conf/link.conf")).unwrap(),
        "a\n"
    );
    for made in [
        "etc",
        "etc/app",
        "etc/app/conf",
        "etc/app/conf/sub",
        "etc/app/conf/empty",
    ] {
        assert_eq!(dir.mode(made), 0o750, "{made}");
    }
    assert_eq!(dir.mode("etc/app/conf/a.conf"), 0o644);
    assert!(!run(&dir, params.clone()).changed);
    // An existing directory of the tree gets directory_mode too.
    std::fs::set_permissions(
        dir.path.join("etc/app/conf/sub"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    dir.file("ctl/conf/sub/b.conf", "b2\n");
    let again = run(&dir, params);
    assert_eq!(dir.mode("etc/app/conf/sub"), 0o750);
    assert_eq!(
        std::fs::read_to_string(dir.path.join("etc/app/conf/sub/b.conf")).unwrap(),
        "b2\n"
    );
    let diff = again.diff.unwrap();
    assert!(
        diff.contains("file changed: conf/sub/b.conf")
            && diff.contains("conf/sub: mode: 0755 -> 0750"),
        "{diff}"
    );
}

#[test]
fn a_trailing_slash_copies_the_contents() {
    let dir = TempDir::new("copy-tree-contents");
    tree(&dir);
    std::fs::create_dir_all(dir.path.join("out")).unwrap();
    let params = json!({"src": "conf/", "dest": dir.join("out"), "mode": "0600"});
    assert!(run(&dir, params.clone()).changed);
    assert_eq!(
        std::fs::read_to_string(dir.path.join("out/a.conf")).unwrap(),
        "a\n"
    );
    assert_eq!(dir.mode("out/a.conf"), 0o600);
    assert!(!run(&dir, params).changed);
}
