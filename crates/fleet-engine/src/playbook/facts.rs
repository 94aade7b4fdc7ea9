//! Facts: gathered once per host, in one round trip, the first time a task
//! mentions `facts`.

use fleet_ssh::ExecOptions;
use futures::StreamExt;
use futures::stream::FuturesUnordered;
use serde_json::{Map, Value};

use super::task::HostState;

/// Prints one `key=value` line per fact. POSIX sh, no python needed.
pub const FACTS_SCRIPT: &str = r#"[ -r /etc/os-release ] && . /etc/os-release
echo "os_id=${ID:-unknown}"
echo "os_version=${VERSION_ID:-}"
echo "os_codename=${VERSION_CODENAME:-}"
echo "arch=$(uname -m)"
echo "hostname=$(hostname)"
echo "init=$(cat /proc/1/comm 2>/dev/null)"
echo "python=$(command -v python3 || command -v python || true)"
echo "cpus=$(getconf _NPROCESSORS_ONLN 2>/dev/null || nproc)"
echo "memory_mb=$(awk '/^MemTotal:/ {print int($2 / 1024)}' /proc/meminfo)""#;

/// Turns the script's output into the `facts` map; numbers become numbers.
pub fn parse_facts(stdout: &str) -> Value {
    let mut facts = Map::new();
    for (key, value) in stdout.lines().filter_map(|line| line.split_once('=')) {
        let value = match key {
            "cpus" | "memory_mb" => value.parse::<u64>().map_or(Value::Null, Value::from),
            _ => Value::String(value.to_string()),
        };
        facts.insert(key.to_string(), value);
    }
    Value::Object(facts)
}

/// One round trip per host, every host at once.
pub(super) async fn gather_facts<'s>(states: impl Iterator<Item = &'s mut HostState>) {
    let mut gathering: FuturesUnordered<_> = states
        .map(|state| async move {
            if let Ok(out) = state
                .connection
                .exec_collect(FACTS_SCRIPT, &ExecOptions::default())
                .await
            {
                state.facts = Some(parse_facts(&String::from_utf8_lossy(&out.stdout)));
            }
        })
        .collect();
    while gathering.next().await.is_some() {}
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_every_fact() {
        let out = "os_id=debian\nos_version=12\nos_codename=bookworm\narch=x86_64\nhostname=lab1\ninit=systemd\npython=/usr/bin/python3\ncpus=2\nmemory_mb=24000\n";
        assert_eq!(
            parse_facts(out),
            json!({"os_id": "debian", "os_version": "12", "os_codename": "bookworm", "arch": "x86_64",
                   "hostname": "lab1", "init": "systemd", "python": "/usr/bin/python3", "cpus": 2, "memory_mb": 24000})
        );
    }
}
