//! The smaller hardware and security facts: DMI (`product_name`,
//! `bios_version`…), capabilities, SELinux, and the storage initiators'
//! names (iSCSI, NVMe, Fibre Channel).

use serde_json::{Map, Value, json};

use super::setup_script::Sections;
use super::setup_system::Facts;

/// Each DMI fact and its file under /sys/devices/virtual/dmi/id.
const DMI: &[(&str, &str)] = &[
    ("bios_date", "bios_date"),
    ("bios_vendor", "bios_vendor"),
    ("bios_version", "bios_version"),
    ("board_asset_tag", "board_asset_tag"),
    ("board_name", "board_name"),
    ("board_serial", "board_serial"),
    ("board_vendor", "board_vendor"),
    ("board_version", "board_version"),
    ("chassis_asset_tag", "chassis_asset_tag"),
    ("chassis_serial", "chassis_serial"),
    ("chassis_vendor", "chassis_vendor"),
    ("chassis_version", "chassis_version"),
    ("form_factor", "chassis_type"),
    ("product_name", "product_name"),
    ("product_serial", "product_serial"),
    ("product_uuid", "product_uuid"),
    ("product_version", "product_version"),
    ("system_vendor", "sys_vendor"),
];

/// The SMBIOS chassis types, by number.
const FORM_FACTORS: &[&str] = &[
    "Unknown",
    "Other",
    "Unknown",
    "Desktop",
    "Low Profile Desktop",
    "Pizza Box",
    "Mini Tower",
    "Tower",
    "Portable",
    "Laptop",
    "Notebook",
    "Hand Held",
    "Docking Station",
    "All In One",
    "Sub Notebook",
    "Space-saving",
    "Lunch Box",
    "Main Server Chassis",
    "Expansion Chassis",
    "Sub Chassis",
    "Bus Expansion Chassis",
    "Peripheral Chassis",
    "RAID Chassis",
    "Rack Mount Chassis",
    "Sealed-case PC",
    "Multi-system",
    "CompactPCI",
    "AdvancedTCA",
    "Blade",
    "Blade Enclosure",
    "Tablet",
    "Convertible",
    "Detachable",
    "IoT Gateway",
    "Embedded PC",
    "Mini PC",
    "Stick PC",
];

/// DMI facts, `NA` for what cannot be read (a serial, without root).
pub fn dmi(sections: &Sections) -> Facts {
    let files = sections.pairs("dmi");
    let mut facts = Facts::new();
    for (fact, file) in DMI {
        let value = files
            .get(file)
            .map(|value| value.trim())
            .filter(|value| !value.is_empty());
        let value = match (value, *fact) {
            (None, _) => "NA".to_string(),
            (Some(number), "form_factor") => match number.parse::<usize>() {
                Ok(index) if index < FORM_FACTORS.len() => FORM_FACTORS[index].to_string(),
                _ => format!("unknown ({number})"),
            },
            (Some(value), _) => value.to_string(),
        };
        facts.insert((*fact).to_string(), json!(value));
    }
    facts
}

/// `system_capabilities` and `system_capabilities_enforced`, from
/// `capsh --print`'s `Current:` line.
pub fn caps(sections: &Sections) -> Facts {
    let mut lines = sections.lines("caps");
    let mut facts = Facts::new();
    if lines.next() != Some("present") {
        facts.insert("system_capabilities_enforced".into(), json!("N/A"));
        facts.insert("system_capabilities".into(), json!("N/A"));
        return facts;
    }
    let (mut enforced, mut capabilities) = ("NA", Vec::new());
    if let Some(current) = lines.find(|line| line.starts_with("Current:")) {
        if current.split(':').nth(1).map(str::trim) == Some("=ep") {
            enforced = "False";
        } else {
            enforced = "True";
            capabilities = current
                .split('=')
                .nth(1)
                .unwrap_or_default()
                .split(',')
                .map(|cap| json!(cap.trim()))
                .collect();
        }
    }
    facts.insert("system_capabilities_enforced".into(), json!(enforced));
    facts.insert("system_capabilities".into(), Value::Array(capabilities));
    facts
}

/// `selinux` and `selinux_python_present`. Ansible asks libselinux (its
/// "Python library" is a binding to it): present when the library is,
/// enabled when selinuxfs is mounted.
pub fn selinux(sections: &Sections) -> Facts {
    let found = sections.pairs("selinux");
    let mut facts = Facts::new();
    if !found.contains_key("library") {
        facts.insert(
            "selinux".into(),
            json!({"status": "Missing selinux Python library"}),
        );
        facts.insert("selinux_python_present".into(), json!(false));
        return facts;
    }
    facts.insert("selinux_python_present".into(), json!(true));
    let Some(enforce) = found.get("enforce") else {
        facts.insert("selinux".into(), json!({"status": "disabled"}));
        return facts;
    };
    let mode = |value: &str| match value.trim() {
        "1" | "enforcing" => "enforcing",
        "0" | "permissive" => "permissive",
        "-1" | "disabled" => "disabled",
        _ => "unknown",
    };
    let policyvers = found
        .get("policyvers")
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map_or(json!("unknown"), Value::from);
    facts.insert(
        "selinux".into(),
        json!({
            "status": "enabled",
            "policyvers": policyvers,
            "config_mode": found.get("SELINUX").map_or("unknown", |v| mode(v)),
            "mode": mode(enforce),
            "type": found.get("SELINUXTYPE").map_or("unknown", |v| v.trim()),
        }),
    );
    facts
}

/// What `keep` takes from the first line it accepts (comments and empty
/// lines skipped), for `iscsi_iqn` and `hostnqn`.
fn first_line<'a>(text: &'a str, keep: impl Fn(&'a str) -> Option<&'a str>) -> &'a str {
    text.lines()
        .filter(|line| !line.starts_with('#') && !line.starts_with(';') && !line.trim().is_empty())
        .find_map(keep)
        .unwrap_or("")
}

pub fn iscsi(sections: &Sections) -> Facts {
    let iqn = first_line(sections.get("iscsi"), |line| {
        line.strip_prefix("InitiatorName=")
    });
    let mut facts = Facts::new();
    facts.insert("iscsi_iqn".into(), json!(iqn));
    facts
}

pub fn nvme(sections: &Sections) -> Facts {
    let nqn = first_line(sections.get("nvme"), |line| {
        line.starts_with("nqn.").then_some(line)
    });
    let mut facts = Facts::new();
    facts.insert("hostnqn".into(), json!(nqn));
    facts
}

/// `fibre_channel_wwn`: each host adapter's port name without its `0x`.
pub fn fibre_channel_wwn(sections: &Sections) -> Facts {
    let names: Vec<Value> = sections
        .lines("fc")
        .map(|line| json!(line.trim_end().get(2..).unwrap_or_default()))
        .collect();
    let mut facts = Facts::new();
    facts.insert("fibre_channel_wwn".into(), Value::Array(names));
    facts
}

/// `lsb`: `lsb_release -a`, or else /etc/lsb-release.
pub fn lsb(sections: &Sections) -> Facts {
    let mut lsb = Map::new();
    for line in sections.lines("lsb") {
        let Some((_, value)) = line.split_once(':') else {
            continue;
        };
        let key = if line.contains("LSB Version:") || line.contains("Release:") {
            "release"
        } else if line.contains("Distributor ID:") {
            "id"
        } else if line.contains("Description:") {
            "description"
        } else if line.contains("Codename:") {
            "codename"
        } else {
            continue;
        };
        lsb.insert(key.into(), json!(value.trim()));
    }
    if lsb.is_empty() {
        for line in sections.lines("lsb_file") {
            let Some((name, value)) = line.split_once('=') else {
                continue;
            };
            let key = match name.trim() {
                "DISTRIB_ID" => "id",
                "DISTRIB_RELEASE" => "release",
                "DISTRIB_DESCRIPTION" => "description",
                "DISTRIB_CODENAME" => "codename",
                _ => continue,
            };
            lsb.insert(key.into(), json!(value.trim()));
        }
    }
    if let Some(release) = lsb.get("release").and_then(Value::as_str) {
        let major = release.split('.').next().unwrap_or_default().to_string();
        lsb.insert("major_release".into(), json!(major));
    }
    for value in lsb.values_mut() {
        if let Value::String(text) = value {
            *text = text.trim_matches(['\'', '"', '\\']).to_string();
        }
    }
    let mut facts = Facts::new();
    facts.insert("lsb".into(), Value::Object(lsb));
    facts
}

/// `lvm`: volume groups, logical and physical volumes (sizes in GiB, as
/// text), as root where `vgs` is installed; `N/A` otherwise.
pub fn lvm(sections: &Sections) -> Facts {
    let mut lines = sections.lines("lvm");
    let mut facts = Facts::new();
    if lines.next() != Some("present") {
        facts.insert("lvm".into(), json!("N/A"));
        return facts;
    }
    let (mut vgs, mut lvs, mut pvs) = (Map::new(), Map::new(), Map::new());
    let mut root = false;
    for line in lines {
        if line == "root" {
            root = true;
        }
        let Some((kind, rest)) = line.split_once(' ') else {
            continue;
        };
        let items: Vec<&str> = rest.trim().split(',').collect();
        let item = |index: usize| json!(items.get(index).copied().unwrap_or_default());
        let from_end = |back: usize| json!(items.len().checked_sub(back).map_or("", |i| items[i]));
        let name = items[0].to_string();
        match kind {
            "vg" => {
                vgs.insert(
                    name,
                    json!({"size_g": from_end(2), "free_g": from_end(1),
                                        "num_lvs": item(2), "num_pvs": item(1)}),
                );
            }
            "lv" => {
                lvs.insert(name, json!({"size_g": item(3), "vg": item(1)}));
            }
            "pv" => {
                pvs.insert(
                    name,
                    json!({"size_g": item(4), "free_g": item(5), "vg": item(1)}),
                );
            }
            _ => {}
        }
    }
    let lvm = if root {
        json!({"lvs": lvs, "vgs": vgs, "pvs": pvs})
    } else {
        json!("N/A")
    };
    facts.insert("lvm".into(), lvm);
    facts
}
