//! `Step::Rsync`: the controller's rsync talks with its remote end
//! (`rsync --server`) over a channel of the task's own connection.
//!
//! rsync is given `-e "sh DIR/tunnel"` as its remote shell. The tunnel is a
//! few lines of sh around three FIFOs in a private temp dir: it writes the
//! remote command rsync asks for to `args`, copies rsync's output into `up`
//! and what comes back from `down` to rsync. fleet reads `args`, runs that
//! command on the host (through become, like any step), streams `up` to its
//! stdin and its stdout to `down`. Only `rsync --server` commands are run.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::Stdio;

use fleet_modules::StepOutput;
use fleet_ssh::{ExecOptions, SshError, StdinStream, Stream};
use nix::fcntl::OFlag;
use nix::sys::stat::Mode;

use crate::connection::Connection;
use crate::module_run::RunContext;

/// The remote shell rsync runs: `sh tunnel HOST COMMAND...`.
const TUNNEL: &str = r#"d=$(dirname -- "$0")
shift
printf '%s\n' "$*" > "$d/args.new" && mv -- "$d/args.new" "$d/args"
exec 3<&0
cat <&3 > "$d/up" &
cat -- "$d/down"
kill "$!" 2>/dev/null
"#;

/// The host name rsync is given; the tunnel ignores it.
const HOST: &str = "fleet-host";

/// Runs rsync with `args` to `dest` on the host of `connection`.
pub(crate) async fn rsync(
    connection: &Connection,
    args: &[String],
    dest: &str,
    ctx: &RunContext,
) -> Result<StepOutput, SshError> {
    if let Connection::Local(_) = connection {
        let mut local = tokio::process::Command::new("rsync");
        local.args(args).arg(dest);
        return Ok(finished(local.output().await, String::new()));
    }
    let dir = Tunnel::create().map_err(|err| invalid(&format!("rsync tunnel: {err}")))?;
    let mut child = tokio::process::Command::new("rsync")
        .arg("-e")
        .arg(format!("sh {}", dir.path("tunnel").display()))
        .args(args)
        .arg(format!("{HOST}:{dest}"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|err| invalid(&format!("cannot start rsync on the controller: {err}")))?;

    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    let done = std::sync::atomic::AtomicBool::new(false);
    let collect = async {
        let mut out = String::new();
        let mut err = String::new();
        if let Some(mut pipe) = stdout {
            let _ = tokio::io::AsyncReadExt::read_to_string(&mut pipe, &mut out).await;
        }
        if let Some(mut pipe) = stderr {
            let _ = tokio::io::AsyncReadExt::read_to_string(&mut pipe, &mut err).await;
        }
        // rsync and its tunnel are gone: nothing will open the FIFOs now.
        done.store(true, std::sync::atomic::Ordering::SeqCst);
        dir.unblock();
        (out, err)
    };
    let relay = async {
        let Some(command) = dir.command(&done).await else {
            return Ok(String::new());
        };
        // rsync quotes the words of its remote command for a shell, as for
        // ssh; the host's shell reads them the same way.
        if !command.starts_with("rsync --server ") {
            dir.unblock();
            return Ok(format!("refusing to run {command:?} for rsync\n"));
        }
        relay(connection, &command, &dir, ctx).await
    };
    let (remote, (out, err)) = tokio::join!(relay, collect);
    let status = child.wait().await;
    dir.unblock();
    let remote_stderr = remote?;
    Ok(finished(
        status.map(|status| std::process::Output {
            status,
            stdout: out.into_bytes(),
            stderr: err.into_bytes(),
        }),
        remote_stderr,
    ))
}

/// Runs `command` on the host, fed from the tunnel's `up` and feeding its
/// `down`; returns what it wrote to stderr.
async fn relay(
    connection: &Connection,
    command: &str,
    dir: &Tunnel,
    ctx: &RunContext,
) -> Result<String, SshError> {
    let (to_host, stream) = StdinStream::new();
    let up = dir.path("up");
    let reader = tokio::task::spawn_blocking(move || {
        let Ok(mut fifo) = std::fs::File::open(up) else {
            return;
        };
        let mut buf = vec![0u8; 64 * 1024];
        while let Ok(n) = fifo.read(&mut buf) {
            if n == 0 || to_host.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    let (to_rsync, from_host) = std::sync::mpsc::channel::<Vec<u8>>();
    let down = dir.path("down");
    let writer = tokio::task::spawn_blocking(move || {
        let Ok(mut fifo) = std::fs::OpenOptions::new().write(true).open(down) else {
            return;
        };
        for chunk in from_host {
            if fifo.write_all(&chunk).is_err() {
                break;
            }
        }
    });
    let options = ExecOptions {
        r#become: ctx.r#become.clone(),
        stdin: None,
        stdin_stream: Some(stream),
        timeout: ctx.timeout,
    };
    let mut stderr = Vec::new();
    let status = connection
        .exec(command, &options, &mut |channel, data| match channel {
            Stream::Stdout => {
                let _ = to_rsync.send(data.to_vec());
            }
            Stream::Stderr => stderr.extend_from_slice(data),
        })
        .await;
    drop(to_rsync);
    // A tunnel end nobody opened would keep its thread waiting.
    dir.unblock();
    let _ = tokio::join!(reader, writer);
    status?;
    Ok(String::from_utf8_lossy(&stderr).into_owned())
}

/// What rsync's run came to; `remote` is its remote end's stderr.
fn finished(output: std::io::Result<std::process::Output>, remote: String) -> StepOutput {
    match output {
        Ok(output) => StepOutput {
            rc: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned() + &remote,
        },
        Err(err) => StepOutput {
            rc: 127,
            stdout: String::new(),
            stderr: format!("cannot run rsync on the controller: {err}\n"),
        },
    }
}

fn invalid(message: &str) -> SshError {
    SshError::Invalid(message.to_owned())
}

/// The private temp dir with the tunnel script and its FIFOs; removed on
/// drop.
struct Tunnel(PathBuf);

impl Tunnel {
    fn create() -> std::io::Result<Tunnel> {
        use std::os::unix::fs::DirBuilderExt;
        let dir = std::env::temp_dir().join(format!("fleet-rsync-{}", fleet_shell::token()));
        std::fs::DirBuilder::new().mode(0o700).create(&dir)?;
        let tunnel = Tunnel(dir);
        std::fs::write(tunnel.path("tunnel"), TUNNEL)?;
        for name in ["up", "down"] {
            nix::unistd::mkfifo(&tunnel.path(name), Mode::S_IRUSR | Mode::S_IWUSR)?;
        }
        Ok(tunnel)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    /// The remote command the tunnel was asked to run, once it wrote it;
    /// `None` when rsync ended first (`done`).
    async fn command(&self, done: &std::sync::atomic::AtomicBool) -> Option<String> {
        loop {
            if let Ok(line) = std::fs::read_to_string(self.path("args")) {
                return Some(line.trim_end_matches('\n').to_owned());
            }
            if done.load(std::sync::atomic::Ordering::SeqCst) {
                return None;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    }

    /// Opens each FIFO's other end for a moment without blocking, so that
    /// a thread still waiting to open one goes on (and sees EOF).
    fn unblock(&self) {
        use std::os::unix::fs::OpenOptionsExt;
        let _ = std::fs::OpenOptions::new()
            .write(true)
            .custom_flags(OFlag::O_NONBLOCK.bits())
            .open(self.path("up"));
        let _ = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(OFlag::O_NONBLOCK.bits())
            .open(self.path("down"));
    }
}

impl Drop for Tunnel {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn on_the_local_connection_rsync_copies_directly() {
        let root = std::env::temp_dir().join(format!("fleet-rsync-test-{}", fleet_shell::token()));
        std::fs::create_dir_all(root.join("src/css")).unwrap();
        std::fs::write(root.join("src/css/main.css"), "body {}\n").unwrap();
        let args = [
            "--archive".to_owned(),
            "--out-format=<<CHANGED>>%i %n%L".to_owned(),
            format!("{}/", root.join("src").display()),
        ];
        let dest = root.join("dest").display().to_string();
        let connection = Connection::local("localhost");
        let out = rsync(&connection, &args, &dest, &RunContext::default())
            .await
            .unwrap();
        assert_eq!(out.rc, 0, "{out:?}");
        assert!(
            out.stdout.contains("<<CHANGED>>>f+++++++++ css/main.css"),
            "{out:?}"
        );
        assert_eq!(
            std::fs::read_to_string(root.join("dest/css/main.css")).unwrap(),
            "body {}\n"
        );
        std::fs::remove_dir_all(&root).unwrap();
    }
}
