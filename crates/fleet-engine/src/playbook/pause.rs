//! `pause` on the controller: a timed wait, or, from a terminal, a prompt
//! the operator answers with Enter. Off a terminal a prompt is refused:
//! nobody could answer it.

use std::io::{BufRead, Write};
use std::time::{Duration, Instant};

use fleet_modules::Wait;
use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::events::Status;
use crate::module_run::ModuleOutcome;

/// What Ansible prompts with when the task gives no `prompt`.
const DEFAULT_PROMPT: &str = "Press enter to continue, Ctrl+C to interrupt";

/// Waits as `wait` says. `interactive` is whether fleet's input is a
/// terminal; `task` names the task in the prompt.
pub(super) async fn pause(
    wait: &Wait,
    task: &str,
    interactive: bool,
    cancel: &CancellationToken,
) -> ModuleOutcome {
    let started = Instant::now();
    let answer = match wait.seconds {
        Some(seconds) => {
            if interactive && let Some(prompt) = &wait.prompt {
                show(&format!(
                    "[{task}]\n{prompt}\nPausing for {seconds} seconds\n"
                ));
            }
            tokio::select! {
                () = tokio::time::sleep(Duration::from_secs_f64(seconds)) => Some(String::new()),
                () = cancel.cancelled() => None,
            }
        }
        None if !interactive => {
            return outcome(
                Status::Failed,
                "`pause` waits for an answer at the terminal, but fleet's input is not a terminal: \
                 give it `seconds` or `minutes`, or run fleet from a terminal"
                    .to_owned(),
            );
        }
        None => {
            let hidden = if wait.echo { "" } else { " (output is hidden)" };
            let prompt = wait.prompt.as_deref().unwrap_or(DEFAULT_PROMPT);
            show(&format!("[{task}]\n{prompt}{hidden}:"));
            let echo = wait.echo;
            let reading = tokio::task::spawn_blocking(move || read_answer(echo));
            tokio::select! {
                read = reading => match read {
                    Ok(Ok(answer)) => Some(answer),
                    Ok(Err(err)) => return outcome(Status::Failed, format!("cannot read the answer: {err}")),
                    Err(err) => return outcome(Status::Failed, format!("cannot read the answer: {err}")),
                },
                () = cancel.cancelled() => None,
            }
        }
    };
    let Some(answer) = answer else {
        return outcome(Status::Failed, "interrupted while paused".to_owned());
    };
    let elapsed = started.elapsed().as_secs_f64();
    let waited = if wait.in_minutes {
        format!("{} minutes", round(elapsed / 60.0))
    } else {
        format!("{} seconds", round(elapsed))
    };
    let mut done = outcome(Status::Ok, String::new());
    done.msg = None;
    done.rc = Some(0);
    done.stdout = format!("Paused for {waited}");
    done.data.insert("user_input".into(), json!(answer));
    done.data.insert("delta".into(), json!(elapsed as u64));
    done.data.insert("echo".into(), json!(wait.echo));
    done
}

fn outcome(status: Status, msg: String) -> ModuleOutcome {
    ModuleOutcome {
        status,
        rc: None,
        stdout: String::new(),
        stderr: String::new(),
        diff: None,
        msg: Some(msg),
        data: serde_json::Map::new(),
        failed_after_change: false,
    }
}

/// To two decimals, as Ansible reports the time paused.
fn round(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}

/// The prompt, on stderr: stdout carries the run's output.
fn show(text: &str) {
    let mut stderr = std::io::stderr();
    let _ = stderr.write_all(text.as_bytes());
    let _ = stderr.flush();
}

/// One line from the terminal, without its newline; not shown as it is
/// typed when `echo` is off.
fn read_answer(echo: bool) -> std::io::Result<String> {
    if !echo {
        return rpassword::read_password();
    }
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim_end_matches(['\n', '\r']).to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wait(seconds: Option<f64>) -> Wait {
        Wait {
            seconds,
            prompt: Some("Go on?".into()),
            echo: true,
            in_minutes: false,
        }
    }

    #[tokio::test]
    async fn a_timed_pause_waits_then_reports_it() {
        let started = Instant::now();
        let done = pause(&wait(Some(0.2)), "wait", false, &CancellationToken::new()).await;
        assert!(started.elapsed() >= Duration::from_millis(200));
        assert_eq!(done.status, Status::Ok);
        assert!(done.stdout.starts_with("Paused for 0.2"), "{}", done.stdout);
        assert_eq!(done.data["user_input"], "");
    }

    #[tokio::test]
    async fn a_prompt_off_a_terminal_is_refused_and_ctrl_c_ends_a_pause() {
        let refused = pause(&wait(None), "ask", false, &CancellationToken::new()).await;
        assert_eq!(refused.status, Status::Failed);
        assert!(
            refused
                .msg
                .as_deref()
                .unwrap_or_default()
                .contains("not a terminal"),
            "{refused:?}"
        );
        let cancel = CancellationToken::new();
        cancel.cancel();
        let started = Instant::now();
        let cut = pause(&wait(Some(30.0)), "wait", false, &cancel).await;
        assert!(started.elapsed() < Duration::from_secs(5));
        assert_eq!(cut.msg.as_deref(), Some("interrupted while paused"));
    }
}
