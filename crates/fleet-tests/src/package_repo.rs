//! A signed APT repository for the apt source modules' tests, built on the
//! controller at test time with `reprepro` and signed with a throwaway key
//! made by `gpg` (never committed). It holds Debian's `hello`, fetched with
//! `apt-get download` through the machine's own apt configuration (kept in
//! `target/test-fixtures/` between runs), and `fleet-test-hello`, a tiny
//! package built here with `dpkg-deb`.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::repo_root;

/// The suite (and codename) of the repository.
pub const SUITE: &str = "fleet-test";
/// Its one component.
pub const COMPONENT: &str = "main";
/// The package built here, and its version.
pub const OWN_PACKAGE: &str = "fleet-test-hello";
pub const OWN_VERSION: &str = "1.0";
/// The Debian package taken from the machine's mirror.
pub const DEBIAN_PACKAGE: &str = "hello";

/// A built repository.
#[derive(Debug, Clone)]
pub struct PackageRepo {
    /// The repository root (holds `dists/` and `pool/`).
    pub dir: PathBuf,
    /// The signing key's fingerprint (40 hex digits, upper case).
    pub fingerprint: String,
    /// The public key, ASCII-armored and binary.
    pub key_asc: Vec<u8>,
    pub key_gpg: Vec<u8>,
}

/// Runs `cmd`, panicking with its output when it fails; returns stdout.
pub(crate) fn run(cmd: &mut Command, what: &str) -> Vec<u8> {
    let output = cmd.output().unwrap_or_else(|err| {
        panic!("{what}: cannot run: {err} (scripts/install-deps installs it)")
    });
    assert!(
        output.status.success(),
        "{what} failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

impl PackageRepo {
    /// Builds a fresh repository under `work` (emptied first): `work/repo`
    /// is what to serve.
    pub fn build(work: &Path) -> PackageRepo {
        let _ = std::fs::remove_dir_all(work);
        // gpg-agent's socket lives in GNUPGHOME, and a socket's path must
        // stay under 108 bytes: a deep checkout would break it.
        let gnupg = std::env::temp_dir().join(format!("fleet-gpg-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&gnupg);
        std::fs::create_dir_all(&gnupg).expect("create GNUPGHOME");
        set_mode(&gnupg, 0o700);
        let gpg = |args: &[&str]| {
            let mut cmd = Command::new("gpg");
            cmd.env("GNUPGHOME", &gnupg)
                .args(["--batch", "--quiet", "--no-tty"])
                .args(args);
            cmd
        };
        run(
            &mut gpg(&[
                "--passphrase",
                "",
                "--quick-gen-key",
                "fleet test repository <fleet-test@invalid>",
                "ed25519",
                "sign",
                "never",
            ]),
            "gpg --quick-gen-key",
        );
        let listing = run(
            &mut gpg(&["--with-colons", "--list-keys"]),
            "gpg --list-keys",
        );
        let fingerprint = String::from_utf8_lossy(&listing)
            .lines()
            .find_map(|line| line.strip_prefix("fpr:"))
            .and_then(|rest| rest.split(':').find(|field| field.len() == 40))
            .expect("a fingerprint")
            .to_string();
        let key_asc = run(
            &mut gpg(&["--armor", "--export", &fingerprint]),
            "gpg --export",
        );
        let key_gpg = run(&mut gpg(&["--export", &fingerprint]), "gpg --export");

        let arch = String::from_utf8_lossy(&run(
            Command::new("dpkg").arg("--print-architecture"),
            "dpkg --print-architecture",
        ))
        .trim()
        .to_string();
        let dir = work.join("repo");
        std::fs::create_dir_all(dir.join("conf")).expect("create conf");
        std::fs::write(
            dir.join("conf/distributions"),
            format!(
                "Origin: fleet\nLabel: fleet-test\nSuite: {SUITE}\nCodename: {SUITE}\n\
                 Architectures: {arch}\nComponents: {COMPONENT}\n\
                 Description: fleet's test repository\nSignWith: {fingerprint}\n"
            ),
        )
        .expect("write conf/distributions");
        let debs = [own_package(work), debian_package()];
        for deb in &debs {
            run(
                Command::new("reprepro")
                    .env("GNUPGHOME", &gnupg)
                    .arg("--silent")
                    .arg("-b")
                    .arg(&dir)
                    .args(["includedeb", SUITE])
                    .arg(deb),
                "reprepro includedeb",
            );
        }
        for private in ["conf", "db"] {
            let _ = std::fs::remove_dir_all(dir.join(private));
        }
        let _ = Command::new("gpgconf")
            .env("GNUPGHOME", &gnupg)
            .args(["--kill", "gpg-agent"])
            .status();
        let _ = std::fs::remove_dir_all(&gnupg);
        PackageRepo {
            dir,
            fingerprint,
            key_asc,
            key_gpg,
        }
    }

    /// The long key id: the fingerprint's last 16 digits.
    pub fn key_id(&self) -> &str {
        &self.fingerprint[self.fingerprint.len() - 16..]
    }
}

/// `fleet-test-hello_1.0_all.deb`: one text file.
fn own_package(work: &Path) -> PathBuf {
    let root = work.join("pkg");
    let share = root.join(format!("usr/share/{OWN_PACKAGE}"));
    std::fs::create_dir_all(&share).expect("create package tree");
    std::fs::create_dir_all(root.join("DEBIAN")).expect("create DEBIAN");
    std::fs::write(
        share.join("hello.txt"),
        "hello from fleet's test repository\n",
    )
    .expect("write package file");
    std::fs::write(
        root.join("DEBIAN/control"),
        format!(
            "Package: {OWN_PACKAGE}\nVersion: {OWN_VERSION}\nArchitecture: all\n\
             Maintainer: fleet tests <fleet-test@invalid>\nSection: misc\nPriority: optional\n\
             Description: fleet test package\n A file, for the apt source modules' tests.\n"
        ),
    )
    .expect("write control");
    let deb = work.join(format!("{OWN_PACKAGE}_{OWN_VERSION}_all.deb"));
    run(
        Command::new("dpkg-deb")
            .args(["--root-owner-group", "-Zgzip", "--build"])
            .arg(&root)
            .arg(&deb),
        "dpkg-deb --build",
    );
    deb
}

/// Debian's `hello`, downloaded once into `target/test-fixtures/debs`.
fn debian_package() -> PathBuf {
    let cache = repo_root().join("target/test-fixtures/debs");
    std::fs::create_dir_all(&cache).expect("create the deb cache");
    let cached = |cache: &Path| {
        std::fs::read_dir(cache).ok()?.find_map(|entry| {
            let path = entry.ok()?.path();
            let name = path.file_name()?.to_str()?;
            (name.starts_with(&format!("{DEBIAN_PACKAGE}_")) && name.ends_with(".deb"))
                .then_some(path)
        })
    };
    if let Some(deb) = cached(&cache) {
        return deb;
    }
    run(
        Command::new("apt-get")
            .args(["download", "-q", DEBIAN_PACKAGE])
            .current_dir(&cache),
        "apt-get download hello",
    );
    cached(&cache).expect("apt-get download left no .deb")
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}
