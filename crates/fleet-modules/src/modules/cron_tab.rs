//! The crontab text edits of `cron`, line for line as Ansible's `cron`
//! makes them, so both tools converge the same crontab: a job is the line
//! after its `#Ansible: NAME` marker, a variable is a `NAME="value"` line.

/// The marker line before each job Ansible manages.
pub(crate) const MARKER: &str = "#Ansible: ";

/// A crontab's lines, as read (the header `crontab -l` may print left out).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CronTab {
    pub lines: Vec<String>,
}

/// What [`CronTab::find_job`] found: the marker and the job line, and
/// whether it had to add a marker before a bare line equal to the job.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Found {
    pub job: String,
    pub marker_added: bool,
}

fn comment(name: &str) -> String {
    format!("{MARKER}{name}")
}

impl CronTab {
    /// The lines of `text`; for a user's crontab (`from_crontab_l`) the
    /// first three lines may be the header some `crontab -l` print, which
    /// is dropped from the lines and from the text.
    pub fn read(text: &str, from_crontab_l: bool) -> (CronTab, String) {
        let mut existing = text.to_string();
        let mut lines = Vec::new();
        for (count, line) in text.lines().enumerate() {
            if from_crontab_l && count <= 2 && is_header(line) {
                let start = existing.find(line).unwrap_or(0);
                let mut end = start + line.len();
                if existing[end..].starts_with(['\r', '\n']) {
                    end += 1;
                }
                existing.replace_range(start..end, "");
            } else {
                lines.push(line.to_string());
            }
        }
        (CronTab { lines }, existing)
    }

    pub fn is_empty(&self) -> bool {
        self.lines.iter().all(|line| line.trim().is_empty())
    }

    /// The text written back: the lines joined, ending in one newline.
    pub fn render(&self) -> String {
        let text = self.lines.join("\n");
        if text.is_empty() {
            return text;
        }
        text.trim_end_matches(['\r', '\n']).to_string() + "\n"
    }

    /// The job line after `name`'s marker. Else, with `job`, a line equal
    /// to it gets `name`'s marker (before it, or in place of a marker for
    /// no name), as Ansible adopts an unmarked job.
    pub fn find_job(&mut self, name: &str, job: Option<&str>) -> Option<Found> {
        let mut marked: Option<String> = None;
        for line in &self.lines {
            if let Some(current) = marked.take() {
                if current == name {
                    return Some(Found {
                        job: line.clone(),
                        marker_added: false,
                    });
                }
            } else if line.starts_with(MARKER) {
                marked = Some(line.replace(MARKER, ""));
            }
        }
        let job = job?;
        // The line before the first is the last, as Python's `lines[-1]`.
        for at in 0..self.lines.len() {
            if self.lines[at] != job {
                continue;
            }
            let before = if at == 0 {
                self.lines.len() - 1
            } else {
                at - 1
            };
            if !self.lines[before].starts_with(MARKER) {
                self.lines.insert(at, comment(name));
            } else if !name.is_empty() && self.lines[before] == comment("None") {
                self.lines[before] = comment(name);
            } else {
                continue;
            }
            return Some(Found {
                job: job.to_string(),
                marker_added: true,
            });
        }
        None
    }

    pub fn add_job(&mut self, name: &str, job: &str) {
        self.lines.push(comment(name));
        self.lines.push(job.to_string());
    }

    /// Replaces (`Some`) or removes (`None`) the line after each of
    /// `name`'s markers, marker included.
    pub fn replace_job(&mut self, name: &str, job: Option<&str>) {
        let marker = comment(name);
        let mut kept = Vec::new();
        let mut pending = false;
        for line in self.lines.drain(..) {
            if pending {
                if let Some(job) = job {
                    kept.push(marker.clone());
                    kept.push(job.to_string());
                }
                pending = false;
            } else if line == marker {
                pending = true;
            } else {
                kept.push(line);
            }
        }
        self.lines = kept;
    }

    /// The first `NAME=` line's index and text.
    pub fn find_env(&self, name: &str) -> Option<(usize, String)> {
        let prefix = format!("{name}=");
        self.lines
            .iter()
            .position(|line| line.starts_with(&prefix))
            .map(|at| (at, self.lines[at].clone()))
    }

    /// Adds a variable first, or after or before another one.
    pub fn add_env(
        &mut self,
        decl: &str,
        after: Option<&str>,
        before: Option<&str>,
    ) -> Result<(), String> {
        let Some(other) = after.or(before) else {
            self.lines.insert(0, decl.to_string());
            return Ok(());
        };
        let (at, _) = self
            .find_env(other)
            .ok_or_else(|| format!("Variable named '{other}' not found."))?;
        let at = if after.is_some() { at + 1 } else { at };
        self.lines.insert(at, decl.to_string());
        Ok(())
    }

    /// Replaces (`Some`) or removes (`None`) every `NAME=` line.
    pub fn replace_env(&mut self, name: &str, decl: Option<&str>) {
        let prefix = format!("{name}=");
        let lines = std::mem::take(&mut self.lines);
        self.lines = lines
            .into_iter()
            .filter_map(|line| match (line.starts_with(&prefix), decl) {
                (false, _) => Some(line),
                (true, Some(decl)) => Some(decl.to_string()),
                (true, None) => None,
            })
            .collect();
    }

    /// The names of the managed jobs, as Ansible's `jobs`.
    pub fn job_names(&self) -> Vec<String> {
        self.lines
            .iter()
            .filter(|line| line.starts_with(MARKER))
            .map(|line| line.replace(MARKER, ""))
            .collect()
    }

    /// The names of the variables, as Ansible's `envs`.
    pub fn env_names(&self) -> Vec<String> {
        self.lines
            .iter()
            .filter(|line| {
                line.split_once('=').is_some_and(|(name, _)| {
                    !name.is_empty() && !name.contains(char::is_whitespace)
                })
            })
            .map(|line| line.split('=').next().unwrap_or_default().to_string())
            .collect()
    }
}

/// The header lines some `crontab -l` print before the table.
fn is_header(line: &str) -> bool {
    if line.starts_with("# DO NOT EDIT THIS FILE - edit the master and reinstall.") {
        return true;
    }
    let Some(inner) = line.strip_prefix("# (") else {
        return false;
    };
    let closed = |text: &str| text.contains(')');
    let installed = inner.starts_with("/tmp/")
        && inner
            .find("installed on")
            .is_some_and(|at| closed(&inner[at..]));
    let version = inner.find("version").is_some_and(|at| closed(&inner[at..]));
    installed || version
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tab(text: &str) -> CronTab {
        CronTab::read(text, true).0
    }

    #[test]
    fn the_header_of_crontab_l_is_left_out() {
        let text = "# DO NOT EDIT THIS FILE - edit the master and reinstall.\n# (/tmp/crontab.x installed on Mon)\n# (Cron version -- $Id$)\n#Ansible: a\n* * * * * true\n";
        let (tab, existing) = CronTab::read(text, true);
        assert_eq!(tab.lines, ["#Ansible: a", "* * * * * true"]);
        assert_eq!(existing, "#Ansible: a\n* * * * * true\n");
        assert_eq!(CronTab::read(text, false).0.lines.len(), 5);
    }

    #[test]
    fn a_job_is_the_line_after_its_marker() {
        let mut t = tab("#Ansible: a\n1 * * * * x\n#Ansible: b\n2 * * * * y\n");
        assert_eq!(t.find_job("b", None).unwrap().job, "2 * * * * y");
        assert_eq!(t.find_job("c", None), None);
        t.replace_job("a", Some("5 * * * * z"));
        assert_eq!(
            t.render(),
            "#Ansible: a\n5 * * * * z\n#Ansible: b\n2 * * * * y\n"
        );
        t.replace_job("a", None);
        assert_eq!(t.render(), "#Ansible: b\n2 * * * * y\n");
        assert_eq!(t.job_names(), ["b"]);
    }

    #[test]
    fn an_unmarked_line_equal_to_the_job_is_adopted() {
        let mut t = tab("MAILTO=x\n0 1 * * * backup\n");
        let found = t.find_job("nightly", Some("0 1 * * * backup")).unwrap();
        assert!(found.marker_added);
        assert_eq!(
            t.render(),
            "MAILTO=x\n#Ansible: nightly\n0 1 * * * backup\n"
        );
    }

    #[test]
    fn variables_go_first_or_next_to_another() {
        let mut t = tab("#Ansible: a\n* * * * * x\n");
        t.add_env("PATH=\"/bin\"", None, None).unwrap();
        t.add_env("SHELL=\"/bin/sh\"", Some("PATH"), None).unwrap();
        t.add_env("MAILTO=\"\"", None, Some("PATH")).unwrap();
        assert_eq!(t.env_names(), ["MAILTO", "PATH", "SHELL"]);
        assert!(t.add_env("X=1", Some("NOPE"), None).is_err());
        t.replace_env("PATH", Some("PATH=\"/usr/bin\""));
        t.replace_env("MAILTO", None);
        assert_eq!(
            t.render(),
            "PATH=\"/usr/bin\"\nSHELL=\"/bin/sh\"\n#Ansible: a\n* * * * * x\n"
        );
    }

    #[test]
    fn an_empty_table_renders_empty() {
        assert_eq!(tab("").render(), "");
        assert!(tab("\n  \n").is_empty());
    }
}
