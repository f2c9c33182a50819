//! JSON Schemas (draft 2020-12) and filled-in templates for protobuf messages,
//! following the canonical JSON mapping: field names in lowerCamelCase, 64-bit
//! integers as strings, enums by name, bytes as base64, well-known types in
//! their JSON forms.

use std::collections::BTreeSet;

use prost_reflect::{FieldDescriptor, Kind, MessageDescriptor};
use serde_json::{Map, Value, json};

/// A schema for `message`, with one `$defs` entry per message type it uses
/// (so recursive types are fine).
pub fn schema(message: &MessageDescriptor) -> Value {
    let mut defs = Map::new();
    let root = message_ref(message, &mut defs);
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": message.full_name(),
        "$ref": root["$ref"],
        "$defs": defs,
    })
}

fn message_ref(message: &MessageDescriptor, defs: &mut Map<String, Value>) -> Value {
    if let Some(known) = well_known_schema(message) {
        return known;
    }
    let name = message.full_name().to_owned();
    if !defs.contains_key(&name) {
        // Reserve the name first: a recursive field then finds it.
        defs.insert(name.clone(), Value::Null);
        let mut properties = Map::new();
        for field in message.fields() {
            let mut schema = field_schema(&field, defs);
            if let Some(oneof) = field.containing_oneof().filter(|o| !o.is_synthetic())
                && let Value::Object(object) = &mut schema
            {
                object.insert(
                    "description".into(),
                    json!(format!(
                        "one of `{}`: set at most one of its fields",
                        oneof.name()
                    )),
                );
            }
            properties.insert(field.json_name().to_owned(), schema);
        }
        defs.insert(
            name.clone(),
            json!({"type": "object", "title": name, "properties": properties, "additionalProperties": false}),
        );
    }
    json!({ "$ref": format!("#/$defs/{name}") })
}

fn field_schema(field: &FieldDescriptor, defs: &mut Map<String, Value>) -> Value {
    if field.is_map()
        && let Kind::Message(entry) = field.kind()
    {
        let value = kind_schema(&entry.map_entry_value_field().kind(), defs);
        return json!({"type": "object", "additionalProperties": value});
    }
    let item = kind_schema(&field.kind(), defs);
    if field.is_list() {
        json!({"type": "array", "items": item})
    } else {
        item
    }
}

fn kind_schema(kind: &Kind, defs: &mut Map<String, Value>) -> Value {
    match kind {
        Kind::Double | Kind::Float => json!({"type": "number"}),
        Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => {
            json!({"type": "integer", "minimum": i32::MIN, "maximum": i32::MAX})
        }
        Kind::Uint32 | Kind::Fixed32 => {
            json!({"type": "integer", "minimum": 0, "maximum": u32::MAX})
        }
        Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => {
            json!({"type": ["string", "integer"], "pattern": "^-?[0-9]+$"})
        }
        Kind::Uint64 | Kind::Fixed64 => {
            json!({"type": ["string", "integer"], "pattern": "^[0-9]+$"})
        }
        Kind::Bool => json!({"type": "boolean"}),
        Kind::String => json!({"type": "string"}),
        Kind::Bytes => json!({"type": "string", "contentEncoding": "base64"}),
        Kind::Enum(e) => {
            let names: Vec<Value> = e.values().map(|v| json!(v.name())).collect();
            let numbers: Vec<Value> = e.values().map(|v| json!(v.number())).collect();
            json!({"enum": names.into_iter().chain(numbers).collect::<Vec<_>>(), "title": e.full_name()})
        }
        Kind::Message(m) => message_ref(m, defs),
    }
}

fn well_known_schema(message: &MessageDescriptor) -> Option<Value> {
    let wrapped = |t: &str| json!({"type": [t, "null"]});
    Some(match message.full_name() {
        "google.protobuf.Timestamp" => json!({"type": "string", "format": "date-time"}),
        "google.protobuf.Duration" => {
            json!({"type": "string", "pattern": "^-?[0-9]+(\\.[0-9]{1,9})?s$"})
        }
        "google.protobuf.Struct" => json!({"type": "object"}),
        "google.protobuf.Value" => json!({}),
        "google.protobuf.ListValue" => json!({"type": "array"}),
        "google.protobuf.FieldMask" => json!({"type": "string"}),
        "google.protobuf.Empty" => json!({"type": "object", "additionalProperties": false}),
        "google.protobuf.Any" => json!({
            "type": "object",
            "properties": {"@type": {"type": "string"}},
            "required": ["@type"],
        }),
        "google.protobuf.DoubleValue" | "google.protobuf.FloatValue" => wrapped("number"),
        "google.protobuf.Int32Value" | "google.protobuf.UInt32Value" => wrapped("integer"),
        "google.protobuf.Int64Value"
        | "google.protobuf.UInt64Value"
        | "google.protobuf.StringValue"
        | "google.protobuf.BytesValue" => wrapped("string"),
        "google.protobuf.BoolValue" => wrapped("boolean"),
        _ => return None,
    })
}

/// A JSON value of `message` with every field set to a default, ready to edit:
/// one element in lists and maps, the first field of each `oneof`.
pub fn template(message: &MessageDescriptor) -> Value {
    message_template(message, &mut BTreeSet::new())
}

fn message_template(message: &MessageDescriptor, open: &mut BTreeSet<String>) -> Value {
    if let Some(known) = well_known_template(message) {
        return known;
    }
    // A type inside itself stops the recursion.
    if !open.insert(message.full_name().to_owned()) {
        return json!({});
    }
    let mut object = Map::new();
    let mut oneofs_done: BTreeSet<String> = BTreeSet::new();
    for field in message.fields() {
        if let Some(oneof) = field.containing_oneof().filter(|o| !o.is_synthetic())
            && !oneofs_done.insert(oneof.name().to_owned())
        {
            continue;
        }
        if let Some(value) = field_template(&field, open) {
            object.insert(field.json_name().to_owned(), value);
        }
    }
    open.remove(message.full_name());
    Value::Object(object)
}

fn field_template(field: &FieldDescriptor, open: &mut BTreeSet<String>) -> Option<Value> {
    if field.is_map()
        && let Kind::Message(entry) = field.kind()
    {
        let key = match kind_template(&entry.map_entry_key_field().kind(), open)? {
            Value::String(s) if s.is_empty() => "key".to_owned(),
            Value::String(s) => s,
            other => other.to_string(),
        };
        let value = kind_template(&entry.map_entry_value_field().kind(), open)?;
        return Some(json!({ key: value }));
    }
    let item = kind_template(&field.kind(), open)?;
    Some(if field.is_list() { json!([item]) } else { item })
}

fn kind_template(kind: &Kind, open: &mut BTreeSet<String>) -> Option<Value> {
    Some(match kind {
        Kind::Double | Kind::Float => json!(0.0),
        Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 | Kind::Uint32 | Kind::Fixed32 => json!(0),
        Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 | Kind::Uint64 | Kind::Fixed64 => json!("0"),
        Kind::Bool => json!(false),
        Kind::String | Kind::Bytes => json!(""),
        Kind::Enum(e) => json!(e.default_value().name()),
        Kind::Message(m) if m.full_name() == "google.protobuf.Any" => {
            // An Any must name a type the schema knows; Empty is the simplest.
            let empty = m
                .parent_pool()
                .get_message_by_name("google.protobuf.Empty")?;
            json!({"@type": format!("type.googleapis.com/{}", empty.full_name())})
        }
        Kind::Message(m) => message_template(m, open),
    })
}

fn well_known_template(message: &MessageDescriptor) -> Option<Value> {
    Some(match message.full_name() {
        "google.protobuf.Timestamp" => json!("1970-01-01T00:00:00Z"),
        "google.protobuf.Duration" => json!("0s"),
        "google.protobuf.Struct" | "google.protobuf.Empty" => json!({}),
        "google.protobuf.Value" => Value::Null,
        "google.protobuf.ListValue" => json!([]),
        "google.protobuf.FieldMask" => json!(""),
        "google.protobuf.DoubleValue" | "google.protobuf.FloatValue" => json!(0.0),
        "google.protobuf.Int32Value" | "google.protobuf.UInt32Value" => json!(0),
        "google.protobuf.Int64Value" | "google.protobuf.UInt64Value" => json!("0"),
        "google.protobuf.StringValue" | "google.protobuf.BytesValue" => json!(""),
        "google.protobuf.BoolValue" => json!(false),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost_reflect::{DescriptorPool, DynamicMessage};

    fn rich() -> MessageDescriptor {
        DescriptorPool::decode(aduib_proto::FILE_DESCRIPTOR_SET)
            .unwrap()
            .get_message_by_name("aduib.demo.v1.Rich")
            .unwrap()
    }

    #[test]
    fn the_template_parses_back_into_the_message() {
        let template = template(&rich());
        assert_eq!(template["big"], "0");
        assert_eq!(template["color"], "COLOR_UNSPECIFIED");
        assert_eq!(template["counts"], json!({"key": "0"}));
        assert_eq!(
            template["byId"],
            json!({"0": {"label": "", "tags": [""], "point": {"x": 0.0, "y": 0.0}}})
        );
        assert_eq!(template["text"], "", "first field of the oneof");
        assert!(template.get("number").is_none(), "only one oneof member");
        assert_eq!(template["at"], "1970-01-01T00:00:00Z");
        DynamicMessage::deserialize(rich(), template).unwrap();
    }

    #[test]
    fn the_schema_follows_the_json_mapping() {
        let schema = schema(&rich());
        assert_eq!(schema["$ref"], "#/$defs/aduib.demo.v1.Rich");
        let rich = &schema["$defs"]["aduib.demo.v1.Rich"]["properties"];
        assert_eq!(rich["big"]["type"], json!(["string", "integer"]));
        assert_eq!(rich["blob"]["contentEncoding"], "base64");
        assert_eq!(
            rich["byId"]["additionalProperties"]["$ref"],
            "#/$defs/aduib.demo.v1.Inner"
        );
        assert_eq!(rich["took"]["type"], "string");
        assert!(
            rich["color"]["enum"]
                .as_array()
                .unwrap()
                .contains(&json!("COLOR_RED"))
        );
        assert!(schema["$defs"]["aduib.demo.v1.Point"].is_object());
    }
}
