//! Network facts as Ansible's Linux collector builds them from `ip` and
//! /sys/class/net: `interfaces`, one fact per interface (`host0`, `lo`,
//! with `-` and `:` made `_`), `default_ipv4`/`default_ipv6` (the route to
//! a public address), `all_ipv4_addresses`, `all_ipv6_addresses` and
//! `locally_reachable_ips`. Without `ip`, there are none.

use std::net::Ipv4Addr;

use serde_json::{Map, Value, json};

use super::setup_script::Sections;
use super::setup_system::Facts;

/// The address whose route tells the default interface, per family.
const PROBE_V4: &str = "8.8.8.8";
const PROBE_V6: &str = "2404:6800:400a:800::1012";

pub fn network(sections: &Sections) -> Facts {
    let mut facts = Facts::new();
    if sections.get("ip").trim() != "present" {
        return facts;
    }
    let mut default_v4 = route(sections.get("route4"), PROBE_V4);
    let mut default_v6 = route(sections.get("route6"), PROBE_V6);
    let addresses = addresses(sections.get("addr"));
    let mut interfaces: Vec<(String, Map<String, Value>)> = Vec::new();
    let (mut all_v4, mut all_v6) = (Vec::new(), Vec::new());
    for device in &sections.interfaces {
        let info = sections.interface(device);
        let mut entry = Map::new();
        entry.insert("device".into(), json!(device));
        let mac = info
            .get("address")
            .copied()
            .filter(|mac| !mac.is_empty() && *mac != "00:00:00:00:00:00");
        if let Some(mac) = mac {
            entry.insert("macaddress".into(), json!(mac));
        }
        if let Some(mtu) = info.get("mtu").and_then(|mtu| mtu.parse::<u64>().ok()) {
            entry.insert("mtu".into(), json!(mtu));
        }
        if let Some(state) = info.get("operstate") {
            entry.insert("active".into(), json!(*state != "down"));
        }
        if let Some(module) = info.get("module") {
            entry.insert("module".into(), json!(module));
        }
        if let Some(kind) = info.get("type") {
            let kind = match *kind {
                "1" => "ether",
                "32" => "infiniband",
                "512" => "ppp",
                "772" => "loopback",
                "65534" => "tunnel",
                _ => "unknown",
            };
            entry.insert("type".into(), json!(kind));
        }
        if info.contains_key("bridge") {
            entry.insert("type".into(), json!("bridge"));
            let members: Vec<&str> = info
                .get("brif")
                .map_or(Vec::new(), |list| list.split_whitespace().collect());
            entry.insert("interfaces".into(), json!(members));
            if let Some(id) = info.get("bridge_id") {
                entry.insert("id".into(), json!(id));
            }
            if let Some(stp) = info.get("stp_state") {
                entry.insert("stp".into(), json!(*stp == "1"));
            }
        }
        if info.contains_key("bonding") {
            bonding(&info, &mut entry);
        }
        if let Some(perm) = info.get("perm_hwaddr") {
            entry.insert("perm_macaddress".into(), json!(perm));
        }
        if let Some(pciid) = info.get("pciid") {
            entry.insert("pciid".into(), json!(pciid));
        }
        if let Some(speed) = info
            .get("speed")
            .and_then(|speed| speed.parse::<i64>().ok())
        {
            entry.insert("speed".into(), json!(speed));
        }
        if let Some(flags) = info
            .get("flags")
            .and_then(|flags| u64::from_str_radix(flags.trim_start_matches("0x"), 16).ok())
        {
            entry.insert("promisc".into(), json!(flags & 0x0100 > 0));
        }
        interfaces.push((device.clone(), entry));
        let lines = addresses
            .iter()
            .filter(|line| line.device == *device)
            .collect::<Vec<_>>();
        for secondary in [false, true] {
            for line in lines.iter().filter(|line| line.secondary == secondary) {
                record(
                    line,
                    device,
                    info.get("address").copied(),
                    &mut interfaces,
                    &mut default_v4,
                    &mut default_v6,
                    &mut all_v4,
                    &mut all_v6,
                );
            }
        }
    }
    let names: Vec<String> = interfaces.iter().map(|(name, _)| fact_name(name)).collect();
    facts.insert("interfaces".into(), json!(names));
    for (name, entry) in interfaces {
        facts.insert(fact_name(&name), Value::Object(entry));
    }
    facts.insert("default_ipv4".into(), Value::Object(default_v4));
    facts.insert("default_ipv6".into(), Value::Object(default_v6));
    facts.insert("all_ipv4_addresses".into(), json!(all_v4));
    facts.insert("all_ipv6_addresses".into(), json!(all_v6));
    facts.insert(
        "locally_reachable_ips".into(),
        json!({"ipv4": local_addresses(sections.get("local4")),
               "ipv6": local_addresses(sections.get("local6"))}),
    );
    facts
}

/// An interface's name as a fact name: `br-app` → `br_app`, `eth0:1` →
/// `eth0_1`.
fn fact_name(name: &str) -> String {
    name.replace([':', '-'], "_")
}

fn bonding(info: &std::collections::BTreeMap<&str, &str>, entry: &mut Map<String, Value>) {
    entry.insert("type".into(), json!("bonding"));
    let first = |key: &str| {
        info.get(key)
            .and_then(|value| value.split_whitespace().next())
            .unwrap_or_default()
            .to_string()
    };
    let slaves: Vec<&str> = info
        .get("bond_slaves")
        .map_or(Vec::new(), |list| list.split_whitespace().collect());
    entry.insert("slaves".into(), json!(slaves));
    entry.insert("mode".into(), json!(first("bond_mode")));
    entry.insert("miimon".into(), json!(first("bond_miimon")));
    entry.insert("lacp_rate".into(), json!(first("bond_lacp_rate")));
    if let Some(primary) = info.get("bond_primary").filter(|p| !p.is_empty()) {
        entry.insert("primary".into(), json!(primary));
        if let Some(active) = info.get("bond_all_slaves_active") {
            entry.insert("all_slaves_active".into(), json!(*active == "1"));
        }
    }
}

/// `interface`, `address` and `gateway` of `ip route get`'s answer.
fn route(text: &str, probe: &str) -> Map<String, Value> {
    let mut found = Map::new();
    let Some(first) = text.lines().next() else {
        return found;
    };
    let words: Vec<&str> = first.split_whitespace().collect();
    if words.first() != Some(&probe) {
        return found;
    }
    for pair in words.windows(2) {
        match pair[0] {
            "dev" => found.insert("interface".into(), json!(pair[1])),
            "src" => found.insert("address".into(), json!(pair[1])),
            "via" if pair[1] != probe => found.insert("gateway".into(), json!(pair[1])),
            _ => None,
        };
    }
    found
}

/// One `inet`/`inet6` line of `ip addr show`, under its device.
struct AddressLine {
    device: String,
    secondary: bool,
    words: Vec<String>,
}

fn addresses(text: &str) -> Vec<AddressLine> {
    let mut lines = Vec::new();
    let mut device = String::new();
    for line in text.lines() {
        if !line.starts_with(' ') {
            // `2: host0@if45: <BROADCAST,...> mtu 1500 ...`
            if let Some(name) = line.split(": ").nth(1) {
                device = name.split('@').next().unwrap_or(name).to_string();
            }
            continue;
        }
        let words: Vec<String> = line.split_whitespace().map(str::to_string).collect();
        if matches!(words.first().map(String::as_str), Some("inet" | "inet6")) {
            lines.push(AddressLine {
                device: device.clone(),
                secondary: words.iter().any(|word| word == "secondary"),
                words,
            });
        }
    }
    lines
}

/// Adds one address to its interface, the defaults it matches and the
/// lists of all addresses, as Ansible's parser does. `mac` is the device's
/// address as the kernel gives it (a default route's `macaddress` even
/// when it is all zeros).
#[allow(clippy::too_many_arguments)]
fn record(
    line: &AddressLine,
    device: &str,
    mac: Option<&str>,
    interfaces: &mut Vec<(String, Map<String, Value>)>,
    default_v4: &mut Map<String, Value>,
    default_v6: &mut Map<String, Value>,
    all_v4: &mut Vec<String>,
    all_v6: &mut Vec<String>,
) {
    let words = &line.words;
    let word = |index: usize| words.get(index).map_or("", String::as_str);
    let device_entry = |interfaces: &Vec<(String, Map<String, Value>)>| {
        interfaces
            .iter()
            .find(|(name, _)| name == device)
            .map(|(_, entry)| entry.clone())
            .unwrap_or_default()
    };
    if word(0) == "inet" {
        let (address, prefix) = word(1).split_once('/').unwrap_or((word(1), "32"));
        let broadcast = if word(1).contains('/') && words.len() > 3 && word(2) == "brd" {
            word(3)
        } else {
            ""
        };
        let Ok(parsed) = address.parse::<Ipv4Addr>() else {
            return;
        };
        let length: u32 = prefix.parse().unwrap_or(32).min(32);
        let mask = if length == 0 {
            0
        } else {
            u32::MAX << (32 - length)
        };
        let netmask = Ipv4Addr::from(mask).to_string();
        let network = Ipv4Addr::from(u32::from(parsed) & mask).to_string();
        let details = json!({"address": address, "broadcast": broadcast, "netmask": netmask,
                             "network": network, "prefix": prefix});
        let label = words.last().map_or(device, String::as_str).to_string();
        if label != device {
            match interfaces.iter_mut().find(|(name, _)| *name == label) {
                Some((_, entry)) => entry.clear(),
                None => interfaces.push((label.clone(), Map::new())),
            }
        }
        let entry = entry_mut(interfaces, &label);
        if !line.secondary && !entry.contains_key("ipv4") {
            entry.insert("ipv4".into(), details.clone());
        } else {
            push(entry, "ipv4_secondaries", details.clone());
        }
        if line.secondary && label != device {
            push(entry_mut(interfaces, device), "ipv4_secondaries", details);
        }
        if default_v4.get("address").and_then(Value::as_str) == Some(address) {
            let own = device_entry(interfaces);
            default_v4.insert("broadcast".into(), json!(broadcast));
            default_v4.insert("netmask".into(), json!(netmask));
            default_v4.insert("network".into(), json!(network));
            default_v4.insert("prefix".into(), json!(prefix));
            if let Some(mac) = mac {
                default_v4.insert("macaddress".into(), json!(mac));
            }
            default_v4.insert("mtu".into(), own.get("mtu").cloned().unwrap_or(Value::Null));
            default_v4.insert(
                "type".into(),
                own.get("type").cloned().unwrap_or(json!("unknown")),
            );
            default_v4.insert("alias".into(), json!(label));
        }
        if !address.starts_with("127.") {
            all_v4.push(address.to_string());
        }
    } else {
        let (address, prefix, scope) = if word(2) == "peer" {
            (
                word(1),
                word(3).split_once('/').map_or("", |(_, p)| p),
                word(5),
            )
        } else {
            let (address, prefix) = word(1).split_once('/').unwrap_or((word(1), ""));
            (address, prefix, word(3))
        };
        push(
            entry_mut(interfaces, device),
            "ipv6",
            json!({"address": address, "prefix": prefix, "scope": scope}),
        );
        if default_v6.get("address").and_then(Value::as_str) == Some(address) {
            let own = device_entry(interfaces);
            default_v6.insert("prefix".into(), json!(prefix));
            default_v6.insert("scope".into(), json!(scope));
            if let Some(mac) = mac {
                default_v6.insert("macaddress".into(), json!(mac));
            }
            default_v6.insert("mtu".into(), own.get("mtu").cloned().unwrap_or(Value::Null));
            default_v6.insert(
                "type".into(),
                own.get("type").cloned().unwrap_or(json!("unknown")),
            );
        }
        if address != "::1" {
            all_v6.push(address.to_string());
        }
    }
}

fn entry_mut<'a>(
    interfaces: &'a mut Vec<(String, Map<String, Value>)>,
    name: &str,
) -> &'a mut Map<String, Value> {
    let index = match interfaces.iter().position(|(known, _)| known == name) {
        Some(index) => index,
        None => {
            interfaces.push((name.to_string(), Map::new()));
            interfaces.len() - 1
        }
    };
    &mut interfaces[index].1
}

fn push(entry: &mut Map<String, Value>, key: &str, value: Value) {
    if let Value::Array(list) = entry.entry(key).or_insert_with(|| json!([])) {
        list.push(value);
    }
}

/// The `local` routes of a `table local` listing, each once.
fn local_addresses(text: &str) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    for line in text.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        if let ["local", address, ..] = words[..]
            && !found.iter().any(|known| known == address)
        {
            found.push(address.to_string());
        }
    }
    found
}
