//! The embedded Aduib v2 server: the workbench's "host".
//!
//! One [`HandlerRegistry`] holds every function the server hosts; a
//! [`Dispatcher`] routes a parsed [`AduibRequest`](aduib_core::AduibRequest) to
//! it; and one frontend per transport frames requests and replies:
//!
//! - JSON-RPC 2.0 on `POST /aduib_rpc`, server streams as SSE;
//! - REST on `POST /aduib_rpc/v2/...`, server streams as SSE.
//!
//! Both speak the Aduib RPC 2.0.1 wire exactly, so the peer's Python clients
//! can call it. Bad input of any kind (malformed JSON, invalid UTF-8, wrong
//! argument types, oversized bodies, unknown methods) gets a structured Aduib
//! error; nothing a client sends can stop the server.
//!
//! ```no_run
//! use aduib_server::{HandlerRegistry, Server, ServerConfig, Transport};
//! use aduib_server::demo::register_cacul_service;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let mut registry = HandlerRegistry::new();
//! register_cacul_service(&mut registry);
//! let server = Server::new(registry, ServerConfig::default());
//! let running = server
//!     .start(&[(Transport::JsonRpc, "127.0.0.1:0".parse()?)])
//!     .await?;
//! println!("serving on {:?}", running.endpoints());
//! running.shutdown(std::time::Duration::from_secs(5)).await;
//! # Ok(()) }
//! ```
//!
//! [`workspace`] reads what a workspace folder asks to host; [`demo`] is the
//! demo `CaculService`.

pub mod access;
pub mod args;
pub mod demo;
pub mod demo_grpc;
pub mod dispatch;
pub mod frontend;
mod http1;
mod http2;
mod io;
pub mod registry;
pub mod server;
pub mod sse;
pub mod tasks;
pub mod workspace;

pub use access::{Access, Token};
pub use args::Args;
pub use dispatch::{CallLog, CallSeen, Dispatcher};
pub use registry::{Handler, HandlerRegistry};
pub use server::{Endpoint, RunningServer, Server, ServerConfig, ServerError, Transport};
