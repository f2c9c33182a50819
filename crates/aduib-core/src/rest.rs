//! The REST transport's routes. Every route is a `POST` under [`REST_PREFIX`].

/// Prefix of every REST route.
pub const REST_PREFIX: &str = "/aduib_rpc/v2";

/// Unary call with an `AduibRequest` body.
pub const RPC: &str = "/aduib_rpc/v2/rpc";
/// Server stream (SSE) with an `AduibRequest` body.
pub const RPC_STREAM: &str = "/aduib_rpc/v2/rpc/stream";
pub const CALL: &str = "/aduib_rpc/v2/AduibRpcService/Call";
pub const CALL_SERVER_STREAM: &str = "/aduib_rpc/v2/AduibRpcService/CallServerStream";
pub const CALL_CLIENT_STREAM: &str = "/aduib_rpc/v2/AduibRpcService/CallClientStream";
pub const CALL_BIDIRECTIONAL: &str = "/aduib_rpc/v2/AduibRpcService/CallBidirectional";
pub const HEALTH_CHECK: &str = "/aduib_rpc/v2/HealthService/Check";
pub const HEALTH_WATCH: &str = "/aduib_rpc/v2/HealthService/Watch";
