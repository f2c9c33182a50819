//! `aduib task`: submit, watch, status, result, cancel and ls, through the
//! workbench's task tracker.

use std::io::IsTerminal;

use aduib_core::task::TaskStatus;
use aduib_workbench::request::{AduibCall, CallMode, CallOptions};
use aduib_workbench::{
    ErrorKind, Request, TaskTracker, TrackedTask, Workbench, WorkbenchError, workspace,
};
use anyhow::bail;
use futures::StreamExt;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{Value, json};
use tokio::sync::broadcast::error::RecvError;

use crate::Outcome;
use crate::call::{aduib_call, headers, wire};
use crate::cli::{TaskArgs, TaskCommand, TaskSubmitArgs};
use crate::input::read_object;
use crate::output::print_line;

/// How many servers `ls` asks at once about open tasks.
const LS_CONCURRENCY: usize = 8;

/// Runs a task command. A server's refusal (an unknown task, a method it
/// lacks) is exit 1, as for `aduib call`.
pub async fn run(workbench: &Workbench, command: TaskCommand) -> anyhow::Result<Outcome> {
    match run_command(workbench, command).await {
        Err(error)
            if error
                .downcast_ref::<WorkbenchError>()
                .is_some_and(|e| e.kind == ErrorKind::Server) =>
        {
            eprintln!("aduib: {error:#}");
            Ok(Outcome::ServerError)
        }
        other => other,
    }
}

async fn run_command(workbench: &Workbench, command: TaskCommand) -> anyhow::Result<Outcome> {
    if workbench.task_tracker().is_none() {
        bail!("tasks are tracked in the history database, which is off (--no-history)");
    }
    match command {
        TaskCommand::Submit(submit) => {
            let TaskSubmitArgs {
                call,
                watch,
                priority,
            } = *submit;
            let mut aduib = aduib_call(&call, CallMode::Unary)?;
            aduib.data = Value::Object(read_object(call.data.as_deref(), "--data")?);
            let resolved = workspace::resolve(Request::Aduib(aduib), &Default::default())?;
            // Listening before the submit, so no change is missed between
            // the submit and the first line.
            let updates = tracker(workbench)?.updates();
            let task = workbench.submit_task(resolved, priority).await?;
            if watch {
                follow(workbench, task, updates).await
            } else {
                println!("{}", task.task_id);
                Ok(Outcome::Success)
            }
        }
        TaskCommand::Status(args) => {
            let task = workbench
                .refresh_task(&tracked(workbench, &args).await?)
                .await?;
            print_line(&summary(&task))?;
            Ok(Outcome::Success)
        }
        TaskCommand::Result(args) => {
            let task = workbench
                .refresh_task(&tracked(workbench, &args).await?)
                .await?;
            result(&task)
        }
        TaskCommand::Cancel(args) => {
            let (canceled, task) = workbench
                .cancel_task(&tracked(workbench, &args).await?)
                .await?;
            print_line(&json!({
                "task_id": task.task_id,
                "canceled": canceled,
                "status": task.status,
            }))?;
            if canceled {
                Ok(Outcome::Success)
            } else {
                eprintln!("aduib: the task had already ended ({})", task.status);
                Ok(Outcome::ServerError)
            }
        }
        TaskCommand::Watch(args) => {
            let id = tracked(workbench, &args).await?;
            let updates = tracker(workbench)?.updates();
            follow(workbench, workbench.task(&id)?, updates).await
        }
        TaskCommand::Ls {
            limit,
            json,
            offline,
        } => ls(workbench, limit, json, offline).await,
    }
}

/// The tracked task `args` names: one this machine tracks, or one adopted
/// from the server the flags name.
async fn tracked(workbench: &Workbench, args: &TaskArgs) -> anyhow::Result<String> {
    if let (Some(transport), Some(url)) = (args.transport, &args.url) {
        let call = AduibCall {
            discovery: None,
            tls: None,
            transport: wire(transport),
            url: url.clone(),
            method: String::new(),
            mode: CallMode::Unary,
            data: json!({}),
            messages: Vec::new(),
            interactive: false,
            id: None,
            options: CallOptions {
                timeout_ms: None,
                headers: headers(&args.headers)?,
                max_message_bytes: None,
            },
        };
        return Ok(workbench.adopt_task(&args.id, &call).await?.task_id);
    }
    match workbench.task(&args.id) {
        Ok(task) => Ok(task.task_id),
        Err(_) => bail!(
            "no tracked task {:?}: give a tracked id (see `aduib task ls`), or --transport and --url of its server",
            args.id
        ),
    }
}

fn tracker(workbench: &Workbench) -> anyhow::Result<&TaskTracker> {
    workbench
        .task_tracker()
        .map(std::sync::Arc::as_ref)
        .ok_or_else(|| anyhow::anyhow!("no task tracker"))
}

/// Follows the task from `first` to its end, with the `updates` subscribed
/// before `first` was read: a progress bar on a terminal, one JSON line per
/// change otherwise; then its result.
async fn follow(
    workbench: &Workbench,
    first: TrackedTask,
    mut updates: tokio::sync::broadcast::Receiver<TrackedTask>,
) -> anyhow::Result<Outcome> {
    let bar = std::io::stderr().is_terminal().then(progress_bar);
    let ndjson = bar.is_none();
    show(&first, bar.as_ref(), ndjson)?;
    let id = first.task_id.clone();
    // An update sent before `first` was read says less than it does.
    let is_newer =
        |task: &TrackedTask| task.task_id == id && task.changes.len() >= first.changes.len();
    // Whether the end has been printed (by either side of the select below).
    let end_shown = std::cell::Cell::new(!first.is_open());
    let printer = async {
        loop {
            match updates.recv().await {
                Ok(task) if is_newer(&task) => {
                    end_shown.set(!task.is_open());
                    show(&task, bar.as_ref(), ndjson)?;
                }
                Ok(_) | Err(RecvError::Lagged(_)) => {}
                Err(RecvError::Closed) => break,
            }
        }
        anyhow::Ok(())
    };
    let ended = tokio::select! {
        ended = workbench.watch_task_to_end(&id) => ended?,
        printed = printer => {
            printed?;
            workbench.task(&id)?
        }
        _ = tokio::signal::ctrl_c() => {
            if let Some(bar) = &bar {
                bar.abandon();
            }
            bail!("stopped watching; the task goes on (`aduib task watch {id}` follows it again)");
        }
    };
    // What arrived as the watch ended, the end included.
    while let Ok(task) = updates.try_recv() {
        if is_newer(&task) && ndjson {
            end_shown.set(!task.is_open());
            show(&task, None, true)?;
        }
    }
    if ndjson && !end_shown.get() {
        show(&ended, None, true)?;
    }
    if let Some(bar) = &bar {
        bar.finish_with_message(format!("{}", ended.status));
    }
    if ended.lost {
        bail!(
            "{}",
            ended.note.as_deref().unwrap_or("the server lost the task")
        );
    }
    if ndjson {
        Ok(outcome(&ended))
    } else {
        result(&ended)
    }
}

fn progress_bar() -> ProgressBar {
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bar:40} {pos}/{len} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    bar
}

fn show(task: &TrackedTask, bar: Option<&ProgressBar>, ndjson: bool) -> anyhow::Result<()> {
    if let Some(bar) = bar {
        if let Some(progress) = &task.progress {
            bar.set_length(progress.total);
            bar.set_position(progress.current);
        }
        let message = task
            .progress
            .as_ref()
            .and_then(|p| p.message.clone())
            .unwrap_or_else(|| task.status.to_string());
        bar.set_message(match &task.note {
            Some(note) => format!("{message} ({note})"),
            None => message,
        });
    }
    if ndjson {
        let mut line = summary(task);
        if let Some(change) = task.changes.last() {
            line["event"] = json!(change.event);
        }
        print_line(&line)?;
    }
    Ok(())
}

/// A task in one JSON object, without its change list.
fn summary(task: &TrackedTask) -> Value {
    let mut line = json!({
        "task_id": task.task_id,
        "status": task.status,
        "method": task.call.method,
        "target": task.call.url,
        "submitted_at_ms": task.submitted_at_ms,
        "updated_at_ms": task.updated_at_ms,
    });
    let optional = [
        ("progress", serde_json::to_value(&task.progress).ok()),
        ("result", task.result.clone()),
        ("error", serde_json::to_value(&task.error).ok()),
        ("ended_at_ms", task.ended_at_ms.map(|at| json!(at))),
        ("note", task.note.clone().map(Value::String)),
    ];
    for (name, value) in optional {
        if let Some(value) = value.filter(|v| !v.is_null()) {
            line[name] = value;
        }
    }
    if task.lost {
        line["lost"] = json!(true);
    }
    line
}

fn outcome(task: &TrackedTask) -> Outcome {
    if task.status == TaskStatus::Succeeded {
        Outcome::Success
    } else {
        Outcome::ServerError
    }
}

/// Prints the result (or the error) of an ended task.
fn result(task: &TrackedTask) -> anyhow::Result<Outcome> {
    match task.status {
        TaskStatus::Succeeded => {
            print_line(task.result.as_ref().unwrap_or(&Value::Null))?;
            Ok(Outcome::Success)
        }
        TaskStatus::Failed | TaskStatus::Canceled => {
            print_line(&json!({ "status": task.status, "error": task.error }))?;
            Ok(Outcome::ServerError)
        }
        open => bail!(
            "task {} is still {open}; `aduib task watch {}` waits for its end",
            task.task_id,
            task.task_id
        ),
    }
}

async fn ls(
    workbench: &Workbench,
    limit: u32,
    json: bool,
    offline: bool,
) -> anyhow::Result<Outcome> {
    if !offline {
        let open: Vec<String> = workbench
            .tasks(limit)?
            .into_iter()
            .filter(TrackedTask::is_open)
            .map(|task| task.task_id)
            .collect();
        // Each answer (or its failure, as a note) is recorded.
        futures::stream::iter(open)
            .map(|id| async move { workbench.refresh_task(&id).await })
            .buffer_unordered(LS_CONCURRENCY)
            .for_each(|_| async {})
            .await;
    }
    let tasks = workbench.tasks(limit)?;
    if json {
        for task in &tasks {
            print_line(&summary(task))?;
        }
        return Ok(Outcome::Success);
    }
    println!(
        "{:<36}  {:<9}  {:>9}  {:<40}  TARGET",
        "TASK", "STATUS", "PROGRESS", "METHOD"
    );
    for task in &tasks {
        let progress = task
            .progress
            .as_ref()
            .map(|p| format!("{}/{}", p.current, p.total))
            .unwrap_or_default();
        let status = if task.lost {
            "lost".to_owned()
        } else {
            task.status.to_string()
        };
        println!(
            "{:<36}  {:<9}  {:>9}  {:<40}  {}",
            task.task_id, status, progress, task.call.method, task.call.url
        );
    }
    Ok(Outcome::Success)
}
