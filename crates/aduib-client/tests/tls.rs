//! TLS and mutual TLS for the generic gRPC client, against a real tonic TLS
//! server with certificates made for the test.

// Test helpers may panic: a panic is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use aduib_client::anygrpc::{
    self, AnyGrpc, ConnectOptions, Event, GrpcError, SchemaSource, TlsOptions,
};
use aduib_proto::demo::rich_service_server::RichServiceServer;
use aduib_server::demo_grpc::RichDemo;
use futures::StreamExt;
use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
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
