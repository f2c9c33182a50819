//! `aduib history ...`: list, search, show and re-run recorded exchanges.

use std::time::{Duration, UNIX_EPOCH};

use aduib_workbench::history::Entry;
use aduib_workbench::{History, Query, Workbench};
use anyhow::{Context, anyhow};

use crate::Outcome;
use crate::cli::HistoryCommand;
use crate::output::print_line;
use crate::session::{self, drive};

pub async fn run(workbench: &Workbench, command: HistoryCommand) -> anyhow::Result<Outcome> {
    let history = || -> anyhow::Result<History> {
        let path = History::default_path();
        History::open(&path).with_context(|| format!("cannot open history at {}", path.display()))
    };
    match command {
        HistoryCommand::List { limit, json } => {
            let entries = history()?.query(&Query {
                limit: Some(limit),
                ..Query::default()
            })?;
            print_entries(&entries, json)
        }
        HistoryCommand::Search {
            text,
            transport,
            limit,
            json,
        } => {
            let entries = history()?.query(&Query {
                text: Some(text),
                transport,
                limit: Some(limit),
                ..Query::default()
            })?;
            print_entries(&entries, json)
        }
        HistoryCommand::Show { id } => {
            let detail = history()?.get(&id)?.ok_or_else(|| {
                anyhow!("no exchange {id} in history (or the prefix is ambiguous)")
            })?;
            println!("{}", serde_json::to_string_pretty(&detail)?);
            Ok(Outcome::Success)
        }
        HistoryCommand::Rerun { id } => {
            let detail = history()?.get(&id)?.ok_or_else(|| {
                anyhow!("no exchange {id} in history (or the prefix is ambiguous)")
            })?;
            drive(workbench.send(detail.request), session::messages).await
        }
    }
}

fn print_entries(entries: &[Entry], json: bool) -> anyhow::Result<Outcome> {
    if json {
        for entry in entries {
            print_line(entry)?;
        }
        return Ok(Outcome::Success);
    }
    if entries.is_empty() {
        eprintln!("No exchanges recorded yet: send one (aduib call ...) and it appears here.");
    }
    for entry in entries {
        let when =
            UNIX_EPOCH + Duration::from_millis(u64::try_from(entry.started_at_ms).unwrap_or(0));
        let status = match (&entry.status_name, entry.status_code) {
            (Some(name), _) => name.clone(),
            (None, Some(code)) => code.to_string(),
            (None, None) => entry.outcome.name().to_owned(),
        };
        println!(
            "{}  {}  {:<7} {:<16} {:>8.1} ms  {}  {}",
            &entry.id[..entry.id.len().min(8)],
            humantime::format_rfc3339_seconds(when),
            entry.transport,
            status,
            entry.total_ms,
            entry.method,
            entry.target,
        );
    }
    Ok(Outcome::Success)
}
