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
    /// Do not record this command's exchanges in history.
    #[arg(long, global = true)]
    pub no_history: bool,
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
    /// Any gRPC service, by reflection, .proto files or a descriptor set.
    #[command(subcommand)]
    Grpc(GrpcCommand),
    /// Any Thrift service from its .thrift IDL, no code generation.
    #[command(subcommand)]
    Thrift(ThriftCommand),
    /// Any JSON-RPC 2.0 request, notification or batch to any server.
    Jsonrpc(JsonRpcArgs),
    /// Any HTTP request to any server; event streams print one event per line.
    Http(HttpArgs),
    /// Load-test a unary Aduib call: req/s and latency percentiles.
    Bench(BenchArgs),
    /// Recorded exchanges ($ADUIB_DATA_DIR/history.sqlite3, else the
    /// platform's data folder): list, search, show, re-run.
    #[command(subcommand)]
    History(HistoryCommand),
    /// Long-running tasks: submit, watch, status, result, cancel, and the
    /// list of tracked tasks (kept with history; watched again after a
    /// restart).
    #[command(subcommand)]
    Task(TaskCommand),
    /// Browse a service registry (Nacos): namespaces, services, instances.
    #[command(subcommand)]
    Registry(RegistryCommand),
    /// Call every instance of a service (--nacos, --service) with the same
    /// request: one JSON line per instance (its answer, latency, and a group
    /// shared by alike answers); exit 1 when they differ or any failed.
    Fanout(CallArgs),
}

/// Where the registry is and which part of it.
#[derive(Debug, Args)]
pub struct NacosArgs {
    /// The Nacos server: HOST:PORT, http://HOST:PORT or
    /// nacos://HOST:PORT?namespace=..&group=..
    #[arg(long, value_name = "HOST:PORT")]
    pub nacos: String,
    /// Namespace id (default: public).
    #[arg(long)]
    pub namespace: Option<String>,
    /// Group (default: DEFAULT_GROUP).
    #[arg(long)]
    pub group: Option<String>,
    /// Nacos user, when its auth is on; the password comes from
    /// $ADUIB_NACOS_PASSWORD (never a flag: flags show in `ps`).
    #[arg(long, env = "ADUIB_NACOS_USER")]
    pub nacos_user: Option<String>,
    /// Per request to the registry.
    #[arg(long, value_name = "MS", default_value_t = 10_000)]
    pub registry_timeout_ms: u64,
}

#[derive(Debug, Subcommand)]
pub enum RegistryCommand {
    /// The registry's namespaces.
    Namespaces {
        #[command(flatten)]
        nacos: NacosArgs,
        #[arg(long)]
        json: bool,
    },
    /// Groups that hold services in a namespace.
    Groups {
        #[command(flatten)]
        nacos: NacosArgs,
        #[arg(long)]
        json: bool,
    },
    /// Services in a namespace and group, a page at a time.
    Services {
        #[command(flatten)]
        nacos: NacosArgs,
        /// Only names holding this text.
        #[arg(long)]
        filter: Option<String>,
        #[arg(long, default_value_t = 1)]
        page: u32,
        #[arg(long, default_value_t = 100)]
        page_size: u32,
        #[arg(long)]
        json: bool,
    },
    /// The instances of a service: address, weight, health, metadata, and
    /// how Aduib calls each.
    Instances {
        #[command(flatten)]
        nacos: NacosArgs,
        #[arg(long)]
        service: String,
        #[arg(long)]
        json: bool,
        /// Keep printing the instances as they change (pushed by Nacos over
        /// gRPC, else polled) until Ctrl+C; with --json, one line per change.
        #[arg(long)]
        watch: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum TaskCommand {
    /// Submits a unary call as a task and prints its id. With --watch,
    /// follows it to the end: a progress bar on a terminal, NDJSON events
    /// otherwise; exit 0 when it succeeds, 1 when it fails or is canceled.
    Submit(Box<TaskSubmitArgs>),
    /// Where a task stands (asks its server); one JSON object.
    Status(TaskArgs),
    /// What a task returned; exit 1 when it failed or was canceled.
    Result(TaskArgs),
    /// Asks the server to cancel a task; exit 1 when it had already ended.
    Cancel(TaskArgs),
    /// Follows a task to its end, as `submit --watch` does.
    Watch(TaskArgs),
    /// The tracked tasks, newest first; open ones are asked about first.
    Ls {
        #[arg(long, default_value_t = 20)]
        limit: u32,
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
        /// Do not ask the servers about open tasks.
        #[arg(long)]
        offline: bool,
    },
}

#[derive(Debug, Args)]
pub struct TaskSubmitArgs {
    #[command(flatten)]
    pub call: CallArgs,
    /// Follow the task until it ends.
    #[arg(long)]
    pub watch: bool,
    /// 0 low, 1 normal (default), 2 high, 3 critical.
    #[arg(long, value_parser = clap::value_parser!(u8).range(0..=3))]
    pub priority: Option<u8>,
}

/// A task by id: a tracked one, or one on the server the flags name.
#[derive(Debug, Args)]
pub struct TaskArgs {
    /// The task id (a unique prefix will do for a tracked task).
    pub id: String,
    /// The server's transport, for a task this machine did not submit.
    #[arg(long, value_enum, requires = "url")]
    pub transport: Option<AduibTransport>,
    #[arg(long, requires = "transport")]
    pub url: Option<String>,
    /// Extra HTTP header, K:V (repeatable).
    #[arg(long = "header", short = 'H', value_name = "K:V")]
    pub headers: Vec<String>,
}

#[derive(Debug, Subcommand)]
pub enum HistoryCommand {
    /// The newest exchanges, newest first.
    List {
        #[arg(long, default_value_t = 20)]
        limit: u32,
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
    },
    /// Exchanges whose method, target or bodies hold every word of TEXT
    /// (words match as prefixes).
    Search {
        text: String,
        /// Only this transport (jsonrpc, rest, grpc, thrift, http).
        #[arg(long)]
        transport: Option<String>,
        #[arg(long, default_value_t = 20)]
        limit: u32,
        #[arg(long)]
        json: bool,
    },
    /// One exchange, whole: the request and every event, as JSON.
    Show {
        /// The id, or a unique prefix of it.
        id: String,
    },
    /// Sends a recorded request again; prints each response as a JSON line.
    Rerun { id: String },
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
    /// Serve Thrift on ADDR (e.g. 127.0.0.1:17104).
    #[arg(long, value_name = "ADDR")]
    pub thrift: Option<SocketAddr>,
    #[command(flatten)]
    pub limits: LimitArgs,
    #[command(flatten)]
    pub access: AccessArgs,
    #[command(flatten)]
    pub register: RegisterArgs,
}

/// Announcing the server in a registry.
#[derive(Debug, Args)]
#[command(next_help_heading = "Registry")]
pub struct RegisterArgs {
    /// Register every hosted service on every transport in Nacos
    /// (ephemeral, kept alive by beats, deregistered on shutdown):
    /// nacos://HOST:PORT?namespace=..&group=..
    #[arg(long, value_name = "URL")]
    pub register: Option<String>,
    /// The address the registry hands out (default: the bound one; needed
    /// when bound to 0.0.0.0).
    #[arg(long, value_name = "IP", requires = "register")]
    pub register_ip: Option<std::net::IpAddr>,
    /// The instances' weight.
    #[arg(long, value_name = "W", default_value_t = 1.0, requires = "register")]
    pub register_weight: f64,
}

/// What one client may make the server spend (defaults in the README).
#[derive(Debug, Args)]
#[command(next_help_heading = "Limits")]
pub struct LimitArgs {
    /// Largest HTTP body or Thrift message, in bytes [default: 16 MiB].
    #[arg(long, value_name = "BYTES")]
    pub body_limit: Option<usize>,
    /// Largest gRPC message, in bytes [default: 64 MiB].
    #[arg(long, value_name = "BYTES")]
    pub max_grpc_message: Option<usize>,
    /// Deepest JSON or Thrift nesting [default: 64].
    #[arg(long, value_name = "N", alias = "max-json-depth")]
    pub max_depth: Option<usize>,
    /// Most JSON values or Thrift container elements in one message [default: 1000000].
    #[arg(long, value_name = "N", alias = "max-json-elements")]
    pub max_elements: Option<usize>,
    /// Longest JSON-RPC batch [default: 1000].
    #[arg(long, value_name = "N")]
    pub max_batch: Option<usize>,
    /// Calls of one JSON-RPC batch run at once [default: 16].
    #[arg(long, value_name = "N")]
    pub batch_concurrency: Option<usize>,
    /// Most messages of one client stream or bidi call [default: 10000].
    #[arg(long, value_name = "N")]
    pub max_stream_items: Option<usize>,
    /// Open connections per listener [default: from the file-descriptor limit].
    #[arg(long, value_name = "N")]
    pub max_connections: Option<usize>,
    /// Time to receive a request head [default: 10000].
    #[arg(long, value_name = "MS", value_parser = clap::value_parser!(u64).range(1..))]
    pub header_timeout_ms: Option<u64>,
    /// Time to receive a request body or the rest of a Thrift message [default: 30000].
    #[arg(long, value_name = "MS", value_parser = clap::value_parser!(u64).range(1..))]
    pub body_timeout_ms: Option<u64>,
    /// Close connections idle this long [default: 60000].
    #[arg(long, value_name = "MS", value_parser = clap::value_parser!(u64).range(1..))]
    pub idle_timeout_ms: Option<u64>,
    /// TCP keep-alive on every connection: probe a peer after this long without
    /// traffic, at most 32767000 (the kernel's limit) [default: 30000].
    #[arg(long, value_name = "MS", value_parser = clap::value_parser!(u64).range(1..=32_767_000))]
    pub keepalive_ms: Option<u64>,
}

impl LimitArgs {
    /// The defaults, with what was given on the command line.
    pub fn limits(&self) -> aduib_core::Limits {
        let mut limits = aduib_core::Limits::default();
        let ms = std::time::Duration::from_millis;
        let set = |target: &mut usize, given: Option<usize>| {
            if let Some(value) = given {
                *target = value;
            }
        };
        set(&mut limits.max_body_bytes, self.body_limit);
        set(&mut limits.max_grpc_message_bytes, self.max_grpc_message);
        set(&mut limits.max_depth, self.max_depth);
        set(&mut limits.max_elements, self.max_elements);
        set(&mut limits.max_batch, self.max_batch);
        set(&mut limits.batch_concurrency, self.batch_concurrency);
        set(&mut limits.max_stream_items, self.max_stream_items);
        limits.max_connections = self.max_connections.or(limits.max_connections);
        if let Some(t) = self.header_timeout_ms {
            limits.header_timeout = ms(t);
        }
        if let Some(t) = self.body_timeout_ms {
            limits.body_timeout = ms(t);
        }
        if let Some(t) = self.idle_timeout_ms {
            limits.idle_timeout = ms(t);
        }
        if let Some(t) = self.keepalive_ms {
            limits.keepalive_interval = ms(t);
        }
        limits
    }
}

/// Who may call the server.
#[derive(Debug, Args)]
#[command(next_help_heading = "Access")]
pub struct AccessArgs {
    /// Also accept requests whose Host header names HOST (loopback names and
    /// addresses are always accepted). Repeatable.
    #[arg(long, value_name = "HOST")]
    pub allow_host: Vec<String>,
    /// Accept browser requests from ORIGIN (e.g. http://localhost:5173). Repeatable.
    #[arg(long, value_name = "ORIGIN")]
    pub allow_origin: Vec<String>,
    /// Require the token held by environment variable NAME on every call
    /// (HTTP `Authorization: Bearer`, gRPC `authorization` metadata, the
    /// envelope's `metadata.auth` on Thrift).
    #[arg(long, value_name = "NAME")]
    pub auth_token_env: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AduibTransport {
    Jsonrpc,
    Rest,
    Grpc,
    Thrift,
}

#[derive(Debug, Args)]
pub struct CallArgs {
    /// The transport; with --nacos, only instances serving it (any when
    /// absent).
    #[arg(long, value_enum, required_unless_present = "nacos")]
    pub transport: Option<AduibTransport>,
    /// Server base URL, e.g. http://127.0.0.1:17101; host:port for gRPC.
    #[arg(long, required_unless_present = "nacos", conflicts_with = "nacos")]
    pub url: Option<String>,
    /// rpc.v2/<service>/<Handler>.<method>, or the shorthand Service.method.
    #[arg(long)]
    pub method: String,
    /// The call's data: a JSON object, @FILE, or - for stdin.
    #[arg(long, value_name = "JSON|@FILE|-")]
    pub data: Option<String>,
    /// Extra HTTP header, K:V (repeatable).
    #[arg(long = "header", short = 'H', value_name = "K:V")]
    pub headers: Vec<String>,
    /// Deadline for the whole call, stream (or retries) included.
    #[arg(long, value_name = "N")]
    pub timeout_ms: Option<u64>,
    /// Request id (default: a fresh UUID).
    #[arg(long)]
    pub id: Option<String>,
    /// Send the call N times, one after another, through the same clients
    /// (and balancer): one answer per line; exit as the worst one.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub repeat: u32,
    #[command(flatten)]
    pub tls: TlsArgs,
    #[command(flatten)]
    pub discovery: DiscoveryArgs,
}

/// Calling a service found in a registry instead of --url.
#[derive(Debug, Args)]
#[command(next_help_heading = "Discovery (instead of --url)")]
pub struct DiscoveryArgs {
    /// The Nacos server: HOST:PORT or nacos://HOST:PORT?namespace=..&group=..
    #[arg(long, value_name = "HOST:PORT", requires = "service")]
    pub nacos: Option<String>,
    /// The service's name in the registry.
    #[arg(long, requires = "nacos")]
    pub service: Option<String>,
    #[arg(long, requires = "nacos")]
    pub namespace: Option<String>,
    #[arg(long, requires = "nacos")]
    pub group: Option<String>,
    /// round_robin, weighted_round_robin, random, weighted_random,
    /// least_requests or consistent_hash.
    #[arg(
        long,
        value_name = "STRATEGY",
        default_value = "round_robin",
        requires = "nacos"
    )]
    pub lb: String,
    /// Only this instance: its id or HOST:PORT.
    #[arg(long, requires = "nacos")]
    pub instance: Option<String>,
    /// The call may run twice: retried after failures that may have
    /// reached a server (never otherwise).
    #[arg(long, requires = "nacos")]
    pub idempotent: bool,
    /// Attempts after the first.
    #[arg(long, value_name = "N", default_value_t = 2, requires = "nacos")]
    pub retries: u32,
    /// bearer:TOKEN, api-key:KEY, basic:USER:PASSWORD or
    /// aduib:SCHEME:CREDENTIALS[:PRINCIPAL[:ROLES]]; write the secret as
    /// ${env:NAME} so it stays out of your shell history.
    #[arg(long, value_name = "KIND:VALUE", requires = "nacos")]
    pub auth: Option<String>,
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
    /// Requests in flight, one per worker.
    #[arg(long, default_value_t = 32)]
    pub concurrency: usize,
    /// gRPC only: HTTP/2 connections the workers share (HTTP/1.1 uses one
    /// connection per worker).
    #[arg(long, default_value_t = 4)]
    pub connections: usize,
    /// Measured seconds.
    #[arg(long, default_value_t = 10.0)]
    pub duration_s: f64,
    /// Unmeasured seconds first.
    #[arg(long, default_value_t = 1.0)]
    pub warmup_s: f64,
}

#[derive(Debug, Subcommand)]
pub enum GrpcCommand {
    /// Services (or, given a service, its methods), one per line.
    List {
        /// host:port
        addr: String,
        /// A service to list the methods of.
        service: Option<String>,
        #[command(flatten)]
        conn: GrpcConnArgs,
    },
    /// A service, method, message or enum, as proto text.
    Describe {
        addr: String,
        symbol: String,
        #[command(flatten)]
        conn: GrpcConnArgs,
    },
    /// Call any method. Prints each response message as one JSON line; a
    /// non-OK status is printed as {"status":{..}} and exits 1.
    Call {
        addr: String,
        /// package.Service/Method
        method: String,
        /// Request message(s) as JSON: one object, or several (one per line)
        /// for client streams; @FILE or - for stdin. Default: {}.
        #[arg(long, short = 'd', value_name = "JSON|@FILE|-")]
        data: Option<String>,
        /// Print headers, messages, trailers and status as tagged JSON lines.
        #[arg(long, short = 'v')]
        verbose: bool,
        #[command(flatten)]
        conn: GrpcConnArgs,
    },
    /// JSON Schema of a method's input message (or of a message).
    Schema {
        addr: String,
        symbol: String,
        /// Print a JSON template with every field set instead.
        #[arg(long)]
        template: bool,
        #[command(flatten)]
        conn: GrpcConnArgs,
    },
}

/// How to reach a gRPC server and where its schema comes from.
#[derive(Debug, Args)]
pub struct GrpcConnArgs {
    /// Metadata K:V, sent on every call (reflection too).
    #[arg(long = "header", short = 'H', value_name = "K:V")]
    pub headers: Vec<String>,
    /// Schema from .proto files instead of reflection (repeatable).
    #[arg(long = "proto", value_name = "FILE")]
    pub protos: Vec<PathBuf>,
    /// Include folder for imports (repeatable).
    #[arg(short = 'I', long = "import-path", value_name = "DIR")]
    pub includes: Vec<PathBuf>,
    /// Schema from a FileDescriptorSet file.
    #[arg(long, value_name = "FILE", conflicts_with = "protos")]
    pub protoset: Option<PathBuf>,
    /// Deadline of the call (sent as grpc-timeout).
    #[arg(long, value_name = "N")]
    pub timeout_ms: Option<u64>,
    /// Time allowed for each reflection request.
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    pub reflection_timeout_ms: u64,
    /// Largest message each way, in MiB.
    #[arg(long, value_name = "N", default_value_t = 64)]
    pub max_msg_mb: usize,
    /// Compress requests with gzip.
    #[arg(long)]
    pub gzip: bool,
    #[command(flatten)]
    pub tls: TlsArgs,
}

/// TLS for gRPC, JSON-RPC and REST.
#[derive(Debug, Args)]
#[command(next_help_heading = "TLS")]
pub struct TlsArgs {
    /// Use TLS (system roots unless --cacert).
    #[arg(long)]
    pub tls: bool,
    /// PEM CA certificate to trust (implies --tls).
    #[arg(long, value_name = "FILE")]
    pub cacert: Option<PathBuf>,
    /// PEM client certificate for mutual TLS (with --key; implies --tls).
    #[arg(long, value_name = "FILE", requires = "key")]
    pub cert: Option<PathBuf>,
    /// PEM private key of --cert.
    #[arg(long, value_name = "FILE", requires = "cert")]
    pub key: Option<PathBuf>,
    /// Skip verifying the server's certificate (implies --tls).
    #[arg(long)]
    pub insecure: bool,
    /// Server name to verify when it differs from the address's host.
    #[arg(long, value_name = "NAME")]
    pub servername: Option<String>,
}

impl TlsArgs {
    /// The TLS the flags ask for; none of them means plaintext.
    pub fn settings(&self) -> Option<aduib_workbench::request::TlsSettings> {
        let path = |p: &PathBuf| p.display().to_string();
        let wanted = self.tls || self.insecure || self.cacert.is_some() || self.cert.is_some();
        wanted.then(|| aduib_workbench::request::TlsSettings {
            ca_cert: self.cacert.as_ref().map(path),
            client_cert: self.cert.as_ref().map(path),
            client_key: self.key.as_ref().map(path),
            server_name: self.servername.clone(),
            insecure: self.insecure,
        })
    }
}

#[derive(Debug, Subcommand)]
pub enum ThriftCommand {
    /// Services and methods of an IDL, with argument types.
    List {
        #[arg(long, value_name = "FILE")]
        idl: PathBuf,
        #[arg(short = 'I', value_name = "DIR")]
        includes: Vec<PathBuf>,
    },
    /// A JSON skeleton of a method's arguments.
    Template {
        #[arg(long, value_name = "FILE")]
        idl: PathBuf,
        #[arg(short = 'I', value_name = "DIR")]
        includes: Vec<PathBuf>,
        /// Service.method
        method: String,
    },
    /// Call any method. Prints the result as one JSON line; a declared
    /// exception or a TApplicationException is printed and exits 1.
    Call {
        /// host:port
        addr: String,
        #[arg(long, value_name = "FILE")]
        idl: PathBuf,
        #[arg(short = 'I', value_name = "DIR")]
        includes: Vec<PathBuf>,
        /// Service.method
        method: String,
        /// Arguments as a JSON object keyed by argument name; @FILE or -.
        #[arg(long, value_name = "JSON|@FILE|-")]
        data: Option<String>,
        #[arg(long, value_enum, default_value = "binary")]
        protocol: ThriftProtocolArg,
        #[arg(long, value_enum, default_value = "buffered")]
        transport: ThriftTransportArg,
        /// Service name on a multiplexed server.
        #[arg(long, value_name = "NAME")]
        multiplexed: Option<String>,
        #[arg(long, value_name = "N")]
        timeout_ms: Option<u64>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ThriftProtocolArg {
    Binary,
    Compact,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ThriftTransportArg {
    Buffered,
    Framed,
}
