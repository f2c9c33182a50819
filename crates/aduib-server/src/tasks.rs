//! Long-running tasks: submit work, watch it, cancel it.
//!
//! The manager runs submitted jobs by priority (higher first, then in
//! order of submission) with at most [`TaskConfig::max_running`] at once.
//! A job gets a [`TaskContext`]: it reports progress through it, and its
//! cancellation token fires when the task is cancelled; the job's future is
//! also dropped then, so cancel stops the work even if the job never looks.
//! Records are kept until their retention TTL and at most
//! [`TaskConfig::max_tasks`] of them (the oldest finished go first).
//!
//! Statuses and event names are the peer's (`aduib-protocol.md` §7):
//! `pending`, `running`, `succeeded`, `failed`, `canceled`; events
//! `progress` (pending, or progress reported), `started`, `completed`,
//! `failed` (failed or canceled).

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use aduib_core::envelope::now_ms;
use aduib_core::error::{ErrorCode, RpcError};
pub use aduib_core::task::{TaskEvent, TaskProgress, TaskRecord, TaskStatus};
use futures::Stream;
use serde_json::Value;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

/// The event that announces `task`'s current state.
fn event_of(task: &TaskRecord) -> TaskEvent {
    TaskEvent {
        event: task.status.event_name(task.progress.is_some()).to_owned(),
        task: task.clone(),
        timestamp_ms: now_ms(),
    }
}

/// Limits of one manager.
#[derive(Debug, Clone)]
pub struct TaskConfig {
    /// How long a record is kept by default (the peer's 3600 s).
    pub ttl: Duration,
    /// The most records kept; the oldest finished ones go first.
    pub max_tasks: usize,
    /// The most jobs running at once; the rest wait by priority.
    pub max_running: usize,
}

impl Default for TaskConfig {
    fn default() -> Self {
        TaskConfig {
            ttl: Duration::from_secs(3600),
            max_tasks: 10_000,
            max_running: 64,
        }
    }
}

/// What a job is given: its cancellation and a way to report progress.
#[derive(Debug, Clone)]
pub struct TaskContext {
    task_id: String,
    cancel: CancellationToken,
    manager: TaskManager,
}

impl TaskContext {
    pub fn task_id(&self) -> &str {
        &self.task_id
    }

    /// Fires when the task is cancelled.
    pub fn cancelled(&self) -> &CancellationToken {
        &self.cancel
    }

    pub fn progress(&self, current: u64, total: u64, message: Option<String>) {
        self.manager.update(&self.task_id, |task| {
            if task.status == TaskStatus::Running {
                task.progress = Some(TaskProgress {
                    current,
                    total,
                    message,
                });
                true
            } else {
                false
            }
        });
    }
}

tokio::task_local! {
    /// The task a handler runs in, when it runs as one.
    static CURRENT: TaskContext;
}

impl TaskContext {
    /// Runs `f` as the work of this task: [`report_progress`] inside it
    /// reaches this task.
    pub async fn scope<F: Future>(self, f: F) -> F::Output {
        CURRENT.scope(self, f).await
    }
}

/// Reports progress for the task the caller runs in; nothing when it runs
/// as a plain call.
pub fn report_progress(current: u64, total: u64, message: Option<String>) {
    let _ = CURRENT.try_with(|task| task.progress(current, total, message));
}

/// The work of one task.
pub type Job = Box<
    dyn FnOnce(TaskContext) -> Pin<Box<dyn Future<Output = Result<Value, RpcError>> + Send>> + Send,
>;

/// Why an operation on a task was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TaskError {
    #[error("no task {0:?} (unknown, or expired)")]
    NotFound(String),
    #[error("the task store is full ({0} unfinished tasks)")]
    Full(usize),
}

impl From<TaskError> for RpcError {
    fn from(error: TaskError) -> Self {
        let code = match error {
            TaskError::NotFound(_) => ErrorCode::ResourceNotFound,
            TaskError::Full(_) => ErrorCode::ResourceExhausted,
        };
        RpcError::new(code, error.to_string())
    }
}

struct Entry {
    record: TaskRecord,
    expires_at_ms: i64,
    cancel: CancellationToken,
    /// Until the task ends: no event follows the end, and each channel
    /// holds its backlog's slots for as long as it lives.
    events: Option<broadcast::Sender<TaskEvent>>,
    job: Option<Job>,
}

impl Entry {
    /// Tells subscribers the record's state; after the end, lets go of the
    /// channel (subscribers still get what was sent, then the close).
    fn announce(&mut self) {
        if let Some(events) = &self.events {
            let _ = events.send(event_of(&self.record));
        }
        if self.record.status.is_terminal() {
            self.events = None;
        }
    }
}

#[derive(Default)]
struct State {
    tasks: HashMap<String, Entry>,
    /// Waiting tasks: higher priority first, then by submission.
    queue: BinaryHeap<(u8, Reverse<u64>, String)>,
    submitted: u64,
    running: usize,
}

/// Runs and keeps tasks; clone it freely.
#[derive(Clone)]
pub struct TaskManager {
    state: Arc<Mutex<State>>,
    config: Arc<TaskConfig>,
}

impl std::fmt::Debug for TaskManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TaskManager")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// Events a subscriber may fall behind by before it is sent the current
/// state instead of each change.
const EVENT_BACKLOG: usize = 64;

impl TaskManager {
    pub fn new(config: TaskConfig) -> Self {
        TaskManager {
            state: Arc::default(),
            config: Arc::new(config),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues `job`; it runs when a slot is free. `ttl` overrides how long
    /// the record is kept after it ends.
    pub fn submit(
        &self,
        method: Option<String>,
        priority: u8,
        ttl: Option<Duration>,
        job: Job,
    ) -> Result<TaskRecord, TaskError> {
        let now = now_ms();
        let record = {
            let mut state = self.lock();
            self.collect(&mut state, now);
            if state.tasks.len() >= self.config.max_tasks {
                return Err(TaskError::Full(state.tasks.len()));
            }
            let task_id = uuid::Uuid::new_v4().to_string();
            let record = TaskRecord {
                task_id: task_id.clone(),
                status: TaskStatus::Pending,
                priority,
                created_at_ms: now,
                updated_at_ms: now,
                started_at_ms: None,
                completed_at_ms: None,
                attempt: 1,
                max_attempts: 1,
                progress: None,
                result: None,
                error: None,
                method,
            };
            let ttl = ttl.unwrap_or(self.config.ttl);
            state.submitted += 1;
            let order = Reverse(state.submitted);
            state.queue.push((priority, order, task_id.clone()));
            state.tasks.insert(
                task_id,
                Entry {
                    record: record.clone(),
                    expires_at_ms: now
                        .saturating_add(i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX)),
                    cancel: CancellationToken::new(),
                    events: Some(broadcast::channel(EVENT_BACKLOG).0),
                    job: Some(job),
                },
            );
            record
        };
        self.start_waiting();
        Ok(record)
    }

    /// Drops expired records and, over the bound, the oldest finished ones.
    fn collect(&self, state: &mut State, now: i64) {
        state
            .tasks
            .retain(|_, e| !(e.record.status.is_terminal() && e.expires_at_ms <= now));
        if state.tasks.len() >= self.config.max_tasks {
            let mut finished: Vec<(i64, String)> = state
                .tasks
                .iter()
                .filter(|(_, e)| e.record.status.is_terminal())
                .map(|(id, e)| (e.record.updated_at_ms, id.clone()))
                .collect();
            finished.sort();
            let excess = state.tasks.len() + 1 - self.config.max_tasks;
            for (_, id) in finished.into_iter().take(excess) {
                state.tasks.remove(&id);
            }
        }
    }

    /// Starts queued tasks while slots are free.
    fn start_waiting(&self) {
        loop {
            let (task_id, job, cancel) = {
                let mut state = self.lock();
                if state.running >= self.config.max_running {
                    return;
                }
                let Some((_, _, task_id)) = state.queue.pop() else {
                    return;
                };
                let Some(entry) = state.tasks.get_mut(&task_id) else {
                    continue;
                };
                let Some(job) = entry.job.take() else {
                    continue; // cancelled while waiting
                };
                let now = now_ms();
                entry.record.status = TaskStatus::Running;
                entry.record.started_at_ms = Some(now);
                entry.record.updated_at_ms = now;
                entry.announce();
                let cancel = entry.cancel.clone();
                state.running += 1;
                (task_id, job, cancel)
            };
            let context = TaskContext {
                task_id: task_id.clone(),
                cancel: cancel.clone(),
                manager: self.clone(),
            };
            let manager = self.clone();
            tokio::spawn(async move {
                let outcome = tokio::select! {
                    // A task cancelled before its first poll never runs.
                    biased;
                    () = cancel.cancelled() => None,
                    result = job(context) => Some(result),
                };
                manager.finish(&task_id, outcome);
            });
        }
    }

    fn finish(&self, task_id: &str, outcome: Option<Result<Value, RpcError>>) {
        {
            let mut state = self.lock();
            state.running = state.running.saturating_sub(1);
        }
        self.update(task_id, |task| {
            if task.status.is_terminal() {
                return false; // cancelled: already recorded
            }
            match outcome {
                Some(Ok(value)) => {
                    task.status = TaskStatus::Succeeded;
                    task.result = Some(value);
                }
                Some(Err(error)) => {
                    task.status = TaskStatus::Failed;
                    task.error = Some(error);
                }
                None => task.status = TaskStatus::Canceled,
            }
            task.completed_at_ms = Some(now_ms());
            true
        });
        self.start_waiting();
    }

    /// Applies `change` to a task; when it says something changed, stamps
    /// the record and tells subscribers.
    fn update(&self, task_id: &str, change: impl FnOnce(&mut TaskRecord) -> bool) {
        let mut state = self.lock();
        if let Some(entry) = state.tasks.get_mut(task_id)
            && change(&mut entry.record)
        {
            entry.record.updated_at_ms = now_ms();
            entry.announce();
        }
    }

    pub fn get(&self, task_id: &str) -> Result<TaskRecord, TaskError> {
        let mut state = self.lock();
        self.collect(&mut state, now_ms());
        state
            .tasks
            .get(task_id)
            .map(|e| e.record.clone())
            .ok_or_else(|| TaskError::NotFound(task_id.to_owned()))
    }

    /// Every task kept, newest first.
    pub fn list(&self) -> Vec<TaskRecord> {
        let mut state = self.lock();
        self.collect(&mut state, now_ms());
        let mut tasks: Vec<TaskRecord> = state.tasks.values().map(|e| e.record.clone()).collect();
        tasks.sort_by_key(|t| Reverse(t.created_at_ms));
        tasks
    }

    /// Cancels a task that has not ended: a waiting one never starts, a
    /// running one is stopped. Returns the record and whether this call
    /// cancelled it (false for a task that had already ended).
    pub fn cancel(&self, task_id: &str) -> Result<(TaskRecord, bool), TaskError> {
        let mut state = self.lock();
        let entry = state
            .tasks
            .get_mut(task_id)
            .ok_or_else(|| TaskError::NotFound(task_id.to_owned()))?;
        if entry.record.status.is_terminal() {
            return Ok((entry.record.clone(), false));
        }
        entry.job = None;
        entry.cancel.cancel();
        let now = now_ms();
        entry.record.status = TaskStatus::Canceled;
        entry.record.completed_at_ms = Some(now);
        entry.record.updated_at_ms = now;
        entry.announce();
        Ok((entry.record.clone(), true))
    }

    /// The task's events: its state now, then each change, until it ends.
    pub fn subscribe(
        &self,
        task_id: &str,
    ) -> Result<impl Stream<Item = TaskEvent> + Send + use<>, TaskError> {
        let (snapshot, receiver) = {
            let state = self.lock();
            let entry = state
                .tasks
                .get(task_id)
                .ok_or_else(|| TaskError::NotFound(task_id.to_owned()))?;
            (
                entry.record.clone(),
                entry.events.as_ref().map(broadcast::Sender::subscribe),
            )
        };
        let manager = self.clone();
        let task_id = task_id.to_owned();
        let first = event_of(&snapshot);
        let done = snapshot.status.is_terminal();
        Ok(futures::stream::unfold(
            (Some(first), receiver, done, manager, task_id),
            |(pending, mut receiver, done, manager, task_id)| async move {
                if let Some(event) = pending {
                    let done = done || event.task.status.is_terminal();
                    return Some((event, (None, receiver, done, manager, task_id)));
                }
                let receiver_now = receiver.as_mut().filter(|_| !done)?;
                let event = match receiver_now.recv().await {
                    Ok(event) => event,
                    // Fell behind: the current state stands for what was missed.
                    Err(broadcast::error::RecvError::Lagged(_)) => match manager.get(&task_id) {
                        Ok(task) => event_of(&task),
                        Err(_) => return None,
                    },
                    Err(broadcast::error::RecvError::Closed) => return None,
                };
                let done = event.task.status.is_terminal();
                Some((event, (None, receiver, done, manager, task_id)))
            },
        ))
    }
}

/// Boxes an async closure as a [`Job`].
pub fn job<F, Fut>(f: F) -> Job
where
    F: FnOnce(TaskContext) -> Fut + Send + 'static,
    Fut: Future<Output = Result<Value, RpcError>> + Send + 'static,
{
    Box::new(move |context| Box::pin(f(context)))
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU64, Ordering};

    use futures::StreamExt;
    use serde_json::json;

    use super::*;

    fn manager(max_running: usize) -> TaskManager {
        TaskManager::new(TaskConfig {
            max_running,
            ..TaskConfig::default()
        })
    }

    async fn ended(manager: &TaskManager, id: &str) -> TaskRecord {
        let events: Vec<TaskEvent> = manager.subscribe(id).unwrap().collect().await;
        events.last().unwrap().task.clone()
    }

    #[tokio::test]
    async fn a_task_runs_once_and_keeps_its_result() {
        let runs = Arc::new(AtomicU64::new(0));
        let m = manager(4);
        let counter = runs.clone();
        let task = m
            .submit(
                Some("Demo.double".into()),
                1,
                None,
                job(move |_| async move {
                    counter.fetch_add(1, Ordering::SeqCst);
                    Ok(json!({"doubled": 42}))
                }),
            )
            .unwrap();
        assert_eq!(task.status, TaskStatus::Pending);
        let done = ended(&m, &task.task_id).await;
        assert_eq!(done.status, TaskStatus::Succeeded);
        assert_eq!(done.result, Some(json!({"doubled": 42})));
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        assert_eq!(m.get(&task.task_id).unwrap(), done);
    }

    #[tokio::test]
    async fn subscribe_streams_progress_to_completed_in_order() {
        let m = manager(4);
        let task = m
            .submit(
                None,
                1,
                None,
                job(|ctx| async move {
                    for i in 1..=5 {
                        ctx.progress(i, 5, None);
                        tokio::task::yield_now().await;
                    }
                    Ok(json!("done"))
                }),
            )
            .unwrap();
        let events: Vec<TaskEvent> = m.subscribe(&task.task_id).unwrap().collect().await;
        let names: Vec<&str> = events.iter().map(|e| e.event.as_str()).collect();
        let first = &events[0].task;
        assert!(
            !first.status.is_terminal() && first.result.is_none(),
            "a snapshot first: {names:?}"
        );
        assert_eq!(names.last(), Some(&"completed"));
        let currents: Vec<u64> = events
            .iter()
            .filter_map(|e| e.task.progress.as_ref().map(|p| p.current))
            .collect();
        assert!(currents.windows(2).all(|w| w[0] <= w[1]), "{currents:?}");
    }

    #[tokio::test]
    async fn cancel_stops_a_running_job_and_its_side_effects() {
        let ticks = Arc::new(AtomicU64::new(0));
        let m = manager(4);
        let counter = ticks.clone();
        let task = m
            .submit(
                None,
                1,
                None,
                job(move |_| async move {
                    loop {
                        counter.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(1)).await;
                    }
                }),
            )
            .unwrap();
        let mut events = Box::pin(m.subscribe(&task.task_id).unwrap());
        while events.next().await.map(|e| e.event) != Some("started".into()) {}
        let (record, canceled) = m.cancel(&task.task_id).unwrap();
        assert!(canceled);
        assert_eq!(record.status, TaskStatus::Canceled);
        let last = events.collect::<Vec<_>>().await;
        assert_eq!(last.last().unwrap().event, "failed");
        let after = ticks.load(Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(30)).await;
        assert_eq!(
            ticks.load(Ordering::SeqCst),
            after,
            "the job no longer runs"
        );
        // Cancelling a finished task changes nothing.
        assert!(!m.cancel(&task.task_id).unwrap().1);
    }

    #[tokio::test]
    async fn higher_priority_waiting_tasks_start_first() {
        let m = manager(1);
        let order = Arc::new(Mutex::new(Vec::new()));
        let gate = CancellationToken::new();
        let blocker = gate.clone();
        m.submit(
            None,
            1,
            None,
            job(move |_| async move {
                blocker.cancelled().await;
                Ok(json!(null))
            }),
        )
        .unwrap();
        let mut ids = Vec::new();
        for (name, priority) in [("low", 0u8), ("high", 3), ("normal", 1)] {
            let order = order.clone();
            let task = m
                .submit(
                    None,
                    priority,
                    None,
                    job(move |_| async move {
                        order
                            .lock()
                            .unwrap_or_else(PoisonError::into_inner)
                            .push(name);
                        Ok(json!(null))
                    }),
                )
                .unwrap();
            ids.push(task.task_id);
        }
        gate.cancel();
        for id in &ids {
            ended(&m, id).await;
        }
        assert_eq!(
            *order.lock().unwrap_or_else(PoisonError::into_inner),
            ["high", "normal", "low"]
        );
    }

    #[tokio::test]
    async fn unknown_ids_and_a_full_store_are_refused_clearly() {
        let m = TaskManager::new(TaskConfig {
            max_tasks: 2,
            ..TaskConfig::default()
        });
        assert_eq!(m.get("nope"), Err(TaskError::NotFound("nope".into())));
        assert!(m.cancel("nope").is_err());
        assert!(m.subscribe("nope").is_err());
        let error: RpcError = TaskError::NotFound("nope".into()).into();
        assert_eq!(error.code, 4000);
        let forever = || {
            job(|ctx: TaskContext| async move {
                ctx.cancelled().cancelled().await;
                Ok(json!(null))
            })
        };
        let a = m.submit(None, 1, None, forever()).unwrap();
        m.submit(None, 1, None, forever()).unwrap();
        assert_eq!(
            m.submit(None, 1, None, forever()).unwrap_err(),
            TaskError::Full(2)
        );
        // A finished task makes room: the oldest finished goes.
        m.cancel(&a.task_id).unwrap();
        m.submit(None, 1, None, forever()).unwrap();
        assert!(m.get(&a.task_id).is_err());
    }

    #[tokio::test]
    async fn a_thousand_tasks_each_end_once_with_every_subscriber_told() {
        let m = manager(64);
        let mut ids = Vec::new();
        for i in 0..1000u64 {
            let task = m
                .submit(
                    None,
                    1,
                    None,
                    job(move |ctx| async move {
                        ctx.progress(1, 1, None);
                        Ok(json!(i))
                    }),
                )
                .unwrap();
            ids.push(task.task_id);
        }
        let finals = futures::future::join_all(ids.iter().map(|id| {
            let m = m.clone();
            async move {
                let events: Vec<TaskEvent> = m.subscribe(id).unwrap().collect().await;
                let terminal = events
                    .iter()
                    .filter(|e| e.task.status.is_terminal())
                    .count();
                (terminal, events.last().unwrap().task.clone())
            }
        }))
        .await;
        for (i, (terminal, task)) in finals.iter().enumerate() {
            assert_eq!(*terminal, 1, "one end event, no duplicate");
            assert_eq!(task.result, Some(json!(i)));
        }
        assert_eq!(m.lock().running, 0);
    }
}
