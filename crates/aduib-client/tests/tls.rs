//! TLS and mutual TLS, with certificates made for the test: the generic gRPC
//! client against a real tonic TLS server; the Aduib client (JSON-RPC, REST,
//! gRPC) and the client stack against our real server behind a TLS front.

// Test helpers may panic: a panic is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use aduib_client::anygrpc::{
    self, AnyGrpc, ConnectOptions, Event, GrpcError, SchemaSource, TlsOptions,
};
use aduib_client::stack::{RetryPolicy, ServiceClient, ServiceTarget, StackConfig};
use aduib_client::{AduibClient, ClientConfig, ClientError, Transport as ClientTransport};
use aduib_core::AduibRequest;
use aduib_proto::demo::rich_service_server::RichServiceServer;
use aduib_registry::balance::Strategy;
use aduib_registry::{MemoryRegistry, Registration, Registry, Scope};
use aduib_server::Transport;
use aduib_server::demo_grpc::RichDemo;
use futures::StreamExt;
use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tonic::transport::{Certificate, Identity, Server, ServerTlsConfig};

struct Pki {
    dir: PathBuf,
    ca: String,
    server: (String, String),
}

impl Pki {
    /// A CA, a server certificate for `localhost` and a client certificate,
    /// written as PEM files.
    fn new(name: &str) -> Pki {
        let dir = std::env::temp_dir().join(format!("aduib-tls-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let ca_key = KeyPair::generate().unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca = ca_params.self_signed(&ca_key).unwrap();
        let leaf = |names: Vec<String>| {
            let key = KeyPair::generate().unwrap();
            let cert = CertificateParams::new(names)
                .unwrap()
                .signed_by(&key, &ca, &ca_key)
                .unwrap();
            (cert.pem(), key.serialize_pem())
        };
        let server = leaf(vec!["localhost".into()]);
        let client = leaf(vec!["client".into()]);
        std::fs::write(dir.join("ca.pem"), ca.pem()).unwrap();
        std::fs::write(dir.join("client.pem"), &client.0).unwrap();
        std::fs::write(dir.join("client.key"), &client.1).unwrap();
        Pki {
            dir,
            ca: ca.pem(),
            server,
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Serves the rich demo over TLS; with `require_client_cert`, mTLS.
    async fn serve(&self, require_client_cert: bool) -> String {
        let mut tls =
            ServerTlsConfig::new().identity(Identity::from_pem(&self.server.0, &self.server.1));
        if require_client_cert {
            tls = tls.client_ca_root(Certificate::from_pem(&self.ca));
        }
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let router = Server::builder()
            .tls_config(tls)
            .unwrap()
            .add_service(RichServiceServer::new(RichDemo));
        tokio::spawn(
            router.serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
        );
        format!("localhost:{port}")
    }
}

impl Pki {
    /// A TLS front on a free loopback port for the plaintext server at
    /// `upstream`: it terminates TLS with the server certificate (for
    /// `localhost` only), requiring a client certificate from the test CA
    /// when `require_client_cert`, and copies bytes both ways.
    async fn front(&self, upstream: String, alpn: &[&[u8]], require_client_cert: bool) -> u16 {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .unwrap();
        let builder = if require_client_cert {
            let mut roots = rustls::RootCertStore::empty();
            roots
                .add(CertificateDer::from_pem_slice(self.ca.as_bytes()).unwrap())
                .unwrap();
            let verifier =
                rustls::server::WebPkiClientVerifier::builder_with_provider(roots.into(), provider)
                    .build()
                    .unwrap();
            builder.with_client_cert_verifier(verifier)
        } else {
            builder.with_no_client_auth()
        };
        let chain = vec![CertificateDer::from_pem_slice(self.server.0.as_bytes()).unwrap()];
        let key = PrivateKeyDer::from_pem_slice(self.server.1.as_bytes()).unwrap();
        let mut config = builder.with_single_cert(chain, key).unwrap();
        config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                let upstream = upstream.clone();
                tokio::spawn(async move {
                    // A refused handshake just ends this connection.
                    let Ok(mut tls) = acceptor.accept(socket).await else {
                        return;
                    };
                    let mut plain = tokio::net::TcpStream::connect(upstream).await.unwrap();
                    let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
                });
            }
        });
        port
    }

    fn trusted(&self) -> TlsOptions {
        TlsOptions {
            ca_cert: Some(self.path("ca.pem")),
            ..TlsOptions::default()
        }
    }

    fn with_client_cert(&self) -> TlsOptions {
        TlsOptions {
            client_cert: Some((self.path("client.pem"), self.path("client.key"))),
            ..self.trusted()
        }
    }
}

/// The demo server on `transport` behind a TLS front: the front's port.
async fn demo_behind_tls(
    pki: &Pki,
    transport: Transport,
    require_client_cert: bool,
) -> (aduib_server::RunningServer, u16) {
    let (server, upstream) = support::demo_target(transport).await;
    let alpn: &[&[u8]] = if transport == Transport::Grpc {
        &[b"h2"]
    } else {
        &[b"http/1.1"]
    };
    let port = pki.front(upstream, alpn, require_client_cert).await;
    (server, port)
}

fn client_transport(transport: Transport) -> ClientTransport {
    match transport {
        Transport::Grpc => ClientTransport::Grpc,
        Transport::Rest => ClientTransport::Rest,
        _ => ClientTransport::JsonRpc,
    }
}

async fn add(
    transport: Transport,
    url: String,
    tls: Option<TlsOptions>,
) -> Result<serde_json::Value, ClientError> {
    let client = AduibClient::new(ClientConfig {
        transport: client_transport(transport),
        url,
        headers: vec![],
        timeout: Some(std::time::Duration::from_secs(5)),
        limits: aduib_core::Limits::default(),
        tls,
    })?;
    let data = serde_json::json!({"x": 1, "y": 2});
    let request = AduibRequest::new(
        "tls",
        "rpc.v2/CaculService/CaculService.add",
        data.as_object().cloned().unwrap(),
    );
    let response = client.call(&request).await?;
    Ok(response.result.unwrap_or_default())
}

fn url(transport: Transport, host: &str, port: u16) -> String {
    match transport {
        Transport::Grpc => format!("{host}:{port}"),
        _ => format!("http://{host}:{port}"),
    }
}

#[tokio::test]
async fn aduib_calls_go_over_tls_on_jsonrpc_rest_and_grpc() {
    let pki = Pki::new("aduib");
    for transport in [Transport::JsonRpc, Transport::Rest, Transport::Grpc] {
        let (_server, port) = demo_behind_tls(&pki, transport, false).await;
        let at = url(transport, "localhost", port);
        assert_eq!(
            add(transport, at.clone(), Some(pki.trusted()))
                .await
                .unwrap(),
            3,
            "{transport:?}"
        );

        // The system roots do not know the test CA: a clear TLS failure.
        let error = add(transport, at.clone(), Some(TlsOptions::default()))
            .await
            .unwrap_err();
        let message = error.to_string().to_lowercase();
        assert!(
            message.contains("certificate") || message.contains("tls"),
            "{transport:?}: {message}"
        );

        // `insecure` skips the check; plaintext to a TLS port fails.
        let insecure = TlsOptions {
            insecure: true,
            ..TlsOptions::default()
        };
        assert_eq!(add(transport, at.clone(), Some(insecure)).await.unwrap(), 3);
        assert!(add(transport, at, None).await.is_err(), "{transport:?}");
    }
}

#[tokio::test]
async fn aduib_mutual_tls_needs_the_client_certificate() {
    let pki = Pki::new("aduib-mtls");
    for transport in [Transport::JsonRpc, Transport::Grpc] {
        let (_server, port) = demo_behind_tls(&pki, transport, true).await;
        let at = url(transport, "localhost", port);
        assert!(
            add(transport, at.clone(), Some(pki.trusted()))
                .await
                .is_err(),
            "{transport:?}: refused without a client certificate"
        );
        assert_eq!(
            add(transport, at, Some(pki.with_client_cert()))
                .await
                .unwrap(),
            3,
            "{transport:?}"
        );
    }
}

#[tokio::test]
async fn the_server_name_is_verified_as_given_when_dialling_an_address() {
    let pki = Pki::new("aduib-name");
    for transport in [Transport::JsonRpc, Transport::Grpc] {
        let (_server, port) = demo_behind_tls(&pki, transport, false).await;
        // The certificate names localhost, not 127.0.0.1.
        let at = url(transport, "127.0.0.1", port);
        assert!(
            add(transport, at.clone(), Some(pki.trusted()))
                .await
                .is_err()
        );
        let named = TlsOptions {
            domain: Some("localhost".into()),
            ..pki.trusted()
        };
        assert_eq!(add(transport, at, Some(named)).await.unwrap(), 3);
    }
}

#[tokio::test]
async fn the_client_stack_calls_registered_instances_over_mutual_tls() {
    let pki = Pki::new("stack");
    let (_server, port) = demo_behind_tls(&pki, Transport::JsonRpc, true).await;
    let registry = Arc::new(MemoryRegistry::new());
    registry
        .register(&Registration {
            scope: Scope::default(),
            service: "CaculService".into(),
            ip: "127.0.0.1".into(),
            port,
            weight: 1.0,
            ephemeral: true,
            cluster: None,
            metadata: BTreeMap::from([("scheme".to_owned(), "jsonrpc".to_owned())]),
        })
        .await
        .unwrap();
    let stack = |tls: TlsOptions| {
        ServiceClient::new(
            registry.clone(),
            StackConfig {
                target: ServiceTarget {
                    scope: Scope::default(),
                    service: "CaculService".into(),
                    strategy: Strategy::RoundRobin,
                    instance: None,
                    transport: Some(ClientTransport::JsonRpc),
                    hash_field: None,
                },
                retry: RetryPolicy::new(1, false),
                timeout: Some(std::time::Duration::from_secs(5)),
                auth: None,
                headers: Vec::new(),
                limits: aduib_core::Limits::default(),
                tls: Some(tls),
                refresh: std::time::Duration::from_secs(5),
            },
        )
    };
    let data = serde_json::json!({"x": 20, "y": 22});
    let request = AduibRequest::new(
        "stack",
        "rpc.v2/CaculService/CaculService.add",
        data.as_object().cloned().unwrap(),
    );
    // Instances are registered by address; the certificate names localhost.
    let named = TlsOptions {
        domain: Some("localhost".into()),
        ..pki.with_client_cert()
    };
    let (response, route) = stack(named).call(&request).await.unwrap();
    assert_eq!(response.result, Some(serde_json::json!(42)));
    assert_eq!(route.instance, format!("127.0.0.1:{port}"));

    let without_cert = TlsOptions {
        domain: Some("localhost".into()),
        ..pki.trusted()
    };
    assert!(stack(without_cert).call(&request).await.is_err());
}

impl Drop for Pki {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn protos() -> SchemaSource {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../proto/demo");
    SchemaSource::ProtoFiles {
        protos: vec![root.join("aduib/demo/v1/rich.proto")],
        includes: vec![root],
    }
}

async fn echo(target: &str, tls: TlsOptions) -> Result<serde_json::Value, GrpcError> {
    let mut options = ConnectOptions::new(target);
    options.tls = Some(tls);
    options.timeout = Some(std::time::Duration::from_secs(5));
    let client = AnyGrpc::new(options)?;
    let pool = client.schema(&protos(), &[]).await?;
    let method = anygrpc::find_method(&pool, "aduib.demo.v1.RichService/Echo")?;
    let inputs = anygrpc::parse_messages(&method.input(), r#"{"name": "over tls"}"#)?;
    let mut events = client.call(&method, inputs).await?;
    while let Some(event) = events.next().await {
        if let Event::Message(message) = event? {
            return anygrpc::message_to_json(&message);
        }
    }
    panic!("no message");
}

#[tokio::test]
async fn tls_verifies_against_the_given_ca_or_skips_with_insecure() {
    let pki = Pki::new("tls");
    let target = pki.serve(false).await;
    let expected = serde_json::json!({"name": "over tls"});

    // The system roots do not know the test CA.
    let err = echo(&target, TlsOptions::default()).await.unwrap_err();
    assert!(
        matches!(err, GrpcError::Connect { .. } | GrpcError::Status(_)),
        "{err}"
    );

    let trusted = TlsOptions {
        ca_cert: Some(pki.path("ca.pem")),
        ..TlsOptions::default()
    };
    assert_eq!(echo(&target, trusted).await.unwrap(), expected);

    let insecure = TlsOptions {
        insecure: true,
        ..TlsOptions::default()
    };
    assert_eq!(echo(&target, insecure).await.unwrap(), expected);
}

#[tokio::test]
async fn mutual_tls_needs_the_client_certificate() {
    let pki = Pki::new("mtls");
    let target = pki.serve(true).await;
    let without = TlsOptions {
        ca_cert: Some(pki.path("ca.pem")),
        ..TlsOptions::default()
    };
    assert!(
        echo(&target, without).await.is_err(),
        "refused without a client certificate"
    );

    let client_cert = Some((pki.path("client.pem"), pki.path("client.key")));
    let with = TlsOptions {
        ca_cert: Some(pki.path("ca.pem")),
        client_cert: client_cert.clone(),
        ..TlsOptions::default()
    };
    assert_eq!(echo(&target, with).await.unwrap()["name"], "over tls");

    let insecure_with_cert = TlsOptions {
        client_cert,
        insecure: true,
        ..TlsOptions::default()
    };
    assert_eq!(
        echo(&target, insecure_with_cert).await.unwrap()["name"],
        "over tls"
    );
}
