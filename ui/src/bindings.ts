// Generated from the Rust types in crates/aduib-workbench by ts-rs; do not edit.
// Regenerate: UPDATE_BINDINGS=1 cargo test -p aduib-workbench bindings
/* eslint-disable */

export type JsonValue = number | string | boolean | Array<JsonValue> | { [key in string]?: JsonValue } | null;

export type Request = { "kind": "aduib" } & AduibCall | { "kind": "jsonrpc" } & JsonRpcCall | { "kind": "http" } & HttpCall | { "kind": "grpc" } & GrpcCall | { "kind": "thrift" } & ThriftCall;

export type AduibCall = { transport: AduibTransport, 
/**
 * `http://host:port` (JSON-RPC, REST), `host:port` (gRPC, Thrift).
 */
url: string, 
/**
 * `rpc.v2/Service/Handler.method`, or the short `Service.method`.
 */
method: string, mode: CallMode, 
/**
 * The data object of a unary or server-stream call.
 */
data: Record<string, unknown>, 
/**
 * Data objects sent at once on a client or bidi stream.
 */
messages?: Array<Record<string, unknown>>, 
/**
 * Keep a client or bidi stream open for messages sent later.
 */
interactive: boolean, 
/**
 * The request id; a fresh UUID when absent.
 */
id?: string, options: CallOptions, 
/**
 * TLS for JSON-RPC, REST and gRPC; with it an `http://` URL is dialled
 * as `https://`.
 */
tls?: TlsSettings, 
/**
 * Call a service found in a registry instead of `url` (unary calls).
 */
discovery?: Discovery, };

export type Discovery = { 
/**
 * The registry: `host:port`, or `nacos://host:port?namespace=..&group=..`.
 */
registry: string, namespace?: string, group?: string, 
/**
 * The service's name in the registry.
 */
service: string, 
/**
 * `round_robin` (default), `weighted_round_robin`, `random`,
 * `weighted_random`, `least_requests` or `consistent_hash`.
 */
strategy: string, 
/**
 * Only this instance (its id, or `host:port`).
 */
instance?: string, 
/**
 * Instances of any Aduib transport, not only the call's.
 */
any_transport: boolean, 
/**
 * The call may run twice: retried on any retryable failure.
 */
idempotent: boolean, 
/**
 * Attempts after the first.
 */
retries: number, 
/**
 * `bearer:TOKEN`, `api-key:KEY`, `basic:USER:PASSWORD` or
 * `aduib:SCHEME:CREDENTIALS[:PRINCIPAL[:ROLES]]`; write secrets as
 * `${env:NAME}`.
 */
auth?: string, };

export type AduibTransport = "jsonrpc" | "rest" | "grpc" | "thrift";

export type CallMode = "unary" | "server_stream" | "client_stream" | "bidi";

export type Header = { name: string, value: string, };

export type CallOptions = { 
/**
 * Deadline for the whole exchange, streams included.
 */
timeout_ms?: number, 
/**
 * HTTP headers or gRPC metadata.
 */
headers: Array<Header>, 
/**
 * Largest message either way (gRPC; the engine's default otherwise).
 */
max_message_bytes?: number, };

export type JsonRpcCall = { url: string, payload: unknown, options: CallOptions, };

export type HttpCall = { 
/**
 * `GET`, `POST`, ...
 */
method: string, url: string, body?: string, options: CallOptions, };

export type GrpcCall = { 
/**
 * `host:port`.
 */
target: string, 
/**
 * `package.Service/Method` or `package.Service.Method`.
 */
method: string, body: string, schema: GrpcSchema, tls?: TlsSettings, gzip: boolean, 
/**
 * Keep a request stream open for messages sent later.
 */
interactive: boolean, options: CallOptions, };

export type GrpcSchema = { protos: Array<string>, includes: Array<string>, protoset?: string, 
/**
 * How long each reflection request may take.
 */
reflection_timeout_ms?: number, };

export type TlsSettings = { ca_cert?: string, client_cert?: string, client_key?: string, server_name?: string, insecure: boolean, };

export type ThriftCall = { 
/**
 * `host:port` or `thrift://host:port`.
 */
target: string, 
/**
 * The `.thrift` file; searched in `includes` when not found as given.
 */
idl: string, includes?: Array<string>, 
/**
 * `Service.function`.
 */
method: string, 
/**
 * Arguments by name.
 */
args: Record<string, unknown>, protocol: ThriftProtocol, framing: ThriftFraming, 
/**
 * The service name on a multiplexed server.
 */
multiplexed?: string, options: CallOptions, };

export type ThriftProtocol = "binary" | "compact";

export type ThriftFraming = "buffered" | "framed";

export type Event = { seq: number, at_ms: number, } & ({ "type": "sent", body: unknown, size: number, } | { "type": "routed", instance: string, attempts: number, stale: boolean, } | { "type": "headers", status?: number, headers: Array<Header>, } | { "type": "message", body: unknown, size: number, 
/**
 * `body` is only the payload of the Aduib envelope that came in (its
 * result, data or error): what the window is sent of a stream, the
 * whole envelope being kept by [`crate::window::KeptBodies`].
 */
preview?: boolean, } | { "type": "trailers", trailers: Array<Header>, } | { "type": "status", status: CallStatus, } | { "type": "error", error: WorkbenchError, } | { "type": "end", summary: Summary, });

export type EventBody = { "type": "sent", body: unknown, size: number, } | { "type": "routed", instance: string, attempts: number, stale: boolean, } | { "type": "headers", status?: number, headers: Array<Header>, } | { "type": "message", body: unknown, size: number, 
/**
 * `body` is only the payload of the Aduib envelope that came in (its
 * result, data or error): what the window is sent of a stream, the
 * whole envelope being kept by [`crate::window::KeptBodies`].
 */
preview?: boolean, } | { "type": "trailers", trailers: Array<Header>, } | { "type": "status", status: CallStatus, } | { "type": "error", error: WorkbenchError, } | { "type": "end", summary: Summary, };

export type CallStatus = { ok: boolean, 
/**
 * Aduib error code, gRPC status code, or HTTP status.
 */
code?: number, name?: string, message?: string, };

export type Outcome = "ok" | "server_error" | "failed" | "cancelled";

export type Summary = { outcome: Outcome, total_ms: number, 
/**
 * Until the first thing came back (headers or a message).
 */
first_byte_ms?: number, messages_sent: number, messages_received: number, bytes_sent: number, bytes_received: number, };

export type ErrorKind = "connect" | "tls" | "timeout" | "protocol" | "server" | "bad_input" | "not_found" | "cancelled" | "internal";

export type WorkbenchError = { kind: ErrorKind, 
/**
 * One line, saying what happened.
 */
message: string, 
/**
 * The causes under `message`, outermost first.
 */
causes?: Array<string>, 
/**
 * The Aduib error code or gRPC status code, when the server sent one.
 */
code?: number | null, 
/**
 * That code's name (`METHOD_NOT_FOUND`, `Unavailable`).
 */
code_name?: string | null, 
/**
 * Where in the request a bad input is (`.x`, `message 2 at .point`).
 */
path?: string | null, };

export type Entry = { id: string, started_at_ms: number, transport: string, target: string, method: string, outcome: Outcome, status_code?: number, status_name?: string, total_ms: number, messages_received: number, bytes_received: number, };

export type Detail = { entry: Entry, request: Request, events: Array<Event>, dropped_events: number, };

export type Query = { 
/**
 * Words to find in the method, the target or the bodies (prefixes match).
 */
text?: string, transport?: string, outcome?: Outcome, 
/**
 * Started at or after (ms since the epoch).
 */
since_ms?: number, 
/**
 * Started before.
 */
until_ms?: number, 
/**
 * At most this many (default 100).
 */
limit?: number, };

export type HostStatus = { running: boolean, workspace: string, endpoints: Array<HostEndpoint>, 
/**
 * The functions served (`CaculService.add`, ...).
 */
functions: Array<string>, 
/**
 * Why the server is not running, when its last start failed.
 */
problem?: string, };

export type HostEndpoint = { transport: string, url: string, };

export type HostCall = { at_ms: number, method: string, stream: boolean, ok: boolean, code?: number, duration_ms: number, };

export type MethodInfo = { 
/**
 * `pkg.Service/Method` (gRPC) or `Service.function` (Thrift).
 */
name: string, mode: CallMode, 
/**
 * JSON Schema of the input message (gRPC).
 */
input_schema: unknown, 
/**
 * A JSON skeleton with every field set.
 */
template: unknown, };

export type GrpcTarget = { target: string, schema: GrpcSchema, tls?: TlsSettings, headers: Array<Header>, timeout_ms?: number, max_message_bytes?: number, gzip: boolean, };

export type SavedRequest = { 
/**
 * The file's stem: `requests/<id>.json`.
 */
id: string, name: string, request: Request, };

export type Environment = { name: string, variables: { [key in string]: string }, };

export type FileProblem = { path: string, message: string, };

export type WorkspaceSummary = { name: string, dir: string, requests: Array<SavedRequest>, environments: Array<Environment>, 
/**
 * Files skipped because they could not be read; nothing is dropped
 * silently.
 */
problems: Array<FileProblem>, };

export type TrackedTask = { task_id: string, 
/**
 * What was submitted (secrets as their `${env:NAME}` references, other
 * credentials redacted).
 */
call: AduibCall, status: "pending" | "scheduled" | "running" | "retrying" | "succeeded" | "failed" | "canceled", progress: { current: number, total: number, message?: string } | null, 
/**
 * What the task's method returned.
 */
result: unknown, error: { code: number, name: string, message: string } | null, submitted_at_ms: number, updated_at_ms: number, ended_at_ms: number | null, 
/**
 * Why the tracker cannot say more (the server is unreachable, or no
 * longer knows the task).
 */
note: string | null, 
/**
 * The server no longer knows the task; nobody watches it any more.
 */
lost: boolean, 
/**
 * It ended while nothing was watching (the app was closed).
 */
ended_while_away: boolean, 
/**
 * Its status history, oldest first (filled by [`TaskTracker::get`]).
 */
changes: Array<TaskChange>, };

export type TaskChange = { at_ms: number, event: string, status: string, progress: { current: number, total: number, message?: string } | null, };

export type RegistryTarget = { 
/**
 * `host:port` or `nacos://host:port?namespace=..&group=..`.
 */
address: string, namespace?: string, group?: string, 
/**
 * The Nacos user, or a `${env:NAME}` reference to it.
 */
username?: string, 
/**
 * A `${env:NAME}` reference to the password; never the password
 * itself (this is saved in the workspace).
 */
password?: string, };

export type NamespaceView = { id: string, name: string, };

export type ServicesView = { total: number, services: Array<string>, };

export type InstanceView = { id: string, address: string, weight: number, healthy: boolean, enabled: boolean, ephemeral: boolean, cluster: string, metadata: Record<string, string>, 
/**
 * How Aduib calls it: `jsonrpc`, `rest`, `grpc`, `thrift`.
 */
transport?: string, url?: string, };

export type InstancesUpdate = { instances: Array<InstanceView>, error: WorkbenchError | null, };

export type FanoutResult = { instance: string, transport: string, latency_ms: number, response: unknown, error: WorkbenchError | null, 
/**
 * Instances with the same `group` answered alike (status, result and
 * error code; ids and timestamps aside).
 */
group: number, };

export type FanoutReport = { results: Array<FanoutResult>, 
/**
 * How many different answers came back (1: all agree).
 */
distinct: number, };
