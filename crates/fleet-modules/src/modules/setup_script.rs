//! The one script that gathers a host's facts: POSIX sh and the usual
//! Linux tools (`ip`, `getent`, `date`), no Python needed. It prints raw
//! material in sections; the `setup_*` files turn it into Ansible's facts.
//!
//! Each section starts with a line `@@fleet:NAME` (after an empty line, so
//! that output without a final newline cannot hide a marker).

use std::collections::BTreeMap;

use crate::Script;

/// Where each package manager lives, in the order Ansible looks: the last
/// one found wins (then the OS family decides, see `pkg_mgr`).
pub const PACKAGE_MANAGERS: &[(&str, &str)] = &[
    ("/usr/bin/rpm-ostree", "atomic_container"),
    ("/usr/bin/yum", "dnf"),
    ("/usr/bin/dnf-3", "dnf"),
    ("/usr/bin/dnf5", "dnf5"),
    ("/usr/bin/apt-get", "apt"),
    ("/usr/bin/zypper", "zypper"),
    ("/usr/sbin/urpmi", "urpmi"),
    ("/usr/bin/pacman", "pacman"),
    ("/bin/opkg", "opkg"),
    ("/usr/pkg/bin/pkgin", "pkgin"),
    ("/opt/local/bin/pkgin", "pkgin"),
    ("/opt/tools/bin/pkgin", "pkgin"),
    ("/opt/local/bin/port", "macports"),
    ("/usr/local/bin/brew", "homebrew"),
    ("/opt/homebrew/bin/brew", "homebrew"),
    ("/sbin/apk", "apk"),
    ("/usr/sbin/pkg", "pkgng"),
    ("/usr/sbin/swlist", "swdepot"),
    ("/usr/bin/emerge", "portage"),
    ("/usr/sbin/pkgadd", "svr4pkg"),
    ("/usr/bin/pkg", "pkg5"),
    ("/usr/bin/xbps-install", "xbps"),
    ("/usr/local/sbin/pkg", "pkgng"),
    ("/usr/bin/swupd", "swupd"),
    ("/usr/sbin/sorcery", "sorcery"),
    ("/usr/bin/installp", "installp"),
];

/// Files the Red Hat family's package manager is told from.
const RED_HAT_MARKERS: &str = "/run/ostree-booted /usr/bin/dnf /usr/bin/microdnf";

/// The sections, in order. Everything is read-only.
const GATHER: &str = r#"s() { printf '\n@@fleet:%s\n' "$1"; }
s env
if env -0 >/dev/null 2>&1; then env -0; else env; fi
s os-release
cat /etc/os-release 2>/dev/null || cat /usr/lib/os-release 2>/dev/null
s debian_version
cat /etc/debian_version 2>/dev/null
s uname
uname -s; uname -r; uname -v; uname -m; uname -n
s fqdn
hostname -f 2>/dev/null || uname -n
s machine_id
cat /var/lib/dbus/machine-id 2>/dev/null || cat /etc/machine-id 2>/dev/null
s long_bit
getconf LONG_BIT 2>/dev/null
s date
LC_ALL=C date '+%Y %m %A %w %W %d %H %M %S %s %N %Z %z'
y=$(date +%Y)
LC_ALL=C date -d "$y-01-01 12:00" '+%Z %z' 2>/dev/null
LC_ALL=C date -d "$y-07-01 12:00" '+%Z %z' 2>/dev/null
s cpuinfo
grep -E '^(processor|vendor_id|model name|Processor|cpu|Vendor|physical id|core id|cpu cores|siblings|# processors|max thread id|ncpus active)[[:space:]]*:' /proc/cpuinfo 2>/dev/null
grep -m1 '^flags[[:space:]]*:' /proc/cpuinfo 2>/dev/null
s xen
[ -e /proc/xen ] && echo xen
head -n1 /sys/hypervisor/type 2>/dev/null
s nproc
nproc 2>/dev/null || getconf _NPROCESSORS_ONLN 2>/dev/null
s meminfo
grep -E '^(MemTotal|MemFree|SwapTotal|SwapFree|Buffers|Cached|SwapCached):' /proc/meminfo 2>/dev/null
s uptime
cat /proc/uptime 2>/dev/null
s loadavg
cat /proc/loadavg 2>/dev/null
s user
u=$(printenv LOGNAME || printenv USER || printenv LNAME || printenv USERNAME || id -un)
echo "$u"
getent passwd "$u" 2>/dev/null || getent passwd "$(id -u)" 2>/dev/null || grep "^$u:" /etc/passwd
id -ru; id -u; id -rg
s python
for p in python3 python; do
  x=$(command -v "$p") || continue
  echo "$x"
  "$x" -c 'import sys
v = sys.version_info
print(v[0], v[1], v[2], v[3], v[4])
print(sys.implementation.name)
try:
    import ssl
    print(hasattr(ssl, "SSLContext"))
except Exception:
    print(False)' 2>/dev/null
  break
done
s init
printf 'comm=%s\n' "$(cat /proc/1/comm 2>/dev/null)"
command -v systemctl >/dev/null 2>&1 && echo systemctl=1
for c in /run/systemd/system/ /dev/.run/systemd/ /dev/.systemd/; do [ -e "$c" ] && echo booted=1; done
command -v initctl >/dev/null 2>&1 && [ -e /etc/init/ ] && echo upstart=1
[ -e /sbin/openrc ] && echo openrc=1
[ -L /sbin/init ] && printf 'sbin_init=%s\n' "$(readlink /sbin/init)"
[ -e /etc/init.d/ ] && echo initd=1
[ -e /etc/dinit.d/ ] && echo dinitd=1
s systemd
systemctl --version 2>/dev/null | head -n2
s pkg
for p in $fleet_pkg_paths; do [ -e "$p" ] && echo "$p"; done
for p in $fleet_rh_markers; do [ -e "$p" ] && printf '%s=%s\n' "$p" "$(readlink -f "$p")"; done
s ssh
for d in /etc/ssh /etc/openssh /etc; do
  f=
  for a in dsa rsa ecdsa ed25519; do
    [ -r "$d/ssh_host_${a}_key.pub" ] && { f=1; printf '%s ' "$a"; head -n1 "$d/ssh_host_${a}_key.pub"; }
  done
  [ -n "$f" ] && break
done
s resolv
cat /etc/resolv.conf 2>/dev/null
s fips
cat /proc/sys/crypto/fips_enabled 2>/dev/null
s cmdline
cat /proc/cmdline 2>/dev/null
s dmi
if [ -e /sys/devices/virtual/dmi/id/product_name ]; then
  for f in bios_date bios_vendor bios_version board_asset_tag board_name board_serial board_vendor board_version chassis_asset_tag chassis_serial chassis_vendor chassis_version chassis_type product_name product_serial product_uuid product_version sys_vendor; do
    v=$(cat "/sys/devices/virtual/dmi/id/$f" 2>/dev/null) && printf '%s=%s\n' "$f" "$v"
  done
fi
s caps
command -v capsh >/dev/null 2>&1 && echo present && capsh --print 2>/dev/null | grep '^Current:'
s iscsi
cat /etc/iscsi/initiatorname.iscsi 2>/dev/null
s nvme
cat /etc/nvme/hostnqn 2>/dev/null
s fc
for f in /sys/class/fc_host/*/port_name; do [ -r "$f" ] && cat "$f"; done
s selinux
for l in /lib/*/libselinux.so.1 /usr/lib/*/libselinux.so.1 /lib64/libselinux.so.1 /usr/lib64/libselinux.so.1 /lib/libselinux.so.1 /usr/lib/libselinux.so.1; do
  [ -e "$l" ] && { echo library=1; break; }
done
[ -r /sys/fs/selinux/enforce ] && printf 'enforce=%s\n' "$(cat /sys/fs/selinux/enforce)"
[ -r /sys/fs/selinux/policyvers ] && printf 'policyvers=%s\n' "$(cat /sys/fs/selinux/policyvers)"
grep -E '^SELINUX(TYPE)?=' /etc/selinux/config 2>/dev/null
s local
if [ -d "$fleet_fact_path" ]; then
  for f in "$fleet_fact_path"/*.fact; do
    [ -e "$f" ] || continue
    s "fact ${f##*/}"
    if [ -x "$f" ]; then
      out=$("$f" 2>/dev/null)
      printf 'rc=%s\n%s\n' "$?" "$out"
    else
      echo file
      cat "$f" 2>/dev/null
    fi
  done
fi
s lsb
command -v lsb_release >/dev/null 2>&1 && lsb_release -a 2>/dev/null
s lsb_file
cat /etc/lsb-release 2>/dev/null
s lvm
if command -v vgs >/dev/null 2>&1; then
  echo present
  if [ "$(id -ru)" = 0 ]; then
    echo root
    o='--noheadings --nosuffix --units g --separator ,'
    vgs $o 2>/dev/null | sed 's/^/vg /'
    command -v lvs >/dev/null 2>&1 && lvs $o 2>/dev/null | sed 's/^/lv /'
    command -v pvs >/dev/null 2>&1 && pvs $o 2>/dev/null | sed 's/^/pv /'
  fi
fi
s apparmor
[ -e /sys/kernel/security/apparmor ] && echo enabled
s chroot
printf 'debian_chroot=%s\n' "$(printenv debian_chroot)"
printf 'root=%s\n' "$(stat -c '%d %i' / 2>/dev/null)"
printf 'init_root=%s\n' "$(stat -c '%d %i' /proc/1/root/. 2>/dev/null)"
printf 'fs=%s\n' "$(stat -f -c %T / 2>/dev/null)"
s ip
command -v ip >/dev/null 2>&1 && echo present
s route4
ip -4 route get 8.8.8.8 2>/dev/null
s route6
ip -6 route get 2404:6800:400a:800::1012 2>/dev/null
s addr
ip addr show 2>/dev/null
s local4
ip -4 route show table local 2>/dev/null
s local6
ip -6 route show table local 2>/dev/null
for n in $(ls -U /sys/class/net 2>/dev/null || ls /sys/class/net 2>/dev/null); do
  d=/sys/class/net/$n
  [ -d "$d" ] || continue
  s "iface $n"
  for f in address mtu operstate type flags speed; do
    v=$(cat "$d/$f" 2>/dev/null) && printf '%s=%s\n' "$f" "$v"
  done
  [ -e "$d/device" ] && printf 'pciid=%s\n' "$(basename "$(readlink "$d/device")")"
  [ -e "$d/device/driver/module" ] && printf 'module=%s\n' "$(basename "$(readlink -f "$d/device/driver/module")")"
  if [ -e "$d/bridge" ]; then
    echo bridge=1
    printf 'brif=%s\n' "$(ls "$d/brif" 2>/dev/null | tr '\n' ' ')"
    v=$(cat "$d/bridge/bridge_id" 2>/dev/null) && printf 'bridge_id=%s\n' "$v"
    v=$(cat "$d/bridge/stp_state" 2>/dev/null) && printf 'stp_state=%s\n' "$v"
  fi
  if [ -e "$d/bonding" ]; then
    echo bonding=1
    for f in slaves mode miimon lacp_rate primary all_slaves_active; do
      v=$(cat "$d/bonding/$f" 2>/dev/null) && printf 'bond_%s=%s\n' "$f" "$v"
    done
  fi
  v=$(cat "$d/bonding_slave/perm_hwaddr" 2>/dev/null) && printf 'perm_hwaddr=%s\n' "$v"
done
s end
true
"#;

/// Where local facts (`ansible_local`) are read from by default.
pub const FACT_PATH: &str = "/etc/ansible/facts.d";

/// The script, with the paths it looks in bound first.
pub fn gather_script(fact_path: &str) -> Script {
    let paths: Vec<&str> = PACKAGE_MANAGERS.iter().map(|(path, _)| *path).collect();
    Script::new()
        .set("fleet_fact_path", fact_path)
        .set("fleet_pkg_paths", paths.join(" "))
        .set("fleet_rh_markers", RED_HAT_MARKERS)
        .snippet(GATHER)
}

/// The script's output, section by section.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Sections {
    sections: BTreeMap<String, String>,
    /// Interface names in the order the kernel lists them.
    pub interfaces: Vec<String>,
    /// The local fact files' names (`app.fact`), sorted.
    pub local_facts: Vec<String>,
}

const MARKER: &str = "@@fleet:";

impl Sections {
    pub fn parse(stdout: &str) -> Sections {
        let mut parsed = Sections::default();
        let mut current: Option<String> = None;
        let mut text = String::new();
        let finish = |name: Option<String>, text: &mut String, parsed: &mut Sections| {
            if let Some(name) = name {
                let body = text.strip_suffix('\n').unwrap_or(text);
                // Each marker follows an empty line of its own.
                let body = body.strip_suffix('\n').unwrap_or(body);
                parsed.sections.insert(name, body.to_string());
            }
            text.clear();
        };
        for line in stdout.split_inclusive('\n') {
            if let Some(name) = line.trim_end_matches('\n').strip_prefix(MARKER) {
                finish(current.take(), &mut text, &mut parsed);
                if let Some(interface) = name.strip_prefix("iface ") {
                    parsed.interfaces.push(interface.to_string());
                }
                if let Some(file) = name.strip_prefix("fact ") {
                    parsed.local_facts.push(file.to_string());
                }
                current = Some(name.to_string());
            } else if current.is_some() {
                text.push_str(line);
            }
        }
        finish(current, &mut text, &mut parsed);
        parsed
    }

    /// A section's text; empty when it printed nothing.
    pub fn get(&self, name: &str) -> &str {
        self.sections.get(name).map_or("", String::as_str)
    }

    /// The lines of a section, without empty ones.
    pub fn lines(&self, name: &str) -> impl Iterator<Item = &str> {
        self.get(name)
            .lines()
            .filter(|line| !line.trim().is_empty())
    }

    /// `key=value` lines of a section.
    pub fn pairs(&self, name: &str) -> BTreeMap<&str, &str> {
        self.get(name)
            .lines()
            .filter_map(|line| line.split_once('='))
            .collect()
    }

    /// The `key=value` lines of one interface's section.
    pub fn interface(&self, name: &str) -> BTreeMap<&str, &str> {
        self.pairs(&format!("iface {name}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_are_split_at_their_markers() {
        let out = "\n@@fleet:env\nA=1\0B=2\n\n@@fleet:os-release\nID=debian\n\n@@fleet:empty\n\n@@fleet:iface lo\nmtu=65536\n\n@@fleet:end\n";
        let sections = Sections::parse(out);
        assert_eq!(sections.get("env"), "A=1\0B=2");
        assert_eq!(sections.get("os-release"), "ID=debian");
        assert_eq!(sections.get("empty"), "");
        assert_eq!(sections.get("missing"), "");
        assert_eq!(sections.interface("lo")["mtu"], "65536");
        assert_eq!(sections.interfaces, ["lo"]);
    }

    #[test]
    fn the_script_binds_what_it_reads() {
        // `snippet` checks, in debug builds, that every variable it reads
        // is bound first.
        let script = gather_script(FACT_PATH);
        assert!(
            script
                .as_str()
                .starts_with("fleet_fact_path=/etc/ansible/facts.d\n")
        );
        assert!(
            script
                .as_str()
                .contains("fleet_pkg_paths='/usr/bin/rpm-ostree ")
        );
        assert!(script.as_str().contains("@@fleet:%s"));
    }
}
