//! Registries in the workbench: browse one, and fan a call out to every
//! instance of a service.

use std::time::{Duration, Instant};

use aduib_client::{AduibClient, ClientConfig};
use aduib_registry::{
    Instance, NacosConfig, NacosRegistry, Namespace, PageQuery, Registry, Scope, ServicePage,
};
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use ts_rs::TS;

use crate::error::WorkbenchError;
use crate::request::{AduibCall, Discovery};
use crate::send::{aduib_request, client_config};

/// Each request to a registry, unless the caller says otherwise.
const REGISTRY_TIMEOUT: Duration = Duration::from_secs(10);

/// How many instances a fan-out calls at once.
const FANOUT_CONCURRENCY: usize = 16;

/// Which registry, and where in it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS)]
#[serde(default)]
pub struct RegistryTarget {
    /// `host:port` or `nacos://host:port?namespace=..&group=..`.
    pub address: String,
    #[ts(optional)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    #[ts(optional)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// The Nacos user, or a `${env:NAME}` reference to it.
    #[ts(optional)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// A `${env:NAME}` reference to the password; never the password
    /// itself (this is saved in the workspace).
    #[ts(optional)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
}

/// How to reach a Nacos server: credentials from the target's references,
/// else `$ADUIB_NACOS_USER` / `$ADUIB_NACOS_PASSWORD`.
fn nacos_config(
    address: &str,
    username: Option<&str>,
    password: Option<&str>,
    timeout: Duration,
) -> Result<NacosConfig, WorkbenchError> {
    let password = match password.filter(|p| !p.is_empty()) {
        Some(reference) => Some(env_reference(reference, "the registry password")?),
        None => std::env::var("ADUIB_NACOS_PASSWORD").ok(),
    };
    let username = match username.filter(|u| !u.is_empty()) {
        Some(user) if user.starts_with("${env:") => Some(env_reference(user, "the registry user")?),
        Some(user) => Some(user.to_owned()),
        None => std::env::var("ADUIB_NACOS_USER").ok(),
    };
    Ok(NacosConfig {
        address: address.to_owned(),
        username,
        password,
        timeout: Some(timeout),
    })
}

/// The value of `${env:NAME}`; anything else is refused, so a secret is
/// never written where a reference belongs.
fn env_reference(reference: &str, what: &str) -> Result<String, WorkbenchError> {
    let name = reference
        .trim()
        .strip_prefix("${env:")
        .and_then(|r| r.strip_suffix('}'))
        .filter(|n| !n.is_empty())
        .ok_or_else(|| {
            WorkbenchError::bad_input(format!(
                "{what} must be a reference like ${{env:NACOS_PASSWORD}}, not the value itself"
            ))
        })?;
    std::env::var(name).map_err(|_| {
        WorkbenchError::bad_input(format!(
            "{what}: the environment variable {name} is not set"
        ))
    })
}

impl RegistryTarget {
    /// Refuses a password in clear before it is saved anywhere.
    pub fn check(&self) -> Result<(), WorkbenchError> {
        match self.password.as_deref().filter(|p| !p.is_empty()) {
            Some(p) if !(p.trim().starts_with("${env:") && p.trim().ends_with('}')) => {
                Err(WorkbenchError::bad_input(
                    "write the registry password as ${env:NAME}: it is saved in the workspace",
                )
                .with_path(".password"))
            }
            _ => Ok(()),
        }
    }

    /// The registry of a call through one (`AduibCall.discovery`).
    pub fn of(discovery: &Discovery) -> Self {
        RegistryTarget {
            address: discovery.registry.clone(),
            namespace: discovery.namespace.clone(),
            group: discovery.group.clone(),
            ..RegistryTarget::default()
        }
    }

    /// The registry and the scope to ask in: the target's namespace and
    /// group, else those the address names (`nacos://…?namespace=..`).
    pub fn open(&self) -> Result<(NacosRegistry, Scope), WorkbenchError> {
        self.open_with(REGISTRY_TIMEOUT)
    }

    /// [`open`](Self::open), each request to the registry bounded by `timeout`.
    pub fn open_with(&self, timeout: Duration) -> Result<(NacosRegistry, Scope), WorkbenchError> {
        self.check()?;
        let config = nacos_config(
            &self.address,
            self.username.as_deref(),
            self.password.as_deref(),
            timeout,
        )?;
        let registry = NacosRegistry::new(config).map_err(registry_error)?;
        let scope = Scope {
            namespace: self
                .namespace
                .clone()
                .filter(|n| !n.is_empty())
                .or_else(|| registry.default_scope().namespace.clone()),
            group: self
                .group
                .clone()
                .filter(|g| !g.is_empty())
                .or_else(|| registry.default_scope().group.clone()),
        };
        Ok((registry, scope))
    }
}

pub(crate) fn registry_error(error: aduib_registry::RegistryError) -> WorkbenchError {
    use aduib_registry::RegistryError as E;
    let kind = match &error {
        E::InvalidAddress { .. } => crate::ErrorKind::BadInput,
        E::Unreachable { .. } => crate::ErrorKind::Connect,
        E::TooLarge { .. } | E::BadReply { .. } | E::Status { .. } => crate::ErrorKind::Protocol,
        E::Auth { .. } => crate::ErrorKind::Server,
        E::NoService(_) => crate::ErrorKind::NotFound,
    };
    WorkbenchError::new(kind, error.to_string())
}

/// One instance as the Registry view lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct InstanceView {
    pub id: String,
    pub address: String,
    pub weight: f64,
    pub healthy: bool,
    pub enabled: bool,
    pub ephemeral: bool,
    pub cluster: String,
    #[ts(type = "Record<string, string>")]
    pub metadata: std::collections::BTreeMap<String, String>,
    /// How Aduib calls it: `jsonrpc`, `rest`, `grpc`, `thrift`.
    #[ts(optional)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transport: Option<String>,
    #[ts(optional)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

impl From<Instance> for InstanceView {
    fn from(instance: Instance) -> Self {
        let endpoint = instance.aduib();
        InstanceView {
            address: instance.address(),
            id: instance.id,
            weight: instance.weight,
            healthy: instance.healthy,
            enabled: instance.enabled,
            ephemeral: instance.ephemeral,
            cluster: instance.cluster,
            metadata: instance.metadata,
            transport: endpoint.as_ref().map(|e| e.transport.clone()),
            url: endpoint.map(|e| e.url),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct NamespaceView {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct ServicesView {
    pub total: u32,
    pub services: Vec<String>,
}

pub async fn namespaces(target: &RegistryTarget) -> Result<Vec<NamespaceView>, WorkbenchError> {
    let (registry, _) = target.open()?;
    let found: Vec<Namespace> = registry.namespaces().await.map_err(registry_error)?;
    Ok(found
        .into_iter()
        .map(|n| NamespaceView {
            id: n.id,
            name: n.name,
        })
        .collect())
}

/// The groups holding services in the target's namespace.
pub async fn groups(target: &RegistryTarget) -> Result<Vec<String>, WorkbenchError> {
    let (registry, scope) = target.open()?;
    registry.groups(&scope).await.map_err(registry_error)
}

pub async fn services(
    target: &RegistryTarget,
    page: u32,
    page_size: u32,
    filter: Option<String>,
) -> Result<ServicesView, WorkbenchError> {
    let (registry, scope) = target.open()?;
    let query = PageQuery {
        page,
        page_size,
        name_contains: filter.filter(|f| !f.is_empty()),
    };
    let found: ServicePage = registry
        .services(&scope, &query)
        .await
        .map_err(registry_error)?;
    Ok(ServicesView {
        total: u32::try_from(found.total).unwrap_or(u32::MAX),
        services: found.services,
    })
}

pub async fn instances(
    target: &RegistryTarget,
    service: &str,
) -> Result<Vec<InstanceView>, WorkbenchError> {
    let (registry, scope) = target.open()?;
    let found = registry
        .instances(&scope, service)
        .await
        .map_err(registry_error)?;
    Ok(views(found))
}

fn views(mut found: Vec<Instance>) -> Vec<InstanceView> {
    found.sort_by_key(Instance::address);
    found.into_iter().map(InstanceView::from).collect()
}

/// One step of a watch: the instances now, or why the registry cannot say
/// (the last list shown still stands, stale).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct InstancesUpdate {
    pub instances: Vec<InstanceView>,
    pub error: Option<WorkbenchError>,
}

/// `service`'s instances as they change: the current list first, then one
/// update per change (pushed by Nacos over gRPC, else polled).
pub fn watch_instances(
    target: &RegistryTarget,
    service: &str,
) -> Result<futures::stream::BoxStream<'static, InstancesUpdate>, WorkbenchError> {
    let (registry, scope) = target.open()?;
    let updates = std::sync::Arc::new(registry)
        .watch(scope, service.to_owned())
        .map(|update| match update {
            Ok(found) => InstancesUpdate {
                instances: views(found),
                error: None,
            },
            Err(error) => InstancesUpdate {
                instances: Vec::new(),
                error: Some(registry_error(error)),
            },
        });
    Ok(updates.boxed())
}

/// What one instance answered a fan-out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct FanoutResult {
    pub instance: String,
    pub transport: String,
    pub latency_ms: f64,
    #[ts(type = "unknown")]
    pub response: Option<Value>,
    pub error: Option<WorkbenchError>,
    /// Instances with the same `group` answered alike (status, result and
    /// error code; ids and timestamps aside).
    pub group: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct FanoutReport {
    pub results: Vec<FanoutResult>,
    /// How many different answers came back (1: all agree).
    pub distinct: u32,
}

/// Sends `call` (its data and method) to every Aduib instance of the
/// service `discovery` names — of the call's transport unless
/// `any_transport` — at once, bounded; healthy or not, since a fan-out is
/// how one finds the instance that is off.
pub async fn fanout(
    call: &AduibCall,
    discovery: &Discovery,
) -> Result<FanoutReport, WorkbenchError> {
    let (registry, scope) = RegistryTarget::of(discovery).open()?;
    let request = aduib_request(call)?;
    let wanted = call.transport.name();
    let mut found = registry
        .instances(&scope, &discovery.service)
        .await
        .map_err(registry_error)?;
    found.sort_by_key(Instance::address);
    let endpoints: Vec<(String, aduib_registry::AduibEndpoint)> = found
        .iter()
        .filter_map(|i| i.aduib().map(|e| (i.address(), e)))
        .filter(|(_, e)| discovery.any_transport || e.transport == wanted)
        .collect();
    if endpoints.is_empty() {
        return Err(WorkbenchError::not_found(format!(
            "no {} instance of {:?} to call",
            if discovery.any_transport {
                "Aduib"
            } else {
                wanted
            },
            discovery.service
        )));
    }
    let base = client_config(call);
    let results: Vec<(FanoutResult, Option<Value>)> = futures::stream::iter(endpoints)
        .map(|(address, endpoint)| {
            let request = request.clone();
            let config = ClientConfig {
                transport: match endpoint.transport.as_str() {
                    "rest" => aduib_client::Transport::Rest,
                    "grpc" => aduib_client::Transport::Grpc,
                    "thrift" => aduib_client::Transport::Thrift,
                    _ => aduib_client::Transport::JsonRpc,
                },
                url: endpoint.url.clone(),
                headers: base.headers.clone(),
                timeout: base.timeout.or(Some(Duration::from_secs(10))),
                limits: base.limits,
                tls: base.tls.clone(),
            };
            async move {
                let started = Instant::now();
                let answer = match AduibClient::new(config) {
                    Ok(client) => client.call(&request).await,
                    Err(error) => Err(error),
                };
                let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
                let (response, error, key) = match answer {
                    Ok(response) => {
                        let key = json!({
                            "status": response.status,
                            "result": response.result,
                            "error": response.error.as_ref().map(|e| e.code),
                        });
                        (serde_json::to_value(&response).ok(), None, Some(key))
                    }
                    Err(error) => (None, Some(WorkbenchError::from(error)), None),
                };
                let result = FanoutResult {
                    instance: address,
                    transport: endpoint.transport,
                    latency_ms,
                    response,
                    error,
                    group: 0,
                };
                (result, key)
            }
        })
        .buffered(FANOUT_CONCURRENCY)
        .collect()
        .await;
    // Alike answers share a group; failures each by their kind.
    let mut keys: Vec<Value> = Vec::new();
    let results = results
        .into_iter()
        .map(|(mut result, key)| {
            let key = key.unwrap_or_else(
                || json!({ "failed": result.error.as_ref().map(|e| format!("{:?}", e.kind)) }),
            );
            let group = match keys.iter().position(|k| *k == key) {
                Some(i) => i,
                None => {
                    keys.push(key);
                    keys.len() - 1
                }
            };
            result.group = u32::try_from(group).unwrap_or(u32::MAX);
            result
        })
        .collect();
    Ok(FanoutReport {
        results,
        distinct: u32::try_from(keys.len()).unwrap_or(u32::MAX),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_is_only_ever_a_reference() {
        let mut target = RegistryTarget {
            address: "127.0.0.1:8848".into(),
            password: Some("hunter2".into()),
            ..RegistryTarget::default()
        };
        let refused = target.check().unwrap_err();
        assert_eq!(refused.path.as_deref(), Some(".password"));
        assert!(!refused.message.contains("hunter2"));
        target.password = Some("${env:ADUIB_TEST_SURELY_UNSET_42}".into());
        assert!(target.check().is_ok());
        // A reference to nothing set is named, not sent empty.
        let error = nacos_config(
            &target.address,
            None,
            target.password.as_deref(),
            REGISTRY_TIMEOUT,
        )
        .unwrap_err();
        assert!(
            error
                .message
                .contains("ADUIB_TEST_SURELY_UNSET_42 is not set"),
            "{}",
            error.message
        );
        let path = std::env::var("PATH").unwrap_or_default();
        let config =
            nacos_config("h:1", Some("nacos"), Some("${env:PATH}"), REGISTRY_TIMEOUT).unwrap();
        assert_eq!(config.password.as_deref(), Some(path.as_str()));
        assert_eq!(config.username.as_deref(), Some("nacos"));
    }
}
