//! What the `git` module's probe reads, and Ansible's questions of it:
//! is the version a remote branch or tag, which branch is `HEAD` on, what
//! commit would the remote give.

use super::git::GitParams;
use crate::ModuleError;
use crate::text::{decode_base64, fields};

/// The probe: the checkout (when `dest` has one) and `ls-remote` of the
/// repository, unless an existing checkout is not to be updated. Binds
/// `git`, `repo`, `remote`, `update`, `dest` and `bare` before it.
pub(crate) const PROBE: &str = "\
command -v \"$git\" >/dev/null 2>&1 || { echo git=missing; exit 0; }
if [ -n \"$dest\" ]; then
case $dest in
/*) ;;
\"~\"|\"~/\"*) dest=\"$HOME${dest#\\~}\" ;;
*) dest=\"$(pwd)/$dest\" ;;
esac
echo \"dest=$dest\"
if [ \"$bare\" = 1 ]; then rp=$dest; else rp=\"$dest/.git\"; fi
if [ -f \"$rp\" ]; then
line=$(head -n 1 \"$rp\")
case $line in
\"gitdir: \"*) g=${line#gitdir: }; case $g in /*) rp=$g ;; *) rp=\"$dest/$g\" ;; esac ;;
*) echo gitfile=invalid ;;
esac
fi
if [ -e \"$rp/config\" ]; then
echo config=1
echo \"before=$(\"$git\" -C \"$dest\" rev-parse HEAD 2>/dev/null)\"
[ \"$update\" = 1 ] || exit 0
[ \"$bare\" = 1 ] || echo \"status=$(\"$git\" -C \"$dest\" status --porcelain 2>/dev/null | base64 -w0)\"
url=$(\"$git\" -C \"$dest\" ls-remote --get-url \"$remote\" 2>/dev/null) && echo \"remote_url=$url\"
echo \"head=$(head -n 1 \"$rp/HEAD\" 2>/dev/null)\"
[ -f \"$rp/refs/remotes/$remote/HEAD\" ] && echo \"remote_head=$(head -n 1 \"$rp/refs/remotes/$remote/HEAD\")\"
\"$git\" -C \"$dest\" branch --no-color -a 2>/dev/null | grep -Eq '^\\* .*(no branch|detached from|detached at)' && echo detached=1
fi
fi
e=$(mktemp) || exit
refs=$(\"$git\" ls-remote -- \"$repo\" 2>\"$e\"); echo \"ls_rc=$?\"
echo \"refs=$(printf '%s' \"$refs\" | base64 -w0)\"
echo \"ls_error=$(base64 -w0 < \"$e\")\"
rm -f -- \"$e\"
";

#[derive(Debug, Clone, Default)]
pub(crate) struct Facts {
    /// `dest`, absolute.
    pub dest: Option<String>,
    /// `dest` holds a repository (its `config` exists).
    pub has_config: bool,
    /// `git rev-parse HEAD` of the checkout.
    pub before: String,
    status: String,
    /// `git ls-remote --get-url REMOTE`, when it answered.
    pub remote_url: Option<String>,
    head: Option<String>,
    remote_head_line: Option<String>,
    detached: bool,
    /// The remote's refs: (sha, name), in `ls-remote` order.
    refs: Vec<(String, String)>,
}

impl Facts {
    pub fn parse(stdout: &str) -> Result<Facts, ModuleError> {
        let values = fields(stdout);
        if values.get("git") == Some(&"missing") {
            return Err(ModuleError::Failed(
                "Failed to find required executable \"git\" in paths".into(),
            ));
        }
        if values.contains_key("gitfile") {
            return Err(ModuleError::Failed(
                "Current repo does not have a valid reference to a separate Git dir or it refers to the invalid path".into(),
            ));
        }
        let text = |key: &str| -> Result<String, ModuleError> {
            let encoded = values.get(key).copied().unwrap_or("");
            Ok(String::from_utf8_lossy(&decode_base64(encoded, key)?).into_owned())
        };
        let has_config = values.get("config") == Some(&"1");
        let ls_rc = values.get("ls_rc").copied();
        if ls_rc.is_some_and(|rc| rc != "0") {
            return Err(ModuleError::Failed(format!(
                "git ls-remote failed (rc={}): {}",
                ls_rc.unwrap_or("?"),
                text("ls_error")?.trim_end()
            )));
        }
        let refs = text("refs")?
            .lines()
            .filter_map(|line| {
                let (sha, name) = line.split_once('\t')?;
                Some((sha.to_string(), name.to_string()))
            })
            .collect();
        Ok(Facts {
            dest: values.get("dest").map(|dest| dest.to_string()),
            has_config,
            before: values.get("before").copied().unwrap_or("").to_string(),
            status: text("status")?,
            remote_url: values.get("remote_url").map(|url| url.to_string()),
            head: values.get("head").map(|line| line.to_string()),
            remote_head_line: values.get("remote_head").map(|line| line.to_string()),
            detached: values.get("detached") == Some(&"1"),
            refs,
        })
    }

    fn sha_of(&self, name: &str) -> Option<&str> {
        self.refs
            .iter()
            .find(|(_, ref_name)| ref_name == name)
            .map(|(sha, _)| sha.as_str())
    }

    pub fn is_remote_branch(&self, version: &str) -> bool {
        self.sha_of(&format!("refs/heads/{version}")).is_some()
    }

    pub fn is_remote_tag(&self, version: &str) -> bool {
        self.sha_of(&format!("refs/tags/{version}")).is_some()
    }

    /// Tracked files changed (untracked ones do not count).
    pub fn local_mods(&self) -> bool {
        self.status
            .lines()
            .any(|line| !line.is_empty() && !line.starts_with("??"))
    }

    /// The branch `HEAD` is on; for a detached `HEAD`, the one the
    /// remote's `HEAD` names (Ansible's `get_head_branch`).
    pub fn head_branch(&self, remote: &str, _bare: bool) -> Option<String> {
        let line = if self.detached {
            self.remote_head_line.as_deref()?
        } else {
            self.head.as_deref()?
        };
        head_splitter(line, remote)
    }

    /// The commit the remote gives for `version` (Ansible's
    /// `get_remote_head`): `cloning` asks for the remote's `HEAD`.
    pub fn remote_head(
        &self,
        version: &str,
        cloning: bool,
        params: &GitParams,
    ) -> Result<String, ModuleError> {
        let missing =
            || ModuleError::Failed(format!("Could not determine remote revision for {version}"));
        if version == "HEAD" {
            let name = if cloning {
                "HEAD".to_string()
            } else {
                let branch = self
                    .head_branch(&params.remote, params.bare)
                    .unwrap_or_else(|| "None".into());
                format!("refs/heads/{branch}")
            };
            return self.sha_of(&name).map(String::from).ok_or_else(missing);
        }
        if self.is_remote_branch(version) {
            return Ok(self
                .sha_of(&format!("refs/heads/{version}"))
                .unwrap_or_default()
                .to_string());
        }
        if self.is_remote_tag(version) {
            let prefix = format!("refs/tags/{version}");
            let mut chosen = None;
            for (sha, name) in self
                .refs
                .iter()
                .filter(|(_, name)| name.starts_with(&prefix))
            {
                if name.ends_with(&format!("{version}^{{}}")) {
                    chosen = Some(sha);
                    break;
                }
                if name.ends_with(version) {
                    chosen = Some(sha);
                }
            }
            return chosen.cloned().ok_or_else(missing);
        }
        Ok(version.to_string())
    }
}

/// The branch a `HEAD` file's first line names: `ref: refs/heads/main`
/// is `main`, `ref: refs/remotes/origin/main` is `main`.
pub(crate) fn head_splitter(line: &str, remote: &str) -> Option<String> {
    if line.is_empty() {
        return None;
    }
    let line = line.replacen(&format!("refs/remotes/{remote}"), "", 1);
    let last = line.rsplit(' ').next().unwrap_or("");
    let branch = last.splitn(3, '/').last().unwrap_or("");
    Some(branch.trim_end_matches('\n').to_string())
}
