//! Long-running tasks as they travel (`aduib-protocol.md` §7): the
//! `TaskRecord`, its status and progress, and the `TaskEvent`s `Subscribe`
//! streams. The server's task manager produces them; clients read them from
//! every transport, ours and the peer's, so reading is lenient: a field the
//! peer leaves out takes its default.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::RpcError;

/// Where a task is in its life. The peer defines `scheduled` and `retrying`
/// too; its manager never reaches them, ours neither, but a client must read
/// them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TaskStatus {
    Pending,
    Scheduled,
    Running,
    Retrying,
    Succeeded,
    Failed,
    Canceled,
}

impl TaskStatus {
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            TaskStatus::Succeeded | TaskStatus::Failed | TaskStatus::Canceled
        )
    }

    /// The lowercase wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            TaskStatus::Pending => "pending",
            TaskStatus::Scheduled => "scheduled",
            TaskStatus::Running => "running",
            TaskStatus::Retrying => "retrying",
            TaskStatus::Succeeded => "succeeded",
            TaskStatus::Failed => "failed",
            TaskStatus::Canceled => "canceled",
        }
    }

    /// The status a name stands for: the JSON name (`running`), or the
    /// protobuf/Thrift enum name (`TASK_STATUS_RUNNING`).
    pub fn parse(name: &str) -> Option<Self> {
        let name = name.strip_prefix("TASK_STATUS_").unwrap_or(name);
        [
            TaskStatus::Pending,
            TaskStatus::Scheduled,
            TaskStatus::Running,
            TaskStatus::Retrying,
            TaskStatus::Succeeded,
            TaskStatus::Failed,
            TaskStatus::Canceled,
        ]
        .into_iter()
        .find(|status| status.as_str().eq_ignore_ascii_case(name))
    }

    /// The event the peer names a move to this status with (`progress`,
    /// `started`, `completed`, `failed`).
    pub fn event_name(self, with_progress: bool) -> &'static str {
        match self {
            TaskStatus::Pending | TaskStatus::Scheduled | TaskStatus::Retrying => "progress",
            TaskStatus::Running if with_progress => "progress",
            TaskStatus::Running => "started",
            TaskStatus::Succeeded => "completed",
            TaskStatus::Failed | TaskStatus::Canceled => "failed",
        }
    }
}

impl std::fmt::Display for TaskStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Progress a job reports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskProgress {
    #[serde(default)]
    pub current: u64,
    /// Required by the peer's clients.
    #[serde(default)]
    pub total: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

impl TaskProgress {
    /// Done so far, from 0 to 1; `None` when the total is unknown.
    pub fn fraction(&self) -> Option<f64> {
        // Counts stay far below 2^52, where f64 is exact.
        (self.total > 0).then(|| (self.current as f64 / self.total as f64).min(1.0))
    }
}

/// A task as clients see it (the peer's `TaskRecord`, plus progress).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskRecord {
    pub task_id: String,
    pub status: TaskStatus,
    /// 0 low, 1 normal, 2 high, 3 critical (the peer's `Priority`).
    #[serde(default = "normal_priority")]
    pub priority: u8,
    #[serde(default)]
    pub created_at_ms: i64,
    /// Absent from the peer's records; then the latest time it gives.
    #[serde(default)]
    pub updated_at_ms: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at_ms: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_at_ms: Option<i64>,
    #[serde(default = "one")]
    pub attempt: u32,
    #[serde(default = "one")]
    pub max_attempts: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progress: Option<TaskProgress>,
    /// The Aduib response of the method the task ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<RpcError>,
    /// What the task runs (our extension, for lists).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
}

fn normal_priority() -> u8 {
    1
}

fn one() -> u32 {
    1
}

impl TaskRecord {
    /// The value the task's method returned: the `result` of the Aduib
    /// response the record keeps (or the record's result itself when a
    /// server keeps something else there).
    pub fn value(&self) -> Option<&Value> {
        let result = self.result.as_ref()?;
        match result.get("aduib_rpc").and(result.get("result")) {
            Some(value) => Some(value),
            None if result.get("aduib_rpc").is_some() => None,
            None => Some(result),
        }
    }

    /// The error the task ended with: the record's, or the one inside the
    /// response it keeps.
    pub fn failure(&self) -> Option<RpcError> {
        self.error.clone().or_else(|| {
            let error = self.result.as_ref()?.get("error")?;
            serde_json::from_value(error.clone()).ok()
        })
    }

    /// The latest time the record names, for records without `updated_at_ms`.
    pub fn last_change_ms(&self) -> i64 {
        [
            Some(self.updated_at_ms),
            Some(self.created_at_ms),
            self.started_at_ms,
            self.completed_at_ms,
        ]
        .into_iter()
        .flatten()
        .max()
        .unwrap_or(0)
    }
}

/// One change of a task, as `Subscribe` streams it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskEvent {
    pub event: String,
    pub task: TaskRecord,
    #[serde(default)]
    pub timestamp_ms: i64,
}

/// What `TaskService.Submit` answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskReceipt {
    pub task_id: String,
    pub status: TaskStatus,
    #[serde(default)]
    pub created_at_ms: i64,
}

/// What `TaskService.Cancel` answers. The peer always says `false`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskCancelReply {
    pub task_id: String,
    pub status: TaskStatus,
    #[serde(default)]
    pub canceled: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn statuses_read_from_every_transport_name() {
        assert_eq!(TaskStatus::parse("running"), Some(TaskStatus::Running));
        assert_eq!(
            TaskStatus::parse("TASK_STATUS_CANCELED"),
            Some(TaskStatus::Canceled)
        );
        assert_eq!(TaskStatus::parse("TASK_STATUS_UNSPECIFIED"), None);
        assert_eq!(TaskStatus::parse("done"), None);
    }

    #[test]
    fn the_peers_record_reads_with_defaults() {
        // As the peer's REST server answers Query (its fields, none of ours).
        let record: TaskRecord = serde_json::from_value(json!({
            "task_id": "t", "status": "succeeded", "priority": 1,
            "created_at_ms": 5, "started_at_ms": 6, "completed_at_ms": 9,
            "result": {"aduib_rpc": "2.0", "id": "t1", "status": "success",
                       "result": {"doubled": 42}}
        }))
        .unwrap();
        assert_eq!(record.value(), Some(&json!({"doubled": 42})));
        assert_eq!(record.last_change_ms(), 9);
        assert_eq!(record.attempt, 1);
        assert!(record.failure().is_none());
    }

    #[test]
    fn a_failed_response_inside_the_record_is_its_failure() {
        let record: TaskRecord = serde_json::from_value(json!({
            "task_id": "t", "status": "failed",
            "result": {"aduib_rpc": "2.0", "id": "1", "status": "error",
                       "error": {"code": 5000, "name": "INTERNAL_ERROR", "message": "boom"}}
        }))
        .unwrap();
        assert_eq!(record.value(), None);
        assert_eq!(record.failure().map(|e| e.message), Some("boom".into()));
    }

    #[test]
    fn progress_fraction_is_bounded() {
        let progress = |current, total| TaskProgress {
            current,
            total,
            message: None,
        };
        assert_eq!(progress(5, 10).fraction(), Some(0.5));
        assert_eq!(progress(12, 10).fraction(), Some(1.0));
        assert_eq!(progress(1, 0).fraction(), None);
    }
}
