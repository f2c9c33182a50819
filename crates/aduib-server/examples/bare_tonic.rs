//! A bare tonic server for `aduib.rpc.v2.AduibRpcService/Call` that answers
//! `add(x, y)` directly: no registry, no argument checks, no axum. It is the
//! baseline `scripts/bench.sh` compares our server against.
//!
//! `cargo run --release --example bare_tonic -- 127.0.0.1:50051`

use aduib_proto::v2 as pb;
use aduib_proto::v2::aduib_rpc_service_server::{AduibRpcService, AduibRpcServiceServer};
use futures::stream::BoxStream;
use prost_types::value::Kind;
use tonic::{Request, Response, Status, Streaming};

// The allocator the `aduib` binary uses, so the comparison is of the stacks.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Debug)]
struct Bare;

fn number(request: &pb::Request, name: &str) -> f64 {
    match request
        .data
        .as_ref()
        .and_then(|d| d.fields.get(name))
        .and_then(|v| v.kind.as_ref())
    {
        Some(Kind::NumberValue(n)) => *n,
        _ => 0.0,
    }
}

#[tonic::async_trait]
impl AduibRpcService for Bare {
    async fn call(&self, request: Request<pb::Request>) -> Result<Response<pb::Response>, Status> {
        let request = request.into_inner();
        let sum = number(&request, "x") + number(&request, "y");
        Ok(Response::new(pb::Response {
            aduib_rpc: "2.0".into(),
            id: request.id,
            status: pb::ResponseStatus::Success as i32,
            payload: Some(pb::response::Payload::Result(prost_types::Value {
                kind: Some(Kind::NumberValue(sum)),
            })),
            ..Default::default()
        }))
    }

    type CallServerStreamStream = BoxStream<'static, Result<pb::Response, Status>>;

    async fn call_server_stream(
        &self,
        _: Request<pb::Request>,
    ) -> Result<Response<Self::CallServerStreamStream>, Status> {
        Err(Status::unimplemented("bare baseline: Call only"))
    }

    async fn call_client_stream(
        &self,
        _: Request<Streaming<pb::Request>>,
    ) -> Result<Response<pb::Response>, Status> {
        Err(Status::unimplemented("bare baseline: Call only"))
    }

    type CallBidirectionalStream = BoxStream<'static, Result<pb::Response, Status>>;

    async fn call_bidirectional(
        &self,
        _: Request<Streaming<pb::Request>>,
    ) -> Result<Response<Self::CallBidirectionalStream>, Status> {
        Err(Status::unimplemented("bare baseline: Call only"))
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:50051".into())
        .parse()?;
    println!("grpc {addr}");
    tonic::transport::Server::builder()
        .tcp_nodelay(true)
        .add_service(AduibRpcServiceServer::new(Bare))
        .serve(addr)
        .await?;
    Ok(())
}
