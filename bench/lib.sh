# Shared by the playbook benchmarks: the peers' venv, the lab, each peer's
# inventory, and timing. Sourced from the repository root, after `set -euo pipefail`.
root=$PWD
lab=tests/lab/lab
inventory=.lab/bench-inventory.yaml
venv=.lab/bench-venv
fleet=$root/target/release/fleet
key=$root/.lab/id_ed25519
known_hosts=$root/.lab/known_hosts

# bench_setup HOSTS: tools, the peers from PyPI, a release build, and HOSTS
# full lab hosts (the lab is torn down when the script exits).
bench_setup() {
  local hosts=$1
  scripts/install-deps
  for tool in time bc; do
    command -v "$tool" >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$tool" >/dev/null
  done
  if [ ! -x "$venv/bin/ansible-playbook" ] || [ ! -x "$venv/bin/pyinfra" ]; then
    python3 -m venv "$venv" 2>/dev/null || {
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
      python3 -m venv "$venv"
    }
    "$venv/bin/pip" install -q ansible-core pyinfra
  fi
  echo "peers: $("$venv/bin/pip" list 2>/dev/null | grep -iE '^(ansible-core|pyinfra) ' | tr -s ' ' | paste -sd, -)"
  cargo build --release --quiet -p fleet
  $lab image
  trap '$lab down >/dev/null' EXIT
  $lab down >/dev/null
  $lab up "$hosts" --inventory "$inventory" >/dev/null
  ansible_inventory "$hosts"
}

# The lab's hosts as an INI inventory and an ansible.cfg tuned for speed:
# forks for every host, pipelining, ControlPersist, strict host keys.
ansible_inventory() {
  local hosts=$1
  {
    echo "[all]"
    grep -E '^ +lab[0-9]+: \{address: ' "$inventory" | sed -E 's/^ +(lab[0-9]+): \{address: ([0-9.]+)\}/\1 ansible_host=\2/'
    echo "[all:vars]"
    echo "ansible_user=root"
    echo "ansible_ssh_private_key_file=$key"
    echo "ansible_python_interpreter=/usr/bin/python3"
  } >.lab/bench-ansible.ini
  cat >.lab/bench-ansible.cfg <<CFG
[defaults]
forks = $hosts
host_key_checking = True
gathering = explicit
[ssh_connection]
pipelining = True
ssh_args = -F /dev/null -o ControlMaster=auto -o ControlPersist=300s -o UserKnownHostsFile=$known_hosts -o StrictHostKeyChecking=yes -o KexAlgorithms=curve25519-sha256
CFG
}

# timed NAME CMD...: runs CMD, prints its wall seconds, keeps its output in .lab/NAME.log.
timed() {
  local log=$root/.lab/$1; shift
  /usr/bin/time -f '%e' -o "$log.time" "$@" >"$log.log" 2>&1 || {
    echo "failed: $*" >&2; tail -20 "$log.log" >&2; exit 1; }
  cat "$log.time"
}
fleet_changed() { grep '"event":"run_done"' ".lab/$1.log" | sed -E 's/.*"changed":([0-9]+).*/\1/'; }
ansible_changed() { grep -oE 'changed=[0-9]+' ".lab/$1.log" | cut -d= -f2 | paste -sd+ - | bc; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.1f", a / b}'; }
