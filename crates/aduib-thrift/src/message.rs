//! Whole messages: calls, replies, declared exceptions and
//! `TApplicationException`.

use serde_json::Value;

use crate::idl::{Function, Schema, StructKind};
use crate::protocol::{
    MessageHeader, MessageKind, Protocol, ReadError, ReadLimits, Reader, Wire, Writer,
};
use crate::value::{DecodeError, Decoder, EncodeError, Encoder, wire_of};

/// `TApplicationException` types used here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppErrorKind {
    Unknown = 0,
    UnknownMethod = 1,
    InvalidMessageType = 2,
    WrongMethodName = 3,
    BadSequenceId = 4,
    MissingResult = 5,
    InternalError = 6,
    ProtocolError = 7,
}

/// A `TApplicationException`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("TApplicationException (type {kind}): {message}")]
pub struct AppError {
    pub kind: i32,
    pub message: String,
}

impl AppError {
    /// The Apache Thrift name of the exception's type (`UNKNOWN_METHOD`).
    pub fn kind_name(&self) -> &'static str {
        match self.kind {
            1 => "UNKNOWN_METHOD",
            2 => "INVALID_MESSAGE_TYPE",
            3 => "WRONG_METHOD_NAME",
            4 => "BAD_SEQUENCE_ID",
            5 => "MISSING_RESULT",
            6 => "INTERNAL_ERROR",
            7 => "PROTOCOL_ERROR",
            8 => "INVALID_TRANSFORM",
            9 => "INVALID_PROTOCOL",
            10 => "UNSUPPORTED_CLIENT_TYPE",
            _ => "UNKNOWN",
        }
    }

    pub fn new(kind: AppErrorKind, message: impl Into<String>) -> Self {
        AppError {
            kind: kind as i32,
            message: message.into(),
        }
    }
}

/// The answer a reply carries.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The result (`null` for `void`).
    Success(Value),
    /// A declared exception: its field name in `throws`, and its value.
    Declared { name: String, value: Value },
    /// The server could not run the call.
    Application(AppError),
}

/// A call: `args` is an object keyed by argument name.
pub fn encode_call(
    schema: &Schema,
    protocol: Protocol,
    message_name: &str,
    function: &Function,
    args: &Value,
    seq: i32,
) -> Result<Vec<u8>, EncodeError> {
    let mut w = Writer::new(protocol);
    w.message_begin(&MessageHeader {
        name: message_name.to_owned(),
        kind: if function.oneway {
            MessageKind::Oneway
        } else {
            MessageKind::Call
        },
        seq,
    });
    Encoder { schema }.write_fields(
        &mut w,
        "args",
        StructKind::Struct,
        &function.args,
        args,
        "args",
    )?;
    Ok(w.into_bytes())
}

/// Reads the arguments of a call whose header was already read.
pub fn decode_args(
    schema: &Schema,
    reader: &mut Reader<'_>,
    function: &Function,
) -> Result<Value, DecodeError> {
    Decoder { schema }.read_fields(reader, &function.args, "args")
}

/// A reply to `function` (for `Outcome::Application`, an exception message).
pub fn encode_reply(
    schema: &Schema,
    protocol: Protocol,
    name: &str,
    function: &Function,
    outcome: &Outcome,
    seq: i32,
) -> Result<Vec<u8>, EncodeError> {
    if let Outcome::Application(error) = outcome {
        return Ok(encode_app_error(protocol, name, seq, error));
    }
    let mut w = Writer::new(protocol);
    w.message_begin(&MessageHeader {
        name: name.to_owned(),
        kind: MessageKind::Reply,
        seq,
    });
    let encoder = Encoder { schema };
    w.struct_begin();
    match outcome {
        Outcome::Success(value) => {
            if let Some(ty) = &function.result {
                w.field_begin(wire_of(ty), 0);
                encoder.write_value(&mut w, ty, value, "success")?;
            }
        }
        Outcome::Declared { name, value } => {
            let field = function
                .throws
                .iter()
                .find(|f| &f.name == name)
                .ok_or_else(|| EncodeError {
                    path: "result".into(),
                    message: format!("{} declares no exception {name:?}", function.name),
                })?;
            w.field_begin(wire_of(&field.ty), field.id);
            encoder.write_value(&mut w, &field.ty, value, name)?;
        }
        Outcome::Application(_) => {}
    }
    w.field_stop();
    w.struct_end();
    Ok(w.into_bytes())
}

pub fn encode_app_error(protocol: Protocol, name: &str, seq: i32, error: &AppError) -> Vec<u8> {
    let mut w = Writer::new(protocol);
    w.message_begin(&MessageHeader {
        name: name.to_owned(),
        kind: MessageKind::Exception,
        seq,
    });
    w.struct_begin();
    w.field_begin(Wire::Binary, 1);
    w.write_binary(error.message.as_bytes());
    w.field_begin(Wire::I32, 2);
    w.write_i32(error.kind);
    w.field_stop();
    w.struct_end();
    w.into_bytes()
}

/// Reads a reply to `function` (header included).
pub fn decode_reply(
    schema: &Schema,
    protocol: Protocol,
    bytes: &[u8],
    function: &Function,
    limits: ReadLimits,
) -> Result<(MessageHeader, Outcome), DecodeError> {
    let mut r = Reader::new(protocol, bytes, limits);
    let header = r.message_begin()?;
    match header.kind {
        MessageKind::Exception => {
            let outcome = Outcome::Application(read_app_error(&mut r)?);
            Ok((header, outcome))
        }
        MessageKind::Reply => {
            let decoder = Decoder { schema };
            r.struct_begin()?;
            let mut outcome = None;
            while let Some((wire, id)) = r.field_begin()? {
                if id == 0
                    && let Some(ty) = &function.result
                {
                    outcome = Some(Outcome::Success(
                        decoder.read_value(&mut r, ty, wire, "success")?,
                    ));
                } else if let Some(field) = function.throws.iter().find(|f| f.id == id) {
                    let value = decoder.read_value(&mut r, &field.ty, wire, &field.name)?;
                    outcome = Some(Outcome::Declared {
                        name: field.name.clone(),
                        value,
                    });
                } else {
                    r.skip(wire)?;
                }
            }
            r.struct_end();
            let outcome = match (outcome, &function.result) {
                (Some(outcome), _) => outcome,
                (None, None) => Outcome::Success(Value::Null),
                (None, Some(_)) => Outcome::Application(AppError::new(
                    AppErrorKind::MissingResult,
                    format!("{} returned no result", function.name),
                )),
            };
            Ok((header, outcome))
        }
        other => Err(DecodeError::Read(ReadError::Invalid(format!(
            "expected a reply, got a {other:?} message"
        )))),
    }
}

fn read_app_error(r: &mut Reader<'_>) -> Result<AppError, DecodeError> {
    let mut error = AppError::new(AppErrorKind::Unknown, "");
    r.struct_begin()?;
    while let Some((wire, id)) = r.field_begin()? {
        match (id, wire) {
            (1, Wire::Binary) => error.message = r.read_string()?,
            (2, Wire::I32) => error.kind = r.read_i32()?,
            _ => r.skip(wire)?,
        }
    }
    r.struct_end();
    Ok(error)
}
