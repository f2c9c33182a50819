//! Long-running tasks through the typed `TaskService`, on every transport:
//! submit, query, cancel and subscribe, read into the one model of
//! [`aduib_core::task`] whichever way the server wrote it (JSON, protobuf,
//! Thrift; ours or the peer's).
//!
//! Submit sends the request to run as the peer's working recipe has it
//! (`aduib-protocol.md` §7): the whole request as `params`, with
//! `metadata.long_task_method = "task/submit"` and no `long_task` flag (which
//! would make the peer recurse), and an explicit priority (the peer's
//! default breaks its own parsing).

use aduib_core::task::{TaskCancelReply, TaskEvent, TaskReceipt, TaskRecord};
use aduib_core::{AduibRequest, RequestMetadata};
use futures::stream::BoxStream;
use serde_json::{Value, json};

use crate::aduib::{AduibClient, Inner};
use crate::error::ClientError;

/// A task's events, a snapshot first, until it ends.
pub type TaskEventStream = BoxStream<'static, Result<TaskEvent, ClientError>>;

/// The peer's `Priority.NORMAL`.
pub const NORMAL_PRIORITY: u8 = 1;

impl AduibClient {
    /// Submits `request` to run as a task; `priority` is 0 (low) to 3
    /// (critical), normal when `None`.
    pub async fn task_submit(
        &self,
        request: &AduibRequest,
        priority: Option<u8>,
    ) -> Result<TaskReceipt, ClientError> {
        let priority = priority.unwrap_or(NORMAL_PRIORITY).min(3);
        let inner = task_request(request);
        match &self.inner {
            Inner::Http(http) => {
                let params = json!({
                    "target_method": inner.method,
                    "params": to_json(&inner)?,
                    "priority": priority,
                });
                http.task_op("Submit", params).await.and_then(read_json)
            }
            Inner::Grpc(grpc) => grpc.task_submit(&inner, priority).await,
            Inner::Thrift(thrift) => thrift.task_submit(&inner, priority).await,
        }
    }

    /// The task's whole record, result or error included.
    pub async fn task_query(&self, task_id: &str) -> Result<TaskRecord, ClientError> {
        match &self.inner {
            Inner::Http(http) => {
                let reply = http.task_op("Query", json!({ "task_id": task_id })).await?;
                read_json(reply.get("task").cloned().unwrap_or(reply))
            }
            Inner::Grpc(grpc) => grpc.task_query(task_id).await,
            Inner::Thrift(thrift) => thrift.task_query(task_id).await,
        }
    }

    /// Asks the server to stop the task. A finished task stays as it ended;
    /// `canceled` says whether this call stopped it.
    pub async fn task_cancel(
        &self,
        task_id: &str,
        reason: Option<&str>,
    ) -> Result<TaskCancelReply, ClientError> {
        match &self.inner {
            Inner::Http(http) => {
                let mut params = json!({ "task_id": task_id });
                if let Some(reason) = reason {
                    params["reason"] = json!(reason);
                }
                http.task_op("Cancel", params).await.and_then(read_json)
            }
            Inner::Grpc(grpc) => grpc.task_cancel(task_id, reason).await,
            Inner::Thrift(thrift) => thrift.task_cancel(task_id, reason).await,
        }
    }

    /// The task's events until it ends. Thrift has no streams: its server
    /// answers once the task has ended, with every event at once.
    pub async fn task_subscribe(&self, task_id: &str) -> Result<TaskEventStream, ClientError> {
        match &self.inner {
            Inner::Http(http) => http.task_subscribe(task_id).await,
            Inner::Grpc(grpc) => grpc.task_subscribe(task_id).await,
            Inner::Thrift(thrift) => thrift.task_subscribe(task_id).await,
        }
    }
}

/// The request as the task runs it (see the module doc).
fn task_request(request: &AduibRequest) -> AduibRequest {
    let mut inner = request.clone();
    let metadata = inner.metadata.get_or_insert_with(RequestMetadata::now);
    metadata.long_task = None;
    metadata.long_task_method = Some("task/submit".to_owned());
    inner
}

fn to_json(request: &AduibRequest) -> Result<Value, ClientError> {
    serde_json::to_value(request).map_err(|e| ClientError::Encode(e.to_string()))
}

/// A JSON answer read as `T`; a missing or mistyped field is a bad reply.
pub(crate) fn read_json<T: serde::de::DeserializeOwned>(value: Value) -> Result<T, ClientError> {
    // Read by reference: the value is copied only into an error message.
    <T as serde::Deserialize>::deserialize(&value).map_err(|e| ClientError::BadReply {
        url: "TaskService".to_owned(),
        reason: format!(
            "{e} in {}",
            crate::aduib::snippet(value.to_string().as_bytes())
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_task_request_names_submit_and_never_sets_long_task() {
        let mut request = AduibRequest::new("1", "rpc.v2/S/S.m", Default::default());
        request
            .metadata
            .get_or_insert_with(RequestMetadata::now)
            .long_task = Some(true);
        let inner = task_request(&request);
        let metadata = inner.metadata.unwrap();
        assert_eq!(metadata.long_task, None);
        assert_eq!(metadata.long_task_method.as_deref(), Some("task/submit"));
        assert_eq!(inner.method, "rpc.v2/S/S.m");
    }
}
