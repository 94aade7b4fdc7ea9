//! Steady HTTP load with `hey` (Debian's package), counted: one `hey` per
//! URL at a fixed rate until [`Load::stop`], which reads its report.

use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};

/// `hey` sending requests to some URLs.
pub struct Load {
    runs: Vec<(String, Child)>,
}

/// What `hey` counted for one URL.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LoadReport {
    pub url: String,
    /// Responses per HTTP status.
    pub statuses: BTreeMap<u16, u64>,
    /// Requests that got no response (connection refused, reset…), with
    /// what `hey` said about them.
    pub errors: u64,
    pub error_lines: Vec<String>,
    /// Latency percentiles in seconds, when `hey` reported them.
    pub p50: Option<f64>,
    pub p99: Option<f64>,
}

impl LoadReport {
    pub fn sent(&self) -> u64 {
        self.statuses.values().sum::<u64>() + self.errors
    }

    /// Responses that are not 2xx, plus requests that got none.
    pub fn failed(&self) -> u64 {
        let bad: u64 = self
            .statuses
            .iter()
            .filter(|(status, _)| !(200..300).contains(*status))
            .map(|(_, count)| count)
            .sum();
        bad + self.errors
    }
}

impl Load {
    /// Starts `workers` clients per URL, each at `rate` requests/s, for at
    /// most ten minutes.
    pub fn start(urls: &[String], workers: u32, rate: u32) -> Load {
        let runs = urls
            .iter()
            .map(|url| {
                let child = Command::new("hey")
                    .args(["-z", "600s", "-t", "20"])
                    .args(["-c", &workers.to_string(), "-q", &rate.to_string()])
                    .arg(url)
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .expect("hey runs (apt install hey)");
                (url.clone(), child)
            })
            .collect();
        Load { runs }
    }

    /// Stops every `hey` (SIGINT: it reports what it sent) and reads the
    /// reports.
    pub fn stop(self) -> Vec<LoadReport> {
        for (_, child) in &self.runs {
            let status = Command::new("kill")
                .args(["-INT", &child.id().to_string()])
                .status()
                .expect("kill runs");
            assert!(status.success());
        }
        self.runs
            .into_iter()
            .map(|(url, child)| {
                let out = child.wait_with_output().expect("hey reports");
                let mut report = parse_report(&String::from_utf8_lossy(&out.stdout));
                report.url = url;
                report
            })
            .collect()
    }
}

/// Reads `hey`'s summary: the status and error distributions and the
/// latency percentiles.
pub fn parse_report(text: &str) -> LoadReport {
    let mut report = LoadReport::default();
    let mut section = "";
    for line in text.lines() {
        let trimmed = line.trim();
        if !line.starts_with(' ') && trimmed.ends_with(':') {
            section = trimmed;
            continue;
        }
        match section {
            "Status code distribution:" => {
                if let Some((status, count)) = bracketed(trimmed) {
                    let count = count.trim_end_matches(" responses").trim();
                    if let (Ok(status), Ok(count)) = (status.parse(), count.parse()) {
                        report.statuses.insert(status, count);
                    }
                }
            }
            "Error distribution:" => {
                if let Some((count, what)) = bracketed(trimmed)
                    && let Ok(count) = count.parse::<u64>()
                {
                    report.errors += count;
                    report.error_lines.push(what.trim().to_string());
                }
            }
            "Latency distribution:" => {
                let seconds =
                    |rest: &str| rest.trim().trim_end_matches(" secs").parse::<f64>().ok();
                if let Some(rest) = trimmed.strip_prefix("50% in ") {
                    report.p50 = seconds(rest);
                } else if let Some(rest) = trimmed.strip_prefix("99% in ") {
                    report.p99 = seconds(rest);
                }
            }
            _ => {}
        }
    }
    report
}

/// `[a]\tb` as `(a, b)`.
fn bracketed(line: &str) -> Option<(&str, &str)> {
    let rest = line.strip_prefix('[')?;
    let (inside, after) = rest.split_once(']')?;
    Some((inside, after))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_statuses_errors_and_percentiles() {
        let text = "\nSummary:\n  Total:\t3.0 secs\n\nLatency distribution:\n  10% in 0.0026 secs\n  50% in 0.0041 secs\n  99% in 0.0300 secs\n\nStatus code distribution:\n  [200]\t30 responses\n  [502]\t2 responses\n\nError distribution:\n  [3]\tGet \"http://x/\": dial tcp: connection refused\n";
        let report = parse_report(text);
        assert_eq!(report.statuses, BTreeMap::from([(200, 30), (502, 2)]));
        assert_eq!(report.errors, 3);
        assert_eq!(report.sent(), 35);
        assert_eq!(report.failed(), 5);
        assert_eq!(report.p50, Some(0.0041));
        assert_eq!(report.p99, Some(0.03));
        assert!(report.error_lines[0].contains("connection refused"));
    }
}
