//! The local transport: commands run on the controller itself, each one a
//! real `sh -c <script>`, for hosts with `connection: local` and tasks with
//! `delegate_to: localhost`. No SSH, so no known_hosts, keys or connect
//! throttle.
//!
//! It behaves like a [`fleet_ssh::Session`]: per-command stdout, stderr and
//! exit code, stdin written once the command started, `timeout` (the whole
//! process group is killed and the error is the SSH one), `become` through
//! the same sudo wrapper and gate as SSH (skipped when the controller
//! already runs as that user), and atomic uploads through the same script.

use std::os::unix::process::ExitStatusExt;
use std::process::Stdio;
use std::sync::OnceLock;

use fleet_ssh::sudo::{self, Gate, GateStep};
use fleet_ssh::{Become, ExecOptions, KEY_PASSPHRASE_ENV, Output, SshError, Stream};
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::process::{ChildStdin, Command};

/// Secrets of the controller's environment that commands never see.
const HIDDEN_ENV: [&str; 2] = ["FLEET_BECOME_PASSWORD", KEY_PASSPHRASE_ENV];

/// Runs commands on the controller. Cheap to clone.
#[derive(Debug, Clone)]
pub struct LocalShell {
    label: String,
}

impl LocalShell {
    /// A shell for the host named `label` in messages.
    pub fn new(label: impl Into<String>) -> LocalShell {
        LocalShell {
            label: label.into(),
        }
    }

    /// The host as named in messages.
    pub fn host(&self) -> &str {
        &self.label
    }

    /// Runs `command` through `sh -c`, handing stdout and stderr chunks to
    /// `on_output` as they arrive, and returns the exit status (a signal
    /// `n` gives `128 + n`).
    pub async fn exec(
        &self,
        command: &str,
        opts: &ExecOptions,
        on_output: &mut (dyn FnMut(Stream, &[u8]) + Send),
    ) -> Result<i32, SshError> {
        let run = self.run(command, opts, on_output);
        fleet_ssh::within_timeout(&self.label, opts.timeout, run).await
    }

    /// [`exec`](Self::exec), collecting the output.
    pub async fn exec_collect(
        &self,
        command: &str,
        opts: &ExecOptions,
    ) -> Result<Output, SshError> {
        let mut stdout = Vec::new();
        let mut stderr = Vec::new();
        let status = self
            .exec(command, opts, &mut |stream, data| match stream {
                Stream::Stdout => stdout.extend_from_slice(data),
                Stream::Stderr => stderr.extend_from_slice(data),
            })
            .await?;
        Ok(Output {
            status,
            stdout,
            stderr,
        })
    }

    /// Writes `contents` to `dest` atomically, with the upload script of
    /// the SSH transport (see [`fleet_ssh::upload_script`]).
    pub async fn upload(
        &self,
        contents: &[u8],
        dest: &str,
        mode: u32,
        owner: Option<&str>,
        r#become: Option<&Become>,
    ) -> Result<(), SshError> {
        let script = fleet_ssh::upload_script(dest, mode, owner, &fleet_shell::token())?;
        let opts = ExecOptions {
            r#become: r#become.cloned(),
            stdin: Some(contents.to_vec()),
            timeout: None,
            stdin_stream: None,
        };
        let out = self.exec_collect(&script, &opts).await?;
        if out.status == 0 {
            return Ok(());
        }
        Err(SshError::Upload {
            host: self.label.clone(),
            dest: dest.to_owned(),
            status: out.status,
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        })
    }

    async fn run(
        &self,
        command: &str,
        opts: &ExecOptions,
        on_output: &mut (dyn FnMut(Stream, &[u8]) + Send),
    ) -> Result<i32, SshError> {
        let (line, mut gate) = match opts.r#become.as_ref().filter(|how| !runs_as(how)) {
            Some(how) => {
                // sudo's command runs as another user, out of reach of our
                // kill: it enforces the timeout itself, as on SSH hosts.
                let command = match opts.timeout {
                    Some(limit) => sudo::with_remote_timeout(command, limit),
                    None => command.to_owned(),
                };
                let wrapped = sudo::wrap(&command, how, &fleet_shell::token());
                (wrapped.command, Some(wrapped.gate))
            }
            None => (command.to_owned(), None),
        };
        let mut shell = Command::new("sh");
        shell
            .arg("-c")
            .arg(&line)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true);
        for name in HIDDEN_ENV {
            shell.env_remove(name);
        }
        let mut child = shell
            .spawn()
            .map_err(|err| SshError::Invalid(format!("{}: cannot start sh: {err}", self.label)))?;
        let mut guard = GroupGuard {
            group: child
                .id()
                .and_then(|id| i32::try_from(id).ok())
                .map(Pid::from_raw),
        };
        let mut stdin = child.stdin.take();
        let (mut stdout, mut stderr) = match (child.stdout.take(), child.stderr.take()) {
            (Some(stdout), Some(stderr)) => (stdout, stderr),
            _ => return Err(SshError::Invalid(format!("{}: no pipes to sh", self.label))),
        };

        // stdin goes out concurrently with reading (a large upload must not
        // stall the output), and only once sudo let the command start.
        let (start_tx, start_rx) = tokio::sync::oneshot::channel::<ChildStdin>();
        let mut start_tx = Some(start_tx);
        let payload = opts.stdin.clone();
        let stream = opts
            .stdin_stream
            .as_ref()
            .and_then(fleet_ssh::StdinStream::take);
        let writer = async move {
            let Ok(mut pipe) = start_rx.await else {
                return;
            };
            if let Some(data) = payload.filter(|data| !data.is_empty()) {
                let _ = pipe.write_all(&data).await;
            }
            if let Some(mut chunks) = stream {
                while let Some(chunk) = chunks.recv().await {
                    if pipe.write_all(&chunk).await.is_err() {
                        return;
                    }
                }
            }
            let _ = pipe.shutdown().await;
        };
        tokio::pin!(writer);
        let mut start = |stdin: &mut Option<ChildStdin>| {
            if let (Some(tx), Some(pipe)) = (start_tx.take(), stdin.take()) {
                let _ = tx.send(pipe);
            }
        };
        if gate.is_none() {
            start(&mut stdin);
        }

        let mut out_buf = vec![0u8; 16 * 1024];
        let mut err_buf = vec![0u8; 16 * 1024];
        let (mut out_open, mut err_open, mut writer_done) = (true, true, false);
        while out_open || err_open {
            tokio::select! {
                () = &mut writer, if !writer_done => writer_done = true,
                read = stdout.read(&mut out_buf), if out_open => match read {
                    Ok(0) | Err(_) => out_open = false,
                    Ok(n) => on_output(Stream::Stdout, &out_buf[..n]),
                },
                read = stderr.read(&mut err_buf), if err_open => match read {
                    Ok(0) | Err(_) => err_open = false,
                    Ok(n) => match gate.as_mut().filter(|gate| !gate.is_open()) {
                        None => on_output(Stream::Stderr, &err_buf[..n]),
                        Some(g) => match g.feed(&err_buf[..n]) {
                            GateStep::Wait => {}
                            GateStep::SendPassword(line) => {
                                if let Some(pipe) = stdin.as_mut() {
                                    let _ = pipe.write_all(&line).await;
                                }
                            }
                            GateStep::Open(rest) => {
                                start(&mut stdin);
                                if !rest.is_empty() {
                                    on_output(Stream::Stderr, &rest);
                                }
                            }
                            GateStep::Refused(reason) => {
                                return Err(self.become_failed(g, reason));
                            }
                        },
                    },
                },
            }
        }
        drop(stdin);
        let status = child.wait().await.map_err(|err| {
            SshError::Invalid(format!("{}: cannot wait for sh: {err}", self.label))
        })?;
        guard.group = None;
        let status = status
            .code()
            .or_else(|| status.signal().map(|signal| 128 + signal))
            .unwrap_or(-1);
        if let Some(g) = gate.as_ref().filter(|gate| !gate.is_open()) {
            return Err(self.become_failed(g, g.refusal(Some(status))));
        }
        Ok(status)
    }

    fn become_failed(&self, gate: &Gate, reason: String) -> SshError {
        SshError::BecomeFailed {
            host: self.label.clone(),
            user: gate.user().to_owned(),
            method: gate.method(),
            reason,
        }
    }
}

/// Kills the command's whole process group if the exec is abandoned:
/// timeout, error, or the caller dropping the future.
struct GroupGuard {
    group: Option<Pid>,
}

impl Drop for GroupGuard {
    fn drop(&mut self) {
        if let Some(group) = self.group.take() {
            let _ = killpg(group, Signal::SIGKILL);
        }
    }
}

/// Whether the controller already runs as the user `how` asks for, so that
/// sudo is not needed.
fn runs_as(how: &Become) -> bool {
    static CONTROLLER_USER: OnceLock<Option<String>> = OnceLock::new();
    let wanted = if how.user.is_empty() {
        "root"
    } else {
        how.user.as_str()
    };
    CONTROLLER_USER
        .get_or_init(|| {
            nix::unistd::User::from_uid(nix::unistd::geteuid())
                .ok()
                .flatten()
                .map(|user| user.name)
        })
        .as_deref()
        == Some(wanted)
}

#[cfg(test)]
#[path = "local_tests.rs"]
mod tests;
