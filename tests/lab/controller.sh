# shellcheck shell=bash
# Controller-side helpers for tests/lab/lab (sourced): packages, kernel
# limits, the bridge, per-host cgroups, and the apt proxy.

# Install what the lab needs on a fresh machine; quiet and idempotent.
ensure_pkgs() {
  local p missing=()
  for p in debootstrap systemd-container apt-cacher-ng openssh-client iproute2 util-linux procps; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
  done
  ((${#missing[@]})) || return 0
  log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # The package may start a system-wide apt-cacher-ng on *:3142, which would
  # keep the lab's own instance (own config, see start_acng) from binding.
  if [[ " ${missing[*]} " == *" apt-cacher-ng "* ]]; then
    invoke-rc.d apt-cacher-ng stop >/dev/null 2>&1 || true
    if [[ $(cat /proc/1/comm) == systemd ]]; then systemctl disable -q apt-cacher-ng 2>/dev/null || true; fi
  fi
}

# Controller-side setup: /run tmpfs, kernel limits, bridge, apt proxy.
host_setup() {
  local n=$1
  mkdir -p /run/systemd/nspawn
  mountpoint -q /run/systemd/nspawn || mount -t tmpfs -o mode=0755 tmpfs /run/systemd/nspawn
  # Raise (never lower) kernel limits: each systemd uses inotify instances,
  # 1000 neighbours overflow the default ARP table (1024), each console a pty.
  local kv k v
  for kv in fs.inotify.max_user_instances=8192 fs.inotify.max_user_watches=1048576 \
            net.ipv4.neigh.default.gc_thresh1=4096 net.ipv4.neigh.default.gc_thresh2=8192 \
            net.ipv4.neigh.default.gc_thresh3=16384 kernel.pty.max=$(( 4096 + 2 * n )) \
            kernel.pid_max=4194304; do
    k=${kv%%=*} v=${kv#*=}
    (( $(sysctl -n "$k") >= v )) || sysctl -q -w "$k=$v"
  done
  ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
  if ! ip link show "$BRIDGE" >/dev/null 2>&1; then
    ip link add "$BRIDGE" type bridge forward_delay 0 stp_state 0
  fi
  ip addr replace "$LAB_GW/16" dev "$BRIDGE"
  ip link set "$BRIDGE" up
  start_acng
}

# Every host needs its own cgroup: with --keep-unit nspawn creates its
# payload/ and supervisor/ cgroups under the one it runs in, so hosts started
# from the same cgroup would share them and their systemd units would collide.
# Prints the base dirs (per hierarchy nspawn uses) under which `up` makes one
# cgroup per host. With systemd as PID 1, systemd-run --scope does it instead.
cgroup_bases() {
  local kind mnt rel
  awk '{ for (i = 7; $i != "-"; i++); fs = $(i+1); o = $(i+3)
         if (fs == "cgroup2") print "v2", $5
         else if (fs == "cgroup" && o ~ /(^|,)name=systemd(,|$)/) print "v1", $5 }' /proc/self/mountinfo |
  while read -r kind mnt; do
    if [[ $kind == v2 ]]; then rel=$(sed -n 's/^0:://p' /proc/self/cgroup)
    else rel=$(sed -n 's/^[0-9]*:name=systemd://p' /proc/self/cgroup); fi
    [[ -n $rel ]] && echo "$mnt${rel%/}/fleet-lab"
  done
}

# apt-cacher-ng with its own config (the packaged one remaps Debian URLs to
# other backends): no remaps, so it fetches exactly the mirror URLs the hosts
# ask for (those read from the controller's apt sources) and caches them
# under $CACHE/apt-cacher-ng across labs.
start_acng() {
  local d=$LAB_DIR/acng pid
  pid=$(cat "$d/pid" 2>/dev/null || true)
  if [[ -n $pid ]] && grep -qs apt-cacher "/proc/$pid/comm"; then return 0; fi
  if ss -ltnH "sport = :$ACNG_PORT" | awk '{print $4}' | grep -E "^(0\.0\.0\.0|\*|\[::\]|${LAB_GW//./\\.}):" >/dev/null; then
    log "warning: $LAB_GW:$ACNG_PORT is already served by another process; hosts will use it as their apt proxy"
    return 0
  fi
  mkdir -p "$d/log" "$CACHE/apt-cacher-ng"
  rm -f "$d"/*.conf
  {
    echo "CacheDir: $CACHE/apt-cacher-ng"
    echo "LogDir: $d/log"
    echo "PidFile: $d/pid"
    echo "Port: $ACNG_PORT"
    echo "BindAddress: $LAB_GW"
    echo "ExThreshold: 4"
    echo "ForeGround: 0"
    if [[ -n ${http_proxy:-} ]]; then echo "Proxy: $http_proxy"; fi
  } >"$d/acng.conf"
  rm -f "$d/pid"
  apt-cacher-ng -c "$d" </dev/null >"$d/log/stdout.log" 2>&1 9>&- || die "apt-cacher-ng failed to start (see $d/log)"
  for _ in $(seq 50); do [[ -s $d/pid ]] && break; sleep 0.1; done
  [[ -s $d/pid ]] || die "apt-cacher-ng did not start (see $d/log)"
}

stop_acng() {
  local pid k; pid=$(cat "$LAB_DIR/acng/pid" 2>/dev/null || true)
  [[ -n $pid ]] && grep -qs apt-cacher "/proc/$pid/comm" || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for k in $(seq 50); do grep -qs apt-cacher "/proc/$pid/comm" || return 0; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
}
