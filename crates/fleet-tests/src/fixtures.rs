//! What the lab hosts download from in the tests: one [`FileServer`] on the
//! controller's bridge address, started once per test process (and gone
//! with it), serving
//! - `/apt/`: the signed [`PackageRepo`] (suite [`package_repo::SUITE`]);
//! - `/keys/fleet-test.asc` and `/keys/fleet-test.gpg`: its public key;
//! - `/files/`: plain files with known checksums, and `SHA256SUMS`;
//! - `/private/secret.txt` (basic auth) and `/needs-header/token.txt`.
//!
//! Lab tests and differential cases share it; the cases see its addresses
//! as the vars of [`Fixtures::vars`] (see tests/differential/README.md).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use serde_json::{Map, Value, json};

use crate::file_server::{FileServer, controller_address_for};
use crate::package_repo::{self, PackageRepo, run};
use crate::{Lab, repo_root};

/// A served plain file and its checksums.
#[derive(Debug, Clone)]
pub struct ServedFile {
    /// The path on the server, `/files/NAME`.
    pub path: String,
    pub content: Vec<u8>,
    pub sha256: String,
    pub sha1: String,
    pub md5: String,
}

/// The served tree and its server.
pub struct Fixtures {
    pub server: FileServer,
    pub repo: PackageRepo,
    pub files: Vec<ServedFile>,
    /// Where the served tree lives on the controller.
    pub root: PathBuf,
}

/// The apt.conf.d file that sends a host's requests for the fixture
/// server directly, past the lab's apt proxy (whose cache would keep
/// indexes of earlier test repositories).
pub const APT_DIRECT_CONF: &str = "/etc/apt/apt.conf.d/05fleet-test-direct";

/// Files under `/files/`, name and content.
const PLAIN_FILES: &[(&str, &str)] = &[
    ("hello.txt", "hello from the fleet test file server\n"),
    ("config.ini", "[main]\nanswer = 42\n"),
];

impl Fixtures {
    /// The fixtures, built and served on first use.
    pub fn get() -> &'static Fixtures {
        static FIXTURES: OnceLock<Fixtures> = OnceLock::new();
        FIXTURES.get_or_init(Fixtures::start)
    }

    fn start() -> Fixtures {
        let lab = Lab::get();
        let first_host = lab.host_names().into_iter().next().expect("a lab host");
        let ip = controller_address_for(&lab.address(&first_host));
        let root = repo_root()
            .join("target/test-fixtures")
            .join(format!("served-{}", std::process::id()));
        let served = root.join("served");
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(served.join("keys")).expect("create served tree");
        let repo = PackageRepo::build(&root.join("build"));
        std::fs::rename(&repo.dir, served.join("apt")).expect("move the repository");
        let repo = PackageRepo {
            dir: served.join("apt"),
            ..repo
        };
        std::fs::write(served.join("keys/fleet-test.asc"), &repo.key_asc).expect("write key");
        std::fs::write(served.join("keys/fleet-test.gpg"), &repo.key_gpg).expect("write key");
        let mut files = Vec::new();
        for (dir, name, content) in PLAIN_FILES
            .iter()
            .map(|(name, content)| ("files", *name, *content))
            .chain([
                ("private", "secret.txt", "only with a password\n"),
                ("needs-header", "token.txt", "only with the header\n"),
            ])
        {
            std::fs::create_dir_all(served.join(dir)).expect("create dir");
            let path = served.join(dir).join(name);
            std::fs::write(&path, content).expect("write served file");
            files.push(ServedFile {
                path: format!("/{dir}/{name}"),
                content: content.as_bytes().to_vec(),
                sha256: digest("sha256sum", &path),
                sha1: digest("sha1sum", &path),
                md5: digest("md5sum", &path),
            });
        }
        let sums: String = files
            .iter()
            .filter(|file| file.path.starts_with("/files/"))
            .map(|file| format!("{}  {}\n", file.sha256, &file.path["/files/".len()..]))
            .collect();
        std::fs::write(served.join("files/SHA256SUMS"), sums).expect("write SHA256SUMS");
        let server = FileServer::start(&served, ip);
        Fixtures {
            server,
            repo,
            files,
            root,
        }
    }

    /// `http://IP:PORT`.
    pub fn url(&self) -> String {
        self.server.url()
    }

    /// The repository's URL, for a sources line.
    pub fn repo_url(&self) -> String {
        format!("{}/apt", self.url())
    }

    /// The served file at `path` (`/files/hello.txt`).
    pub fn file(&self, path: &str) -> &ServedFile {
        self.files
            .iter()
            .find(|file| file.path == path)
            .unwrap_or_else(|| panic!("no served file {path}"))
    }

    /// A shell script that makes apt on a host reach this server directly.
    pub fn apt_direct_script(&self) -> String {
        let ip = self.server.url();
        let ip = ip
            .trim_start_matches("http://")
            .rsplit_once(':')
            .map_or(ip.as_str(), |(ip, _)| ip)
            .to_string();
        format!("printf 'Acquire::http::Proxy::{ip} \"DIRECT\";\\n' > {APT_DIRECT_CONF}\n")
    }

    /// The vars a differential case gets (in both tools' inventories), and
    /// its setup script as environment variables of the same names.
    pub fn vars(&self) -> Map<String, Value> {
        let mut vars = Map::new();
        vars.insert("fleet_test_url".into(), json!(self.url()));
        vars.insert("fleet_test_repo_url".into(), json!(self.repo_url()));
        vars.insert("fleet_test_repo_suite".into(), json!(package_repo::SUITE));
        vars.insert(
            "fleet_test_key_url".into(),
            json!(format!("{}/keys/fleet-test.asc", self.url())),
        );
        vars.insert(
            "fleet_test_key_fingerprint".into(),
            json!(self.repo.fingerprint),
        );
        vars.insert("fleet_test_key_id".into(), json!(self.repo.key_id()));
        vars.insert(
            "fleet_test_key".into(),
            json!(String::from_utf8_lossy(&self.repo.key_asc)),
        );
        for file in &self.files {
            let name = file.path.rsplit('/').next().unwrap_or_default();
            let var = name.replace(['.', '-'], "_");
            vars.insert(format!("fleet_test_sha256_{var}"), json!(file.sha256));
            vars.insert(format!("fleet_test_sha1_{var}"), json!(file.sha1));
            vars.insert(format!("fleet_test_md5_{var}"), json!(file.md5));
        }
        vars
    }
}

fn digest(program: &str, path: &Path) -> String {
    let out = run(Command::new(program).arg(path), program);
    String::from_utf8_lossy(&out)
        .split_whitespace()
        .next()
        .expect("a digest")
        .to_string()
}
