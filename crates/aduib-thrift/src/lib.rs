//! Thrift without code generation: IDL files parsed at run time, values
//! converted between JSON and the binary or compact protocol, messages read
//! and written on tokio sockets, buffered or framed.
//!
//! - [`idl::Schema`]: an IDL and its includes, resolved (typedefs expanded,
//!   `extends` flattened). [`idl::ADUIB_IDL`] is the built-in Aduib v2 IDL.
//! - [`protocol`]: the binary (strict) and compact protocols over byte
//!   buffers, with limits checked before allocating.
//! - [`value`]: JSON ↔ Thrift by IDL type, errors naming the JSON path.
//! - [`message`]: calls, replies, declared exceptions, `TApplicationException`.
//! - [`frame`]: whole messages on a socket.
//!
//! The Aduib Thrift transport (server and client) is built from these in
//! `aduib-server` and `aduib-client`; `aduib thrift ...` calls any service.

pub mod aduib;
pub mod frame;
pub mod idl;
pub mod message;
pub mod protocol;
pub mod value;

pub use frame::{FrameError, Framing, MessageReader, ReadTimeouts, write_message};
pub use idl::{Schema, Type};
pub use message::{AppError, AppErrorKind, Outcome};
pub use protocol::{Protocol, ReadError, ReadLimits};

/// Largest message accepted by default (as gRPC's limit).
pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 64 * 1024 * 1024;
