//! Descriptors printed as proto text, for `aduib grpc describe`.

use std::fmt::Write;

use prost_reflect::{
    DescriptorPool, EnumDescriptor, FieldDescriptor, Kind, MessageDescriptor, MethodDescriptor,
    ServiceDescriptor,
};

use super::GrpcError;

/// Proto text for a service, method, message or enum named `symbol`
/// (`pkg.Service`, `pkg.Service/Method`, `pkg.Service.Method`, `pkg.Message`).
pub fn describe(pool: &DescriptorPool, symbol: &str) -> Result<String, GrpcError> {
    let symbol = symbol.trim_start_matches('.');
    if let Some(service) = pool.get_service_by_name(symbol) {
        return Ok(service_text(&service));
    }
    if let Some(message) = pool.get_message_by_name(symbol) {
        return Ok(message_text(&message, 0));
    }
    if let Some(enumeration) = pool.get_enum_by_name(symbol) {
        return Ok(enum_text(&enumeration, 0));
    }
    if let Ok(method) = super::find_method(pool, symbol) {
        return Ok(format!("{}\n", method_line(&method)));
    }
    Err(GrpcError::NotFound(format!(
        "{symbol} is not a service, method, message or enum in the schema"
    )))
}

fn service_text(service: &ServiceDescriptor) -> String {
    let mut out = format!(
        "// {}\nservice {} {{\n",
        service.parent_file().name(),
        service.name()
    );
    for method in service.methods() {
        let _ = writeln!(out, "  {}", method_line(&method));
    }
    out.push_str("}\n");
    out
}

fn method_line(method: &MethodDescriptor) -> String {
    let stream = |yes: bool| if yes { "stream " } else { "" };
    format!(
        "rpc {}({}.{}) returns ({}.{});",
        method.name(),
        stream(method.is_client_streaming()),
        method.input().full_name(),
        stream(method.is_server_streaming()),
        method.output().full_name(),
    )
}

fn message_text(message: &MessageDescriptor, depth: usize) -> String {
    let pad = "  ".repeat(depth);
    let mut out = format!("{pad}message {} {{\n", message.name());
    let mut printed_oneofs: Vec<String> = Vec::new();
    for field in message.fields() {
        match field.containing_oneof().filter(|o| !o.is_synthetic()) {
            Some(oneof) => {
                if printed_oneofs.iter().any(|n| n == oneof.name()) {
                    continue;
                }
                printed_oneofs.push(oneof.name().to_owned());
                let _ = writeln!(out, "{pad}  oneof {} {{", oneof.name());
                for member in oneof.fields() {
                    let _ = writeln!(out, "{pad}    {}", field_line(&member));
                }
                let _ = writeln!(out, "{pad}  }}");
            }
            None => {
                let _ = writeln!(out, "{pad}  {}", field_line(&field));
            }
        }
    }
    for nested in message.child_messages().filter(|m| !m.is_map_entry()) {
        out.push_str(&message_text(&nested, depth + 1));
    }
    for nested in message.child_enums() {
        out.push_str(&enum_text(&nested, depth + 1));
    }
    let _ = writeln!(out, "{pad}}}");
    out
}

fn field_line(field: &FieldDescriptor) -> String {
    let label = if field.is_map() {
        ""
    } else if field.is_list() {
        "repeated "
    } else if field.containing_oneof().is_some_and(|o| o.is_synthetic()) {
        "optional "
    } else {
        ""
    };
    format!(
        "{label}{} {} = {};",
        type_name(field),
        field.name(),
        field.number()
    )
}

fn type_name(field: &FieldDescriptor) -> String {
    if field.is_map()
        && let Kind::Message(entry) = field.kind()
    {
        let key = entry.map_entry_key_field();
        let value = entry.map_entry_value_field();
        return format!(
            "map<{}, {}>",
            kind_name(&key.kind()),
            kind_name(&value.kind())
        );
    }
    kind_name(&field.kind())
}

fn kind_name(kind: &Kind) -> String {
    match kind {
        Kind::Double => "double".into(),
        Kind::Float => "float".into(),
        Kind::Int32 => "int32".into(),
        Kind::Int64 => "int64".into(),
        Kind::Uint32 => "uint32".into(),
        Kind::Uint64 => "uint64".into(),
        Kind::Sint32 => "sint32".into(),
        Kind::Sint64 => "sint64".into(),
        Kind::Fixed32 => "fixed32".into(),
        Kind::Fixed64 => "fixed64".into(),
        Kind::Sfixed32 => "sfixed32".into(),
        Kind::Sfixed64 => "sfixed64".into(),
        Kind::Bool => "bool".into(),
        Kind::String => "string".into(),
        Kind::Bytes => "bytes".into(),
        Kind::Message(m) => format!(".{}", m.full_name()),
        Kind::Enum(e) => format!(".{}", e.full_name()),
    }
}

fn enum_text(enumeration: &EnumDescriptor, depth: usize) -> String {
    let pad = "  ".repeat(depth);
    let mut out = format!("{pad}enum {} {{\n", enumeration.name());
    for value in enumeration.values() {
        let _ = writeln!(out, "{pad}  {} = {};", value.name(), value.number());
    }
    let _ = writeln!(out, "{pad}}}");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool() -> DescriptorPool {
        DescriptorPool::decode(aduib_proto::FILE_DESCRIPTOR_SET).unwrap()
    }

    #[test]
    fn services_list_every_call_kind() {
        let text = describe(&pool(), "aduib.demo.v1.RichService").unwrap();
        assert!(
            text.contains("rpc Echo(.aduib.demo.v1.Rich) returns (.aduib.demo.v1.Rich);"),
            "{text}"
        );
        assert!(text.contains(
            "rpc Ticks(.aduib.demo.v1.TickRequest) returns (stream .aduib.demo.v1.Tick);"
        ));
        assert!(
            text.contains("rpc Sum(stream .aduib.demo.v1.Number) returns (.aduib.demo.v1.Total);")
        );
        assert!(text.contains(
            "rpc Chat(stream .aduib.demo.v1.Rich) returns (stream .aduib.demo.v1.Rich);"
        ));
    }

    #[test]
    fn messages_show_maps_oneofs_and_labels() {
        let text = describe(&pool(), "aduib.demo.v1.Rich").unwrap();
        for line in [
            "int64 big = 2;",
            "repeated int32 numbers = 6;",
            "map<string, int64> counts = 7;",
            "map<int32, .aduib.demo.v1.Inner> by_id = 8;",
            "oneof choice {",
            "    string text = 10;",
            ".google.protobuf.Any extra = 13;",
        ] {
            assert!(text.contains(line), "{line} in\n{text}");
        }
        assert!(
            describe(&pool(), "aduib.demo.v1.Color")
                .unwrap()
                .contains("COLOR_BLUE = 3;")
        );
        assert!(
            describe(&pool(), "aduib.demo.v1.RichService/Sum")
                .unwrap()
                .starts_with("rpc Sum(")
        );
        assert!(matches!(
            describe(&pool(), "nope.Nothing"),
            Err(GrpcError::NotFound(_))
        ));
    }
}
