# shellcheck shell=bash
# Image recipe for the fleet lab, sourced by tests/lab/lab.
#
# The cache key of the image is a sha256 over `declare -f` of the functions
# below, the package list and the mirror list, so editing anything here (or
# the machine's apt sources) yields a new image-<hash> directory; an unchanged
# recipe reuses the cached one.

# Packages on top of debootstrap's minbase. procps gives `ps`; netbase gives
# /etc/services; openssh-sftp-server for scp/sftp; iputils-ping for debugging.
IMAGE_PACKAGES="systemd,systemd-sysv,dbus,openssh-server,openssh-sftp-server,sudo,python3,iproute2,curl,ca-certificates,procps,netbase,iputils-ping"

# Debian mirrors, read at run time from the machine's apt configuration.
# Prints "URI SUITE" pairs (deb lines only) for the host's release family,
# e.g. "<uri> bookworm", "<uri> bookworm-updates", "<uri-sec> bookworm-security".
apt_mirrors() {
  local suite=$1 f
  {
    # deb822 files: one stanza per blank-line separated block.
    for f in /etc/apt/sources.list.d/*.sources; do
      [[ -r $f ]] || continue
      awk 'BEGIN { RS = "" }   # paragraph mode: one stanza per record
        { delete F; key = ""
          n = split($0, L, "\n")
          for (i = 1; i <= n; i++) {
            if (L[i] ~ /^#/) continue
            if (L[i] ~ /^[ \t]/ && key != "") { F[key] = F[key] " " L[i]; continue }   # continuation
            c = index(L[i], ":"); if (!c) continue
            key = tolower(substr(L[i], 1, c - 1)); F[key] = substr(L[i], c + 1)
          }
          if (tolower(F["enabled"]) ~ /no/ || (" " F["types"] " ") !~ /[ \t]deb[ \t]/) next
          nu = split(F["uris"], U, /[ \t]+/); ns = split(F["suites"], S, /[ \t]+/)
          for (u = 1; u <= nu; u++) for (s = 1; s <= ns; s++) if (U[u] != "" && S[s] != "") print U[u], S[s]
        }' "$f"
    done
    # One-line format fallback: "deb [opts] URI SUITE COMPONENTS...".
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
      [[ -r $f ]] || continue
      sed -E -n 's/^[[:space:]]*deb[[:space:]]+(\[[^]]*\][[:space:]]+)?([^[:space:]]+)[[:space:]]+([^[:space:]]+).*/\2 \3/p' "$f"
    done
  } | awk -v s="$suite" '$2==s || $2==s"-updates" || $2==s"-security"' | awk '!seen[$0]++'
}

# build_image DEST SUITE: debootstrap + configure a rootfs into DEST.
# Mirrors come from apt_mirrors; the main archive is the one carrying SUITE.
build_image() {
  local dest=$1 suite=$2 mirrors main
  mirrors=$(apt_mirrors "$suite")
  main=$(awk -v s="$suite" '$2==s {print $1; exit}' <<<"$mirrors")
  [[ -n $main ]] || die "no apt source for suite '$suite' found in /etc/apt (sources.list.d/*.sources or sources.list)"
  log "debootstrap $suite from $main (minbase + $IMAGE_PACKAGES)"
  debootstrap --variant=minbase --include="$IMAGE_PACKAGES" "$suite" "$dest" "$main" \
    >"$dest.debootstrap.log" 2>&1 || { tail -n 30 "$dest.debootstrap.log" >&2; die "debootstrap failed (log: $dest.debootstrap.log)"; }

  # apt inside the hosts: same mirrors as the controller, through the lab's
  # apt-cacher-ng on the bridge. An https mirror is requested as
  # http://HTTPS///host/path so apt-cacher-ng can still cache it.
  local uri s
  : >"$dest/etc/apt/sources.list"
  rm -f "$dest"/etc/apt/sources.list.d/*
  while read -r uri s; do
    [[ -n $uri ]] || continue
    [[ $uri == https://* ]] && uri="http://HTTPS///${uri#https://}"
    printf 'Types: deb\nURIs: %s\nSuites: %s\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n\n' "$uri" "$s"
  done <<<"$mirrors" >"$dest/etc/apt/sources.list.d/debian.sources"
  printf 'Acquire::http::Proxy "http://%s:%s";\nAcquire::Retries "3";\n' "$LAB_GW" "$ACNG_PORT" \
    >"$dest/etc/apt/apt.conf.d/01fleet-lab-proxy"
  # The proxy keeps every .deb once for all hosts: a host keeps none, so a
  # host's overlay grows only by what it installs.
  echo 'APT::Keep-Downloaded-Packages "false";' >"$dest/etc/apt/apt.conf.d/02fleet-lab-no-deb-cache"

  # sshd: key-only root, one ed25519 host key per host (placed by `up`).
  rm -f "$dest"/etc/ssh/ssh_host_*
  cat >"$dest/etc/ssh/sshd_config.d/fleet-lab.conf" <<'EOF'
PermitRootLogin prohibit-password
HostKey /etc/ssh/ssh_host_ed25519_key
UseDNS no
MaxStartups 100:30:200
EOF

  # journald: keep logs in memory, small, to keep per-host cost low.
  mkdir -p "$dest/etc/systemd/journald.conf.d"
  printf '[Journal]\nStorage=volatile\nRuntimeMaxUse=8M\n' >"$dest/etc/systemd/journald.conf.d/fleet-lab.conf"

  # Users: deploy (passwordless sudo), deploypw (sudo asks for the password
  # "fleet-lab"). Their authorized_keys are placed per lab by `up`.
  cat >"$dest/etc/sudoers.d/fleet-lab" <<'EOF'
deploy ALL=(ALL:ALL) NOPASSWD: ALL
deploypw ALL=(ALL:ALL) ALL
EOF
  chmod 0440 "$dest/etc/sudoers.d/fleet-lab"
  chroot "$dest" /bin/sh -ec '
    useradd -m -s /bin/bash deploy
    useradd -m -s /bin/bash deploypw
    echo "deploypw:fleet-lab" | chpasswd
    # networkd gives host0 its address; ssh answers on boot.
    systemctl enable systemd-networkd.service ssh.service
    # Units that are useless or fail in an nspawn container.
    systemctl mask systemd-networkd-wait-online.service systemd-firstboot.service \
      getty@tty1.service serial-getty@.service console-getty.service e2scrub_reap.service >/dev/null
    touch /etc/default/locale   # pam_env warns on every login otherwise
    apt-get clean
  ' >>"$dest.debootstrap.log" 2>&1 || die "configuring the image failed (log: $dest.debootstrap.log)"
  # Per-host identity (machine-id, hostname, host key) comes from the overlay.
  : >"$dest/etc/machine-id"
  rm -f "$dest/var/lib/dbus/machine-id" "$dest/etc/hostname" "$dest/etc/resolv.conf"
  echo "# fleet lab: no DNS on the bridge; apt goes through the proxy." >"$dest/etc/resolv.conf"
}
