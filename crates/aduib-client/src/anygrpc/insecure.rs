//! `--insecure`: TLS that accepts any server certificate, for test servers
//! with self-signed certificates. tonic's own TLS always verifies, so this
//! connects through a rustls connector of our own.

use std::sync::Arc;

use hyper_util::rt::TokioIo;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use tonic::transport::{Channel, Endpoint};

use super::GrpcError;

/// Accepts every certificate; signatures are still checked, so the peer must
/// hold the key of the certificate it shows.
#[derive(Debug)]
struct AcceptAnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// A lazily connecting channel to `target` over TLS without certificate
/// verification, presenting `client_cert` (PEM certificate chain and key) when
/// given.
pub fn channel(
    endpoint: Endpoint,
    target: &str,
    client_cert: Option<(Vec<u8>, Vec<u8>)>,
) -> Result<Channel, GrpcError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| GrpcError::Setup(format!("TLS: {e}")))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate(provider)));
    let mut config = match client_cert {
        None => builder.with_no_client_auth(),
        Some((cert_pem, key_pem)) => {
            let certs = rustls_pemfile_certs(&cert_pem)?;
            let key = PrivateKeyDer::from_pem_slice(&key_pem)
                .map_err(|e| GrpcError::Setup(format!("TLS key: {e}")))?;
            builder
                .with_client_auth_cert(certs, key)
                .map_err(|e| GrpcError::Setup(format!("TLS client certificate: {e}")))?
        }
    };
    config.alpn_protocols = vec![b"h2".to_vec()];
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let host = target
        .rsplit_once(':')
        .map_or(target, |(host, _)| host)
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    let server_name = ServerName::try_from(host)
        .map_err(|e| GrpcError::Setup(format!("TLS server name: {e}")))?;
    let address = target.to_owned();
    let connect = tower::service_fn(move |_: http::Uri| {
        let connector = connector.clone();
        let server_name = server_name.clone();
        let address = address.clone();
        async move {
            let tcp = tokio::net::TcpStream::connect(&address).await?;
            tcp.set_nodelay(true)?;
            let tls = connector.connect(server_name, tcp).await?;
            Ok::<_, std::io::Error>(TokioIo::new(tls))
        }
    });
    Ok(endpoint.connect_with_connector_lazy(connect))
}

fn rustls_pemfile_certs(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, GrpcError> {
    CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| GrpcError::Setup(format!("TLS certificate: {e}")))
}
