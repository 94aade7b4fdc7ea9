//! Facts about the hardware (processors, memory, uptime) and the clock
//! (`date_time`), as Ansible's collectors compute them on Linux.

use serde_json::{Map, Value, json};

use super::setup_script::Sections;
use super::setup_system::Facts;

/// `date_time`: the host's clock once, local and in UTC, with Ansible's
/// keys (all strings).
pub fn date_time(sections: &Sections) -> Facts {
    let mut facts = Facts::new();
    let mut lines = sections.lines("date");
    let Some(now) = lines.next() else {
        return facts;
    };
    let fields: Vec<&str> = now.split_whitespace().collect();
    if fields.len() < 13 {
        return facts;
    }
    let field = |index: usize| fields[index].to_string();
    let (year, month, day) = (field(0), field(1), field(5));
    let (hour, minute, second) = (field(6), field(7), field(8));
    let epoch = field(9);
    let nanos: u64 = fields[10].parse().unwrap_or(0);
    let micros = format!("{:06}", nanos / 1000);
    let (tz, tz_offset) = (field(11), field(12));
    let zones: Vec<(&str, i32)> = lines
        .filter_map(|line| {
            let (name, offset) = line.split_once(' ')?;
            Some((name, offset.trim().parse::<i32>().ok()?))
        })
        .collect();
    // Python's `time.tzname[1]`: the zone's summer-time name, the one of
    // January and July with the larger offset (either, without DST).
    let tz_dst = zones
        .iter()
        .max_by_key(|(_, offset)| *offset)
        .map_or_else(|| tz.clone(), |(name, _)| (*name).to_string());
    let utc = epoch
        .parse::<i64>()
        .map(utc_fields)
        .unwrap_or_else(|_| [0; 6]);
    let [y, mo, d, h, mi, s] = utc;
    let utc_text = format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}");
    let mut date = Map::new();
    let mut put = |key: &str, value: String| {
        date.insert(key.to_string(), Value::String(value));
    };
    put("year", year.clone());
    put("month", month.clone());
    put("weekday", field(2));
    put("weekday_number", field(3));
    put("weeknumber", field(4));
    put("day", day.clone());
    put("hour", hour.clone());
    put("minute", minute.clone());
    put("second", second.clone());
    put("epoch", epoch.clone());
    put("epoch_int", epoch);
    put("date", format!("{year}-{month}-{day}"));
    put("time", format!("{hour}:{minute}:{second}"));
    put("iso8601_micro", format!("{utc_text}.{micros}Z"));
    put("iso8601", format!("{utc_text}Z"));
    let basic_short = format!("{year}{month}{day}T{hour}{minute}{second}");
    put("iso8601_basic", format!("{basic_short}{micros}"));
    put("iso8601_basic_short", basic_short);
    put("tz", tz);
    put("tz_dst", tz_dst);
    put("tz_offset", tz_offset);
    facts.insert("date_time".into(), Value::Object(date));
    facts
}

/// Year, month, day, hour, minute and second in UTC of a Unix time.
fn utc_fields(epoch: i64) -> [i64; 6] {
    let days = epoch.div_euclid(86_400);
    let seconds = epoch.rem_euclid(86_400);
    // Howard Hinnant's days-to-civil algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    [
        year,
        month,
        day,
        seconds / 3600,
        seconds % 3600 / 60,
        seconds % 60,
    ]
}

/// Processors, memory and uptime.
pub fn hardware(sections: &Sections, architecture: &str) -> Facts {
    let mut facts = cpu(sections, architecture);
    facts.extend(memory(sections));
    if let Some(uptime) = sections
        .get("uptime")
        .split_whitespace()
        .next()
        .and_then(|seconds| seconds.parse::<f64>().ok())
    {
        // Whole seconds, as Python's int() of the float.
        facts.insert("uptime_seconds".into(), json!(uptime.trunc() as u64));
    }
    facts
}

/// `processor` (one vendor and model per CPU), `processor_count`,
/// `_cores`, `_threads_per_core`, `_vcpus`, `_nproc` and `flags`, counted
/// from /proc/cpuinfo the way Ansible counts them.
fn cpu(sections: &Sections, architecture: &str) -> Facts {
    let mut facts = Facts::new();
    let text = sections.get("cpuinfo");
    if text.is_empty() {
        return facts;
    }
    let xen = {
        let lines: Vec<&str> = sections.lines("xen").collect();
        lines.contains(&"xen")
    };
    let mut processor = Vec::new();
    let (mut count, mut vendors, mut models, mut processors) = (0u64, 0, 0, 0u64);
    // Insertion order matters: the first socket and core count.
    let mut sockets: Vec<(String, u64)> = Vec::new();
    let mut cores: Vec<(String, u64)> = Vec::new();
    // Ansible starts both at the number 0, a key no id read from the
    // file (the text "0") equals.
    let (mut physical, mut core) = (String::from("\0"), String::from("\0"));
    let (mut zp, mut zmt) = (0u64, 0u64);
    let mut paravirt = false;
    fn set(list: &mut Vec<(String, u64)>, key: &str, value: u64) {
        match list.iter_mut().find(|(k, _)| k == key) {
            Some(entry) => entry.1 = value,
            None => list.push((key.to_string(), value)),
        }
    }
    for line in text.lines() {
        let (key, value) = match line.split_once(':') {
            Some((key, value)) => (key.trim(), value.trim()),
            None => (line.trim(), ""),
        };
        let number = || value.parse::<u64>().unwrap_or(0);
        match key {
            "flags" => {
                if xen && !value.split_whitespace().any(|flag| flag == "vme") {
                    paravirt = true;
                }
                facts.insert(
                    "flags".into(),
                    json!(value.split_whitespace().collect::<Vec<_>>()),
                );
            }
            "model name" | "Processor" | "vendor_id" | "cpu" | "Vendor" | "processor" => {
                processor.push(json!(value));
                match key {
                    "vendor_id" => vendors += 1,
                    "model name" => models += 1,
                    "processor" => processors += 1,
                    _ => {}
                }
                count += 1;
            }
            "physical id" => {
                physical = value.to_string();
                if !sockets.iter().any(|(k, _)| *k == physical) {
                    sockets.push((physical.clone(), 1));
                }
            }
            "core id" => {
                core = value.to_string();
                if !sockets.iter().any(|(k, _)| *k == core) {
                    set(&mut cores, &core, 1);
                }
            }
            "cpu cores" => set(&mut sockets, &physical, number()),
            "siblings" => set(&mut cores, &core, number()),
            "# processors" => zp = number(),
            "max thread id" => zmt = number() + 1,
            "ncpus active" => count = number(),
            _ => {}
        }
    }
    if vendors > 0 && vendors == models {
        count = vendors;
    }
    if ["armv", "aarch", "ppc"]
        .iter()
        .any(|arch| architecture.starts_with(arch))
    {
        count = processors;
    }
    facts.insert("processor".into(), Value::Array(processor));
    let mut put = |key: &str, value: u64| {
        facts.insert(key.into(), json!(value));
    };
    if architecture == "s390x" {
        let threads = zmt.max(1);
        put("processor_count", 1);
        put(
            "processor_cores",
            ((zp as f64) / (threads as f64)).round() as u64,
        );
        put("processor_threads_per_core", zmt);
        put("processor_vcpus", zp);
        put("processor_nproc", zp);
    } else if paravirt {
        for key in [
            "processor_count",
            "processor_cores",
            "processor_vcpus",
            "processor_nproc",
        ] {
            put(key, count);
        }
        put("processor_threads_per_core", 1);
    } else {
        let sockets_count = if sockets.is_empty() {
            count
        } else {
            sockets.len() as u64
        };
        let per_socket = sockets.first().map_or(0, |(_, cores)| *cores);
        let cores_per_socket = if per_socket > 0 { per_socket } else { 1 };
        let threads = match cores.first() {
            Some((_, siblings)) => round_half_even(*siblings as f64 / cores_per_socket as f64),
            None => round_half_even(1.0 / cores_per_socket as f64),
        };
        put("processor_count", sockets_count);
        put("processor_cores", cores_per_socket);
        put("processor_threads_per_core", threads);
        put(
            "processor_vcpus",
            threads * sockets_count * cores_per_socket,
        );
        put("processor_nproc", processors);
    }
    if let Some(nproc) = sections
        .lines("nproc")
        .next()
        .and_then(|n| n.trim().parse::<u64>().ok())
    {
        facts.insert("processor_nproc".into(), json!(nproc));
    }
    facts
}

/// Python 3's `round()`: halves go to the even neighbour.
fn round_half_even(value: f64) -> u64 {
    let floor = value.floor();
    let diff = value - floor;
    let rounded = if (diff - 0.5).abs() < f64::EPSILON {
        if floor % 2.0 == 0.0 {
            floor
        } else {
            floor + 1.0
        }
    } else {
        value.round()
    };
    rounded.max(0.0) as u64
}

/// `memtotal_mb`, `memfree_mb`, `swaptotal_mb`, `swapfree_mb` and the
/// `memory_mb` breakdown, in MiB rounded down.
fn memory(sections: &Sections) -> Facts {
    let mut facts = Facts::new();
    let mut stats = Map::new();
    for line in sections.lines("meminfo") {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let Some(kib) = value
            .split_whitespace()
            .next()
            .and_then(|kib| kib.parse::<u64>().ok())
        else {
            continue;
        };
        let mib = kib / 1024;
        if ["MemTotal", "SwapTotal", "MemFree", "SwapFree"].contains(&key) {
            facts.insert(format!("{}_mb", key.to_lowercase()), json!(mib));
        }
        stats.insert(key.to_lowercase(), json!(mib));
    }
    if stats.is_empty() {
        return facts;
    }
    let get = |key: &str| stats.get(key).and_then(Value::as_u64);
    let minus = |a: Option<u64>, b: Option<u64>| Some(a?.saturating_sub(b?));
    let nocache_free = match (get("cached"), get("memfree"), get("buffers")) {
        (Some(cached), Some(free), Some(buffers)) => Some(cached + free + buffers),
        _ => None,
    };
    facts.insert(
        "memory_mb".into(),
        json!({
            "real": {"total": get("memtotal"), "used": minus(get("memtotal"), get("memfree")),
                     "free": get("memfree")},
            "nocache": {"free": nocache_free, "used": minus(get("memtotal"), nocache_free)},
            "swap": {"total": get("swaptotal"), "free": get("swapfree"),
                     "used": minus(get("swaptotal"), get("swapfree")), "cached": get("swapcached")},
        }),
    );
    facts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_fields_of_known_instants() {
        assert_eq!(utc_fields(0), [1970, 1, 1, 0, 0, 0]);
        assert_eq!(utc_fields(1_796_304_334), [2026, 12, 3, 13, 25, 34]);
        assert_eq!(utc_fields(951_782_400), [2000, 2, 29, 0, 0, 0]);
    }

    #[test]
    fn rounding_is_pythons() {
        assert_eq!(round_half_even(0.5), 0);
        assert_eq!(round_half_even(1.5), 2);
        assert_eq!(round_half_even(2.5), 2);
        assert_eq!(round_half_even(1.0), 1);
        assert_eq!(round_half_even(0.25), 0);
    }
}
