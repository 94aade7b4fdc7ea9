//! Facts about the system: the distribution, the platform, the user, the
//! environment, Python, the service and package managers and systemd (the
//! smaller collectors are in `setup_small`). Each function is one of Ansible's collectors and
//! returns its facts without the `ansible_` prefix.

use serde_json::{Map, Value, json};

use super::setup_script::{PACKAGE_MANAGERS, Sections};

pub type Facts = Map<String, Value>;

/// Ansible's name for a distribution, from os-release's `ID`:
/// Python's `str.capitalize()` of the id, except for these.
const DISTRIBUTION_NAMES: &[(&str, &str)] = &[
    ("rhel", "RedHat"),
    ("amzn", "Amazon"),
    ("centos", "CentOS"),
    ("almalinux", "AlmaLinux"),
    ("ol", "OracleLinux"),
    ("opensuse", "openSUSE"),
    ("opensuse-leap", "openSUSE Leap"),
    ("opensuse-tumbleweed", "openSUSE Tumbleweed"),
    ("sles", "SLES"),
    ("sled", "SLED"),
    ("arch", "Archlinux"),
    ("linuxmint", "Linux Mint"),
    ("pop", "Pop!_OS"),
    ("clear-linux-os", "Clear Linux OS"),
];

/// Each OS family and the distributions in it, as Ansible groups them.
const OS_FAMILIES: &[(&str, &[&str])] = &[
    (
        "RedHat",
        &[
            "RedHat",
            "RHEL",
            "Fedora",
            "CentOS",
            "Scientific",
            "SLC",
            "Ascendos",
            "CloudLinux",
            "PSBM",
            "OracleLinux",
            "OVS",
            "OEL",
            "Amazon",
            "Amzn",
            "Virtuozzo",
            "XenServer",
            "Alibaba",
            "EulerOS",
            "openEuler",
            "AlmaLinux",
            "Rocky",
            "TencentOS",
            "EuroLinux",
            "Kylin Linux Advanced Server",
            "MIRACLE",
        ],
    ),
    (
        "Debian",
        &[
            "Debian",
            "Ubuntu",
            "Raspbian",
            "Neon",
            "KDE neon",
            "Linux Mint",
            "SteamOS",
            "Devuan",
            "Kali",
            "Cumulus Linux",
            "Pop!_OS",
            "Parrot",
            "Pardus GNU/Linux",
            "Uos",
            "Deepin",
            "OSMC",
            "Linux Mint Debian Edition",
        ],
    ),
    (
        "Suse",
        &[
            "SuSE",
            "SLES",
            "SLED",
            "openSUSE",
            "openSUSE Tumbleweed",
            "SLES_SAP",
            "SUSE_LINUX",
            "openSUSE Leap",
            "ALP-Dolomite",
            "SL-Micro",
            "openSUSE MicroOS",
        ],
    ),
    ("Archlinux", &["Archlinux", "Antergos", "Manjaro"]),
    ("Mandrake", &["Mandrake", "Mandriva"]),
    ("Gentoo", &["Gentoo", "Funtoo"]),
    ("Alpine", &["Alpine"]),
    ("ClearLinux", &["Clear Linux OS", "Clear Linux Mix"]),
];

/// os-release's fields, unquoted.
fn os_release(sections: &Sections) -> Map<String, Value> {
    sections
        .lines("os-release")
        .filter_map(|line| line.split_once('='))
        .map(|(key, value)| {
            let value = value.trim();
            let unquoted = value
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .or_else(|| value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')))
                .unwrap_or(value);
            (
                key.to_string(),
                Value::String(unquoted.replace("\\\"", "\"")),
            )
        })
        .collect()
}

/// Ansible's distribution name for an os-release id.
pub fn distribution_name(id: &str) -> String {
    if let Some((_, name)) = DISTRIBUTION_NAMES.iter().find(|(known, _)| *known == id) {
        return (*name).to_string();
    }
    let mut chars = id.chars();
    match chars.next() {
        Some(first) => first
            .to_uppercase()
            .chain(chars.flat_map(char::to_lowercase))
            .collect(),
        None => "OtherLinux".to_string(),
    }
}

/// The os-release id a distribution name came from (the inverse of
/// [`distribution_name`]).
pub fn distribution_id(name: &str) -> String {
    DISTRIBUTION_NAMES
        .iter()
        .find(|(_, known)| *known == name)
        .map_or_else(|| name.to_lowercase(), |(id, _)| (*id).to_string())
}

pub fn os_family(distribution: &str) -> String {
    OS_FAMILIES
        .iter()
        .find(|(_, names)| names.contains(&distribution))
        .map_or(distribution, |(family, _)| family)
        .to_string()
}

/// `distribution`, `distribution_version`, `_major_version`, `_release`,
/// `os_family` and, on Debian, `distribution_minor_version`.
pub fn distribution(sections: &Sections) -> Facts {
    let release = os_release(sections);
    let field = |key: &str| release.get(key).and_then(Value::as_str).unwrap_or("");
    let id = field("ID");
    let name = distribution_name(id);
    let mut version = field("VERSION_ID").to_string();
    let debian_version = sections.get("debian_version").trim();
    // Debian's point release is only in /etc/debian_version ("12.15").
    let precise =
        |text: &str| !text.is_empty() && text.chars().all(|c| c.is_ascii_digit() || c == '.');
    if id == "debian" && precise(debian_version) && debian_version.starts_with(&version) {
        version = debian_version.to_string();
    }
    let codename = [field("VERSION_CODENAME"), field("UBUNTU_CODENAME")]
        .into_iter()
        .find(|codename| !codename.is_empty())
        .map(str::to_string)
        .or_else(|| parenthesized(field("PRETTY_NAME")))
        .unwrap_or_default();
    let mut facts = Facts::new();
    let or_na = |text: &str| {
        if text.is_empty() {
            "NA".to_string()
        } else {
            text.to_string()
        }
    };
    let major = version.split('.').next().unwrap_or_default().to_string();
    facts.insert("distribution".into(), json!(name));
    facts.insert("distribution_version".into(), json!(or_na(&version)));
    facts.insert("distribution_major_version".into(), json!(or_na(&major)));
    facts.insert("distribution_release".into(), json!(or_na(&codename)));
    if id == "debian"
        && let Some((_, minor)) = debian_version.split_once('.')
        && let Some(minor) = minor.split('.').next().filter(|minor| precise(minor))
    {
        facts.insert("distribution_minor_version".into(), json!(minor));
    }
    if !release.is_empty() {
        facts.insert("distribution_file_parsed".into(), json!(true));
        facts.insert("distribution_file_path".into(), json!("/etc/os-release"));
        facts.insert("distribution_file_variety".into(), json!(os_family(&name)));
    }
    facts.insert("os_family".into(), json!(os_family(&name)));
    facts
}

/// `Debian GNU/Linux 12 (bookworm)` → `bookworm`.
fn parenthesized(text: &str) -> Option<String> {
    let (_, rest) = text.split_once(" (")?;
    Some(rest.split(')').next()?.to_string()).filter(|inside| !inside.is_empty())
}

/// `system`, `kernel`, `machine`, `architecture`, the host names,
/// `machine_id`, `userspace_bits` and `python_version`.
pub fn platform(sections: &Sections) -> Facts {
    let uname: Vec<&str> = sections.get("uname").lines().collect();
    let field = |index: usize| uname.get(index).copied().unwrap_or_default();
    let nodename = field(4);
    let fqdn = sections.lines("fqdn").next().unwrap_or(nodename).trim();
    let machine = field(3);
    let bits = sections.get("long_bit").trim();
    let mut facts = Facts::new();
    facts.insert("system".into(), json!(field(0)));
    facts.insert("kernel".into(), json!(field(1)));
    facts.insert("kernel_version".into(), json!(field(2)));
    facts.insert("machine".into(), json!(machine));
    if let Some(version) = python(sections).get("python").and_then(python_version) {
        facts.insert("python_version".into(), json!(version));
    }
    facts.insert("fqdn".into(), json!(fqdn));
    facts.insert(
        "hostname".into(),
        json!(nodename.split('.').next().unwrap_or_default()),
    );
    facts.insert("nodename".into(), json!(nodename));
    let domain = fqdn.split_once('.').map_or("", |(_, domain)| domain);
    facts.insert("domain".into(), json!(domain));
    facts.insert("userspace_bits".into(), json!(bits));
    let i386 =
        |machine: &str| machine.len() == 4 && machine.starts_with('i') && machine.ends_with("86");
    let architecture = if i386(machine) { "i386" } else { machine };
    facts.insert("architecture".into(), json!(architecture));
    if machine == "x86_64" || i386(machine) {
        let userspace = match bits {
            "64" => Some("x86_64"),
            "32" => Some("i386"),
            _ => None,
        };
        if let Some(userspace) = userspace {
            facts.insert("userspace_architecture".into(), json!(userspace));
        }
    }
    if let Some(id) = sections.lines("machine_id").next() {
        facts.insert("machine_id".into(), json!(id.trim()));
    }
    facts
}

/// `platform.python_version()`: `3.11.2`, or `3.13.0rc1` before a final
/// release.
fn python_version(python: &Value) -> Option<String> {
    let version = python.get("version")?;
    let number = |key: &str| version.get(key).and_then(Value::as_u64);
    let base = format!(
        "{}.{}.{}",
        number("major")?,
        number("minor")?,
        number("micro")?
    );
    let suffix = match version.get("releaselevel")?.as_str()? {
        "alpha" => "a",
        "beta" => "b",
        "candidate" => "rc",
        _ => return Some(base),
    };
    Some(format!("{base}{suffix}{}", number("serial")?))
}

/// `python`: the interpreter fleet finds as `python3` (or `python`);
/// nothing when the host has none.
pub fn python(sections: &Sections) -> Facts {
    let lines: Vec<&str> = sections.lines("python").collect();
    let mut facts = Facts::new();
    let (Some(executable), Some(info)) = (lines.first(), lines.get(1)) else {
        return facts;
    };
    let info: Vec<&str> = info.split_whitespace().collect();
    let number = |index: usize| info.get(index).and_then(|n| n.parse::<u64>().ok());
    let (Some(major), Some(minor), Some(micro)) = (number(0), number(1), number(2)) else {
        return facts;
    };
    let level = info.get(3).copied().unwrap_or("final");
    let serial = number(4).unwrap_or(0);
    facts.insert(
        "python".into(),
        json!({
            "version": {"major": major, "minor": minor, "micro": micro,
                        "releaselevel": level, "serial": serial},
            "version_info": [major, minor, micro, level, serial],
            "executable": executable,
            "has_sslcontext": lines.get(3) == Some(&"True"),
            "type": lines.get(2).copied().map_or(Value::Null, Value::from),
        }),
    );
    facts
}

/// `env`: the environment the facts were gathered in.
pub fn env(sections: &Sections) -> Facts {
    let text = sections.get("env");
    let mut env = Map::new();
    if text.contains('\0') {
        for entry in text.split('\0') {
            if let Some((key, value)) = entry.split_once('=') {
                env.insert(key.to_string(), json!(value));
            }
        }
    } else {
        // Without `env -0`, a line without `=` continues the value above.
        let mut last: Option<String> = None;
        for line in text.lines() {
            match line.split_once('=') {
                Some((key, value)) if !key.is_empty() && !key.contains(' ') => {
                    env.insert(key.to_string(), json!(value));
                    last = Some(key.to_string());
                }
                _ => {
                    if let Some(Value::String(value)) = last.as_ref().and_then(|k| env.get_mut(k)) {
                        value.push('\n');
                        value.push_str(line);
                    }
                }
            }
        }
    }
    let mut facts = Facts::new();
    facts.insert("env".into(), Value::Object(env));
    facts
}

/// `user_id` and its passwd entry, and the real and effective ids.
pub fn user(sections: &Sections) -> Facts {
    let lines: Vec<&str> = sections.get("user").lines().collect();
    let mut facts = Facts::new();
    let name = lines.first().copied().unwrap_or_default();
    facts.insert("user_id".into(), json!(name));
    let entry: Vec<&str> = lines
        .get(1)
        .map(|l| l.split(':').collect())
        .unwrap_or_default();
    let number = |text: Option<&&str>| text.and_then(|n| n.trim().parse::<u64>().ok());
    if entry.len() >= 7 {
        facts.insert("user_uid".into(), json!(number(entry.get(2))));
        facts.insert("user_gid".into(), json!(number(entry.get(3))));
        facts.insert("user_gecos".into(), json!(entry[4]));
        facts.insert("user_dir".into(), json!(entry[5]));
        facts.insert("user_shell".into(), json!(entry[6]));
    }
    let ids = &lines[lines.len().min(2)..];
    let (real_uid, uid, real_gid) = (number(ids.first()), number(ids.get(1)), number(ids.get(2)));
    facts.insert("real_user_id".into(), json!(real_uid));
    facts.insert("effective_user_id".into(), json!(uid));
    facts.insert("real_group_id".into(), json!(real_gid));
    // Ansible reports the real group id as the effective one too.
    facts.insert("effective_group_id".into(), json!(real_gid));
    facts
}

/// `service_mgr`, from what runs as pid 1 and the init system's traces.
pub fn service_mgr(sections: &Sections) -> Facts {
    let init = sections.pairs("init");
    let has = |key: &str| init.contains_key(key);
    let mut comm = init
        .get("comm")
        .map(|comm| comm.trim().to_string())
        .filter(|comm| !comm.is_empty());
    if comm.is_none() {
        comm = init
            .get("sbin_init")
            .map(|link| link.rsplit('/').next().unwrap_or(link).trim().to_string());
    }
    let comm = comm.filter(|comm| comm != "init" && !comm.ends_with("sh"));
    let name = match comm.as_deref() {
        Some("procd") => "openwrt_init".to_string(),
        Some("runit-init") => "runit".to_string(),
        Some("svscan") => "svc".to_string(),
        Some("openrc-init") => "openrc".to_string(),
        Some(other) => other.to_string(),
        None if has("systemctl") && has("booted") => "systemd".into(),
        None if has("upstart") => "upstart".into(),
        None if has("openrc") => "openrc".into(),
        None if has("systemctl")
            && init
                .get("sbin_init")
                .is_some_and(|link| link.rsplit('/').next() == Some("systemd")) =>
        {
            "systemd".into()
        }
        None if has("initd") => "sysvinit".into(),
        None if has("dinitd") => "dinit".into(),
        None => "service".into(),
    };
    let mut facts = Facts::new();
    facts.insert("service_mgr".into(), json!(name));
    facts
}

/// `systemd`: its version and features, when systemd runs the host.
pub fn systemd(sections: &Sections) -> Facts {
    let init = sections.pairs("init");
    let mut facts = Facts::new();
    if !(init.contains_key("systemctl") && init.contains_key("booted")) {
        return facts;
    }
    let mut lines = sections.get("systemd").lines();
    let version = lines
        .next()
        .and_then(|line| line.split(' ').nth(1))
        .and_then(|version| version.parse::<u64>().ok());
    if let (Some(version), Some(features)) = (version, lines.next()) {
        facts.insert(
            "systemd".into(),
            json!({"features": features, "version": version}),
        );
    }
    facts
}

/// `pkg_mgr`: the last package manager found, or the OS family's own.
pub fn pkg_mgr(sections: &Sections, os_family: &str) -> Facts {
    let found: Vec<&str> = sections.lines("pkg").filter(|l| !l.contains('=')).collect();
    let mut name = PACKAGE_MANAGERS
        .iter()
        .filter(|(path, _)| found.contains(path))
        .map(|(_, name)| *name)
        .next_back()
        .unwrap_or("unknown")
        .to_string();
    match os_family {
        "RedHat" => {
            let markers = sections.pairs("pkg");
            name = if sections.lines("pkg").any(|l| l == "/run/ostree-booted") {
                "atomic_container".into()
            } else {
                ["/usr/bin/dnf", "/usr/bin/microdnf"]
                    .iter()
                    .find_map(|path| markers.get(path))
                    .map_or("unknown", |real| {
                        if *real == "/usr/bin/dnf5" {
                            "dnf5"
                        } else {
                            "dnf"
                        }
                    })
                    .into()
            };
        }
        "Debian" => name = "apt".into(),
        "Altlinux" if name == "apt" => name = "apt_rpm".into(),
        _ => {}
    }
    let mut facts = Facts::new();
    facts.insert("pkg_mgr".into(), json!(name));
    facts
}
