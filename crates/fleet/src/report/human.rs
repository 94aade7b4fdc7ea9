//! Lines for people: each host's output as it arrives, then a recap.
//!
//! Colour and the progress bar appear only on a terminal, and colour never
//! when `NO_COLOR` is set.

use std::io::{IsTerminal, Write};
use std::time::Duration;

use fleet_engine::{Counts, Event, OutputStream, Status, StopReason, TaskResult};
use indicatif::{ProgressBar, ProgressStyle};

use super::Reporter;
use crate::error::CliError;

pub struct Human {
    color: bool,
    progress: Option<ProgressBar>,
    width: usize,
    /// Host names in inventory order, which the recap follows.
    order: Vec<String>,
    results: Vec<TaskResult>,
    /// Set by the first play: results are task lines and the recap counts
    /// statuses per host, as `fleet apply` prints them.
    playbook: bool,
    /// `-v`: every task's stdout and stderr under its line.
    verbosity: u8,
}

impl Human {
    pub fn new(hosts: usize, verbosity: u8) -> Human {
        let tty = std::io::stdout().is_terminal();
        let color = tty && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
        let progress = tty.then(|| {
            let bar = ProgressBar::new(hosts as u64);
            bar.set_style(
                ProgressStyle::with_template("{bar:30} {pos}/{len} hosts {elapsed}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar
        });
        Human {
            color,
            progress,
            width: 0,
            order: Vec::new(),
            results: Vec::new(),
            playbook: false,
            verbosity,
        }
    }

    fn print(&self, line: &str) -> Result<(), CliError> {
        let line = fleet_vault::mask(line);
        let line = line.as_ref();
        match &self.progress {
            Some(bar) => bar.println(line),
            None => writeln!(std::io::stdout().lock(), "{line}")?,
        }
        Ok(())
    }

    fn paint(&self, text: &str, status: Status) -> String {
        if !self.color {
            return text.to_string();
        }
        let code = match status {
            Status::Ok => "32",
            Status::Changed => "33",
            Status::Failed | Status::Unreachable => "31",
            Status::Skipped => "36",
        };
        format!("\x1b[{code}m{text}\x1b[0m")
    }

    fn recap(
        &mut self,
        counts: &Counts,
        duration_ms: u64,
        interrupted: bool,
    ) -> Result<(), CliError> {
        if let Some(bar) = self.progress.take() {
            bar.finish_and_clear();
        }
        let mut out = std::io::stdout().lock();
        writeln!(out, "\nRECAP")?;
        let position = |host: &str| self.order.iter().position(|name| name == host);
        self.results.sort_by_key(|result| position(&result.host));
        if self.playbook {
            self.recap_counts(&mut out)?;
        }
        for result in self.results.iter().filter(|_| !self.playbook) {
            let rc = result
                .rc
                .map_or_else(|| "-".to_string(), |rc| rc.to_string());
            let status = format!("{:<11}", result.status.as_str());
            writeln!(
                out,
                "{:<width$}  {}  rc={rc:<3}  {:>7.2}s",
                result.host,
                self.paint(&status, result.status),
                Duration::from_millis(result.duration_ms).as_secs_f64(),
                width = self.width,
            )?;
        }
        let summary = summarize(counts);
        let secs = Duration::from_millis(duration_ms).as_secs_f64();
        let hosts = self.order.len();
        writeln!(out, "{hosts} hosts: {summary} in {secs:.2}s")?;
        if interrupted {
            let what = if self.playbook {
                "interrupted: tasks in flight finished, and no new task, batch or play started"
            } else {
                "interrupted: hosts in flight were stopped and their connections closed"
            };
            writeln!(out, "{what}")?;
        }
        Ok(())
    }
}

impl Human {
    /// One line per host: how many tasks ended in each status.
    fn recap_counts(&self, out: &mut impl Write) -> Result<(), CliError> {
        for host in &self.order {
            let mut counts = Counts::default();
            for result in self.results.iter().filter(|r| &r.host == host) {
                if result.ignored {
                    counts.ignored += 1;
                } else if result.rescued {
                    counts.rescued += 1;
                } else {
                    counts.add(result.status);
                }
            }
            let worst = if counts.unreachable > 0 {
                Status::Unreachable
            } else if counts.failed > 0 {
                Status::Failed
            } else if counts.changed > 0 {
                Status::Changed
            } else {
                Status::Ok
            };
            let mut line = format!(
                "{host:<width$}  ok={:<3} changed={:<3} failed={:<3} skipped={:<3} unreachable={:<3} ignored={}",
                counts.ok,
                counts.changed,
                counts.failed,
                counts.skipped,
                counts.unreachable,
                counts.ignored,
                width = self.width,
            );
            if counts.rescued > 0 {
                line.push_str(&format!(" rescued={}", counts.rescued));
            }
            writeln!(out, "{}", self.paint(&line, worst))?;
        }
        Ok(())
    }

    /// A task's result as one line, then what explains a failure or change.
    fn task_line(&self, result: &TaskResult) -> Result<(), CliError> {
        let status = match (result.status, result.ignored, result.rescued) {
            (Status::Failed, true, _) => "failed (ignored)".to_string(),
            (Status::Failed, _, true) => "failed (rescued)".to_string(),
            (status, _, _) => status.as_str().to_string(),
        };
        let host = match &result.delegated_to {
            Some(delegate) => format!("{} -> {delegate}", result.host),
            None => result.host.clone(),
        };
        let mut line = format!(
            "  {:<width$}  {}  {}",
            host,
            self.paint(&format!("{status:<11}"), result.status),
            result.task,
            width = self.width
        );
        if let Some(msg) = &result.msg {
            line.push_str(": ");
            line.push_str(msg);
        }
        self.print(line.trim_end())?;
        let verbose = self.verbosity > 0;
        if result.status == Status::Failed || (verbose && result.rc.is_some()) {
            let rc = result
                .rc
                .map_or_else(|| "-".to_string(), |rc| rc.to_string());
            self.print(&format!("      rc={rc}"))?;
        }
        if verbose {
            for text in result.stdout.lines() {
                self.print(&format!("      | {text}"))?;
            }
        }
        if result.status == Status::Failed || verbose {
            let shown = if verbose { usize::MAX } else { 10 };
            let stderr: Vec<&str> = result.stderr.lines().collect();
            for text in &stderr[stderr.len().saturating_sub(shown)..] {
                self.print(&format!("      ! {text}"))?;
            }
        }
        if let Some(diff) = &result.diff {
            for text in diff.lines() {
                self.print(&format!("      {text}"))?;
            }
        }
        Ok(())
    }
}

impl Reporter for Human {
    fn handle(&mut self, event: &Event) -> Result<(), CliError> {
        match event {
            Event::RunStart { hosts, .. } => {
                self.width = hosts.iter().map(String::len).max().unwrap_or(0);
                self.order = hosts.clone();
            }
            Event::Output { host, stream, line } => {
                let separator = match stream {
                    OutputStream::Stdout => "|",
                    OutputStream::Stderr => "!",
                };
                self.print(&format!(
                    "{host:<width$} {separator} {line}",
                    width = self.width
                ))?;
            }
            Event::PlayStart { name, hosts } => {
                if let (false, Some(bar)) = (self.playbook, &self.progress) {
                    let style = ProgressStyle::with_template("{spinner} {pos} results {elapsed}");
                    bar.set_style(style.unwrap_or_else(|_| ProgressStyle::default_spinner()));
                }
                self.playbook = true;
                self.width = self
                    .width
                    .max(hosts.iter().map(String::len).max().unwrap_or(0));
                self.print(&format!("\nPLAY {name} [{} hosts]", hosts.len()))?;
            }
            Event::BatchStart {
                batch, of, hosts, ..
            } => self.print(&format!("BATCH {batch}/{of} [{}]", hosts.join(" ")))?,
            Event::RolloutStopped {
                batch,
                of,
                failed,
                batch_size,
                max_fail_percentage,
                reason,
                ..
            } => {
                let why = match reason {
                    StopReason::MaxFailPercentage => format!(
                        "{failed} of {batch_size} hosts of the batch failed, \
                         more than max_fail_percentage {}",
                        max_fail_percentage.unwrap_or_default()
                    ),
                    StopReason::HostFailed => format!(
                        "{failed} of {batch_size} hosts of the batch failed \
                         (no max_fail_percentage: any failure stops a serial play)"
                    ),
                    StopReason::Interrupted => "interrupted".to_string(),
                };
                let line = format!("ROLLOUT STOPPED after batch {batch}/{of}: {why}");
                self.print(&self.paint(&line, Status::Failed))?;
            }
            Event::HostRelease { host, release } => self.print(&format!(
                "  {host:<width$}  now runs {}",
                release.as_deref().unwrap_or("no release"),
                width = self.width
            ))?,
            Event::TaskStart { name } => self.print(&format!("TASK {name}"))?,
            Event::Command { host, command } => {
                // A shell's prompts: `$` for the first line, `>` for the rest.
                for (index, line) in command.lines().enumerate() {
                    let prompt = if index == 0 { '$' } else { '>' };
                    self.print(&format!(
                        "  {host:<width$}  {prompt} {line}",
                        width = self.width
                    ))?;
                }
            }
            Event::TaskResult(result) if self.playbook => {
                self.task_line(result)?;
                if let Some(bar) = &self.progress {
                    bar.inc(1);
                }
                self.results.push(result.clone());
            }
            Event::TaskResult(result) => {
                if let Some(msg) = &result.msg {
                    let label = result.status.as_str().to_uppercase();
                    let label = self.paint(&label, result.status);
                    self.print(&format!(
                        "{:<width$} ! {label}: {msg}",
                        result.host,
                        width = self.width
                    ))?;
                }
                if let Some(bar) = &self.progress {
                    bar.inc(1);
                }
                self.results.push(result.clone());
            }
            Event::RunDone {
                counts,
                duration_ms,
                interrupted,
            } => self.recap(counts, *duration_ms, *interrupted)?,
        }
        Ok(())
    }
}

fn summarize(counts: &Counts) -> String {
    let parts = [
        (counts.ignored, "ignored"),
        (counts.rescued, "rescued"),
        (counts.ok, "ok"),
        (counts.changed, "changed"),
        (counts.failed, "failed"),
        (counts.skipped, "skipped"),
        (counts.unreachable, "unreachable"),
    ];
    let shown: Vec<String> = parts
        .iter()
        .filter(|(count, _)| *count > 0)
        .map(|(count, name)| format!("{count} {name}"))
        .collect();
    if shown.is_empty() {
        "nothing ran".to_string()
    } else {
        shown.join(", ")
    }
}
