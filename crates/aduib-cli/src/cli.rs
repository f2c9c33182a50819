//! The command line: every flag, validated by clap. Commands and flags named in
//! the README are a contract; add, never rename.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "aduib",
    version,
    about = "Aduib Workbench on the command line: call, stream, serve and benchmark Aduib RPC and plain JSON-RPC/HTTP services.",
    after_help = "Exit codes: 0 success; 1 the server answered with an error; 2 no usable answer (refused, timeout, bad reply, bad arguments)."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve a workspace's services on every transport (or the ones named).
    Serve(ServeArgs),
    /// One unary Aduib call; prints the response as one JSON object.
    Call(CallArgs),
    /// One server-streaming Aduib call; prints one JSON response per line.
    Stream(CallArgs),
    /// A client-streaming Aduib call (gRPC): each line of --data (NDJSON,
    /// default stdin) is one message's data; prints the one response.
    ClientStream(CallArgs),
    /// A bidirectional Aduib call (gRPC): NDJSON in, one response per line out.
    Bidi(CallArgs),
    /// HealthService.Check; prints the answer as an Aduib response.
    Health(HealthArgs),
    /// Any JSON-RPC 2.0 request, notification or batch to any server.
    Jsonrpc(JsonRpcArgs),
    /// Any HTTP request to any server; event streams print one event per line.
    Http(HttpArgs),
    /// Load-test a unary Aduib call: req/s and latency percentiles.
    Bench(BenchArgs),
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Workspace folder (default: ./workspaces/demo, else the built-in demo).
    #[arg(long, value_name = "DIR")]
    pub workspace: Option<PathBuf>,
    /// Serve JSON-RPC on ADDR (e.g. 127.0.0.1:17101; port 0 picks one).
    #[arg(long, value_name = "ADDR")]
    pub jsonrpc: Option<SocketAddr>,
    /// Serve REST on ADDR (e.g. 127.0.0.1:17102).
    #[arg(long, value_name = "ADDR")]
    pub rest: Option<SocketAddr>,
    /// Serve gRPC on ADDR (e.g. 127.0.0.1:17103).
    #[arg(long, value_name = "ADDR")]
    pub grpc: Option<SocketAddr>,
    /// Largest request body accepted, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = aduib_server::DEFAULT_BODY_LIMIT)]
    pub body_limit: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AduibTransport {
    Jsonrpc,
    Rest,
    Grpc,
}

#[derive(Debug, Args)]
pub struct CallArgs {
    #[arg(long, value_enum)]
    pub transport: AduibTransport,
    /// Server base URL, e.g. http://127.0.0.1:17101; host:port for gRPC.
    #[arg(long)]
    pub url: String,
    /// rpc.v2/<service>/<Handler>.<method>, or the shorthand Service.method.
    #[arg(long)]
    pub method: String,
    /// The call's data: a JSON object, @FILE, or - for stdin.
    #[arg(long, value_name = "JSON|@FILE|-")]
    pub data: Option<String>,
    /// Extra HTTP header, K:V (repeatable).
    #[arg(long = "header", short = 'H', value_name = "K:V")]
    pub headers: Vec<String>,
    /// Deadline for the whole call, stream included.
    #[arg(long, value_name = "N")]
    pub timeout_ms: Option<u64>,
    /// Request id (default: a fresh UUID).
    #[arg(long)]
    pub id: Option<String>,
}

#[derive(Debug, Args)]
pub struct HealthArgs {
    #[arg(long, value_enum)]
    pub transport: AduibTransport,
    #[arg(long)]
    pub url: String,
    /// Ask about this service.
    #[arg(long)]
    pub service: Option<String>,
    #[arg(long = "header", short = 'H', value_name = "K:V")]
    pub headers: Vec<String>,
    #[arg(long, value_name = "N")]
    pub timeout_ms: Option<u64>,
}

#[derive(Debug, Args)]
pub struct JsonRpcArgs {
    /// Full endpoint URL, e.g. http://127.0.0.1:17101/aduib_rpc.
    #[arg(long)]
    pub url: String,
    /// Method name (any string).
    #[arg(long, required_unless_present = "payload", conflicts_with = "payload")]
    pub method: Option<String>,
    /// Params: JSON (object or array), @FILE, or -.
    #[arg(long, value_name = "JSON|@FILE|-", conflicts_with = "payload")]
    pub params: Option<String>,
    /// Request id (default: 1). A string unless it parses as an integer.
    #[arg(long, conflicts_with_all = ["notify", "payload"])]
    pub id: Option<String>,
    /// Send a notification (no id; no reply expected).
    #[arg(long, conflicts_with = "payload")]
    pub notify: bool,
    /// Send this payload as is (a request, or an array for a batch).
    #[arg(long, value_name = "JSON|@FILE|-")]
    pub payload: Option<String>,
    #[arg(long = "header", short = 'H', value_name = "K:V")]
    pub headers: Vec<String>,
    #[arg(long, value_name = "N")]
    pub timeout_ms: Option<u64>,
}

#[derive(Debug, Args)]
pub struct HttpArgs {
    /// The URL.
    pub url: String,
    /// HTTP method.
    #[arg(long = "request", short = 'X', default_value = "GET")]
    pub method: String,
    #[arg(long = "header", short = 'H', value_name = "K:V")]
    pub headers: Vec<String>,
    /// Request body: text, @FILE, or -.
    #[arg(long, value_name = "BODY|@FILE|-")]
    pub data: Option<String>,
    #[arg(long, value_name = "N")]
    pub timeout_ms: Option<u64>,
}

#[derive(Debug, Args)]
pub struct BenchArgs {
    #[arg(long, value_enum)]
    pub transport: AduibTransport,
    /// Server base URL.
    #[arg(long)]
    pub url: String,
    #[arg(long, default_value = "rpc.v2/CaculService/CaculService.add")]
    pub method: String,
    #[arg(long, default_value = r#"{"x": 1, "y": 2}"#)]
    pub data: String,
    /// Connections, each with one request in flight.
    #[arg(long, default_value_t = 32)]
    pub concurrency: usize,
    /// Measured seconds.
    #[arg(long, default_value_t = 10.0)]
    pub duration_s: f64,
    /// Unmeasured seconds first.
    #[arg(long, default_value_t = 1.0)]
    pub warmup_s: f64,
}
