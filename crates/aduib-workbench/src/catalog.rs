//! What a target offers, for the Composer's method completion: every gRPC
//! method (by reflection or files) and every Thrift function (from the IDL),
//! with the input's JSON Schema where there is one and a template to start
//! from.

use aduib_client::anygrpc::jsonschema;
use aduib_thrift::value::template;
use serde::Serialize;
use serde_json::{Map, Value};
use ts_rs::TS;

use crate::Workbench;
use crate::error::WorkbenchError;
use crate::grpc::GrpcTarget;
use crate::request::CallMode;

/// One callable method.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct MethodInfo {
    /// `pkg.Service/Method` (gRPC) or `Service.function` (Thrift).
    pub name: String,
    pub mode: CallMode,
    /// JSON Schema of the input message (gRPC).
    #[ts(type = "unknown")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input_schema: Option<Value>,
    /// A JSON skeleton with every field set.
    #[ts(type = "unknown")]
    pub template: Value,
}

/// Services every gRPC server may carry that a person rarely calls.
const PLUMBING: [&str; 3] = [
    "grpc.reflection.v1.ServerReflection",
    "grpc.reflection.v1alpha.ServerReflection",
    "grpc.health.v1.Health",
];

impl Workbench {
    /// Every method of every service the server offers.
    pub async fn grpc_methods(
        &self,
        target: &GrpcTarget,
    ) -> Result<Vec<MethodInfo>, WorkbenchError> {
        let mut methods = Vec::new();
        for service in self.grpc_services(target).await? {
            if PLUMBING.contains(&service.as_str()) {
                continue;
            }
            let pool = self.grpc_schema(target, &service).await?;
            let Some(descriptor) = pool.get_service_by_name(&service) else {
                continue;
            };
            for method in descriptor.methods() {
                let mode = match (method.is_client_streaming(), method.is_server_streaming()) {
                    (false, false) => CallMode::Unary,
                    (false, true) => CallMode::ServerStream,
                    (true, false) => CallMode::ClientStream,
                    (true, true) => CallMode::Bidi,
                };
                methods.push(MethodInfo {
                    name: format!("{service}/{}", method.name()),
                    mode,
                    input_schema: Some(jsonschema::schema(&method.input())),
                    template: jsonschema::template(&method.input()),
                });
            }
        }
        Ok(methods)
    }

    /// Every function of every service in the IDL.
    pub fn thrift_functions(
        &self,
        idl: &str,
        includes: &[String],
    ) -> Result<Vec<MethodInfo>, WorkbenchError> {
        let schema = self.thrift_schema(idl, includes)?;
        let mut functions = Vec::new();
        for service in schema.service_names() {
            let Some(def) = schema.service(&service) else {
                continue;
            };
            for function in &def.functions {
                let args: Map<String, Value> = function
                    .args
                    .iter()
                    .map(|a| (a.name.clone(), template(&schema, &a.ty, &mut Vec::new())))
                    .collect();
                functions.push(MethodInfo {
                    name: format!("{service}.{}", function.name),
                    mode: CallMode::Unary,
                    input_schema: None,
                    template: Value::Object(args),
                });
            }
        }
        Ok(functions)
    }
}
