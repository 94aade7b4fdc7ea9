//! rsync's `--exclude` patterns, as `synchronize` takes them in
//! `rsync_opts`.

use crate::modules::find::fnmatch_regex;

/// An rsync `--exclude` pattern.
#[derive(Debug)]
pub(crate) struct Exclude {
    regex: regex::Regex,
    /// A leading `/`: matched against the whole path from the transfer's
    /// root.
    anchored: bool,
    /// Has a `/` inside: matched against the path's trailing components.
    with_slash: bool,
    /// A trailing `/`: directories only.
    dirs_only: bool,
}

impl Exclude {
    pub fn parse(pattern: &str) -> Result<Exclude, String> {
        let dirs_only = pattern.ends_with('/') && pattern.len() > 1;
        let trimmed = pattern.trim_end_matches('/');
        let anchored = trimmed.starts_with('/');
        let body = trimmed.trim_start_matches('/');
        // `*` stops at `/`, `**` does not.
        let translated = fnmatch_regex(&body.replace("**", "\u{1}"))
            .replace(".*", "[^/]*")
            .replace('\u{1}', ".*");
        Ok(Exclude {
            regex: regex::Regex::new(&translated).map_err(|err| format!("{pattern}: {err}"))?,
            anchored,
            with_slash: body.contains('/'),
            dirs_only,
        })
    }

    /// Whether `path` (from the transfer's root, no leading `/`) matches.
    pub fn matches(&self, path: &str, is_dir: bool) -> bool {
        if self.dirs_only && !is_dir {
            return false;
        }
        if self.anchored {
            return self.regex.is_match(path);
        }
        if !self.with_slash {
            let name = path.rsplit('/').next().unwrap_or(path);
            return self.regex.is_match(name);
        }
        let mut rest = path;
        loop {
            if self.regex.is_match(rest) {
                return true;
            }
            match rest.split_once('/') {
                Some((_, tail)) => rest = tail,
                None => return false,
            }
        }
    }
}

/// The patterns of `--exclude=P` and `--exclude P` in `rsync_opts`; any
/// other option is refused.
pub(crate) fn exclude_patterns(opts: &[String]) -> Result<Vec<String>, String> {
    let mut patterns = Vec::new();
    let mut words = opts.iter().flat_map(|opt| {
        opt.split_whitespace()
            .map(str::to_string)
            .collect::<Vec<_>>()
    });
    while let Some(word) = words.next() {
        if let Some(pattern) = word.strip_prefix("--exclude=") {
            patterns.push(pattern.trim_matches(['\'', '"']).to_string());
        } else if word == "--exclude" {
            let pattern = words
                .next()
                .ok_or_else(|| "rsync_opts: --exclude needs a pattern".to_string())?;
            patterns.push(pattern.trim_matches(['\'', '"']).to_string());
        } else {
            return Err(format!(
                "rsync_opts: {word} is not supported (only --exclude=PATTERN is)"
            ));
        }
    }
    Ok(patterns)
}
