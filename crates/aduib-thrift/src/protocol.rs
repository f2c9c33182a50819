//! The Thrift binary (strict) and compact protocols over byte buffers.
//!
//! Written here rather than taken from the `thrift` crate: that crate reads
//! from blocking `std::io` streams and allocates whatever length a message
//! declares. Reading from a slice instead lets a buffered (unframed) message
//! be parsed as bytes arrive ([`ReadError::Incomplete`] means "read more"),
//! and every declared length is checked against the bytes present and a
//! limit before anything is allocated.

use thiserror::Error;

/// The protocol of a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Binary,
    Compact,
}

/// A value's wire type, in binary-protocol numbering.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wire {
    Bool,
    Byte,
    Double,
    I16,
    I32,
    I64,
    Binary,
    Struct,
    Map,
    Set,
    List,
}

impl Wire {
    fn binary_code(self) -> u8 {
        match self {
            Wire::Bool => 2,
            Wire::Byte => 3,
            Wire::Double => 4,
            Wire::I16 => 6,
            Wire::I32 => 8,
            Wire::I64 => 10,
            Wire::Binary => 11,
            Wire::Struct => 12,
            Wire::Map => 13,
            Wire::Set => 14,
            Wire::List => 15,
        }
    }

    fn from_binary_code(code: u8) -> Option<Wire> {
        Some(match code {
            2 => Wire::Bool,
            3 => Wire::Byte,
            4 => Wire::Double,
            6 => Wire::I16,
            8 => Wire::I32,
            10 => Wire::I64,
            11 => Wire::Binary,
            12 => Wire::Struct,
            13 => Wire::Map,
            14 => Wire::Set,
            15 => Wire::List,
            _ => return None,
        })
    }

    fn compact_code(self) -> u8 {
        match self {
            Wire::Bool => 1,
            Wire::Byte => 3,
            Wire::I16 => 4,
            Wire::I32 => 5,
            Wire::I64 => 6,
            Wire::Double => 7,
            Wire::Binary => 8,
            Wire::List => 9,
            Wire::Set => 10,
            Wire::Map => 11,
            Wire::Struct => 12,
        }
    }

    fn from_compact_code(code: u8) -> Option<Wire> {
        Some(match code {
            1 | 2 => Wire::Bool,
            3 => Wire::Byte,
            4 => Wire::I16,
            5 => Wire::I32,
            6 => Wire::I64,
            7 => Wire::Double,
            8 => Wire::Binary,
            9 => Wire::List,
            10 => Wire::Set,
            11 => Wire::Map,
            12 => Wire::Struct,
            _ => return None,
        })
    }
}

/// Message kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageKind {
    Call = 1,
    Reply = 2,
    Exception = 3,
    Oneway = 4,
}

impl MessageKind {
    fn from_code(code: u8) -> Option<MessageKind> {
        Some(match code {
            1 => MessageKind::Call,
            2 => MessageKind::Reply,
            3 => MessageKind::Exception,
            4 => MessageKind::Oneway,
            _ => return None,
        })
    }
}

/// A message's header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageHeader {
    pub name: String,
    pub kind: MessageKind,
    pub seq: i32,
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ReadError {
    /// The bytes so far are a valid prefix: read more.
    #[error("the message is incomplete")]
    Incomplete,
    #[error("malformed message: {0}")]
    Invalid(String),
    #[error("declared length {declared} exceeds the limit of {limit} bytes")]
    TooLarge { declared: u64, limit: usize },
    #[error("nesting deeper than {limit}")]
    TooDeep { limit: usize },
    #[error("more than {limit} container elements in one message")]
    TooManyElements { limit: usize },
}

fn invalid(reason: impl Into<String>) -> ReadError {
    ReadError::Invalid(reason.into())
}

/// Writes one message into a buffer.
#[derive(Debug)]
pub struct Writer {
    protocol: Protocol,
    out: Vec<u8>,
    /// Compact: the last field id of each open struct.
    last_ids: Vec<i16>,
    /// Compact: a bool field whose header waits for its value.
    pending_bool: Option<i16>,
}

impl Writer {
    pub fn new(protocol: Protocol) -> Self {
        Writer {
            protocol,
            out: Vec::with_capacity(256),
            last_ids: vec![0],
            pending_bool: None,
        }
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.out
    }

    pub fn message_begin(&mut self, header: &MessageHeader) {
        match self.protocol {
            Protocol::Binary => {
                let version = 0x8001_0000u32 | header.kind as u32;
                self.out.extend_from_slice(&version.to_be_bytes());
                self.write_binary(header.name.as_bytes());
                self.out.extend_from_slice(&header.seq.to_be_bytes());
            }
            Protocol::Compact => {
                self.out.push(0x82);
                self.out.push(1 | ((header.kind as u8) << 5));
                self.varint(u64::from(header.seq as u32));
                self.write_binary(header.name.as_bytes());
            }
        }
    }

    pub fn struct_begin(&mut self) {
        self.last_ids.push(0);
    }

    pub fn struct_end(&mut self) {
        self.last_ids.pop();
    }

    pub fn field_begin(&mut self, wire: Wire, id: i16) {
        match self.protocol {
            Protocol::Binary => {
                self.out.push(wire.binary_code());
                self.out.extend_from_slice(&id.to_be_bytes());
            }
            Protocol::Compact if wire == Wire::Bool => self.pending_bool = Some(id),
            Protocol::Compact => self.compact_field_header(wire.compact_code(), id),
        }
    }

    fn compact_field_header(&mut self, code: u8, id: i16) {
        let last = self.last_ids.last().copied().unwrap_or(0);
        let delta = i32::from(id) - i32::from(last);
        if (1..=15).contains(&delta) {
            self.out.push(((delta as u8) << 4) | code);
        } else {
            self.out.push(code);
            self.varint(zigzag(i64::from(id)));
        }
        if let Some(last) = self.last_ids.last_mut() {
            *last = id;
        }
    }

    pub fn field_stop(&mut self) {
        self.out.push(0);
    }

    pub fn write_bool(&mut self, value: bool) {
        match (self.protocol, self.pending_bool.take()) {
            (Protocol::Binary, _) => self.out.push(u8::from(value)),
            (Protocol::Compact, Some(id)) => {
                self.compact_field_header(if value { 1 } else { 2 }, id)
            }
            (Protocol::Compact, None) => self.out.push(if value { 1 } else { 2 }),
        }
    }

    pub fn write_byte(&mut self, value: i8) {
        self.out.push(value as u8);
    }

    pub fn write_i16(&mut self, value: i16) {
        match self.protocol {
            Protocol::Binary => self.out.extend_from_slice(&value.to_be_bytes()),
            Protocol::Compact => self.varint(zigzag(i64::from(value))),
        }
    }

    pub fn write_i32(&mut self, value: i32) {
        match self.protocol {
            Protocol::Binary => self.out.extend_from_slice(&value.to_be_bytes()),
            Protocol::Compact => self.varint(zigzag(i64::from(value))),
        }
    }

    pub fn write_i64(&mut self, value: i64) {
        match self.protocol {
            Protocol::Binary => self.out.extend_from_slice(&value.to_be_bytes()),
            Protocol::Compact => self.varint(zigzag(value)),
        }
    }

    pub fn write_double(&mut self, value: f64) {
        match self.protocol {
            Protocol::Binary => self.out.extend_from_slice(&value.to_bits().to_be_bytes()),
            Protocol::Compact => self.out.extend_from_slice(&value.to_bits().to_le_bytes()),
        }
    }

    pub fn write_binary(&mut self, bytes: &[u8]) {
        match self.protocol {
            Protocol::Binary => self
                .out
                .extend_from_slice(&(bytes.len() as u32).to_be_bytes()),
            Protocol::Compact => self.varint(bytes.len() as u64),
        }
        self.out.extend_from_slice(bytes);
    }

    /// Lists and sets.
    pub fn collection_begin(&mut self, element: Wire, size: usize) {
        match self.protocol {
            Protocol::Binary => {
                self.out.push(element.binary_code());
                self.out.extend_from_slice(&(size as u32).to_be_bytes());
            }
            Protocol::Compact if size < 15 => {
                self.out.push(((size as u8) << 4) | element.compact_code())
            }
            Protocol::Compact => {
                self.out.push(0xf0 | element.compact_code());
                self.varint(size as u64);
            }
        }
    }

    pub fn map_begin(&mut self, key: Wire, value: Wire, size: usize) {
        match self.protocol {
            Protocol::Binary => {
                self.out.push(key.binary_code());
                self.out.push(value.binary_code());
                self.out.extend_from_slice(&(size as u32).to_be_bytes());
            }
            Protocol::Compact if size == 0 => self.out.push(0),
            Protocol::Compact => {
                self.varint(size as u64);
                self.out
                    .push((key.compact_code() << 4) | value.compact_code());
            }
        }
    }

    fn varint(&mut self, mut value: u64) {
        loop {
            let byte = (value & 0x7f) as u8;
            value >>= 7;
            if value == 0 {
                self.out.push(byte);
                return;
            }
            self.out.push(byte | 0x80);
        }
    }
}

fn zigzag(value: i64) -> u64 {
    ((value << 1) ^ (value >> 63)) as u64
}

fn unzigzag(value: u64) -> i64 {
    ((value >> 1) as i64) ^ -((value & 1) as i64)
}

/// What a [`Reader`] accepts: every value is checked against these before
/// anything is allocated or a container is entered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadLimits {
    /// Largest string, binary or message, in bytes.
    pub max_bytes: usize,
    /// Deepest nesting of structs, lists, sets and maps.
    pub max_depth: usize,
    /// Most container elements in one message (a map entry counts twice):
    /// each decoded element costs far more memory than its wire bytes.
    pub max_elements: usize,
}

impl Default for ReadLimits {
    fn default() -> Self {
        ReadLimits {
            max_bytes: crate::DEFAULT_MAX_MESSAGE_BYTES,
            max_depth: DEFAULT_MAX_DEPTH,
            max_elements: DEFAULT_MAX_ELEMENTS,
        }
    }
}

impl From<&aduib_core::Limits> for ReadLimits {
    /// Thrift messages are bodies: `max_body_bytes` bounds them.
    fn from(limits: &aduib_core::Limits) -> Self {
        ReadLimits {
            max_bytes: limits.max_body_bytes,
            max_depth: limits.max_depth,
            max_elements: limits.max_elements,
        }
    }
}

impl ReadLimits {
    /// The same limits with another byte limit.
    pub fn with_max_bytes(self, max_bytes: usize) -> Self {
        ReadLimits { max_bytes, ..self }
    }
}

/// Nesting deeper than this is refused by default: a hostile message could
/// otherwise recurse until the stack runs out.
pub const DEFAULT_MAX_DEPTH: usize = 64;
/// Container elements in one message, by default.
pub const DEFAULT_MAX_ELEMENTS: usize = 1_000_000;

/// Where a [`Reader`] stopped, so that reading can resume there once more
/// bytes have arrived (see [`Walk`]).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Cursor {
    pos: usize,
    last_ids: Vec<i16>,
    /// Compact: the value of a bool field, carried in its header.
    pending_bool: Option<bool>,
    depth: usize,
    elements: usize,
}

impl Cursor {
    fn start() -> Self {
        Cursor {
            pos: 0,
            last_ids: vec![0],
            pending_bool: None,
            depth: 0,
            elements: 0,
        }
    }
}

/// Reads one message from a buffer that may hold only part of it.
#[derive(Debug)]
pub struct Reader<'a> {
    protocol: Protocol,
    input: &'a [u8],
    limits: ReadLimits,
    at: Cursor,
    /// After [`ReadError::Incomplete`]: the buffer length the failed read needed.
    wanted: usize,
}

impl<'a> Reader<'a> {
    pub fn new(protocol: Protocol, input: &'a [u8], limits: ReadLimits) -> Self {
        Self::resume(protocol, input, limits, Cursor::start())
    }

    fn resume(protocol: Protocol, input: &'a [u8], limits: ReadLimits, at: Cursor) -> Self {
        Reader {
            protocol,
            input,
            limits,
            at,
            wanted: 0,
        }
    }

    /// Bytes consumed so far.
    pub fn position(&self) -> usize {
        self.at.pos
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], ReadError> {
        let end = self.at.pos.saturating_add(n);
        let Some(bytes) = self.input.get(self.at.pos..end) else {
            self.wanted = end;
            return Err(ReadError::Incomplete);
        };
        self.at.pos = end;
        Ok(bytes)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], ReadError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    fn byte(&mut self) -> Result<u8, ReadError> {
        Ok(self.take(1)?[0])
    }

    fn varint(&mut self) -> Result<u64, ReadError> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = self.byte()?;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(invalid("varint longer than 10 bytes"))
    }

    fn length(&mut self, declared: u64) -> Result<usize, ReadError> {
        let declared_usize = usize::try_from(declared).unwrap_or(usize::MAX);
        if declared_usize > self.limits.max_bytes {
            return Err(ReadError::TooLarge {
                declared,
                limit: self.limits.max_bytes,
            });
        }
        Ok(declared_usize)
    }

    /// Counts `count` more container elements against the message's budget.
    fn elements(&mut self, count: usize) -> Result<usize, ReadError> {
        let total = self.at.elements.saturating_add(count);
        if total > self.limits.max_elements {
            return Err(ReadError::TooManyElements {
                limit: self.limits.max_elements,
            });
        }
        self.at.elements = total;
        Ok(count)
    }

    /// Enters a struct or container, refusing to nest too deep.
    fn enter(&mut self) -> Result<(), ReadError> {
        if self.at.depth >= self.limits.max_depth {
            return Err(ReadError::TooDeep {
                limit: self.limits.max_depth,
            });
        }
        self.at.depth += 1;
        Ok(())
    }

    fn leave(&mut self) {
        self.at.depth = self.at.depth.saturating_sub(1);
    }

    pub fn message_begin(&mut self) -> Result<MessageHeader, ReadError> {
        match self.protocol {
            Protocol::Binary => {
                let version = u32::from_be_bytes(self.array()?);
                if version & 0xffff_0000 != 0x8001_0000 {
                    return Err(invalid(format!(
                        "not a strict binary message (version word {version:#010x})"
                    )));
                }
                let kind = MessageKind::from_code((version & 0xff) as u8)
                    .ok_or_else(|| invalid("unknown message type"))?;
                let name = self.read_string()?;
                let seq = i32::from_be_bytes(self.array()?);
                Ok(MessageHeader { name, kind, seq })
            }
            Protocol::Compact => {
                if self.byte()? != 0x82 {
                    return Err(invalid("not a compact message (protocol id)"));
                }
                let version_and_kind = self.byte()?;
                if version_and_kind & 0x1f != 1 {
                    return Err(invalid("unsupported compact protocol version"));
                }
                let kind = MessageKind::from_code(version_and_kind >> 5)
                    .ok_or_else(|| invalid("unknown message type"))?;
                let seq = self.varint()? as u32 as i32;
                let name = self.read_string()?;
                Ok(MessageHeader { name, kind, seq })
            }
        }
    }

    pub fn struct_begin(&mut self) -> Result<(), ReadError> {
        self.enter()?;
        self.at.last_ids.push(0);
        Ok(())
    }

    pub fn struct_end(&mut self) {
        self.leave();
        self.at.last_ids.pop();
    }

    /// The next field's wire type and id, or `None` at the end of the struct.
    pub fn field_begin(&mut self) -> Result<Option<(Wire, i16)>, ReadError> {
        match self.protocol {
            Protocol::Binary => {
                let code = self.byte()?;
                if code == 0 {
                    return Ok(None);
                }
                let wire = Wire::from_binary_code(code)
                    .ok_or_else(|| invalid(format!("unknown field type {code}")))?;
                let id = i16::from_be_bytes(self.array()?);
                Ok(Some((wire, id)))
            }
            Protocol::Compact => {
                let header = self.byte()?;
                if header == 0 {
                    return Ok(None);
                }
                let code = header & 0x0f;
                let wire = Wire::from_compact_code(code)
                    .ok_or_else(|| invalid(format!("unknown compact field type {code}")))?;
                let delta = header >> 4;
                let last = self.at.last_ids.last().copied().unwrap_or(0);
                let id = if delta == 0 {
                    i16::try_from(unzigzag(self.varint()?))
                        .map_err(|_| invalid("field id out of range"))?
                } else {
                    last.wrapping_add(i16::from(delta))
                };
                if let Some(last) = self.at.last_ids.last_mut() {
                    *last = id;
                }
                if wire == Wire::Bool {
                    self.at.pending_bool = Some(code == 1);
                }
                Ok(Some((wire, id)))
            }
        }
    }

    pub fn read_bool(&mut self) -> Result<bool, ReadError> {
        if let Some(value) = self.at.pending_bool.take() {
            return Ok(value);
        }
        match (self.protocol, self.byte()?) {
            (Protocol::Binary, b) => Ok(b != 0),
            (Protocol::Compact, 1) => Ok(true),
            (Protocol::Compact, 2 | 0) => Ok(false),
            (Protocol::Compact, other) => Err(invalid(format!("bad compact bool {other}"))),
        }
    }

    pub fn read_byte(&mut self) -> Result<i8, ReadError> {
        Ok(self.byte()? as i8)
    }

    pub fn read_i16(&mut self) -> Result<i16, ReadError> {
        match self.protocol {
            Protocol::Binary => Ok(i16::from_be_bytes(self.array()?)),
            Protocol::Compact => {
                i16::try_from(unzigzag(self.varint()?)).map_err(|_| invalid("i16 out of range"))
            }
        }
    }

    pub fn read_i32(&mut self) -> Result<i32, ReadError> {
        match self.protocol {
            Protocol::Binary => Ok(i32::from_be_bytes(self.array()?)),
            Protocol::Compact => {
                i32::try_from(unzigzag(self.varint()?)).map_err(|_| invalid("i32 out of range"))
            }
        }
    }

    pub fn read_i64(&mut self) -> Result<i64, ReadError> {
        match self.protocol {
            Protocol::Binary => Ok(i64::from_be_bytes(self.array()?)),
            Protocol::Compact => Ok(unzigzag(self.varint()?)),
        }
    }

    pub fn read_double(&mut self) -> Result<f64, ReadError> {
        Ok(match self.protocol {
            Protocol::Binary => f64::from_bits(u64::from_be_bytes(self.array()?)),
            Protocol::Compact => f64::from_bits(u64::from_le_bytes(self.array()?)),
        })
    }

    pub fn read_binary(&mut self) -> Result<&'a [u8], ReadError> {
        let declared = match self.protocol {
            Protocol::Binary => {
                let len = i32::from_be_bytes(self.array()?);
                u64::try_from(len).map_err(|_| invalid(format!("negative length {len}")))?
            }
            Protocol::Compact => self.varint()?,
        };
        let len = self.length(declared)?;
        self.take(len)
    }

    pub fn read_string(&mut self) -> Result<String, ReadError> {
        let bytes = self.read_binary()?;
        String::from_utf8(bytes.to_vec()).map_err(|_| invalid("string is not valid UTF-8"))
    }

    /// Lists and sets: element type and size.
    pub fn collection_begin(&mut self) -> Result<(Wire, usize), ReadError> {
        let (code, declared) = match self.protocol {
            Protocol::Binary => {
                let code = self.byte()?;
                let size = i32::from_be_bytes(self.array()?);
                let size =
                    u64::try_from(size).map_err(|_| invalid(format!("negative size {size}")))?;
                (Wire::from_binary_code(code), size)
            }
            Protocol::Compact => {
                let header = self.byte()?;
                let short = u64::from(header >> 4);
                let size = if short == 15 { self.varint()? } else { short };
                (Wire::from_compact_code(header & 0x0f), size)
            }
        };
        let wire = code.ok_or_else(|| invalid("unknown element type"))?;
        let size = self.length(declared)?;
        Ok((wire, self.elements(size)?))
    }

    pub fn map_begin(&mut self) -> Result<(Wire, Wire, usize), ReadError> {
        match self.protocol {
            Protocol::Binary => {
                let key = Wire::from_binary_code(self.byte()?);
                let value = Wire::from_binary_code(self.byte()?);
                let size = i32::from_be_bytes(self.array()?);
                let size =
                    u64::try_from(size).map_err(|_| invalid(format!("negative size {size}")))?;
                let (Some(key), Some(value)) = (key, value) else {
                    return Err(invalid("unknown map key or value type"));
                };
                let size = self.length(size)?;
                self.elements(size.saturating_mul(2))?;
                Ok((key, value, size))
            }
            Protocol::Compact => {
                let size = self.varint()?;
                if size == 0 {
                    // Types are not sent for an empty map.
                    return Ok((Wire::Binary, Wire::Binary, 0));
                }
                let types = self.byte()?;
                let (Some(key), Some(value)) = (
                    Wire::from_compact_code(types >> 4),
                    Wire::from_compact_code(types & 0x0f),
                ) else {
                    return Err(invalid("unknown map key or value type"));
                };
                let size = self.length(size)?;
                self.elements(size.saturating_mul(2))?;
                Ok((key, value, size))
            }
        }
    }

    /// Skips a value of `wire` type (unknown fields), without recursion:
    /// hostile nesting meets the depth limit, never the end of the stack.
    pub fn skip(&mut self, wire: Wire) -> Result<(), ReadError> {
        Skip::new(wire).run(self)
    }
}

/// An open struct or container while skipping.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Open {
    Struct,
    /// List and set elements, or map keys and values in turn: the wire of
    /// the next item is `wires[left % 2]`.
    Items {
        wires: [Wire; 2],
        left: usize,
    },
}

/// Skipping one value, one step at a time, with an explicit stack. A step
/// that runs out of bytes leaves the walk as it was before that step, so it
/// can go on from there once more bytes are here.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Skip {
    open: Vec<Open>,
    next: Option<Wire>,
}

impl Skip {
    fn new(wire: Wire) -> Self {
        Skip {
            open: Vec::new(),
            next: Some(wire),
        }
    }

    fn run(&mut self, r: &mut Reader<'_>) -> Result<(), ReadError> {
        loop {
            let before = r.at.pos;
            let stepped = self.step(r);
            if stepped.is_err() {
                // Every read of a step comes before its effects, so going
                // back to its first byte undoes it.
                r.at.pos = before;
            }
            if stepped? {
                return Ok(());
            }
        }
    }

    /// One read; `true` once the value is whole.
    fn step(&mut self, r: &mut Reader<'_>) -> Result<bool, ReadError> {
        if let Some(wire) = self.next {
            match wire {
                Wire::Bool => drop(r.read_bool()?),
                Wire::Byte => drop(r.read_byte()?),
                Wire::I16 => drop(r.read_i16()?),
                Wire::I32 => drop(r.read_i32()?),
                Wire::I64 => drop(r.read_i64()?),
                Wire::Double => drop(r.read_double()?),
                Wire::Binary => drop(r.read_binary()?),
                Wire::Struct => {
                    r.struct_begin()?;
                    self.open.push(Open::Struct);
                }
                Wire::List | Wire::Set => {
                    let (element, size) = r.collection_begin()?;
                    r.enter()?;
                    self.open.push(Open::Items {
                        wires: [element, element],
                        left: size,
                    });
                }
                Wire::Map => {
                    let (key, value, size) = r.map_begin()?;
                    r.enter()?;
                    self.open.push(Open::Items {
                        wires: [key, value],
                        left: size.saturating_mul(2),
                    });
                }
            }
            self.next = None;
            return Ok(false);
        }
        match self.open.last_mut() {
            None => return Ok(true),
            Some(Open::Struct) => match r.field_begin()? {
                Some((wire, _)) => self.next = Some(wire),
                None => {
                    r.struct_end();
                    self.open.pop();
                }
            },
            Some(Open::Items { left: 0, .. }) => {
                r.leave();
                self.open.pop();
            }
            Some(Open::Items { wires, left }) => {
                self.next = Some(wires[*left % 2]);
                *left -= 1;
            }
        }
        Ok(self.open.is_empty() && self.next.is_none())
    }
}

/// Finding where a buffered (unframed) message ends, by walking it as its
/// bytes arrive: each call goes on from where the last one ran out, so a
/// message trickled in small pieces costs its length once, not once per
/// piece.
#[derive(Debug, Clone)]
pub struct Walk {
    protocol: Protocol,
    limits: ReadLimits,
    at: Cursor,
    /// `None` until the message header has been read.
    body: Option<Skip>,
    /// Do not walk again before the buffer is this long.
    wanted: usize,
}

impl Walk {
    pub fn new(protocol: Protocol, limits: ReadLimits) -> Self {
        Walk {
            protocol,
            limits,
            at: Cursor::start(),
            body: None,
            wanted: 0,
        }
    }

    pub fn protocol(&self) -> Protocol {
        self.protocol
    }

    /// Whether the message header (kind, name, sequence id) has been read.
    pub fn head_received(&self) -> bool {
        self.body.is_some()
    }

    /// The message's length once `buffer` (the same bytes as in earlier
    /// calls, and maybe more) holds all of it; `Ok(None)` means "read more".
    pub fn advance(&mut self, buffer: &[u8]) -> Result<Option<usize>, ReadError> {
        if buffer.len() < self.wanted {
            return Ok(None);
        }
        let mut reader = Reader::resume(
            self.protocol,
            buffer,
            self.limits,
            std::mem::replace(&mut self.at, Cursor::start()),
        );
        let walked = self.walk(&mut reader);
        self.wanted = reader.wanted;
        self.at = reader.at;
        match walked {
            Ok(()) => Ok(Some(self.at.pos)),
            Err(ReadError::Incomplete) => Ok(None),
            Err(other) => Err(other),
        }
    }

    fn walk(&mut self, r: &mut Reader<'_>) -> Result<(), ReadError> {
        if self.body.is_none() {
            let before = r.at.pos;
            if let Err(error) = r.message_begin() {
                r.at.pos = before;
                return Err(error);
            }
            self.body = Some(Skip::new(Wire::Struct));
        }
        match &mut self.body {
            Some(body) => body.run(r),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header() -> MessageHeader {
        MessageHeader {
            name: "AduibRpcService:Call".into(),
            kind: MessageKind::Call,
            seq: 0,
        }
    }

    #[test]
    fn binary_message_begin_matches_the_peer_bytes() {
        let mut w = Writer::new(Protocol::Binary);
        w.message_begin(&header());
        let mut expected = vec![0x80, 0x01, 0x00, 0x01, 0, 0, 0, 20];
        expected.extend_from_slice(b"AduibRpcService:Call");
        expected.extend_from_slice(&[0, 0, 0, 0]);
        assert_eq!(w.into_bytes(), expected);
    }

    fn sample(protocol: Protocol) -> Vec<u8> {
        let mut w = Writer::new(protocol);
        w.message_begin(&header());
        w.struct_begin();
        w.field_begin(Wire::Bool, 1);
        w.write_bool(true);
        w.field_begin(Wire::I64, 2);
        w.write_i64(-5);
        w.field_begin(Wire::Binary, 30);
        w.write_binary(b"hi");
        w.field_begin(Wire::List, 31);
        w.collection_begin(Wire::Bool, 2);
        w.write_bool(false);
        w.write_bool(true);
        w.field_begin(Wire::Map, 32);
        w.map_begin(Wire::I32, Wire::Double, 1);
        w.write_i32(-1);
        w.write_double(0.5);
        w.field_stop();
        w.struct_end();
        w.into_bytes()
    }

    fn read_sample(protocol: Protocol, bytes: &[u8]) -> Result<(), ReadError> {
        let mut r = Reader::new(protocol, bytes, ReadLimits::default());
        assert_eq!(r.message_begin()?, header());
        r.struct_begin()?;
        assert_eq!(r.field_begin()?, Some((Wire::Bool, 1)));
        assert!(r.read_bool()?);
        assert_eq!(r.field_begin()?, Some((Wire::I64, 2)));
        assert_eq!(r.read_i64()?, -5);
        assert_eq!(r.field_begin()?, Some((Wire::Binary, 30)));
        assert_eq!(r.read_binary()?, b"hi");
        assert_eq!(r.field_begin()?, Some((Wire::List, 31)));
        assert_eq!(r.collection_begin()?, (Wire::Bool, 2));
        assert!(!r.read_bool()?);
        assert!(r.read_bool()?);
        assert_eq!(r.field_begin()?, Some((Wire::Map, 32)));
        assert_eq!(r.map_begin()?, (Wire::I32, Wire::Double, 1));
        assert_eq!(r.read_i32()?, -1);
        assert_eq!(r.read_double()?, 0.5);
        assert_eq!(r.field_begin()?, None);
        r.struct_end();
        assert_eq!(r.position(), bytes.len());
        Ok(())
    }

    #[test]
    fn both_protocols_round_trip_and_every_prefix_is_incomplete() {
        for protocol in [Protocol::Binary, Protocol::Compact] {
            let bytes = sample(protocol);
            read_sample(protocol, &bytes).unwrap();
            for cut in 0..bytes.len() {
                assert_eq!(
                    read_sample(protocol, &bytes[..cut]),
                    Err(ReadError::Incomplete),
                    "{protocol:?} cut at {cut}"
                );
            }
        }
    }

    #[test]
    fn huge_declared_lengths_are_refused_before_allocating() {
        let mut bytes = vec![0x80, 0x01, 0x00, 0x01, 0x7f, 0xff, 0xff, 0xff];
        bytes.extend_from_slice(b"Call");
        let mut r = Reader::new(Protocol::Binary, &bytes, limits(16 << 20));
        assert!(matches!(r.message_begin(), Err(ReadError::TooLarge { .. })));
        let mut r = Reader::new(Protocol::Binary, &[0xde, 0xad, 0xbe, 0xef], limits(1024));
        assert!(matches!(r.message_begin(), Err(ReadError::Invalid(_))));
    }

    fn limits(max_bytes: usize) -> ReadLimits {
        ReadLimits::default().with_max_bytes(max_bytes)
    }

    /// A call whose argument struct holds one unknown field: `depth` lists
    /// (or maps of i32 to the next level) nested in one another.
    fn deeply_nested(protocol: Protocol, map: bool, depth: usize) -> Vec<u8> {
        let mut w = Writer::new(protocol);
        w.message_begin(&header());
        w.struct_begin();
        w.field_begin(if map { Wire::Map } else { Wire::List }, 99);
        for _ in 0..depth {
            if map {
                w.map_begin(Wire::I32, Wire::Map, 1);
                w.write_i32(7);
            } else {
                w.collection_begin(Wire::List, 1);
            }
        }
        if map {
            w.map_begin(Wire::I32, Wire::I32, 0);
        } else {
            w.collection_begin(Wire::I32, 0);
        }
        w.field_stop();
        w.struct_end();
        w.into_bytes()
    }

    fn walk_all(protocol: Protocol, bytes: &[u8]) -> Result<Option<usize>, ReadError> {
        Walk::new(protocol, ReadLimits::default()).advance(bytes)
    }

    #[test]
    fn deep_containers_meet_the_depth_limit_not_the_stack() {
        for protocol in [Protocol::Binary, Protocol::Compact] {
            for map in [false, true] {
                let bytes = deeply_nested(protocol, map, 100_000);
                let too_deep = ReadError::TooDeep {
                    limit: DEFAULT_MAX_DEPTH,
                };
                assert_eq!(
                    walk_all(protocol, &bytes),
                    Err(too_deep.clone()),
                    "{protocol:?} map={map}"
                );
                let mut r = Reader::new(protocol, &bytes, ReadLimits::default());
                r.message_begin().unwrap();
                assert_eq!(r.skip(Wire::Struct), Err(too_deep));
                // Within the limit, the same shape is read whole.
                let shallow = deeply_nested(protocol, map, 10);
                assert_eq!(walk_all(protocol, &shallow), Ok(Some(shallow.len())));
            }
        }
    }

    #[test]
    fn a_compact_run_of_list_headers_is_refused() {
        // A call, then field headers "list, delta 1" that also read as list
        // headers of one list each: nesting without end.
        let mut bytes = vec![0x82, 0x21, 0x00, 0x00];
        bytes.extend(std::iter::repeat_n(0x19, 50_000));
        assert_eq!(
            walk_all(Protocol::Compact, &bytes),
            Err(ReadError::TooDeep {
                limit: DEFAULT_MAX_DEPTH
            })
        );
    }

    #[test]
    fn container_elements_are_counted_per_message() {
        let mut w = Writer::new(Protocol::Binary);
        w.message_begin(&header());
        w.struct_begin();
        w.field_begin(Wire::List, 1);
        w.collection_begin(Wire::Struct, 3);
        for _ in 0..3 {
            w.field_stop();
        }
        w.field_begin(Wire::Map, 2);
        w.map_begin(Wire::Byte, Wire::Byte, 2);
        w.write_byte(1);
        w.write_byte(2);
        w.write_byte(3);
        w.write_byte(4);
        w.field_stop();
        w.struct_end();
        let bytes = w.into_bytes();
        let with = |max_elements| ReadLimits {
            max_elements,
            ..ReadLimits::default()
        };
        // Three structs and two entries of two: seven.
        let mut walk = Walk::new(Protocol::Binary, with(7));
        assert_eq!(walk.advance(&bytes), Ok(Some(bytes.len())));
        let mut walk = Walk::new(Protocol::Binary, with(6));
        assert_eq!(
            walk.advance(&bytes),
            Err(ReadError::TooManyElements { limit: 6 })
        );
    }

    #[test]
    fn a_walk_fed_byte_by_byte_ends_where_the_message_does() {
        for protocol in [Protocol::Binary, Protocol::Compact] {
            let mut bytes = sample(protocol);
            let length = bytes.len();
            // The next message's first bytes are already here.
            bytes.extend_from_slice(&sample(protocol)[..5]);
            let mut walk = Walk::new(protocol, ReadLimits::default());
            for end in 0..length {
                assert_eq!(walk.advance(&bytes[..end]), Ok(None), "{protocol:?} {end}");
            }
            assert_eq!(walk.advance(&bytes), Ok(Some(length)));
        }
    }

    #[test]
    fn a_walk_waits_for_a_long_string_without_rewalking() {
        let mut w = Writer::new(Protocol::Binary);
        w.message_begin(&header());
        w.struct_begin();
        w.field_begin(Wire::Binary, 1);
        w.write_binary(&[7; 100_000]);
        w.field_stop();
        w.struct_end();
        let bytes = w.into_bytes();
        let mut walk = Walk::new(Protocol::Binary, ReadLimits::default());
        assert_eq!(walk.advance(&bytes[..40]), Ok(None));
        // The walk knows how many bytes the string needs.
        assert_eq!(walk.wanted, bytes.len() - 1);
        assert_eq!(walk.advance(&bytes[..bytes.len() - 1]), Ok(None));
        assert_eq!(walk.advance(&bytes), Ok(Some(bytes.len())));
    }
}
