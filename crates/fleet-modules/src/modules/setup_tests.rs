//! The facts of one script output (`setup_tests_output.txt`, written like
//! a Debian 12 host's), with the values ansible-core's collectors compute
//! from the same files.

use serde_json::{Value, json};

use super::*;
use crate::modules::tests::NoFiles;

const OUTPUT: &str = include_str!("setup_tests_output.txt");

fn gathered(params: Value) -> Map<String, Value> {
    let module = build(params, &NoFiles).unwrap();
    assert!(module.probe().is_some());
    let plan = module.plan(&Probe::ok(OUTPUT)).unwrap();
    assert!(!plan.changed && plan.steps.is_empty());
    plan.data[FACTS_KEY].as_object().unwrap().clone()
}

fn all() -> Map<String, Value> {
    gathered(json!({}))
}

#[test]
fn distribution_and_platform() {
    let facts = all();
    let expected = json!({
        "ansible_distribution": "Debian",
        "ansible_distribution_version": "12.15",
        "ansible_distribution_major_version": "12",
        "ansible_distribution_minor_version": "15",
        "ansible_distribution_release": "bookworm",
        "ansible_distribution_file_variety": "Debian",
        "ansible_os_family": "Debian",
        "ansible_system": "Linux",
        "ansible_kernel": "6.1.0-30-amd64",
        "ansible_kernel_version": "#1 SMP PREEMPT_DYNAMIC Debian 6.1.124-1 (2025-01-12)",
        "ansible_machine": "x86_64",
        "ansible_architecture": "x86_64",
        "ansible_userspace_architecture": "x86_64",
        "ansible_userspace_bits": "64",
        "ansible_hostname": "web1",
        "ansible_nodename": "web1.example.com",
        "ansible_fqdn": "web1.example.com",
        "ansible_domain": "example.com",
        "ansible_machine_id": "0123456789abcdef0123456789abcdef",
        "ansible_python_version": "3.11.2",
        "ansible_pkg_mgr": "apt",
        "ansible_service_mgr": "systemd",
        "ansible_fips": false,
        "ansible_is_chroot": false,
        "ansible_apparmor": {"status": "enabled"},
        "ansible_systemd": {"features": "+PAM +AUDIT +SELINUX default-hierarchy=unified", "version": 252},
        "gather_subset": ["all"],
        "module_setup": true,
    });
    for (key, value) in expected.as_object().unwrap() {
        assert_eq!(facts.get(key), Some(value), "{key}");
    }
}

#[test]
fn dmi_security_storage_and_lsb() {
    let facts = all();
    let expected = json!({
        "ansible_bios_vendor": "SeaBIOS", "ansible_bios_version": "NA",
        "ansible_form_factor": "Other", "ansible_product_name": "Standard PC (Q35 + ICH9, 2009)",
        "ansible_system_vendor": "QEMU", "ansible_product_serial": "NA",
        "ansible_system_capabilities_enforced": "False", "ansible_system_capabilities": [],
        "ansible_selinux": {"status": "disabled"}, "ansible_selinux_python_present": true,
        "ansible_iscsi_iqn": "iqn.1993-08.org.debian:01:abcdef", "ansible_hostnqn": "",
        "ansible_fibre_channel_wwn": [],
        "ansible_lsb": {"id": "Debian", "release": "12.15", "major_release": "12"},
        "ansible_lvm": {
            "vgs": {"data": {"size_g": "100.00", "free_g": "20.00", "num_lvs": "2", "num_pvs": "1"}},
            "lvs": {"web": {"size_g": "30.00", "vg": "data"}},
            "pvs": {"/dev/vdb": {"size_g": "100.00", "free_g": "20.00", "vg": "data"}},
        },
        "ansible_local": {},
    });
    for (key, value) in expected.as_object().unwrap() {
        assert_eq!(facts.get(key), Some(value), "{key}");
    }
}

#[test]
fn date_time_is_local_with_utc_iso8601() {
    assert_eq!(
        all()["ansible_date_time"],
        json!({
            "year": "2026", "month": "12", "weekday": "Thursday", "weekday_number": "4",
            "weeknumber": "48", "day": "03", "hour": "14", "minute": "25", "second": "34",
            "epoch": "1796304334", "epoch_int": "1796304334",
            "date": "2026-12-03", "time": "14:25:34",
            "iso8601_micro": "2026-12-03T13:25:34.968401Z", "iso8601": "2026-12-03T13:25:34Z",
            "iso8601_basic": "20261203T142534968401", "iso8601_basic_short": "20261203T142534",
            "tz": "CET", "tz_dst": "CEST", "tz_offset": "+0100",
        })
    );
}

#[test]
fn processors_and_memory_are_counted_like_ansible() {
    let facts = all();
    let numbers = json!({
        "ansible_processor_count": 1, "ansible_processor_cores": 2,
        "ansible_processor_threads_per_core": 2, "ansible_processor_vcpus": 4,
        "ansible_processor_nproc": 4,
        "ansible_memtotal_mb": 7962, "ansible_memfree_mb": 1024,
        "ansible_swaptotal_mb": 1023, "ansible_swapfree_mb": 1023,
        "ansible_uptime_seconds": 1234,
        "ansible_memory_mb": {
            "real": {"total": 7962, "used": 6938, "free": 1024},
            "nocache": {"free": 3172, "used": 4790},
            "swap": {"total": 1023, "free": 1023, "used": 0, "cached": 0},
        },
        "ansible_flags": ["fpu", "vme", "de", "sse", "sse2"],
        "ansible_loadavg": {"1m": 0.5, "5m": 0.25, "15m": 0.1},
    });
    for (key, value) in numbers.as_object().unwrap() {
        assert_eq!(facts.get(key), Some(value), "{key}");
    }
    let processor = facts["ansible_processor"].as_array().unwrap();
    assert_eq!(processor.len(), 12);
    assert_eq!(
        processor[..3],
        [
            json!("0"),
            json!("GenuineIntel"),
            json!("Intel(R) Xeon(R) Processor")
        ]
    );
}

#[test]
fn user_python_env_and_keys() {
    let facts = all();
    let expected = json!({
        "ansible_user_id": "deploy", "ansible_user_uid": 1000, "ansible_user_gid": 1000,
        "ansible_user_gecos": "Deploy User,,,", "ansible_user_dir": "/home/deploy",
        "ansible_user_shell": "/bin/bash",
        "ansible_real_user_id": 1000, "ansible_effective_user_id": 0,
        "ansible_real_group_id": 1000, "ansible_effective_group_id": 1000,
        "ansible_python": {
            "version": {"major": 3, "minor": 11, "micro": 2, "releaselevel": "final", "serial": 0},
            "version_info": [3, 11, 2, "final", 0],
            "executable": "/usr/bin/python3", "has_sslcontext": true, "type": "cpython",
        },
        "ansible_ssh_host_key_ed25519_public": "AAAAC3NzaC1lZDI1NTE5AAAAIFleetTestKey",
        "ansible_ssh_host_key_ed25519_public_keytype": "ssh-ed25519",
        "ansible_ssh_host_key_rsa_public_keytype": "ssh-rsa",
        "ansible_dns": {
            "nameservers": ["192.0.2.53", "192.0.2.54"],
            "search": ["example.com", "corp.example.com"],
            "options": {"ndots": "2", "rotate": true},
        },
    });
    for (key, value) in expected.as_object().unwrap() {
        assert_eq!(facts.get(key), Some(value), "{key}");
    }
    let env = &facts["ansible_env"];
    assert_eq!(env["HOME"], "/home/deploy");
    assert_eq!(env["MULTI"], "line one\nline two");
    assert_eq!(facts["ansible_cmdline"]["console"], "ttyS0,115200");
    assert_eq!(facts["ansible_cmdline"]["ro"], true);
    assert_eq!(facts["ansible_cmdline"]["\"init"], "/bin/a b\"");
    assert_eq!(
        facts["ansible_proc_cmdline"]["console"],
        json!(["tty0", "ttyS0,115200"])
    );
}

#[test]
fn network_interfaces_and_defaults() {
    let facts = all();
    assert_eq!(
        facts["ansible_interfaces"],
        json!(["lo", "eth0", "eth0_1", "br_app"])
    );
    assert_eq!(
        facts["ansible_default_ipv4"],
        json!({"interface": "eth0", "address": "192.0.2.10", "gateway": "192.0.2.1",
               "broadcast": "192.0.2.255", "netmask": "255.255.255.0", "network": "192.0.2.0",
               "prefix": "24", "macaddress": "52:54:00:12:34:56", "mtu": 1500, "type": "ether",
               "alias": "eth0"})
    );
    assert_eq!(
        facts["ansible_default_ipv6"],
        json!({"gateway": "fe80::1", "interface": "eth0", "address": "2001:db8::10",
               "prefix": "64", "scope": "global", "macaddress": "52:54:00:12:34:56",
               "mtu": 1500, "type": "ether"})
    );
    assert_eq!(
        facts["ansible_all_ipv4_addresses"],
        json!(["192.0.2.10", "192.0.2.11", "172.18.0.1"])
    );
    assert_eq!(
        facts["ansible_all_ipv6_addresses"],
        json!(["2001:db8::10", "fe80::5054:ff:fe12:3456"])
    );
    let secondary = json!({"address": "192.0.2.11", "broadcast": "192.0.2.255",
        "netmask": "255.255.255.0", "network": "192.0.2.0", "prefix": "24"});
    assert_eq!(
        facts["ansible_eth0"],
        json!({
            "device": "eth0", "macaddress": "52:54:00:12:34:56", "mtu": 1500, "active": true,
            "module": "virtio_net", "type": "ether", "pciid": "virtio0", "speed": 1000,
            "promisc": true,
            "ipv4": {"address": "192.0.2.10", "broadcast": "192.0.2.255",
                     "netmask": "255.255.255.0", "network": "192.0.2.0", "prefix": "24"},
            "ipv4_secondaries": [secondary],
            "ipv6": [{"address": "2001:db8::10", "prefix": "64", "scope": "global"},
                     {"address": "fe80::5054:ff:fe12:3456", "prefix": "64", "scope": "link"}],
        })
    );
    assert_eq!(
        facts["ansible_eth0_1"],
        json!({"ipv4_secondaries": [secondary]})
    );
    assert_eq!(
        facts["ansible_lo"],
        json!({"device": "lo", "mtu": 65536, "active": true, "type": "loopback",
               "promisc": false,
               "ipv4": {"address": "127.0.0.1", "broadcast": "", "netmask": "255.0.0.0",
                        "network": "127.0.0.0", "prefix": "8"},
               "ipv6": [{"address": "::1", "prefix": "128", "scope": "host"}]})
    );
    let bridge = &facts["ansible_br_app"];
    assert_eq!(bridge["type"], "bridge");
    assert_eq!(bridge["interfaces"], json!(["veth1", "veth2"]));
    assert_eq!(bridge["stp"], false);
    assert_eq!(bridge["active"], false);
    assert_eq!(
        facts["ansible_locally_reachable_ips"],
        json!({"ipv4": ["192.0.2.10", "192.0.2.11", "127.0.0.0/8", "127.0.0.1"],
               "ipv6": ["::1", "2001:db8::10"]})
    );
}

#[test]
fn gather_subset_selects_collectors() {
    let minimal = gathered(json!({"gather_subset": ["!all"]}));
    assert!(minimal.contains_key("ansible_distribution"));
    assert!(minimal.contains_key("ansible_date_time"));
    assert!(!minimal.contains_key("ansible_processor_vcpus"));
    assert!(!minimal.contains_key("ansible_default_ipv4"));
    assert_eq!(minimal["gather_subset"], json!(["!all"]));

    // `network` brings the distribution and platform facts it reads.
    let network = gathered(json!({"gather_subset": "!all,!min,network"}));
    assert!(network.contains_key("ansible_distribution"));
    assert!(network.contains_key("ansible_hostname"));
    assert!(!network.contains_key("ansible_date_time"));
    let clock = gathered(json!({"gather_subset": "!all,!min,date_time"}));
    let mut names: Vec<&str> = clock.keys().map(String::as_str).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        ["ansible_date_time", "gather_subset", "module_setup"]
    );

    // As in Ansible, an exclusion alone leaves the minimal subsets only.
    let no_hardware = gathered(json!({"gather_subset": ["!hardware"]}));
    assert!(!no_hardware.contains_key("ansible_memtotal_mb"));
    assert!(!no_hardware.contains_key("ansible_default_ipv4"));
    assert!(no_hardware.contains_key("ansible_date_time"));
    let all_but_hardware = gathered(json!({"gather_subset": ["all", "!hardware"]}));
    assert!(!all_but_hardware.contains_key("ansible_memtotal_mb"));
    assert!(all_but_hardware.contains_key("ansible_default_ipv4"));

    // A subset asked for by name beats its exclusion.
    let processor = gathered(json!({"gather_subset": ["!all", "!hardware", "processor"]}));
    assert!(processor.contains_key("ansible_processor_vcpus"));

    let err = build(json!({"gather_subset": ["hardwre"]}), &NoFiles).unwrap_err();
    assert!(err.to_string().contains("bad subset \"hardwre\""), "{err}");
    assert!(check_subset(&["!nonsense".into()]).is_ok());
}

#[test]
fn filter_keeps_matching_facts_only() {
    let facts = gathered(json!({"filter": ["ansible_distribution*", "os_family"]}));
    let mut names: Vec<&str> = facts.keys().map(String::as_str).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "ansible_distribution",
            "ansible_distribution_file_parsed",
            "ansible_distribution_file_path",
            "ansible_distribution_file_variety",
            "ansible_distribution_major_version",
            "ansible_distribution_minor_version",
            "ansible_distribution_release",
            "ansible_distribution_version",
            "ansible_os_family",
        ]
    );
    assert_eq!(gathered(json!({"filter": "*"})).len(), all().len());
}

#[test]
fn every_fact_gathered_is_known_by_name() {
    for name in all().keys() {
        let bare = match name.as_str() {
            "ansible_local" => "local",
            name => name.strip_prefix("ansible_").unwrap_or(name),
        };
        let interface = ["lo", "eth0", "eth0_1", "br_app"].contains(&bare);
        assert!(
            FACT_NAMES.contains(&bare) || META_FACTS.contains(&bare) || interface,
            "{name} is not in FACT_NAMES"
        );
    }
}

#[test]
fn namespacing_and_injection_follow_ansible() {
    let result =
        json!({"ansible_distribution": "Debian", "ansible_local": {}, "module_setup": true});
    assert_eq!(
        Value::Object(namespaced(result.as_object().unwrap())),
        json!({"distribution": "Debian", "ansible_local": {}, "module_setup": true})
    );
    assert_eq!(injected("distribution"), "ansible_distribution");
    assert_eq!(injected("module_setup"), "module_setup");
    assert_eq!(
        injected("ssh_host_key_rsa_public"),
        "ansible_ssh_host_key_rsa_public"
    );
}

#[test]
fn os_ids_and_names_round_trip() {
    for id in [
        "debian",
        "ubuntu",
        "rhel",
        "rocky",
        "opensuse-leap",
        "arch",
        "fedora",
    ] {
        assert_eq!(system::distribution_id(&system::distribution_name(id)), id);
    }
    assert_eq!(system::distribution_name("rhel"), "RedHat");
    assert_eq!(system::distribution_name("ubuntu"), "Ubuntu");
    assert_eq!(system::os_family("Ubuntu"), "Debian");
    assert_eq!(system::os_family("Rocky"), "RedHat");
}

#[test]
fn nothing_printed_fails() {
    let module = build(json!({}), &NoFiles).unwrap();
    assert!(module.plan(&Probe::ok("")).is_err());
}
