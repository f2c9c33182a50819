//! TLS for every HTTP and gRPC client here: one rustls configuration built
//! from the caller's settings, so a custom CA, mutual TLS, a server name
//! that differs from the address, and `insecure` mean the same on JSON-RPC,
//! REST, Aduib gRPC and any gRPC service.
//!
//! gRPC connects through a rustls connector of ours rather than tonic's TLS,
//! because tonic's always verifies and has no server-name override for a
//! certificate checked against another name than the one dialled.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use hyper_util::rt::TokioIo;
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};
use tonic::transport::{Channel, Endpoint};

/// TLS settings; where a client takes an `Option<TlsOptions>`, `None` is
/// plaintext.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsOptions {
    /// PEM CA certificate(s) to trust (else the system roots).
    pub ca_cert: Option<PathBuf>,
    /// PEM client certificate chain and key, for mutual TLS.
    pub client_cert: Option<(PathBuf, PathBuf)>,
    /// The name the server's certificate must carry, when it differs from
    /// the host dialled (an IP address, a tunnel).
    pub domain: Option<String>,
    /// Accept any server certificate (self-signed test servers). Handshake
    /// signatures are still checked.
    pub insecure: bool,
}

/// TLS could not be set up from the settings given.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("TLS: {0}")]
pub struct TlsError(String);

/// ALPN for a gRPC connection.
pub(crate) const ALPN_H2: &[&[u8]] = &[b"h2"];
/// ALPN for an HTTP connection: HTTP/2 when the server offers it.
pub(crate) const ALPN_HTTP: &[&[u8]] = &[b"h2", b"http/1.1"];

impl TlsOptions {
    /// The rustls configuration for these settings, offering `alpn`.
    pub fn client_config(&self, alpn: &[&[u8]]) -> Result<rustls::ClientConfig, TlsError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let verifier: Arc<dyn ServerCertVerifier> = if self.insecure {
            Arc::new(Verifier {
                certificate: Certificate::Any,
                provider: provider.clone(),
            })
        } else {
            let roots = match &self.ca_cert {
                Some(path) => Arc::new(roots_from(path)?),
                None => system_roots()?,
            };
            let webpki = WebPkiServerVerifier::builder_with_provider(roots, provider.clone())
                .build()
                .map_err(|e| TlsError(format!("certificate verifier: {e}")))?;
            match &self.domain {
                Some(domain) => Arc::new(Verifier {
                    certificate: Certificate::VerifiedAs {
                        name: server_name(domain)?,
                        webpki,
                    },
                    provider: provider.clone(),
                }),
                None => webpki,
            }
        };
        let builder = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsError(e.to_string()))?
            .dangerous()
            .with_custom_certificate_verifier(verifier);
        let mut config = match &self.client_cert {
            None => builder.with_no_client_auth(),
            Some((cert, key)) => {
                let chain = certificates(&read(cert)?, cert)?;
                let key = PrivateKeyDer::from_pem_slice(&read(key)?)
                    .map_err(|e| TlsError(format!("private key {}: {e}", key.display())))?;
                builder
                    .with_client_auth_cert(chain, key)
                    .map_err(|e| TlsError(format!("client certificate: {e}")))?
            }
        };
        config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        Ok(config)
    }

    /// A lazily connecting gRPC channel to `target` (`host:port`) over TLS.
    pub(crate) fn grpc_channel(
        &self,
        endpoint: Endpoint,
        target: &str,
    ) -> Result<Channel, TlsError> {
        let connector = tokio_rustls::TlsConnector::from(Arc::new(self.client_config(ALPN_H2)?));
        let host = target
            .rsplit_once(':')
            .map_or(target, |(host, _)| host)
            .trim_start_matches('[')
            .trim_end_matches(']');
        // SNI names the host dialled; `domain` only changes what is verified.
        let sni = server_name(host)?;
        let address = target.to_owned();
        let connect = tower::service_fn(move |_: http::Uri| {
            let connector = connector.clone();
            let sni = sni.clone();
            let address = address.clone();
            async move {
                let tcp = tokio::net::TcpStream::connect(&address).await?;
                tcp.set_nodelay(true)?;
                let tls = connector.connect(sni, tcp).await?;
                Ok::<_, std::io::Error>(TokioIo::new(tls))
            }
        });
        Ok(endpoint.connect_with_connector_lazy(connect))
    }
}

fn server_name(name: &str) -> Result<ServerName<'static>, TlsError> {
    ServerName::try_from(name.to_owned())
        .map_err(|e| TlsError(format!("server name {name:?}: {e}")))
}

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|e| TlsError(format!("cannot read {}: {e}", path.display())))
}

fn certificates(pem: &[u8], path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError(format!("certificate {}: {e}", path.display())))?;
    if certs.is_empty() {
        return Err(TlsError(format!(
            "no PEM certificate in {}",
            path.display()
        )));
    }
    Ok(certs)
}

fn roots_from(path: &Path) -> Result<RootCertStore, TlsError> {
    let mut roots = RootCertStore::empty();
    for cert in certificates(&read(path)?, path)? {
        roots
            .add(cert)
            .map_err(|e| TlsError(format!("CA certificate {}: {e}", path.display())))?;
    }
    Ok(roots)
}

/// The system's trusted roots, read once per process.
fn system_roots() -> Result<Arc<RootCertStore>, TlsError> {
    static ROOTS: OnceLock<Arc<RootCertStore>> = OnceLock::new();
    let roots = ROOTS.get_or_init(|| {
        let mut roots = RootCertStore::empty();
        let found = rustls_native_certs::load_native_certs();
        for error in &found.errors {
            tracing::warn!(%error, "reading the system's trusted certificates");
        }
        roots.add_parsable_certificates(found.certs);
        Arc::new(roots)
    });
    if roots.is_empty() {
        return Err(TlsError(
            "the system has no trusted root certificates; give a CA certificate".into(),
        ));
    }
    Ok(roots.clone())
}

/// A server-certificate check other than rustls's usual one. Handshake
/// signatures are always checked (with the provider's algorithms, as
/// rustls's own verifier does), so the peer must hold the key of the
/// certificate it shows.
#[derive(Debug)]
struct Verifier {
    certificate: Certificate,
    provider: Arc<CryptoProvider>,
}

#[derive(Debug)]
enum Certificate {
    /// Any certificate (`insecure`, for self-signed test servers).
    Any,
    /// Verified against `name` instead of the host dialled.
    VerifiedAs {
        name: ServerName<'static>,
        webpki: Arc<WebPkiServerVerifier>,
    },
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _dialled: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match &self.certificate {
            Certificate::Any => Ok(ServerCertVerified::assertion()),
            Certificate::VerifiedAs { name, webpki } => {
                webpki.verify_server_cert(end_entity, intermediates, name, ocsp_response, now)
            }
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algorithms = &self.provider.signature_verification_algorithms;
        verify_tls12_signature(message, cert, dss, algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algorithms = &self.provider.signature_verification_algorithms;
        verify_tls13_signature(message, cert, dss, algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unreadable_or_empty_files_are_named() {
        let missing = TlsOptions {
            ca_cert: Some("/nonexistent/ca.pem".into()),
            ..TlsOptions::default()
        };
        let error = missing.client_config(ALPN_HTTP).unwrap_err();
        assert!(error.to_string().contains("/nonexistent/ca.pem"), "{error}");

        let empty = std::env::temp_dir().join(format!("aduib-empty-{}.pem", std::process::id()));
        std::fs::write(&empty, "not a certificate").unwrap();
        let options = TlsOptions {
            ca_cert: Some(empty.clone()),
            ..TlsOptions::default()
        };
        let error = options.client_config(ALPN_HTTP).unwrap_err();
        let _ = std::fs::remove_file(&empty);
        assert!(error.to_string().contains("no PEM certificate"), "{error}");
    }

    #[test]
    fn a_bad_server_name_is_refused_before_connecting() {
        let key = rcgen::KeyPair::generate().unwrap();
        let ca = rcgen::CertificateParams::new(vec!["localhost".to_owned()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        let path = std::env::temp_dir().join(format!("aduib-ca-{}.pem", std::process::id()));
        std::fs::write(&path, ca.pem()).unwrap();
        let options = TlsOptions {
            ca_cert: Some(path.clone()),
            domain: Some("not a name!".into()),
            ..TlsOptions::default()
        };
        let error = options.client_config(ALPN_H2).unwrap_err();
        let _ = std::fs::remove_file(&path);
        assert!(error.to_string().contains("server name"), "{error}");
    }
}
