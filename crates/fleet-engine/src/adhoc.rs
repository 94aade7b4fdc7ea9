//! `fleet run`: one ad hoc command on every selected host at once (over
//! SSH, or on the controller for hosts with `connection: local`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use fleet_inventory::Host;
use fleet_ssh::{Become, Client, ExecOptions, SshError, Stream};
use futures::StreamExt;
use futures::stream::FuturesUnordered;
use tokio::sync::{Semaphore, mpsc::UnboundedSender};
use tokio_util::sync::CancellationToken;

use crate::become_vars::BecomeVars;
use crate::connection::Connection;
use crate::events::{Counts, Event, OutputStream, Status, TaskResult};
use crate::lines::LineBuffer;

/// What to run, and how.
#[derive(Debug, Clone)]
pub struct AdhocCommand {
    pub command: String,
    /// Run through sudo on every host. Hosts whose inventory sets
    /// `become: true` use sudo even when this is `None`.
    pub r#become: Option<Become>,
    /// How many hosts run at once; `0` means all of them.
    pub forks: usize,
    pub timeout: Option<Duration>,
}

/// Runs `cmd` on every host concurrently, sending events as results arrive,
/// and returns the final counts. Cancelling `cancel` stops new hosts from
/// starting and closes the connections of hosts in flight.
pub async fn run_adhoc(
    client: &Client,
    hosts: &[&Host],
    cmd: &AdhocCommand,
    events: &UnboundedSender<Event>,
    cancel: &CancellationToken,
) -> Counts {
    let started = Instant::now();
    let task = cmd.command.clone();
    let _ = events.send(Event::RunStart {
        hosts: hosts.iter().map(|h| h.name.clone()).collect(),
        task: task.clone(),
    });
    let forks = Arc::new(Semaphore::new(if cmd.forks == 0 {
        Semaphore::MAX_PERMITS
    } else {
        cmd.forks
    }));
    let mut runs: FuturesUnordered<_> = hosts
        .iter()
        .map(|host| {
            let forks = forks.clone();
            async move {
                let _permit = forks.acquire().await;
                run_on_host(client, host, cmd, events, cancel).await
            }
        })
        .collect();
    let mut counts = Counts::default();
    while let Some(result) = runs.next().await {
        counts.add(result.status);
        let _ = events.send(Event::TaskResult(result));
    }
    let _ = events.send(Event::RunDone {
        counts,
        duration_ms: millis(started.elapsed()),
        interrupted: cancel.is_cancelled(),
    });
    counts
}

async fn run_on_host(
    client: &Client,
    host: &Host,
    cmd: &AdhocCommand,
    events: &UnboundedSender<Event>,
    cancel: &CancellationToken,
) -> TaskResult {
    let started = Instant::now();
    let mut result = TaskResult::new(&host.name, &cmd.command);
    if cancel.is_cancelled() {
        result.msg = Some("interrupted before the host was contacted".into());
        return result;
    }
    let session = tokio::select! {
        () = cancel.cancelled() => {
            result.msg = Some("interrupted while connecting".into());
            return result;
        }
        connected = Connection::open(client, host) => connected,
    };
    match session {
        Ok(session) => {
            execute(&session, host, cmd, events, cancel, &mut result).await;
            session.close().await;
        }
        Err(err) => fail_with(&mut result, &err),
    }
    result.duration_ms = millis(started.elapsed());
    result
}

async fn execute(
    session: &Connection,
    host: &Host,
    cmd: &AdhocCommand,
    events: &UnboundedSender<Event>,
    cancel: &CancellationToken,
    result: &mut TaskResult,
) {
    let vars = match BecomeVars::read(&host.vars, |value| Ok(value.clone())) {
        Ok(vars) => vars,
        Err(err) => {
            result.status = Status::Failed;
            result.msg = Some(err);
            return;
        }
    };
    let keywords = cmd.r#become.is_some() || host.connection.r#become;
    let r#become = vars
        .wanted(keywords)
        .then(|| vars.over(cmd.r#become.clone().unwrap_or_else(Become::root)));
    let options = ExecOptions {
        r#become,
        stdin: None,
        timeout: cmd.timeout,
        stdin_stream: None,
    };
    let mut stdout = LineBuffer::default();
    let mut stderr = LineBuffer::default();
    let forward = |stream: OutputStream, line: String, collected: &mut String| {
        collected.push_str(&line);
        collected.push('\n');
        let _ = events.send(Event::Output {
            host: host.name.clone(),
            stream,
            line,
        });
    };
    let mut out_text = String::new();
    let mut err_text = String::new();
    let exit = {
        let mut on_output = |stream: Stream, bytes: &[u8]| match stream {
            Stream::Stdout => {
                for line in stdout.push(bytes) {
                    forward(OutputStream::Stdout, line, &mut out_text);
                }
            }
            Stream::Stderr => {
                for line in stderr.push(bytes) {
                    forward(OutputStream::Stderr, line, &mut err_text);
                }
            }
        };
        tokio::select! {
            () = cancel.cancelled() => None,
            exit = session.exec(&cmd.command, &options, &mut on_output) => Some(exit),
        }
    };
    if let Some(tail) = stdout.finish() {
        forward(OutputStream::Stdout, tail, &mut out_text);
    }
    if let Some(tail) = stderr.finish() {
        forward(OutputStream::Stderr, tail, &mut err_text);
    }
    result.stdout = out_text;
    result.stderr = err_text;
    match exit {
        None => {
            result.status = Status::Failed;
            result.msg = Some("interrupted".into());
        }
        Some(Ok(rc)) => {
            result.rc = Some(rc);
            result.status = if rc == 0 { Status::Ok } else { Status::Failed };
        }
        Some(Err(err)) => fail_with(result, &err),
    }
}

/// Transport trouble makes a host unreachable; host key, auth and sudo
/// problems are failures, because retrying will not fix them.
fn fail_with(result: &mut TaskResult, err: &SshError) {
    result.status = if err.is_unreachable() {
        Status::Unreachable
    } else {
        Status::Failed
    };
    result.msg = Some(err.to_string());
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}
