//! History: every exchange, in a SQLite file (WAL, versioned migrations,
//! FTS5 over method, target and bodies). Writes go to one writer thread, so
//! recording never blocks a call; credentials are redacted before they are
//! queued.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Mutex, PoisonError};
use std::thread::JoinHandle;

use rusqlite::{Connection, OpenFlags, OptionalExtension, params, params_from_iter};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::event::{CallStatus, Event, EventBody, Outcome, Summary};
use crate::redact;
use crate::request::Request;

#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    #[error("history database {path}: {source}")]
    Database {
        path: String,
        #[source]
        source: rusqlite::Error,
    },
    #[error("cannot create the history folder {path}: {source}")]
    Folder {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("history database {path} is from a newer version ({found}; this build knows {known})")]
    TooNew {
        path: String,
        found: usize,
        known: usize,
    },
    #[error("the history writer has stopped")]
    WriterGone,
    #[error("stored exchange {id} cannot be read: {reason}")]
    Corrupt { id: String, reason: String },
}

/// The migrations, in order; `PRAGMA user_version` counts those applied.
/// Never edit one that has shipped: add another.
const MIGRATIONS: &[&str] = &[
    // 1: the exchanges.
    "CREATE TABLE exchange (
        rowid INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        started_at INTEGER NOT NULL,
        transport TEXT NOT NULL,
        target TEXT NOT NULL,
        method TEXT NOT NULL,
        outcome TEXT NOT NULL,
        status_code INTEGER,
        status_name TEXT,
        total_ms REAL NOT NULL,
        messages_sent INTEGER NOT NULL,
        messages_received INTEGER NOT NULL,
        bytes_sent INTEGER NOT NULL,
        bytes_received INTEGER NOT NULL,
        request TEXT NOT NULL,
        events TEXT NOT NULL,
        dropped_events INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX exchange_started_at ON exchange(started_at);",
    // 2: full-text search, filled from what version 1 stored.
    "CREATE VIRTUAL TABLE exchange_text USING fts5(method, target, bodies);
    INSERT INTO exchange_text(rowid, method, target, bodies)
        SELECT rowid, method, target, request || ' ' || events FROM exchange;
    CREATE INDEX exchange_transport ON exchange(transport, rowid);",
    // 3: the task tracker (`tasks.rs`): each task submitted, and its changes.
    "CREATE TABLE task (
        task_id TEXT PRIMARY KEY,
        call TEXT NOT NULL,
        transport TEXT NOT NULL,
        target TEXT NOT NULL,
        method TEXT NOT NULL,
        status TEXT NOT NULL,
        progress TEXT,
        result TEXT,
        error TEXT,
        submitted_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        ended_at INTEGER,
        note TEXT,
        lost INTEGER NOT NULL DEFAULT 0,
        ended_while_away INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX task_open ON task(ended_at, lost);
    CREATE TABLE task_change (
        rowid INTEGER PRIMARY KEY,
        task_id TEXT NOT NULL REFERENCES task(task_id) ON DELETE CASCADE,
        at INTEGER NOT NULL,
        event TEXT NOT NULL,
        status TEXT NOT NULL,
        progress TEXT
    );
    CREATE INDEX task_change_task ON task_change(task_id, rowid);",
    // 4: every term search has indexed (see `match_expression`), filled
    // from the index itself.
    "CREATE TABLE search_term (term TEXT PRIMARY KEY) WITHOUT ROWID;
    CREATE VIRTUAL TABLE temp.exchange_vocab USING fts5vocab(main, exchange_text, 'row');
    INSERT OR IGNORE INTO search_term SELECT term FROM temp.exchange_vocab;
    DROP TABLE temp.exchange_vocab;",
];

/// Most text of one exchange that search indexes.
const INDEXED_TEXT: usize = 64 * 1024;

/// A finished exchange, as history keeps it.
#[derive(Debug, Clone)]
pub struct Record {
    pub id: String,
    pub started_at_ms: i64,
    pub request: Request,
    pub events: Vec<Event>,
    /// Events of a long stream not kept (see `exchange::RECORDED_EVENTS`).
    pub dropped: u32,
    pub summary: Summary,
    pub status: Option<CallStatus>,
}

/// One line of the history list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct Entry {
    pub id: String,
    pub started_at_ms: i64,
    pub transport: String,
    pub target: String,
    pub method: String,
    pub outcome: Outcome,
    #[ts(optional)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_code: Option<i64>,
    #[ts(optional)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_name: Option<String>,
    pub total_ms: f64,
    pub messages_received: u32,
    pub bytes_received: u64,
}

/// One exchange, whole.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct Detail {
    pub entry: Entry,
    pub request: Request,
    pub events: Vec<Event>,
    pub dropped_events: u32,
}

/// Which exchanges to list: newest first.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS)]
#[serde(default)]
pub struct Query {
    /// Words to find in the method, the target or the bodies (prefixes match).
    #[ts(optional)]
    pub text: Option<String>,
    #[ts(optional)]
    pub transport: Option<String>,
    #[ts(optional)]
    pub outcome: Option<Outcome>,
    /// Started at or after (ms since the epoch).
    #[ts(optional)]
    pub since_ms: Option<i64>,
    /// Started before.
    #[ts(optional)]
    pub until_ms: Option<i64>,
    /// At most this many (default 100).
    #[ts(optional)]
    pub limit: Option<u32>,
}

enum Job {
    Write(Box<Record>, Option<Sender<Result<(), String>>>),
    Flush(Sender<()>),
}

/// The history of one data folder.
#[derive(Debug)]
pub struct History {
    path: PathBuf,
    jobs: Mutex<Option<Sender<Job>>>,
    writer: Mutex<Option<JoinHandle<()>>>,
    reader: Mutex<Connection>,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Job")
    }
}

impl History {
    /// Opens (creating and migrating) the history database at `path`.
    pub fn open(path: impl Into<PathBuf>) -> Result<History, HistoryError> {
        let path = path.into();
        let writer = open_database(&path)?;
        let db = |source| HistoryError::Database {
            path: path.display().to_string(),
            source,
        };
        let reader = Connection::open_with_flags(
            &path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(db)?;
        reader
            .busy_timeout(std::time::Duration::from_secs(5))
            .map_err(db)?;
        let (jobs, queue) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("history-writer".into())
            .spawn(move || write_loop(writer, queue))
            .map_err(|source| HistoryError::Folder {
                path: path.display().to_string(),
                source,
            })?;
        Ok(History {
            path,
            jobs: Mutex::new(Some(jobs)),
            writer: Mutex::new(Some(thread)),
            reader: Mutex::new(reader),
        })
    }

    /// The history file in `$ADUIB_DATA_DIR`, else the platform's data folder.
    pub fn default_path() -> PathBuf {
        data_dir().join("history.sqlite3")
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn queue(&self, job: Job) -> Result<(), HistoryError> {
        let jobs = self.jobs.lock().unwrap_or_else(PoisonError::into_inner);
        jobs.as_ref()
            .ok_or(HistoryError::WriterGone)?
            .send(job)
            .map_err(|_| HistoryError::WriterGone)
    }

    /// Queues `record` (redacted first) and returns at once.
    pub fn record(&self, record: Record) {
        if let Err(error) = self.queue(Job::Write(Box::new(redacted(record)), None)) {
            tracing::warn!(%error, "an exchange was not recorded");
        }
    }

    /// Queues `record`; the receiver answers once it is committed.
    pub fn record_acknowledged(&self, record: Record) -> Receiver<Result<(), String>> {
        let (ack, acked) = mpsc::channel();
        if self
            .queue(Job::Write(Box::new(redacted(record)), Some(ack.clone())))
            .is_err()
        {
            let _ = ack.send(Err(HistoryError::WriterGone.to_string()));
        }
        acked
    }

    /// Waits until everything queued so far is written.
    pub fn flush(&self) {
        let (done, wait) = mpsc::channel();
        if self.queue(Job::Flush(done)).is_ok() {
            let _ = wait.recv();
        }
    }

    fn read<T>(
        &self,
        f: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> Result<T, HistoryError> {
        let reader = self.reader.lock().unwrap_or_else(PoisonError::into_inner);
        f(&reader).map_err(|source| HistoryError::Database {
            path: self.path.display().to_string(),
            source,
        })
    }

    /// Exchanges matching `query`, newest first. Sees every exchange
    /// recorded before it.
    pub fn query(&self, query: &Query) -> Result<Vec<Entry>, HistoryError> {
        self.flush();
        let mut sql = String::from("SELECT ");
        sql.push_str(ENTRY_COLUMNS);
        let mut args: Vec<rusqlite::types::Value> = Vec::new();
        let expression = match query.text.as_deref() {
            Some(text) => self.read(|db| match_expression(db, text))?,
            None => String::new(),
        };
        let searched = !expression.is_empty();
        if searched {
            // CROSS JOIN keeps the FTS table outside, walked newest first
            // (its own rowid order), so a LIMIT stops the walk early.
            sql.push_str(
                " FROM exchange_text CROSS JOIN exchange e ON e.rowid = exchange_text.rowid \
                 WHERE exchange_text MATCH ?",
            );
            args.push(expression.into());
        } else {
            sql.push_str(" FROM exchange e WHERE 1");
        }
        if let Some(transport) = &query.transport {
            sql.push_str(" AND e.transport = ?");
            args.push(transport.clone().into());
        }
        if let Some(outcome) = query.outcome {
            sql.push_str(" AND e.outcome = ?");
            args.push(outcome.name().to_owned().into());
        }
        if let Some(since) = query.since_ms {
            sql.push_str(" AND e.started_at >= ?");
            args.push(since.into());
        }
        if let Some(until) = query.until_ms {
            sql.push_str(" AND e.started_at < ?");
            args.push(until.into());
        }
        if searched {
            sql.push_str(" ORDER BY exchange_text.rowid DESC LIMIT ?");
        } else {
            sql.push_str(" ORDER BY e.rowid DESC LIMIT ?");
        }
        args.push(i64::from(query.limit.unwrap_or(100)).into());
        self.read(|db| {
            let mut statement = db.prepare_cached(&sql)?;
            let rows = statement.query_map(params_from_iter(args), entry)?;
            rows.collect()
        })
    }

    /// One exchange, whole; `id` may be a unique prefix. Sees every
    /// exchange recorded before it.
    pub fn get(&self, id: &str) -> Result<Option<Detail>, HistoryError> {
        self.flush();
        let sql = format!(
            "SELECT {ENTRY_COLUMNS}, e.request, e.events, e.dropped_events FROM exchange e
             WHERE e.id >= ?1 AND e.id < ?1 || x'7f' ORDER BY e.id LIMIT 2"
        );
        let rows = self.read(|db| {
            let mut statement = db.prepare_cached(&sql)?;
            let rows = statement.query_map([id], |row| {
                Ok((
                    entry(row)?,
                    row.get::<_, String>(11)?,
                    row.get::<_, String>(12)?,
                    row.get::<_, u32>(13)?,
                ))
            })?;
            rows.collect::<rusqlite::Result<Vec<_>>>()
        })?;
        // A prefix that matches several exchanges matches none.
        let mut rows = rows.into_iter();
        let (Some((entry, request, events, dropped_events)), None) = (rows.next(), rows.next())
        else {
            return Ok(None);
        };
        let corrupt = |e: serde_json::Error| HistoryError::Corrupt {
            id: entry.id.clone(),
            reason: e.to_string(),
        };
        Ok(Some(Detail {
            request: serde_json::from_str(&request).map_err(corrupt)?,
            events: serde_json::from_str(&events).map_err(corrupt)?,
            dropped_events,
            entry,
        }))
    }

    /// How many exchanges are kept.
    pub fn count(&self) -> Result<u64, HistoryError> {
        let count: i64 =
            self.read(|db| db.query_row("SELECT count(*) FROM exchange", [], |row| row.get(0)))?;
        Ok(u64::try_from(count).unwrap_or_default())
    }
}

impl Drop for History {
    fn drop(&mut self) {
        // Closing the queue lets the writer finish what is queued and stop.
        self.jobs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(thread) = self
            .writer
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        {
            let _ = thread.join();
        }
    }
}

/// The data folder: `$ADUIB_DATA_DIR`, else the platform's.
pub fn data_dir() -> PathBuf {
    std::env::var_os("ADUIB_DATA_DIR")
        .filter(|dir| !dir.is_empty())
        .map(PathBuf::from)
        .or_else(|| dirs::data_dir().map(|dir| dir.join("aduib-workbench")))
        .unwrap_or_else(|| PathBuf::from(".aduib-workbench"))
}

const ENTRY_COLUMNS: &str = "e.id, e.started_at, e.transport, e.target, e.method, e.outcome, \
     e.status_code, e.status_name, e.total_ms, e.messages_received, e.bytes_received";

fn entry(row: &rusqlite::Row<'_>) -> rusqlite::Result<Entry> {
    let outcome: String = row.get(5)?;
    Ok(Entry {
        id: row.get(0)?,
        started_at_ms: row.get(1)?,
        transport: row.get(2)?,
        target: row.get(3)?,
        method: row.get(4)?,
        outcome: match outcome.as_str() {
            "ok" => Outcome::Ok,
            "server_error" => Outcome::ServerError,
            "cancelled" => Outcome::Cancelled,
            _ => Outcome::Failed,
        },
        status_code: row.get(6)?,
        status_name: row.get(7)?,
        total_ms: row.get(8)?,
        messages_received: row.get(9)?,
        bytes_received: u64::try_from(row.get::<_, i64>(10)?).unwrap_or_default(),
    })
}

/// Most terms a search word is written as (see [`match_expression`]):
/// each costs ~70 µs to open, so 2048 stay near what the slowest prefix
/// merge costs at a million exchanges (270 ms), and most words have few.
const MOST_TERMS: i64 = 2048;

/// Search words as an FTS5 expression: every word must match, as a prefix.
///
/// A prefix query makes FTS5 merge the lists of every term it matches
/// before it yields a row, so a term in every exchange (a service's name,
/// a host) costs a walk of the whole history even for the newest 100:
/// 45-70 ms over a million exchanges. A term's own list, though, is walked
/// newest first and stopped early. So an ASCII word is written as the
/// terms it begins, looked up in `search_term` (every term indexed, and
/// more: see [`indexed_terms`]), unless there are over [`MOST_TERMS`];
/// other words stay prefixes.
fn match_expression(db: &Connection, text: &str) -> rusqlite::Result<String> {
    let mut parts = Vec::new();
    for word in text
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|word| !word.is_empty())
    {
        let prefix = format!("\"{word}\"*");
        if !word.chars().all(|c| c.is_ascii_alphanumeric()) {
            parts.push(prefix);
            continue;
        }
        let mut terms = db.prepare_cached(
            "SELECT term FROM search_term WHERE term >= ?1 AND term < ?1 || char(1114111) LIMIT ?2",
        )?;
        let terms = terms
            .query_map(params![word.to_ascii_lowercase(), MOST_TERMS + 1], |row| {
                row.get::<_, String>(0)
            })?
            .collect::<rusqlite::Result<Vec<String>>>()?;
        if terms.is_empty() || terms.len() as i64 > MOST_TERMS {
            parts.push(prefix);
        } else {
            let terms: Vec<String> = terms.iter().map(|t| format!("\"{t}\"")).collect();
            parts.push(format!("({})", terms.join(" OR ")));
        }
    }
    Ok(parts.join(" AND "))
}

/// The terms of `text` as the index may hold them: each word lowercased,
/// and a word with accents also without them. SQLite's unicode61 tokenizer
/// folds case and strips diacritics; more forms than it makes cost nothing
/// (a term nothing holds matches nothing), a form it makes and this misses
/// would hide exchanges, so this errs on the side of more.
fn indexed_terms(text: &str, terms: &mut std::collections::HashSet<String>) {
    use unicode_normalization::UnicodeNormalization;
    for word in text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        if word.is_ascii() {
            if word.bytes().any(|b| b.is_ascii_uppercase()) {
                terms.insert(word.to_ascii_lowercase());
            } else if !terms.contains(word) {
                terms.insert(word.to_owned());
            }
            continue;
        }
        let lower = word.to_lowercase();
        let folded: String = lower
            .nfd()
            .filter(|c| !unicode_normalization::char::is_combining_mark(*c))
            .collect();
        terms.insert(folded);
        terms.insert(lower);
    }
}

/// Opens (creating its folder, configuring and migrating) the database at
/// `path`: the one way history and the task tracker open it.
pub(crate) fn open_database(path: &Path) -> Result<Connection, HistoryError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|source| HistoryError::Folder {
            path: dir.display().to_string(),
            source,
        })?;
    }
    let db = |source| HistoryError::Database {
        path: path.display().to_string(),
        source,
    };
    let mut connection = Connection::open(path).map_err(db)?;
    configure(&connection).map_err(db)?;
    migrate(&mut connection, path)?;
    Ok(connection)
}

fn configure(db: &Connection) -> rusqlite::Result<()> {
    db.busy_timeout(std::time::Duration::from_secs(5))?;
    // WAL: readers never wait for the writer; NORMAL: a commit survives the
    // process being killed (not a power cut, which history can afford).
    // WAL stays set in the file: switching again needs a lock SQLite does
    // not wait for, which fails while other processes use the file.
    let mode: String = db.pragma_query_value(None, "journal_mode", |row| row.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        db.pragma_update(None, "journal_mode", "WAL")?;
    }
    db.pragma_update(None, "synchronous", "NORMAL")?;
    Ok(())
}

fn migrate(db: &mut Connection, path: &Path) -> Result<(), HistoryError> {
    let err = |source| HistoryError::Database {
        path: path.display().to_string(),
        source,
    };
    let version: i64 = db
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .map_err(err)?;
    let version = usize::try_from(version).unwrap_or_default();
    if version > MIGRATIONS.len() {
        return Err(HistoryError::TooNew {
            path: path.display().to_string(),
            found: version,
            known: MIGRATIONS.len(),
        });
    }
    for (i, migration) in MIGRATIONS.iter().enumerate().skip(version) {
        let tx = db.transaction().map_err(err)?;
        tx.execute_batch(migration).map_err(err)?;
        tx.pragma_update(None, "user_version", i as i64 + 1)
            .map_err(err)?;
        tx.commit().map_err(err)?;
    }
    Ok(())
}

fn redacted(mut record: Record) -> Record {
    record.request = redact::request(record.request);
    record.events.iter_mut().for_each(redact::event);
    record
}

/// Writes queued records in batches, one transaction each.
fn write_loop(mut db: Connection, jobs: Receiver<Job>) {
    while let Ok(first) = jobs.recv() {
        let mut batch = vec![first];
        while batch.len() < 512 {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let records: Vec<&Record> = batch
            .iter()
            .filter_map(|job| match job {
                Job::Write(record, _) => Some(&**record),
                Job::Flush(_) => None,
            })
            .collect();
        let result = insert(&mut db, &records).map_err(|e| e.to_string());
        if let Err(error) = &result {
            tracing::warn!(%error, count = records.len(), "exchanges were not recorded");
        }
        for job in batch {
            match job {
                Job::Write(_, Some(ack)) => {
                    let _ = ack.send(result.clone());
                }
                Job::Write(_, None) => {}
                Job::Flush(done) => {
                    let _ = done.send(());
                }
            }
        }
    }
}

fn insert(db: &mut Connection, records: &[&Record]) -> rusqlite::Result<()> {
    if records.is_empty() {
        return Ok(());
    }
    let tx = db.transaction()?;
    {
        let mut exchange = tx.prepare_cached(
            "INSERT OR REPLACE INTO exchange (id, started_at, transport, target, method, outcome,
                status_code, status_name, total_ms, messages_sent, messages_received, bytes_sent,
                bytes_received, request, events, dropped_events)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )?;
        let mut text = tx.prepare_cached(
            "INSERT INTO exchange_text (rowid, method, target, bodies) VALUES (?, ?, ?, ?)",
        )?;
        let mut terms = std::collections::HashSet::new();
        for record in records {
            let request = serde_json::to_string(&record.request).unwrap_or_default();
            let events = serde_json::to_string(&record.events).unwrap_or_default();
            let summary = &record.summary;
            let status = record.status.as_ref();
            let method = record.request.method();
            exchange.execute(params![
                record.id,
                record.started_at_ms,
                record.request.transport(),
                record.request.target(),
                method,
                summary.outcome.name(),
                status.and_then(|s| s.code),
                status.and_then(|s| s.name.clone()),
                summary.total_ms,
                summary.messages_sent,
                summary.messages_received,
                summary.bytes_sent as i64,
                summary.bytes_received as i64,
                request,
                events,
                record.dropped,
            ])?;
            let rowid = tx.last_insert_rowid();
            let bodies = indexed_text(&request, &record.events);
            let target = record.request.target();
            for text in [method.as_str(), target, bodies.as_str()] {
                indexed_terms(text, &mut terms);
            }
            text.execute(params![rowid, method, target, bodies])?;
        }
        let mut term = tx.prepare_cached("INSERT OR IGNORE INTO search_term (term) VALUES (?)")?;
        for word in &terms {
            term.execute([word])?;
        }
    }
    tx.commit()
}

/// The bodies search looks in: the request and the messages, capped.
fn indexed_text(request: &str, events: &[Event]) -> String {
    let mut text = String::with_capacity(request.len().min(INDEXED_TEXT));
    text.push_str(request);
    for event in events {
        if text.len() >= INDEXED_TEXT {
            break;
        }
        if let EventBody::Message { body, .. } | EventBody::Sent { body, .. } = &event.body {
            text.push(' ');
            text.push_str(&body.to_string());
        }
        if let EventBody::Error { error } = &event.body {
            text.push(' ');
            text.push_str(&error.message);
        }
    }
    let mut end = text.len().min(INDEXED_TEXT);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.truncate(end);
    text
}

/// Opens a history file read-only and checks it (`PRAGMA integrity_check`).
pub fn integrity_check(path: &Path) -> Result<String, HistoryError> {
    let db =
        Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY).map_err(|source| {
            HistoryError::Database {
                path: path.display().to_string(),
                source,
            }
        })?;
    db.query_row("PRAGMA integrity_check", [], |row| row.get(0))
        .optional()
        .map(Option::unwrap_or_default)
        .map_err(|source| HistoryError::Database {
            path: path.display().to_string(),
            source,
        })
}
