//! The smaller system collectors: dns, fips, cmdline, ssh host keys,
//! apparmor, chroot and loadavg. Each function is one of Ansible's
//! collectors and returns its facts without the `ansible_` prefix.

use serde_json::{Map, Value, json};

use super::setup_script::Sections;
use super::setup_system::Facts;

/// `dns`: nameservers, domain, search, sortlist and options of
/// /etc/resolv.conf.
pub fn dns(sections: &Sections) -> Facts {
    let mut dns = Map::new();
    for line in sections.get("resolv").lines() {
        if line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        let tokens: Vec<&str> = line.split_whitespace().collect();
        let Some((first, rest)) = tokens.split_first() else {
            continue;
        };
        let words = || Value::from(rest.to_vec());
        match *first {
            "nameserver" => {
                let servers = dns.entry("nameservers").or_insert_with(|| json!([]));
                if let Value::Array(servers) = servers {
                    servers.extend(rest.iter().map(|s| json!(s)));
                }
            }
            "domain" if !rest.is_empty() => {
                dns.insert("domain".into(), json!(rest[0]));
            }
            "search" => {
                dns.insert("search".into(), words());
            }
            "sortlist" => {
                dns.insert("sortlist".into(), words());
            }
            "options" => {
                let options: Map<String, Value> = rest
                    .iter()
                    .map(|option| match option.split_once(':') {
                        Some((key, value)) if !value.is_empty() => (key.to_string(), json!(value)),
                        Some((key, _)) => (key.to_string(), json!(true)),
                        None => (option.to_string(), json!(true)),
                    })
                    .collect();
                dns.insert("options".into(), Value::Object(options));
            }
            _ => {}
        }
    }
    let mut facts = Facts::new();
    facts.insert("dns".into(), Value::Object(dns));
    facts
}

pub fn fips(sections: &Sections) -> Facts {
    let mut facts = Facts::new();
    facts.insert("fips".into(), json!(sections.get("fips").trim() == "1"));
    facts
}

/// `cmdline` (the last value of each key) and `proc_cmdline` (repeated
/// keys as lists).
pub fn cmdline(sections: &Sections) -> Facts {
    let mut facts = Facts::new();
    let text = sections.get("cmdline").trim();
    if text.is_empty() {
        return facts;
    }
    let (mut last, mut all) = (Map::new(), Map::new());
    for piece in split_keeping_quotes(text) {
        match piece.split_once('=') {
            None => {
                last.insert(piece.clone(), json!(true));
                all.insert(piece, json!(true));
            }
            Some((key, value)) => {
                last.insert(key.to_string(), json!(value));
                match all.get_mut(key) {
                    Some(Value::Array(values)) => values.push(json!(value)),
                    Some(existing) => *existing = json!([existing.clone(), value]),
                    None => {
                        all.insert(key.to_string(), json!(value));
                    }
                }
            }
        }
    }
    facts.insert("cmdline".into(), Value::Object(last));
    facts.insert("proc_cmdline".into(), Value::Object(all));
    facts
}

/// Words split at whitespace outside quotes, the quotes kept (Python's
/// `shlex.split(posix=False)`).
fn split_keeping_quotes(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quote: Option<char> = None;
    for c in text.chars() {
        match quote {
            Some(q) => {
                word.push(c);
                if c == q {
                    quote = None;
                }
            }
            None if c.is_whitespace() => {
                if !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
            }
            None => {
                if c == '"' || c == '\'' {
                    quote = Some(c);
                }
                word.push(c);
            }
        }
    }
    if !word.is_empty() {
        words.push(word);
    }
    words
}

/// `ssh_host_key_<algorithm>_public` and `…_keytype`.
pub fn ssh_pub_keys(sections: &Sections) -> Facts {
    let mut facts = Facts::new();
    for line in sections.lines("ssh") {
        let mut words = line.split_whitespace();
        if let (Some(algorithm), Some(keytype), Some(key)) =
            (words.next(), words.next(), words.next())
        {
            let name = format!("ssh_host_key_{algorithm}_public");
            facts.insert(format!("{name}_keytype"), json!(keytype));
            facts.insert(name, json!(key));
        }
    }
    facts
}

pub fn apparmor(sections: &Sections) -> Facts {
    let status = if sections.get("apparmor").trim() == "enabled" {
        "enabled"
    } else {
        "disabled"
    };
    let mut facts = Facts::new();
    facts.insert("apparmor".into(), json!({"status": status}));
    facts
}

/// `is_chroot`: `/` is not pid 1's root (or, when that cannot be read,
/// not the file system's root inode).
pub fn chroot(sections: &Sections) -> Facts {
    let pairs = sections.pairs("chroot");
    let field = |key: &str| pairs.get(key).map_or("", |value| value.trim());
    let is_chroot = if !field("debian_chroot").is_empty() {
        true
    } else if !field("init_root").is_empty() {
        field("root") != field("init_root")
    } else {
        let root_inode = match field("fs") {
            "btrfs" => "256",
            "xfs" => "128",
            _ => "2",
        };
        field("root").split(' ').nth(1) != Some(root_inode)
    };
    let mut facts = Facts::new();
    facts.insert("is_chroot".into(), json!(is_chroot));
    facts
}

pub fn loadavg(sections: &Sections) -> Facts {
    let mut facts = Facts::new();
    let values: Vec<f64> = sections
        .get("loadavg")
        .split_whitespace()
        .take(3)
        .filter_map(|value| value.parse().ok())
        .collect();
    if let [one, five, fifteen] = values[..] {
        facts.insert(
            "loadavg".into(),
            json!({"1m": one, "5m": five, "15m": fifteen}),
        );
    }
    facts
}
