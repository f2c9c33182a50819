//! The TypeScript declarations of every type the UI exchanges with the
//! engine, generated from the Rust types (ts-rs). `ui/src/bindings.ts` is
//! this text, committed; a test fails when it is stale.

use ts_rs::{Config, TS};

use crate::catalog::MethodInfo;
use crate::discovery::{
    FanoutReport, FanoutResult, InstanceView, InstancesUpdate, NamespaceView, RegistryTarget,
    ServicesView,
};
use crate::error::{ErrorKind, WorkbenchError};
use crate::event::{CallStatus, Event, EventBody, Outcome, Summary};
use crate::grpc::GrpcTarget;
use crate::history::{Detail, Entry, Query};
use crate::host::{HostCall, HostEndpoint, HostStatus};
use crate::request::{
    AduibCall, AduibTransport, CallMode, CallOptions, Discovery, GrpcCall, GrpcSchema, Header,
    HttpCall, JsonRpcCall, Request, ThriftCall, ThriftFraming, ThriftProtocol, TlsSettings,
};
use crate::tasks::{TaskChange, TrackedTask};
use crate::workspace::{Environment, FileProblem, SavedRequest, WorkspaceSummary};

/// Where the committed bindings live, from the repository root.
pub const BINDINGS_PATH: &str = "ui/src/bindings.ts";

/// The whole bindings file.
pub fn typescript() -> String {
    // JSON numbers, not bigints: the IPC carries JSON.
    let config = Config::new().with_large_int("number");
    let declarations = [
        Request::decl(&config),
        AduibCall::decl(&config),
        Discovery::decl(&config),
        AduibTransport::decl(&config),
        CallMode::decl(&config),
        Header::decl(&config),
        CallOptions::decl(&config),
        JsonRpcCall::decl(&config),
        HttpCall::decl(&config),
        GrpcCall::decl(&config),
        GrpcSchema::decl(&config),
        TlsSettings::decl(&config),
        ThriftCall::decl(&config),
        ThriftProtocol::decl(&config),
        ThriftFraming::decl(&config),
        Event::decl(&config),
        EventBody::decl(&config),
        CallStatus::decl(&config),
        Outcome::decl(&config),
        Summary::decl(&config),
        ErrorKind::decl(&config),
        WorkbenchError::decl(&config),
        Entry::decl(&config),
        Detail::decl(&config),
        Query::decl(&config),
        HostStatus::decl(&config),
        HostEndpoint::decl(&config),
        HostCall::decl(&config),
        MethodInfo::decl(&config),
        GrpcTarget::decl(&config),
        SavedRequest::decl(&config),
        Environment::decl(&config),
        FileProblem::decl(&config),
        WorkspaceSummary::decl(&config),
        TrackedTask::decl(&config),
        TaskChange::decl(&config),
        RegistryTarget::decl(&config),
        NamespaceView::decl(&config),
        ServicesView::decl(&config),
        InstanceView::decl(&config),
        InstancesUpdate::decl(&config),
        FanoutResult::decl(&config),
        FanoutReport::decl(&config),
    ];
    let mut out = String::from(
        "// Generated from the Rust types in crates/aduib-workbench by ts-rs; do not edit.\n\
         // Regenerate: UPDATE_BINDINGS=1 cargo test -p aduib-workbench bindings\n\
         /* eslint-disable */\n\n\
         export type JsonValue = number | string | boolean | Array<JsonValue> | { [key in string]?: JsonValue } | null;\n",
    );
    for declaration in declarations {
        out.push_str("\nexport ");
        out.push_str(&declaration);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    #[test]
    fn bindings_are_fresh() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../..")
            .join(super::BINDINGS_PATH);
        let generated = super::typescript();
        if std::env::var_os("UPDATE_BINDINGS").is_some() {
            std::fs::write(&path, &generated).unwrap();
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == generated,
            "{} is stale: run UPDATE_BINDINGS=1 cargo test -p aduib-workbench bindings",
            path.display()
        );
    }
}
