//! The task tracker: every long-running task the user submits, kept in the
//! history database (tables `task` and `task_change`), watched until it
//! ends, and watched again after a restart.
//!
//! A watcher subscribes to the task's events (Thrift, whose `Subscribe`
//! answers only at the end, is polled for progress instead). When the
//! subscription cannot start or breaks, it polls `Query` with a backoff that
//! grows to [`MAX_BACKOFF`] and subscribes again once the server answers.
//! Whatever the watcher learns is written at once, so a watcher killed
//! mid-task loses nothing: the next one (on start, [`Workbench::resume_tasks`])
//! begins with the task's current snapshot and records how it ended, even
//! if it ended while nothing was watching.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use aduib_client::{AduibClient, ClientError, TaskEventStream};
use aduib_core::RpcError;
use aduib_core::envelope::now_ms;
use aduib_core::task::{TaskProgress, TaskRecord, TaskStatus};
use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt};
use rusqlite::{Connection, params};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::broadcast;
use ts_rs::TS;

use crate::error::WorkbenchError;
use crate::history::{self, HistoryError};
use crate::request::{AduibCall, AduibTransport, CallMode, Request};
use crate::{Workbench, redact, workspace};

/// The longest wait between two polls of a task.
pub const MAX_BACKOFF: Duration = Duration::from_secs(10);
/// The first wait between two polls.
const FIRST_BACKOFF: Duration = Duration::from_millis(200);
/// How long one `Query` may take while watching.
const QUERY_TIMEOUT: Duration = Duration::from_secs(10);
/// Most progress changes kept per task; status changes are always kept.
const PROGRESS_CHANGES: i64 = 200;

/// A task the tracker keeps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct TrackedTask {
    pub task_id: String,
    /// What was submitted (secrets as their `${env:NAME}` references, other
    /// credentials redacted).
    pub call: AduibCall,
    #[ts(
        type = "\"pending\" | \"scheduled\" | \"running\" | \"retrying\" | \"succeeded\" | \"failed\" | \"canceled\""
    )]
    pub status: TaskStatus,
    #[ts(type = "{ current: number, total: number, message?: string } | null")]
    pub progress: Option<TaskProgress>,
    /// What the task's method returned.
    #[ts(type = "unknown")]
    pub result: Option<Value>,
    #[ts(type = "{ code: number, name: string, message: string } | null")]
    pub error: Option<RpcError>,
    pub submitted_at_ms: i64,
    pub updated_at_ms: i64,
    pub ended_at_ms: Option<i64>,
    /// Why the tracker cannot say more (the server is unreachable, or no
    /// longer knows the task).
    pub note: Option<String>,
    /// The server no longer knows the task; nobody watches it any more.
    pub lost: bool,
    /// It ended while nothing was watching (the app was closed).
    pub ended_while_away: bool,
    /// Its status history, oldest first (filled by [`TaskTracker::get`]).
    pub changes: Vec<TaskChange>,
}

impl TrackedTask {
    pub fn is_open(&self) -> bool {
        !self.status.is_terminal() && !self.lost
    }
}

/// One change of a tracked task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct TaskChange {
    pub at_ms: i64,
    pub event: String,
    #[ts(type = "string")]
    pub status: TaskStatus,
    #[ts(type = "{ current: number, total: number, message?: string } | null")]
    pub progress: Option<TaskProgress>,
}

/// The tracker of one data folder.
#[derive(Debug)]
pub struct TaskTracker {
    path: PathBuf,
    db: Mutex<Connection>,
    updates: broadcast::Sender<TrackedTask>,
    watching: Mutex<HashSet<String>>,
}

impl From<HistoryError> for WorkbenchError {
    fn from(error: HistoryError) -> Self {
        WorkbenchError::internal(error.to_string())
    }
}

const TASK_COLUMNS: &str = "task_id, call, status, progress, result, error, submitted_at, \
     updated_at, ended_at, note, lost, ended_while_away";

impl TaskTracker {
    /// Opens the tracker in the history database at `path` (creating and
    /// migrating it).
    pub fn open(path: impl Into<PathBuf>) -> Result<Self, HistoryError> {
        let path = path.into();
        let db = history::open_database(&path)?;
        Ok(TaskTracker {
            path,
            db: Mutex::new(db),
            updates: broadcast::channel(1024).0,
            watching: Mutex::default(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Every change of every task, as it is recorded.
    pub fn updates(&self) -> broadcast::Receiver<TrackedTask> {
        self.updates.subscribe()
    }

    fn with_db<T>(
        &self,
        f: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> Result<T, HistoryError> {
        let db = self.db.lock().unwrap_or_else(PoisonError::into_inner);
        f(&db).map_err(|source| HistoryError::Database {
            path: self.path.display().to_string(),
            source,
        })
    }

    /// Starts tracking `task_id`, submitted with `call` (stored as given:
    /// the caller unresolves and redacts it).
    pub fn insert(
        &self,
        task_id: &str,
        call: &AduibCall,
        status: TaskStatus,
        submitted_at_ms: i64,
    ) -> Result<TrackedTask, HistoryError> {
        let text = serde_json::to_string(call).unwrap_or_default();
        self.with_db(|db| {
            db.execute(
                "INSERT INTO task (task_id, call, transport, target, method, status, \
                 submitted_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)
                 ON CONFLICT(task_id) DO NOTHING",
                params![
                    task_id,
                    text,
                    call.transport.name(),
                    call.url,
                    call.method,
                    status.as_str(),
                    submitted_at_ms
                ],
            )?;
            db.execute(
                "INSERT INTO task_change (task_id, at, event, status) VALUES (?1, ?2, 'submitted', ?3)",
                params![task_id, submitted_at_ms, status.as_str()],
            )
        })?;
        let task = self.require(task_id)?;
        let _ = self.updates.send(task.clone());
        Ok(task)
    }

    /// Records what a server said of the task; `first_after_resume` marks
    /// the first word a resumed watcher hears (an end then happened while
    /// nothing watched).
    pub fn observe(
        &self,
        record: &TaskRecord,
        event: &str,
        first_after_resume: bool,
    ) -> Result<Option<TrackedTask>, HistoryError> {
        let Some(before) = self.get(&record.task_id)? else {
            return Ok(None);
        };
        let status_changed = before.status != record.status;
        let progress_changed = record.progress.is_some() && before.progress != record.progress;
        let terminal_now = record.status.is_terminal() && before.ended_at_ms.is_none();
        let now = now_ms();
        let ended_at = terminal_now.then(|| record.completed_at_ms.unwrap_or(now));
        let progress = record
            .progress
            .as_ref()
            .map(|p| serde_json::to_string(p).unwrap_or_default());
        let result = record
            .value()
            .filter(|_| record.status == TaskStatus::Succeeded)
            .map(Value::to_string);
        let error = record
            .failure()
            .map(|e| serde_json::to_string(&e).unwrap_or_default());
        self.with_db(|db| {
            db.execute(
                "UPDATE task SET status = ?2, progress = coalesce(?3, progress),
                    result = coalesce(?4, result), error = coalesce(?5, error),
                    updated_at = ?6, ended_at = coalesce(ended_at, ?7), note = NULL, lost = 0,
                    ended_while_away = ended_while_away OR ?8
                 WHERE task_id = ?1",
                params![
                    record.task_id,
                    record.status.as_str(),
                    progress,
                    result,
                    error,
                    now,
                    ended_at,
                    first_after_resume && terminal_now,
                ],
            )?;
            let kept_progress: i64 = db.query_row(
                "SELECT count(*) FROM task_change WHERE task_id = ?1 AND progress IS NOT NULL",
                [&record.task_id],
                |row| row.get(0),
            )?;
            if status_changed || (progress_changed && kept_progress < PROGRESS_CHANGES) {
                db.execute(
                    "INSERT INTO task_change (task_id, at, event, status, progress)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![record.task_id, now, event, record.status.as_str(), progress],
                )?;
            }
            Ok(())
        })?;
        let task = self.require(&record.task_id)?;
        let _ = self.updates.send(task.clone());
        Ok(Some(task))
    }

    /// Notes why the tracker cannot say more; `lost` when the server no
    /// longer knows the task.
    pub fn note(&self, task_id: &str, note: &str, lost: bool) -> Result<(), HistoryError> {
        self.with_db(|db| {
            db.execute(
                "UPDATE task SET note = ?2, lost = ?3, updated_at = ?4 WHERE task_id = ?1",
                params![task_id, note, lost, now_ms()],
            )
        })?;
        if let Some(task) = self.get(task_id)? {
            let _ = self.updates.send(task);
        }
        Ok(())
    }

    /// Clears `ended_while_away` once the user has seen the ending.
    pub fn mark_seen(&self, task_id: &str) -> Result<(), HistoryError> {
        self.with_db(|db| {
            db.execute(
                "UPDATE task SET ended_while_away = 0 WHERE task_id = ?1",
                [task_id],
            )
        })?;
        Ok(())
    }

    /// The newest tasks first (without their change lists).
    pub fn list(&self, limit: u32) -> Result<Vec<TrackedTask>, HistoryError> {
        let sql = format!("SELECT {TASK_COLUMNS} FROM task ORDER BY submitted_at DESC LIMIT ?1");
        self.with_db(|db| {
            let mut statement = db.prepare_cached(&sql)?;
            let rows = statement.query_map([i64::from(limit)], tracked)?;
            rows.collect()
        })
    }

    /// Tasks neither ended nor lost.
    pub fn open_tasks(&self) -> Result<Vec<TrackedTask>, HistoryError> {
        let sql = format!(
            "SELECT {TASK_COLUMNS} FROM task WHERE ended_at IS NULL AND lost = 0 \
             ORDER BY submitted_at"
        );
        self.with_db(|db| {
            let mut statement = db.prepare_cached(&sql)?;
            let rows = statement.query_map([], tracked)?;
            rows.collect()
        })
    }

    /// One task with its changes; `task_id` may be a unique prefix.
    pub fn get(&self, task_id: &str) -> Result<Option<TrackedTask>, HistoryError> {
        let sql = format!(
            "SELECT {TASK_COLUMNS} FROM task WHERE task_id >= ?1 AND task_id < ?1 || x'7f' \
             ORDER BY task_id LIMIT 2"
        );
        self.with_db(|db| {
            let mut statement = db.prepare_cached(&sql)?;
            let mut found: Vec<TrackedTask> = statement
                .query_map([task_id], tracked)?
                .collect::<rusqlite::Result<_>>()?;
            if found.len() != 1 {
                // A prefix that matches several tasks matches none.
                return Ok(None);
            }
            let mut task = found.remove(0);
            let mut changes = db.prepare_cached(
                "SELECT at, event, status, progress FROM task_change WHERE task_id = ?1 ORDER BY rowid",
            )?;
            task.changes = changes
                .query_map([&task.task_id], |row| {
                    let status: String = row.get(2)?;
                    let progress: Option<String> = row.get(3)?;
                    Ok(TaskChange {
                        at_ms: row.get(0)?,
                        event: row.get(1)?,
                        status: TaskStatus::parse(&status).unwrap_or(TaskStatus::Pending),
                        progress: progress.and_then(|p| serde_json::from_str(&p).ok()),
                    })
                })?
                .collect::<rusqlite::Result<_>>()?;
            Ok(Some(task))
        })
    }

    fn require(&self, task_id: &str) -> Result<TrackedTask, HistoryError> {
        self.get(task_id)?.ok_or_else(|| HistoryError::Corrupt {
            id: task_id.to_owned(),
            reason: "the task row went missing".into(),
        })
    }

    /// Claims the watch of `task_id`; false when another watcher has it.
    fn claim(&self, task_id: &str) -> bool {
        self.lock_watching().insert(task_id.to_owned())
    }

    fn release(&self, task_id: &str) {
        self.lock_watching().remove(task_id);
    }

    pub fn is_watched(&self, task_id: &str) -> bool {
        self.lock_watching().contains(task_id)
    }

    fn lock_watching(&self) -> MutexGuard<'_, HashSet<String>> {
        self.watching.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn tracked(row: &rusqlite::Row<'_>) -> rusqlite::Result<TrackedTask> {
    let json = |i: usize| -> rusqlite::Result<Option<Value>> {
        Ok(row
            .get::<_, Option<String>>(i)?
            .and_then(|text| serde_json::from_str(&text).ok()))
    };
    let call: String = row.get(1)?;
    let status: String = row.get(2)?;
    let call = serde_json::from_str(&call).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(1, rusqlite::types::Type::Text, Box::new(e))
    })?;
    Ok(TrackedTask {
        task_id: row.get(0)?,
        call,
        status: TaskStatus::parse(&status).unwrap_or(TaskStatus::Pending),
        progress: json(3)?.and_then(|p| serde_json::from_value(p).ok()),
        result: json(4)?,
        error: json(5)?.and_then(|e| serde_json::from_value(e).ok()),
        submitted_at_ms: row.get(6)?,
        updated_at_ms: row.get(7)?,
        ended_at_ms: row.get(8)?,
        note: row.get(9)?,
        lost: row.get(10)?,
        ended_while_away: row.get(11)?,
        changes: Vec::new(),
    })
}

impl Workbench {
    fn tracker(&self) -> Result<&Arc<TaskTracker>, WorkbenchError> {
        self.inner.tasks.as_ref().ok_or_else(|| {
            WorkbenchError::bad_input("tasks are tracked in the history database; history is off")
        })
    }

    /// The tracker, when history is on.
    pub fn task_tracker(&self) -> Option<&Arc<TaskTracker>> {
        self.inner.tasks.as_ref()
    }

    /// Submits a unary Aduib call as a task, tracks it, and starts watching
    /// it. `priority` is 0 (low) to 3 (critical).
    pub async fn submit_task(
        &self,
        resolved: workspace::Resolved,
        priority: Option<u8>,
    ) -> Result<TrackedTask, WorkbenchError> {
        let workspace::Resolved { request, secrets } = resolved;
        let Request::Aduib(call) = &request else {
            return Err(WorkbenchError::bad_input(
                "only an Aduib call can run as a task",
            ));
        };
        if call.mode != CallMode::Unary {
            return Err(WorkbenchError::bad_input(
                "a task runs a unary call; this one streams",
            ));
        }
        if call.discovery.is_some() {
            return Err(WorkbenchError::bad_input(
                "a task is watched on the server that runs it: give its URL, not a registry",
            ));
        }
        let tracker = self.tracker()?.clone();
        let client = self.inner.caches.aduib_client(call)?;
        let aduib_request = crate::send::aduib_request(call)?;
        let submitted_at_ms = now_ms();
        let receipt = client.task_submit(&aduib_request, priority).await?;
        let Request::Aduib(stored) = redact::request(workspace::unresolve(request, &secrets))
        else {
            return Err(WorkbenchError::internal(
                "redaction changed the request kind",
            ));
        };
        let task = tracker.insert(&receipt.task_id, &stored, receipt.status, submitted_at_ms)?;
        self.watch_task(&receipt.task_id, false)?;
        Ok(task)
    }

    /// Tracks a task submitted elsewhere, once the server `call` names
    /// answers for it (an unknown id is refused, not kept).
    pub async fn adopt_task(
        &self,
        task_id: &str,
        call: &AduibCall,
    ) -> Result<TrackedTask, WorkbenchError> {
        let tracker = self.tracker()?;
        if let Some(task) = tracker.get(task_id)?.filter(|t| t.task_id == task_id) {
            return Ok(task);
        }
        let record = watch_client(call, Some(QUERY_TIMEOUT))?
            .task_query(task_id)
            .await?;
        let mut stored = call.clone();
        if let Some(method) = record.method.as_ref().filter(|_| stored.method.is_empty()) {
            stored.method.clone_from(method);
        }
        tracker.insert(task_id, &stored, record.status, record.created_at_ms)?;
        tracker.observe(&record, record.status.event_name(false), false)?;
        self.task(task_id)
    }

    /// The tracked task `task_id` (or a unique prefix of it).
    pub fn task(&self, task_id: &str) -> Result<TrackedTask, WorkbenchError> {
        self.tracker()?
            .get(task_id)?
            .ok_or_else(|| WorkbenchError::not_found(format!("no tracked task {task_id:?}")))
    }

    pub fn tasks(&self, limit: u32) -> Result<Vec<TrackedTask>, WorkbenchError> {
        Ok(self.tracker()?.list(limit)?)
    }

    /// Asks the server once how the task stands, and records it.
    pub async fn refresh_task(&self, task_id: &str) -> Result<TrackedTask, WorkbenchError> {
        let task = self.task(task_id)?;
        let client = watch_client(&task.call, Some(QUERY_TIMEOUT))?;
        match client.task_query(&task.task_id).await {
            Ok(record) => {
                self.tracker()?.observe(&record, "query", false)?;
            }
            Err(error) => {
                let lost = is_unknown_task(&error);
                let error = WorkbenchError::from(error);
                self.tracker()?.note(&task.task_id, &error.message, lost)?;
                return Err(error);
            }
        }
        self.task(&task.task_id)
    }

    /// Asks the server to cancel the task: whether this stopped it (not
    /// when it had already ended), and the task as it then is.
    pub async fn cancel_task(&self, task_id: &str) -> Result<(bool, TrackedTask), WorkbenchError> {
        let task = self.task(task_id)?;
        let client = watch_client(&task.call, Some(QUERY_TIMEOUT))?;
        let reply = client
            .task_cancel(&task.task_id, Some("canceled from the workbench"))
            .await?;
        Ok((reply.canceled, self.refresh_task(&task.task_id).await?))
    }

    /// Starts watching `task_id` in the background, unless it is watched or
    /// over; `resumed` when the app starts again.
    pub fn watch_task(&self, task_id: &str, resumed: bool) -> Result<bool, WorkbenchError> {
        let task = self.task(task_id)?;
        let tracker = self.tracker()?.clone();
        if !task.is_open() || !tracker.claim(&task.task_id) {
            return Ok(false);
        }
        tokio::spawn(async move {
            watch(&tracker, &task, resumed).await;
            tracker.release(&task.task_id);
        });
        Ok(true)
    }

    /// Watches `task_id` here until it ends (or is lost), or waits for the
    /// watcher that has it; changes arrive through [`TaskTracker::updates`]
    /// meanwhile.
    pub async fn watch_task_to_end(&self, task_id: &str) -> Result<TrackedTask, WorkbenchError> {
        let tracker = self.tracker()?.clone();
        // Subscribed before looking, so no ending slips between the two.
        let mut updates = tracker.updates();
        let task = self.task(task_id)?;
        if !task.is_open() {
            return Ok(task);
        }
        if tracker.claim(&task.task_id) {
            watch(&tracker, &task, true).await;
            tracker.release(&task.task_id);
        } else {
            loop {
                match updates.recv().await {
                    Ok(update) if update.task_id == task.task_id && !update.is_open() => break,
                    Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {
                        if !self.task(&task.task_id)?.is_open() {
                            break;
                        }
                    }
                    Err(broadcast::error::RecvError::Closed) => break,
                }
            }
        }
        self.task(&task.task_id)
    }

    /// Watches again every task that had not ended; how many.
    pub fn resume_tasks(&self) -> Result<usize, WorkbenchError> {
        let open = self.tracker()?.open_tasks()?;
        let mut started = 0;
        for task in open {
            if self.watch_task(&task.task_id, true)? {
                started += 1;
            }
        }
        Ok(started)
    }
}

/// A client for watching `call`'s server: `${env:NAME}` resolved again.
fn watch_client(
    call: &AduibCall,
    timeout: Option<Duration>,
) -> Result<AduibClient, WorkbenchError> {
    let resolved = workspace::resolve(Request::Aduib(call.clone()), &BTreeMap::new())?;
    let Request::Aduib(mut call) = resolved.request else {
        return Err(WorkbenchError::internal(
            "resolution changed the request kind",
        ));
    };
    call.options.timeout_ms = timeout.map(|t| u64::try_from(t.as_millis()).unwrap_or(u64::MAX));
    Ok(AduibClient::new(crate::send::client_config(&call))?)
}

fn is_unknown_task(error: &ClientError) -> bool {
    matches!(error, ClientError::Rpc { error, .. } if error.code == 4000)
}

/// What a watcher asks the task's server. A seam over the client crate's
/// task calls, so a server whose subscription stalls can be tested.
trait TaskSource {
    fn subscribe<'a>(
        &'a self,
        task_id: &'a str,
    ) -> BoxFuture<'a, Result<TaskEventStream, ClientError>>;
    fn query<'a>(&'a self, task_id: &'a str) -> BoxFuture<'a, Result<TaskRecord, ClientError>>;
}

/// The task's own server: a stream without a deadline, queries with one.
struct TaskServer {
    streaming: AduibClient,
    polling: AduibClient,
}

impl TaskSource for TaskServer {
    fn subscribe<'a>(
        &'a self,
        task_id: &'a str,
    ) -> BoxFuture<'a, Result<TaskEventStream, ClientError>> {
        self.streaming.task_subscribe(task_id).boxed()
    }

    fn query<'a>(&'a self, task_id: &'a str) -> BoxFuture<'a, Result<TaskRecord, ClientError>> {
        self.polling.task_query(task_id).boxed()
    }
}

/// Follows the task until it ends or is lost, recording every change.
async fn watch(tracker: &TaskTracker, task: &TrackedTask, resumed: bool) {
    let server = match (
        watch_client(&task.call, None),
        watch_client(&task.call, Some(QUERY_TIMEOUT)),
    ) {
        (Ok(streaming), Ok(polling)) => TaskServer { streaming, polling },
        (Err(error), _) | (_, Err(error)) => {
            let _ = tracker.note(&task.task_id, &error.message, true);
            return;
        }
    };
    // Thrift's Subscribe answers only at the end: poll it for progress.
    let subscribes = task.call.transport != AduibTransport::Thrift;
    follow(tracker, &task.task_id, subscribes, resumed, &server).await;
}

/// The watch loop (see the module doc). A subscription that opens late or
/// brings nothing for [`QUERY_TIMEOUT`] is checked on with a query and
/// kept: a quiet task and a stalled stream look the same from here, and a
/// stalled one must not leave the task shown as it was.
async fn follow(
    tracker: &TaskTracker,
    task_id: &str,
    subscribes: bool,
    resumed: bool,
    server: &impl TaskSource,
) {
    let mut first = resumed;
    let mut backoff = FIRST_BACKOFF;
    let mut reachable = true;
    // Records what the server said; true when the task has ended.
    let mut seen = |record: &TaskRecord, event: &str| {
        let _ = tracker.observe(record, event, first);
        first = false;
        record.status.is_terminal()
    };
    loop {
        if subscribes && reachable {
            match tokio::time::timeout(QUERY_TIMEOUT, server.subscribe(task_id)).await {
                Err(_) => tracing::debug!(task_id, "the task subscription did not open in time"),
                Ok(Ok(mut events)) => loop {
                    match tokio::time::timeout(QUERY_TIMEOUT, events.next()).await {
                        Ok(Some(Ok(event))) => {
                            if seen(&event.task, &event.event) {
                                return;
                            }
                        }
                        Ok(Some(Err(error))) => {
                            tracing::debug!(%error, task_id, "task subscription broke");
                            break;
                        }
                        Ok(None) => break,
                        Err(_) => {
                            if let Ok(record) = server.query(task_id).await
                                && seen(&record, record.status.event_name(false))
                            {
                                return;
                            }
                        }
                    }
                },
                Ok(Err(error)) if is_unknown_task(&error) => {
                    let _ = tracker.note(task_id, &lost_note(), true);
                    return;
                }
                Ok(Err(error)) => tracing::debug!(%error, task_id, "cannot subscribe to the task"),
            }
        }
        // Polling: until the task ends, or the server answers again.
        match server.query(task_id).await {
            Ok(record) => {
                let progressed = tracker
                    .get(task_id)
                    .ok()
                    .flatten()
                    .is_some_and(|known| known.progress != record.progress);
                if seen(&record, record.status.event_name(progressed)) {
                    return;
                }
                reachable = true;
                backoff = if progressed {
                    FIRST_BACKOFF
                } else {
                    (backoff * 2).min(MAX_BACKOFF)
                };
                if subscribes {
                    continue;
                }
            }
            Err(error) if is_unknown_task(&error) => {
                let _ = tracker.note(task_id, &lost_note(), true);
                return;
            }
            Err(error) => {
                reachable = false;
                let note = format!(
                    "cannot reach the server ({}); trying again",
                    WorkbenchError::from(error).message
                );
                let _ = tracker.note(task_id, &note, false);
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
        tokio::time::sleep(backoff).await;
    }
}

fn lost_note() -> String {
    "the server no longer knows this task (it restarted, or dropped the record)".to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call() -> AduibCall {
        serde_json::from_value(serde_json::json!({
            "transport": "jsonrpc", "url": "http://127.0.0.1:1", "method": "S.m"
        }))
        .unwrap()
    }

    fn record(status: TaskStatus, current: Option<u64>) -> TaskRecord {
        TaskRecord {
            task_id: "t-1".into(),
            status,
            priority: 1,
            created_at_ms: 1,
            updated_at_ms: 1,
            started_at_ms: None,
            completed_at_ms: None,
            attempt: 1,
            max_attempts: 1,
            progress: current.map(|current| TaskProgress {
                current,
                total: 4,
                message: None,
            }),
            result: status
                .is_terminal()
                .then(|| serde_json::json!({"aduib_rpc": "2.0", "id": "1", "status": "success", "result": 7})),
            error: None,
            method: None,
        }
    }

    #[test]
    fn changes_are_kept_once_and_the_end_is_recorded() {
        let dir = tempfile::tempdir().unwrap();
        let tracker = TaskTracker::open(dir.path().join("h.sqlite3")).unwrap();
        tracker
            .insert("t-1", &call(), TaskStatus::Pending, 1)
            .unwrap();
        let mut updates = tracker.updates();
        tracker
            .observe(&record(TaskStatus::Running, None), "started", false)
            .unwrap();
        tracker
            .observe(&record(TaskStatus::Running, Some(1)), "progress", false)
            .unwrap();
        // The same word twice is one change.
        tracker
            .observe(&record(TaskStatus::Running, Some(1)), "progress", false)
            .unwrap();
        let done = tracker
            .observe(&record(TaskStatus::Succeeded, Some(4)), "completed", true)
            .unwrap()
            .unwrap();
        assert_eq!(done.result, Some(serde_json::json!(7)));
        assert!(done.ended_at_ms.is_some());
        assert!(done.ended_while_away);
        assert!(!done.is_open());
        let kept = tracker.get("t-").unwrap().unwrap();
        let events: Vec<&str> = kept.changes.iter().map(|c| c.event.as_str()).collect();
        assert_eq!(events, ["submitted", "started", "progress", "completed"]);
        assert_eq!(updates.try_recv().unwrap().status, TaskStatus::Running);
        assert!(tracker.open_tasks().unwrap().is_empty());
        tracker.mark_seen("t-1").unwrap();
        assert!(!tracker.get("t-1").unwrap().unwrap().ended_while_away);
    }

    /// A server whose subscription stalls: after `opens_with` (nothing at
    /// all when `None`, not even an open stream) it brings nothing more,
    /// while a query tells how the task ended.
    struct Stalled {
        opens_with: Option<TaskStatus>,
        queries: std::sync::atomic::AtomicU32,
    }

    impl TaskSource for Stalled {
        fn subscribe<'a>(
            &'a self,
            _: &'a str,
        ) -> BoxFuture<'a, Result<TaskEventStream, ClientError>> {
            let Some(status) = self.opens_with else {
                return futures::future::pending().boxed();
            };
            let snapshot = aduib_core::task::TaskEvent {
                event: status.event_name(false).to_owned(),
                task: record(status, None),
                timestamp_ms: 1,
            };
            let events = futures::stream::iter([Ok(snapshot)]).chain(futures::stream::pending());
            futures::future::ready(Ok(events.boxed())).boxed()
        }

        fn query<'a>(&'a self, _: &'a str) -> BoxFuture<'a, Result<TaskRecord, ClientError>> {
            self.queries
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            futures::future::ready(Ok(record(TaskStatus::Succeeded, Some(4)))).boxed()
        }
    }

    // Paused time: the watcher's waits pass at once, and in order.
    #[tokio::test(start_paused = true)]
    async fn a_stalled_subscription_is_checked_on_and_the_end_recorded() {
        for opens_with in [Some(TaskStatus::Running), None] {
            let dir = tempfile::tempdir().unwrap();
            let tracker = TaskTracker::open(dir.path().join("h.sqlite3")).unwrap();
            tracker
                .insert("t-1", &call(), TaskStatus::Pending, 1)
                .unwrap();
            let server = Stalled {
                opens_with,
                queries: Default::default(),
            };
            let started = tokio::time::Instant::now();
            follow(&tracker, "t-1", true, false, &server).await;
            let task = tracker.get("t-1").unwrap().unwrap();
            assert_eq!(task.status, TaskStatus::Succeeded, "{opens_with:?}");
            assert_eq!(task.result, Some(serde_json::json!(7)));
            let events: Vec<&str> = task.changes.iter().map(|c| c.event.as_str()).collect();
            let expected: &[&str] = match opens_with {
                Some(_) => &["submitted", "started", "completed"],
                None => &["submitted", "completed"],
            };
            assert_eq!(events, expected);
            // Found on the first check, one silence after the last news.
            assert_eq!(server.queries.into_inner(), 1);
            assert_eq!(started.elapsed(), QUERY_TIMEOUT);
        }
    }

    #[test]
    fn a_lost_task_is_no_longer_open() {
        let dir = tempfile::tempdir().unwrap();
        let tracker = TaskTracker::open(dir.path().join("h.sqlite3")).unwrap();
        tracker
            .insert("t-1", &call(), TaskStatus::Running, 1)
            .unwrap();
        assert_eq!(tracker.open_tasks().unwrap().len(), 1);
        tracker.note("t-1", &lost_note(), true).unwrap();
        assert!(tracker.open_tasks().unwrap().is_empty());
        assert!(tracker.get("t-1").unwrap().unwrap().lost);
        assert!(tracker.get("nope").unwrap().is_none());
    }
}
