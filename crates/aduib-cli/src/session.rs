//! The workbench a command sends through, and the loop that turns an
//! exchange's events into output and an exit code.

use aduib_workbench::{Event, EventBody, Exchange, History, Outcome as Ended, Workbench};
use anyhow::anyhow;

use crate::Outcome;

/// The engine for one command: recording into the history database unless
/// `--no-history`. A history that cannot be opened is reported, not fatal.
pub fn workbench(no_history: bool) -> anyhow::Result<Workbench> {
    let history = if no_history {
        None
    } else {
        let path = History::default_path();
        match History::open(&path) {
            Ok(history) => Some(history),
            Err(error) => {
                tracing::warn!(%error, "history is off for this command");
                None
            }
        }
    };
    Ok(Workbench::new(history)?)
}

/// Waits until the command's exchanges are in the history file.
pub fn flush(workbench: &Workbench) {
    if let Some(history) = workbench.history() {
        history.flush();
    }
}

/// Feeds every event to `print` until the end; Ctrl+C cancels the exchange.
/// Exit: 0 when the server answered OK, 1 when it answered with an error;
/// no usable answer is an error (exit 2) carrying the exchange's error.
pub async fn drive(
    mut exchange: Exchange,
    mut print: impl FnMut(&Event) -> anyhow::Result<()>,
) -> anyhow::Result<Outcome> {
    let mut failure = None;
    let mut interrupted = false;
    loop {
        let event = tokio::select! {
            event = exchange.events.recv() => event,
            _ = tokio::signal::ctrl_c(), if !interrupted => {
                interrupted = true;
                exchange.handle.cancel();
                continue;
            }
        };
        let Some(event) = event else {
            return Err(anyhow!("the exchange ended without a summary"));
        };
        match &event.body {
            EventBody::Error { error } => failure = Some(error.clone()),
            EventBody::End { summary } => {
                print(&event)?;
                return match summary.outcome {
                    Ended::Ok => Ok(Outcome::Success),
                    Ended::ServerError => Ok(Outcome::ServerError),
                    Ended::Failed | Ended::Cancelled => Err(match failure {
                        Some(error) => anyhow!(error.chain()),
                        None => anyhow!("the exchange failed"),
                    }),
                };
            }
            _ => {}
        }
        print(&event)?;
    }
}

/// Prints each received message as one JSON line.
pub fn messages(event: &Event) -> anyhow::Result<()> {
    match &event.body {
        EventBody::Message { body, .. } => crate::output::print_line(body)?,
        // Through a registry: where the call went, on stderr (stdout stays
        // the answer alone).
        EventBody::Routed {
            instance,
            attempts,
            stale,
        } => {
            let tries = if *attempts > 1 {
                format!(" after {attempts} attempts")
            } else {
                String::new()
            };
            let stale = if *stale {
                " (the registry did not answer: its last list was used)"
            } else {
                ""
            };
            eprintln!("aduib: answered by {instance}{tries}{stale}");
        }
        _ => {}
    }
    Ok(())
}

/// Sends each non-empty line of stdin, as it arrives, as one message of an
/// interactive stream, and half-closes at the end of input. A line that is
/// not a JSON object cancels the exchange with a message naming the line.
pub fn feed_stdin(exchange: &Exchange, flag: &'static str) {
    let handle = exchange.handle.clone();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for (i, line) in std::io::stdin().lock().lines().enumerate() {
            let Ok(line) = line else { break };
            if line.trim().is_empty() {
                continue;
            }
            let sent = serde_json::from_str(&line)
                .map_err(|e| format!("{flag} line {} is not valid JSON: {e}", i + 1))
                .and_then(|value| {
                    handle
                        .send_message(value)
                        .map_err(|e| format!("{flag} line {}: {e}", i + 1))
                });
            if let Err(message) = sent {
                eprintln!("aduib: {message}");
                handle.cancel();
                return;
            }
        }
        handle.end_stream();
    });
}
