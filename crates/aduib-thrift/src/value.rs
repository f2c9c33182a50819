//! JSON ↔ Thrift values, driven by the IDL.
//!
//! The JSON form: structs are objects keyed by field name; `binary` is
//! base64; enums are written by name and read by name or number; sets and
//! lists are arrays; a map whose keys are scalars is an object (keys as
//! strings, `"1"` for an i32 key), any other map an array of `[key, value]`
//! pairs; a union is an object with exactly one field.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Map, Number, Value};
use thiserror::Error;

use crate::idl::{Field, Requiredness, Schema, StructDef, StructKind, Type};
use crate::protocol::{ReadError, Reader, Wire, Writer};

/// A JSON value that does not fit the IDL, with where it is.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{path}: {message}")]
pub struct EncodeError {
    pub path: String,
    pub message: String,
}

/// Bytes that do not decode as the IDL says.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DecodeError {
    #[error(transparent)]
    Read(#[from] ReadError),
    #[error("{path}: {message}")]
    Mismatch { path: String, message: String },
}

pub fn wire_of(ty: &Type) -> Wire {
    match ty {
        Type::Bool => Wire::Bool,
        Type::Byte => Wire::Byte,
        Type::I16 => Wire::I16,
        Type::I32 | Type::Enum(_) => Wire::I32,
        Type::I64 => Wire::I64,
        Type::Double => Wire::Double,
        Type::String | Type::Binary => Wire::Binary,
        Type::List(_) => Wire::List,
        Type::Set(_) => Wire::Set,
        Type::Map(..) => Wire::Map,
        Type::Struct(_) => Wire::Struct,
    }
}

pub fn type_name(ty: &Type) -> String {
    match ty {
        Type::Bool => "bool".into(),
        Type::Byte => "byte".into(),
        Type::I16 => "i16".into(),
        Type::I32 => "i32".into(),
        Type::I64 => "i64".into(),
        Type::Double => "double".into(),
        Type::String => "string".into(),
        Type::Binary => "binary".into(),
        Type::List(t) => format!("list<{}>", type_name(t)),
        Type::Set(t) => format!("set<{}>", type_name(t)),
        Type::Map(k, v) => format!("map<{}, {}>", type_name(k), type_name(v)),
        Type::Struct(n) | Type::Enum(n) => n.clone(),
    }
}

/// Writes JSON as the IDL type.
#[derive(Debug, Clone, Copy)]
pub struct Encoder<'s> {
    pub schema: &'s Schema,
}

impl Encoder<'_> {
    /// A struct's fields from a JSON object; `path` names it in errors.
    pub fn write_struct(
        &self,
        w: &mut Writer,
        def: &StructDef,
        json: &Value,
        path: &str,
    ) -> Result<(), EncodeError> {
        self.write_fields(w, &def.name, def.kind, &def.fields, json, path)
    }

    /// Fields of a struct named `name` (also an argument list, which is a
    /// struct on the wire) from a JSON object.
    pub fn write_fields(
        &self,
        w: &mut Writer,
        name: &str,
        kind_of: StructKind,
        fields: &[Field],
        json: &Value,
        path: &str,
    ) -> Result<(), EncodeError> {
        let fail = |message: String| EncodeError {
            path: path.to_owned(),
            message,
        };
        let Value::Object(object) = json else {
            return Err(fail(format!(
                "expected an object for {}, got {}",
                name,
                kind(json)
            )));
        };
        if let Some(unknown) = object
            .keys()
            .find(|k| !fields.iter().any(|f| &f.name == *k))
        {
            let known: Vec<&str> = fields.iter().map(|f| f.name.as_str()).collect();
            return Err(fail(format!(
                "{} has no field {unknown:?} (fields: {})",
                name,
                known.join(", ")
            )));
        }
        let present = fields
            .iter()
            .filter(|f| object.get(&f.name).is_some_and(|v| !v.is_null()))
            .count();
        if kind_of == StructKind::Union && present != 1 {
            return Err(fail(format!(
                "union {} needs exactly one field set, got {present}",
                name
            )));
        }
        w.struct_begin();
        for field in fields {
            match object.get(&field.name).filter(|v| !v.is_null()) {
                Some(value) => {
                    w.field_begin(wire_of(&field.ty), field.id);
                    self.write_value(w, &field.ty, value, &format!("{path}.{}", field.name))?;
                }
                None if field.requiredness == Requiredness::Required => {
                    return Err(fail(format!("required field {:?} is missing", field.name)));
                }
                None => {}
            }
        }
        w.field_stop();
        w.struct_end();
        Ok(())
    }

    pub fn write_value(
        &self,
        w: &mut Writer,
        ty: &Type,
        json: &Value,
        path: &str,
    ) -> Result<(), EncodeError> {
        let fail = |message: String| EncodeError {
            path: path.to_owned(),
            message,
        };
        let expected = || fail(format!("expected {}, got {}", type_name(ty), kind(json)));
        match ty {
            Type::Bool => w.write_bool(json.as_bool().ok_or_else(expected)?),
            Type::Byte => w.write_byte(int_in(json, path, i8::MIN.into(), i8::MAX.into())? as i8),
            Type::I16 => w.write_i16(int_in(json, path, i16::MIN.into(), i16::MAX.into())? as i16),
            Type::I32 => w.write_i32(int_in(json, path, i32::MIN.into(), i32::MAX.into())? as i32),
            Type::I64 => w.write_i64(int_in(json, path, i64::MIN, i64::MAX)?),
            Type::Double => w.write_double(json.as_f64().ok_or_else(expected)?),
            Type::String => w.write_binary(json.as_str().ok_or_else(expected)?.as_bytes()),
            Type::Binary => {
                let text = json.as_str().ok_or_else(expected)?;
                let bytes = BASE64
                    .decode(text)
                    .map_err(|e| fail(format!("binary must be base64: {e}")))?;
                w.write_binary(&bytes);
            }
            Type::Enum(name) => {
                let def = self
                    .schema
                    .enum_def(name)
                    .ok_or_else(|| fail(format!("unknown enum {name}")))?;
                let number = match json {
                    Value::String(s) => def
                        .values
                        .iter()
                        .find(|(n, _)| n == s)
                        .map(|(_, v)| *v)
                        .ok_or_else(|| {
                            let names: Vec<&str> =
                                def.values.iter().map(|(n, _)| n.as_str()).collect();
                            fail(format!(
                                "{s:?} is not a value of {name} ({})",
                                names.join(", ")
                            ))
                        })?,
                    Value::Number(_) => {
                        int_in(json, path, i32::MIN.into(), i32::MAX.into())? as i32
                    }
                    _ => return Err(expected()),
                };
                w.write_i32(number);
            }
            Type::List(element) | Type::Set(element) => {
                let items = json.as_array().ok_or_else(expected)?;
                w.collection_begin(wire_of(element), items.len());
                for (i, item) in items.iter().enumerate() {
                    self.write_value(w, element, item, &format!("{path}[{i}]"))?;
                }
            }
            Type::Map(key, value) => match json {
                Value::Object(entries) if is_scalar_key(key) => {
                    w.map_begin(wire_of(key), wire_of(value), entries.len());
                    for (k, v) in entries {
                        let key_json = key_from_string(key, k);
                        self.write_value(w, key, &key_json, &format!("{path}[{k:?}]"))?;
                        self.write_value(w, value, v, &format!("{path}.{k}"))?;
                    }
                }
                Value::Array(pairs) => {
                    w.map_begin(wire_of(key), wire_of(value), pairs.len());
                    for (i, pair) in pairs.iter().enumerate() {
                        let (Some(k), Some(v), 2) = (
                            pair.get(0),
                            pair.get(1),
                            pair.as_array().map_or(0, Vec::len),
                        ) else {
                            return Err(fail(format!("entry {i} must be a [key, value] pair")));
                        };
                        self.write_value(w, key, k, &format!("{path}[{i}][0]"))?;
                        self.write_value(w, value, v, &format!("{path}[{i}][1]"))?;
                    }
                }
                _ => return Err(expected()),
            },
            Type::Struct(name) => {
                let def = self
                    .schema
                    .struct_def(name)
                    .ok_or_else(|| fail(format!("unknown struct {name}")))?;
                self.write_struct(w, def, json, path)?;
            }
        }
        Ok(())
    }
}

fn kind(json: &Value) -> &'static str {
    aduib_core::envelope::json_kind(json)
}

fn int_in(json: &Value, path: &str, min: i64, max: i64) -> Result<i64, EncodeError> {
    let fail = |message: String| EncodeError {
        path: path.to_owned(),
        message,
    };
    let n = match json {
        Value::Number(n) => n
            .as_i64()
            .ok_or_else(|| fail(format!("{n} is not an integer")))?,
        // 64-bit values may come as strings, as protobuf JSON writes them.
        Value::String(s) => s
            .parse()
            .map_err(|_| fail(format!("{s:?} is not an integer")))?,
        other => return Err(fail(format!("expected an integer, got {}", kind(other)))),
    };
    if !(min..=max).contains(&n) {
        return Err(fail(format!("{n} is out of range {min}..={max}")));
    }
    Ok(n)
}

fn is_scalar_key(ty: &Type) -> bool {
    matches!(
        ty,
        Type::Bool
            | Type::Byte
            | Type::I16
            | Type::I32
            | Type::I64
            | Type::Double
            | Type::String
            | Type::Binary
            | Type::Enum(_)
    )
}

/// An object key as the JSON value of the key type (`"1"` → `1`).
fn key_from_string(ty: &Type, key: &str) -> Value {
    match ty {
        Type::Bool => key
            .parse::<bool>()
            .map_or_else(|_| Value::String(key.into()), Value::Bool),
        Type::Byte | Type::I16 | Type::I32 | Type::I64 => key
            .parse::<i64>()
            .map_or_else(|_| Value::String(key.into()), |n| Value::Number(n.into())),
        Type::Double => key
            .parse::<f64>()
            .ok()
            .and_then(Number::from_f64)
            .map_or_else(|| Value::String(key.into()), Value::Number),
        _ => Value::String(key.into()),
    }
}

/// Reads Thrift as JSON.
#[derive(Debug, Clone, Copy)]
pub struct Decoder<'s> {
    pub schema: &'s Schema,
}

impl Decoder<'_> {
    pub fn read_struct(
        &self,
        r: &mut Reader<'_>,
        def: &StructDef,
        path: &str,
    ) -> Result<Value, DecodeError> {
        self.read_fields(r, &def.fields, path)
    }

    /// A struct (or argument list) of `fields` as a JSON object.
    pub fn read_fields(
        &self,
        r: &mut Reader<'_>,
        fields: &[Field],
        path: &str,
    ) -> Result<Value, DecodeError> {
        r.struct_begin()?;
        let mut object = Map::new();
        while let Some((wire, id)) = r.field_begin()? {
            match fields.iter().find(|f| f.id == id) {
                Some(field) => {
                    let field_path = format!("{path}.{}", field.name);
                    let value = self.read_value(r, &field.ty, wire, &field_path)?;
                    object.insert(field.name.clone(), value);
                }
                // Fields this IDL does not know are skipped, as Thrift does.
                None => r.skip(wire)?,
            }
        }
        r.struct_end();
        Ok(Value::Object(object))
    }

    pub fn read_value(
        &self,
        r: &mut Reader<'_>,
        ty: &Type,
        wire: Wire,
        path: &str,
    ) -> Result<Value, DecodeError> {
        let expected = wire_of(ty);
        if wire != expected {
            return Err(DecodeError::Mismatch {
                path: path.to_owned(),
                message: format!("expected {} ({expected:?}), got {wire:?}", type_name(ty)),
            });
        }
        let mismatch = |message: String| DecodeError::Mismatch {
            path: path.to_owned(),
            message,
        };
        Ok(match ty {
            Type::Bool => Value::Bool(r.read_bool()?),
            Type::Byte => Value::Number(r.read_byte()?.into()),
            Type::I16 => Value::Number(r.read_i16()?.into()),
            Type::I32 => Value::Number(r.read_i32()?.into()),
            Type::I64 => Value::Number(r.read_i64()?.into()),
            Type::Double => Number::from_f64(r.read_double()?).map_or(Value::Null, Value::Number),
            Type::String => Value::String(r.read_string()?),
            Type::Binary => Value::String(BASE64.encode(r.read_binary()?)),
            Type::Enum(name) => {
                let number = r.read_i32()?;
                self.schema
                    .enum_def(name)
                    .and_then(|def| def.values.iter().find(|(_, v)| *v == number))
                    .map_or(Value::Number(number.into()), |(n, _)| {
                        Value::String(n.clone())
                    })
            }
            Type::List(element) | Type::Set(element) => {
                let (wire, size) = r.collection_begin()?;
                let mut items = Vec::with_capacity(size.min(1024));
                for i in 0..size {
                    items.push(self.read_value(r, element, wire, &format!("{path}[{i}]"))?);
                }
                Value::Array(items)
            }
            Type::Map(key, value) => {
                let (key_wire, value_wire, size) = r.map_begin()?;
                if is_scalar_key(key) {
                    let mut object = Map::new();
                    for i in 0..size {
                        let k = self.read_value(r, key, key_wire, &format!("{path}[{i}]"))?;
                        let k = match k {
                            Value::String(s) => s,
                            other => other.to_string(),
                        };
                        let v = self.read_value(r, value, value_wire, &format!("{path}.{k}"))?;
                        object.insert(k, v);
                    }
                    Value::Object(object)
                } else {
                    let mut pairs = Vec::with_capacity(size.min(1024));
                    for i in 0..size {
                        let k = self.read_value(r, key, key_wire, &format!("{path}[{i}][0]"))?;
                        let v =
                            self.read_value(r, value, value_wire, &format!("{path}[{i}][1]"))?;
                        pairs.push(Value::Array(vec![k, v]));
                    }
                    Value::Array(pairs)
                }
            }
            Type::Struct(name) => {
                let def = self
                    .schema
                    .struct_def(name)
                    .ok_or_else(|| mismatch(format!("unknown struct {name}")))?;
                self.read_struct(r, def, path)?
            }
        })
    }
}

/// A JSON value with every field of `ty` set to a default: one element in
/// collections, the first field of a union. Recursive types stop at `{}`.
pub fn template(schema: &Schema, ty: &Type, open: &mut Vec<String>) -> Value {
    match ty {
        Type::Bool => Value::Bool(false),
        Type::Byte | Type::I16 | Type::I32 | Type::I64 => Value::Number(0.into()),
        Type::Double => serde_json::json!(0.0),
        Type::String | Type::Binary => Value::String(String::new()),
        Type::Enum(name) => schema
            .enum_def(name)
            .and_then(|e| e.values.first())
            .map_or(Value::Number(0.into()), |(n, _)| Value::String(n.clone())),
        Type::List(t) | Type::Set(t) => Value::Array(vec![template(schema, t, open)]),
        Type::Map(k, v) => {
            let value = template(schema, v, open);
            if is_scalar_key(k) {
                let key = match template(schema, k, open) {
                    Value::String(s) if s.is_empty() => "key".to_owned(),
                    Value::String(s) => s,
                    other => other.to_string(),
                };
                serde_json::json!({ key: value })
            } else {
                serde_json::json!([[template(schema, k, open), value]])
            }
        }
        Type::Struct(name) => {
            if open.contains(name) {
                return Value::Object(Map::new());
            }
            let Some(def) = schema.struct_def(name) else {
                return Value::Null;
            };
            open.push(name.clone());
            let fields: Box<dyn Iterator<Item = _>> = if def.kind == StructKind::Union {
                Box::new(def.fields.iter().take(1))
            } else {
                Box::new(def.fields.iter())
            };
            let object: Map<String, Value> = fields
                .map(|f| (f.name.clone(), template(schema, &f.ty, open)))
                .collect();
            open.pop();
            Value::Object(object)
        }
    }
}
