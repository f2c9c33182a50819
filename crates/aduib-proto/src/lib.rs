//! Aduib v2 over protobuf: generated messages and gRPC stubs, the demo
//! protos, and the conversion between the JSON envelope and its protobuf form.
//!
//! The `.proto` files under `proto/` are compiled at build time with protox (a
//! pure-Rust protobuf compiler), so a fresh machine builds without `protoc`.
//!
//! - [`v2`]: package `aduib.rpc.v2`, wire-identical to aduib-rpc 2.0.1
//!   (`AduibRpcService`, `HealthService`, `TaskService`).
//! - [`demo`]: package `aduib.demo.v1`, the rich demo service that exercises
//!   every protobuf shape a generic gRPC client must handle.
//! - [`convert`]: [`AduibRequest`](aduib_core::AduibRequest) and
//!   [`AduibResponse`](aduib_core::AduibResponse) to and from protobuf, and
//!   JSON to and from `Struct`/`Value`.
//! - [`FILE_DESCRIPTOR_SET`]: every compiled file, for server reflection.

#![allow(missing_debug_implementations)]

pub mod convert;

/// `aduib.rpc.v2`.
#[allow(clippy::all, clippy::unwrap_used, clippy::expect_used)]
pub mod v2 {
    tonic::include_proto!("aduib.rpc.v2");
}

/// `aduib.demo.v1`.
#[allow(clippy::all, clippy::unwrap_used, clippy::expect_used)]
pub mod demo {
    tonic::include_proto!("aduib.demo.v1");
}

/// The encoded `FileDescriptorSet` of every compiled proto, imports included.
pub const FILE_DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/descriptors.bin"));

#[cfg(test)]
mod tests {
    use prost::Message;

    #[test]
    fn the_embedded_descriptor_set_decodes_and_names_every_service() {
        let set = prost_types::FileDescriptorSet::decode(super::FILE_DESCRIPTOR_SET).unwrap();
        let services: Vec<String> = set
            .file
            .iter()
            .flat_map(|f| {
                let package = f.package().to_owned();
                f.service
                    .iter()
                    .map(move |s| format!("{package}.{}", s.name()))
            })
            .collect();
        for expected in [
            "aduib.rpc.v2.AduibRpcService",
            "aduib.rpc.v2.TaskService",
            "aduib.rpc.v2.HealthService",
            "aduib.demo.v1.RichService",
        ] {
            assert!(
                services.iter().any(|s| s == expected),
                "{expected} in {services:?}"
            );
        }
    }

    #[test]
    fn a_request_encodes_to_the_peers_bytes() {
        // The bytes the peer's Python client sends for add(1, 2) (protocol doc §10).
        let request = super::v2::Request {
            aduib_rpc: "2.0".into(),
            id: "g1".into(),
            method: "rpc.v2/CaculService/CaculService.add".into(),
            data: Some(super::convert::map_to_struct(
                serde_json::json!({"x": 1, "y": 2})
                    .as_object()
                    .unwrap()
                    .clone(),
            )),
            ..Default::default()
        };
        let hex: String = request
            .encode_to_vec()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let method: String = b"rpc.v2/CaculService/CaculService.add"
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(
            hex,
            format!(
                "0a03322e30120267311a24{method}2a20\
                 0a0e0a0178120911000000000000f03f\
                 0a0e0a01791209110000000000000040"
            )
        );
    }
}
