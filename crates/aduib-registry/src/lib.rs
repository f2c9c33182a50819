//! Discover: where the instances of a service are, and which one to call.
//!
//! - [`Registry`]: namespaces, services (paged, filtered), the instances of a
//!   service (weight, health, enabled, cluster, metadata), register and
//!   deregister. Two of them: [`MemoryRegistry`] (tests, the embedded server,
//!   offline use) and [`NacosRegistry`] (the Nacos HTTP open API v1, with a
//!   login when credentials are given).
//! - [`Instance::aduib`] reads the Aduib metadata (`scheme`, `protocol`,
//!   `service_name`) into a transport and a URL; an instance without it is
//!   still listed, and callable by its address.
//! - [`balance`]: the strategies that pick an instance for each call.
//! - [`registrar`]: a server kept in a registry (beats, deregistration).
//! - [`Registry::watch`]: a service's instances as they change; pushed by
//!   Nacos over gRPC (nacos-sdk) and by the in-memory registry.

pub mod balance;
mod memory;
mod nacos;
mod nacos_grpc;
pub mod registrar;
#[cfg(feature = "testing")]
pub mod testing;
pub mod watch;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};

pub use memory::MemoryRegistry;
pub use nacos::{NacosConfig, NacosRegistry};
pub use watch::InstanceWatch;

/// What can go wrong asking a registry.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("invalid registry address {address:?}: {reason}")]
    InvalidAddress { address: String, reason: String },
    #[error("cannot reach the registry at {url}: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("the registry at {url} refused the login: {reason}")]
    Auth { url: String, reason: String },
    #[error("the registry at {url} answered HTTP {status}: {body}")]
    Status {
        url: String,
        status: u16,
        body: String,
    },
    #[error("bad answer from the registry at {url}: {reason}")]
    BadReply { url: String, reason: String },
    #[error("the answer from {url} is larger than the limit of {limit} bytes")]
    TooLarge { url: String, limit: usize },
    #[error("no service {0:?} in the registry")]
    NoService(String),
}

/// A namespace (Nacos: `public` is the empty id).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Namespace {
    pub id: String,
    pub name: String,
    /// How many configurations or services it holds, when the registry says.
    pub count: Option<u64>,
}

/// Where to look: a namespace (default: public) and a group (default:
/// `DEFAULT_GROUP`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scope {
    pub namespace: Option<String>,
    pub group: Option<String>,
}

impl Scope {
    pub fn group(&self) -> &str {
        self.group
            .as_deref()
            .filter(|g| !g.is_empty())
            .unwrap_or(DEFAULT_GROUP)
    }

    pub fn namespace(&self) -> &str {
        self.namespace.as_deref().unwrap_or_default()
    }
}

/// Nacos's default group.
pub const DEFAULT_GROUP: &str = "DEFAULT_GROUP";

/// One page of service names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServicePage {
    /// Services in the scope (matching the filter) in all pages.
    pub total: u64,
    pub services: Vec<String>,
}

/// Which page of services: 1-based.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageQuery {
    pub page: u32,
    pub page_size: u32,
    /// Only names holding this text.
    pub name_contains: Option<String>,
}

impl Default for PageQuery {
    fn default() -> Self {
        PageQuery {
            page: 1,
            page_size: 100,
            name_contains: None,
        }
    }
}

/// One instance of a service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Instance {
    pub id: String,
    pub service: String,
    pub ip: String,
    pub port: u16,
    pub weight: f64,
    pub healthy: bool,
    pub enabled: bool,
    pub ephemeral: bool,
    pub cluster: String,
    pub metadata: BTreeMap<String, String>,
}

impl AsRef<Instance> for Instance {
    fn as_ref(&self) -> &Instance {
        self
    }
}

/// How to call an instance with Aduib.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AduibEndpoint {
    /// `jsonrpc`, `rest`, `grpc` or `thrift`.
    pub transport: String,
    /// `http://host:port` (JSON-RPC, REST) or `host:port` (gRPC, Thrift).
    pub url: String,
    /// The Aduib service name, when the instance says.
    pub service_name: Option<String>,
    pub version: Option<String>,
}

impl Instance {
    /// Whether a balancer may pick it: healthy, enabled, weight above 0.
    pub fn callable(&self) -> bool {
        self.healthy && self.enabled && self.weight > 0.0
    }

    /// `host:port`, bracketing an IPv6 address.
    pub fn address(&self) -> String {
        if self.ip.contains(':') {
            format!("[{}]:{}", self.ip, self.port)
        } else {
            format!("{}:{}", self.ip, self.port)
        }
    }

    /// The Aduib transport and URL its metadata names (`scheme`:
    /// `jsonrpc`, `http` = REST, `grpc`, `thrift`; JSON-RPC when absent, as
    /// the peer's clients assume). `None` for a scheme we do not speak.
    /// The peer registers a `jsonrpc://` URL its own client cannot use
    /// (NACOS-NOTES); ours is built from the address.
    pub fn aduib(&self) -> Option<AduibEndpoint> {
        let scheme = self
            .metadata
            .get("scheme")
            .map(|s| s.to_ascii_lowercase())
            .unwrap_or_else(|| "jsonrpc".to_owned());
        let address = self.address();
        let (transport, url) = match scheme.as_str() {
            "jsonrpc" => ("jsonrpc", format!("http://{address}")),
            "http" | "rest" => ("rest", format!("http://{address}")),
            "https" => ("rest", format!("https://{address}")),
            "grpc" | "grpcs" => ("grpc", address),
            "thrift" => ("thrift", address),
            _ => return None,
        };
        Some(AduibEndpoint {
            transport: transport.to_owned(),
            url,
            service_name: self.metadata.get("service_name").cloned(),
            version: self.metadata.get("version").cloned(),
        })
    }
}

/// An instance to register.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Registration {
    pub scope: Scope,
    pub service: String,
    pub ip: String,
    pub port: u16,
    pub weight: f64,
    pub ephemeral: bool,
    pub cluster: Option<String>,
    pub metadata: BTreeMap<String, String>,
}

/// A service registry.
pub trait Registry: fmt::Debug + Send + Sync + 'static {
    fn namespaces(&self) -> BoxFuture<'_, Result<Vec<Namespace>, RegistryError>>;

    fn services<'a>(
        &'a self,
        scope: &'a Scope,
        page: &'a PageQuery,
    ) -> BoxFuture<'a, Result<ServicePage, RegistryError>>;

    /// The groups that hold services in `scope`'s namespace (whatever its
    /// group), sorted; `DEFAULT_GROUP` always among them.
    fn groups<'a>(&'a self, scope: &'a Scope) -> BoxFuture<'a, Result<Vec<String>, RegistryError>>;

    /// Every instance of `service`, healthy or not (callers filter).
    fn instances<'a>(
        &'a self,
        scope: &'a Scope,
        service: &'a str,
    ) -> BoxFuture<'a, Result<Vec<Instance>, RegistryError>>;

    fn register<'a>(
        &'a self,
        registration: &'a Registration,
    ) -> BoxFuture<'a, Result<(), RegistryError>>;

    fn deregister<'a>(
        &'a self,
        registration: &'a Registration,
    ) -> BoxFuture<'a, Result<(), RegistryError>>;

    /// Follows `service`'s instances (see [`InstanceWatch`]). This default
    /// asks every [`watch::POLL_INTERVAL`]; registries that can push
    /// override it.
    fn watch(self: Arc<Self>, scope: Scope, service: String) -> InstanceWatch {
        watch::watch_on(self, scope, service, watch::every(watch::POLL_INTERVAL))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn instance(scheme: Option<&str>) -> Instance {
        let mut metadata = BTreeMap::new();
        if let Some(scheme) = scheme {
            metadata.insert("scheme".to_owned(), scheme.to_owned());
        }
        metadata.insert("service_name".to_owned(), "CaculService".to_owned());
        Instance {
            id: "1".into(),
            service: "CaculService".into(),
            ip: "127.0.0.1".into(),
            port: 18201,
            weight: 1.0,
            healthy: true,
            enabled: true,
            ephemeral: true,
            cluster: "DEFAULT".into(),
            metadata,
        }
    }

    #[test]
    fn the_scheme_names_the_transport_and_the_url() {
        let cases = [
            (None, "jsonrpc", "http://127.0.0.1:18201"),
            (Some("jsonrpc"), "jsonrpc", "http://127.0.0.1:18201"),
            (Some("http"), "rest", "http://127.0.0.1:18201"),
            (Some("grpc"), "grpc", "127.0.0.1:18201"),
            (Some("thrift"), "thrift", "127.0.0.1:18201"),
        ];
        for (scheme, transport, url) in cases {
            let endpoint = instance(scheme).aduib().unwrap();
            assert_eq!(
                (endpoint.transport.as_str(), endpoint.url.as_str()),
                (transport, url)
            );
            assert_eq!(endpoint.service_name.as_deref(), Some("CaculService"));
        }
        assert!(instance(Some("smtp")).aduib().is_none());
    }

    #[test]
    fn only_healthy_enabled_weighted_instances_are_callable() {
        let mut i = instance(None);
        assert!(i.callable());
        i.weight = 0.0;
        assert!(!i.callable());
        i.weight = 1.0;
        i.enabled = false;
        assert!(!i.callable());
        i.enabled = true;
        i.healthy = false;
        assert!(!i.callable());
    }

    #[test]
    fn ipv6_addresses_are_bracketed() {
        let mut i = instance(None);
        i.ip = "::1".into();
        assert_eq!(i.address(), "[::1]:18201");
    }
}
