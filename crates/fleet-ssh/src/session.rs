//! A [`Session`]: one authenticated connection, many concurrent commands.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use russh::client::{Handle, Msg};
use russh::{Channel, ChannelMsg, ChannelWriteHalf, Disconnect, Sig};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::client::{ClientHandler, JumpConn};
use crate::options::{Become, ExecOptions, Output, StdinStream, Stream};
use crate::sudo::{self, GateStep};
use crate::{SshError, upload};

/// OpenSSH's default `MaxSessions`: channels open at once per connection.
pub const MAX_CHANNELS_PER_SESSION: usize = 10;

/// How long a refused channel open is retried.
const OPEN_RETRY_FOR: Duration = Duration::from_secs(5);

/// `run`, failing with [`SshError::Timeout`] for `host` when it takes
/// longer than `limit`: every transport bounds its commands this way.
pub async fn within_timeout<T>(
    host: &str,
    limit: Option<Duration>,
    run: impl Future<Output = Result<T, SshError>>,
) -> Result<T, SshError> {
    let Some(limit) = limit else {
        return run.await;
    };
    tokio::time::timeout(limit, run).await.unwrap_or_else(|_| {
        Err(SshError::Timeout {
            host: host.to_owned(),
            secs: limit.as_secs_f64(),
        })
    })
}

/// One connection to one host. Cheap to clone; all methods take `&self`, so
/// many tasks may run commands on it at once (at most
/// [`MAX_CHANNELS_PER_SESSION`] channels are open at a time, the others
/// wait their turn).
#[derive(Clone)]
pub struct Session {
    inner: Arc<SessionInner>,
}

struct SessionInner {
    handle: Handle<ClientHandler>,
    label: String,
    user: String,
    channels: Arc<Semaphore>,
    /// Keeps the jump-host connection alive while this session lives.
    _via: Option<Arc<JumpConn>>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("host", &self.inner.label)
            .field("user", &self.inner.user)
            .finish_non_exhaustive()
    }
}

impl Session {
    pub(crate) fn new(
        handle: Handle<ClientHandler>,
        label: String,
        user: String,
        via: Option<Arc<JumpConn>>,
    ) -> Self {
        Session {
            inner: Arc::new(SessionInner {
                handle,
                label,
                user,
                channels: Arc::new(Semaphore::new(MAX_CHANNELS_PER_SESSION)),
                _via: via,
            }),
        }
    }

    /// The host as named in messages: `name` or `name (address:port)`.
    pub fn host(&self) -> &str {
        &self.inner.label
    }

    /// The remote user this session authenticated as.
    pub fn user(&self) -> &str {
        &self.inner.user
    }

    /// Whether the connection has gone away.
    pub fn is_closed(&self) -> bool {
        self.inner.handle.is_closed()
    }

    /// Runs `command` (through the remote user's shell), handing stdout and
    /// stderr chunks to `on_output` as they arrive, and returns the exit
    /// status (a signal `n` gives `128 + n`; `-1` when the server reports
    /// neither). The channel is always drained to the end.
    pub async fn exec(
        &self,
        command: &str,
        opts: &ExecOptions,
        on_output: &mut (dyn FnMut(Stream, &[u8]) + Send),
    ) -> Result<i32, SshError> {
        let permit = self
            .inner
            .channels
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| self.disconnected())?;
        let run = self.run(permit, command, opts, on_output);
        within_timeout(&self.inner.label, opts.timeout, run).await
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

    /// Writes `contents` to `dest` atomically: a temp file in the same
    /// directory gets the bytes, `mode` and `owner` (`user` or
    /// `user:group`), then is renamed over `dest`. Runs under sudo when
    /// `become` is given.
    pub async fn upload(
        &self,
        contents: &[u8],
        dest: &str,
        mode: u32,
        owner: Option<&str>,
        r#become: Option<&Become>,
    ) -> Result<(), SshError> {
        let script = upload::script(dest, mode, owner, &sudo::token())?;
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
            host: self.inner.label.clone(),
            dest: dest.to_owned(),
            status: out.status,
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        })
    }

    /// Disconnects cleanly. Commands still running on the session fail with
    /// `Disconnected`.
    pub async fn close(&self) {
        let _ = self
            .inner
            .handle
            .disconnect(Disconnect::ByApplication, "", "en")
            .await;
    }

    fn disconnected(&self) -> SshError {
        SshError::Disconnected {
            host: self.inner.label.clone(),
        }
    }

    fn channel_error(&self, e: russh::Error) -> SshError {
        match e {
            russh::Error::SendError
            | russh::Error::Disconnect
            | russh::Error::HUP
            | russh::Error::RecvError
            | russh::Error::KeepaliveTimeout
            | russh::Error::InactivityTimeout => self.disconnected(),
            _ if self.inner.handle.is_closed() => self.disconnected(),
            source => SshError::Channel {
                host: self.inner.label.clone(),
                source,
            },
        }
    }

    async fn run(
        &self,
        permit: OwnedSemaphorePermit,
        command: &str,
        opts: &ExecOptions,
        on_output: &mut (dyn FnMut(Stream, &[u8]) + Send),
    ) -> Result<i32, SshError> {
        let channel = self.open_channel().await?;
        let (mut read, write) = channel.split();
        let guard = ChannelGuard {
            write: Some(write),
            permit: Some(permit),
            finished: AtomicBool::new(false),
        };
        let write = guard.write.as_ref().ok_or_else(|| self.disconnected())?;

        let timed;
        let command = match opts.timeout {
            Some(limit) => {
                timed = sudo::with_remote_timeout(command, limit);
                timed.as_str()
            }
            None => command,
        };
        let (line, mut gate) = match &opts.r#become {
            Some(how) => {
                let wrapped = sudo::wrap(command, how, &sudo::token());
                (wrapped.command, Some(wrapped.gate))
            }
            None => (command.to_owned(), None),
        };
        write
            .exec(true, line)
            .await
            .map_err(|e| self.channel_error(e))?;

        // stdin goes out concurrently with reading (a large upload must not
        // stall the output), and only once sudo let the command start.
        let (start_tx, start_rx) = tokio::sync::oneshot::channel::<()>();
        let mut start_tx = Some(start_tx);
        if gate.is_none() {
            let _ = start_tx.take().map(|tx| tx.send(()));
        }
        let stdin = opts.stdin.clone();
        let stream = opts.stdin_stream.as_ref().and_then(StdinStream::take);
        let writer = async {
            if start_rx.await.is_err() {
                return;
            }
            if let Some(data) = stdin.filter(|d| !d.is_empty())
                && write.data_bytes(data).await.is_err()
            {
                return;
            }
            if let Some(mut chunks) = stream {
                while let Some(chunk) = chunks.recv().await {
                    if write.data_bytes(chunk).await.is_err() {
                        return;
                    }
                }
            }
            let _ = write.eof().await;
        };
        tokio::pin!(writer);
        let mut writer_done = false;

        let mut status: Option<i32> = None;
        let mut closed = false;
        loop {
            tokio::select! {
                () = &mut writer, if !writer_done => writer_done = true,
                msg = read.wait() => {
                    let Some(msg) = msg else { break };
                    match msg {
                        ChannelMsg::Data { data } => on_output(Stream::Stdout, &data),
                        ChannelMsg::ExtendedData { data, ext: 1 } => match gate.as_mut() {
                            Some(g) if !g.is_open() => match g.feed(&data) {
                                GateStep::Wait => {}
                                GateStep::SendPassword(line) => {
                                    write
                                        .data_bytes(line)
                                        .await
                                        .map_err(|e| self.channel_error(e))?;
                                }
                                GateStep::Open(rest) => {
                                    let _ = start_tx.take().map(|tx| tx.send(()));
                                    if !rest.is_empty() {
                                        on_output(Stream::Stderr, &rest);
                                    }
                                }
                                GateStep::Refused(reason) => {
                                    return Err(self.become_failed(g, reason));
                                }
                            },
                            _ => on_output(Stream::Stderr, &data),
                        },
                        ChannelMsg::ExitStatus { exit_status } => {
                            status = Some(i32::try_from(exit_status).unwrap_or(-1));
                        }
                        ChannelMsg::ExitSignal { signal_name, .. } => {
                            status = Some(signal_status(&signal_name));
                        }
                        ChannelMsg::Failure if status.is_none() => {
                            return Err(SshError::Channel {
                                host: self.inner.label.clone(),
                                source: russh::Error::RequestDenied,
                            });
                        }
                        ChannelMsg::Close => closed = true,
                        _ => {}
                    }
                }
            }
        }
        guard.finished();
        if let Some(g) = gate.as_ref().filter(|g| !g.is_open()) {
            let reason = g.refusal(status);
            return Err(self.become_failed(g, reason));
        }
        match status {
            Some(status) => Ok(status),
            None if closed && !self.inner.handle.is_closed() => Ok(-1),
            None => Err(self.disconnected()),
        }
    }

    /// Opens a session channel. sshd frees a closed session's slot a little
    /// after the close is exchanged, so an open that immediately follows one
    /// may be refused ("no more sessions") although at most
    /// [`MAX_CHANNELS_PER_SESSION`] are open: such refusals are retried with
    /// a short backoff for a few seconds.
    async fn open_channel(&self) -> Result<Channel<Msg>, SshError> {
        let deadline = tokio::time::Instant::now() + OPEN_RETRY_FOR;
        let mut delay = Duration::from_millis(2);
        loop {
            match self.inner.handle.channel_open_session().await {
                Ok(channel) => return Ok(channel),
                Err(russh::Error::ChannelOpenFailure(_))
                    if tokio::time::Instant::now() + delay < deadline =>
                {
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_millis(100));
                }
                Err(e) => return Err(self.channel_error(e)),
            }
        }
    }

    fn become_failed(&self, gate: &sudo::Gate, reason: String) -> SshError {
        SshError::BecomeFailed {
            host: self.inner.label.clone(),
            user: gate.user.clone(),
            method: gate.method(),
            reason,
        }
    }
}

/// Closes the channel (killing the command) if the exec is abandoned:
/// timeout, error, or the caller dropping the future. Holds the channel
/// slot until the close is sent.
struct ChannelGuard {
    write: Option<ChannelWriteHalf<Msg>>,
    permit: Option<OwnedSemaphorePermit>,
    finished: AtomicBool,
}

impl ChannelGuard {
    /// The channel ended normally: nothing to clean up.
    fn finished(&self) {
        self.finished.store(true, Ordering::Relaxed);
    }
}

impl Drop for ChannelGuard {
    fn drop(&mut self) {
        if self.finished.load(Ordering::Relaxed) {
            return;
        }
        let Some(write) = self.write.take() else {
            return;
        };
        let permit = self.permit.take();
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                let _ = write.signal(Sig::KILL).await;
                let _ = write.eof().await;
                let _ = write.close().await;
                drop(permit);
            });
        }
    }
}

/// `128 + n` for the usual signal numbers, `-1` for others.
fn signal_status(signal: &Sig) -> i32 {
    let n = match signal {
        Sig::HUP => 1,
        Sig::INT => 2,
        Sig::QUIT => 3,
        Sig::ILL => 4,
        Sig::ABRT => 6,
        Sig::FPE => 8,
        Sig::KILL => 9,
        Sig::USR1 => 10,
        Sig::SEGV => 11,
        Sig::PIPE => 13,
        Sig::ALRM => 14,
        Sig::TERM => 15,
        Sig::Custom(name) => match name.as_str() {
            "BUS" => 7,
            "USR2" => 12,
            "STKFLT" => 16,
            "XCPU" => 24,
            "XFSZ" => 25,
            "SYS" => 31,
            _ => return -1,
        },
    };
    128 + n
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn session_is_send_sync() {
        assert_send_sync::<Session>();
        assert_send_sync::<crate::Client>();
    }

    #[test]
    fn signals() {
        assert_eq!(signal_status(&Sig::KILL), 137);
        assert_eq!(signal_status(&Sig::TERM), 143);
        assert_eq!(signal_status(&Sig::Custom("USR2".into())), 140);
        assert_eq!(signal_status(&Sig::Custom("WEIRD".into())), -1);
    }
}
