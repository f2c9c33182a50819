//! Nacos 2.x over gRPC, through `nacos-sdk`: pushed instance changes, and
//! ephemeral instances bound to the connection.
//!
//! The SDK's subscription only wakes the watch; the instances are then read
//! through the HTTP API like every other read, so one mapping serves all.
//! When the gRPC side cannot be had (an old Nacos, a port the HTTP port +
//! 1000 rule does not find), the watch polls instead, and says so in the log.
//!
//! Registered over gRPC, an ephemeral instance lives as long as the
//! connection: no beats, and the registry drops it as soon as the process
//! dies, where an HTTP one lingers until its beats are missed.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use futures::stream::{self, BoxStream, StreamExt};
use nacos_sdk::api::naming::{
    NamingChangeEvent, NamingEventListener, NamingService, NamingServiceBuilder,
};
use nacos_sdk::api::props::ClientProps;
use tokio::sync::mpsc;

use nacos_sdk::api::naming::ServiceInstance;

use crate::watch::{POLL_INTERVAL, every};
use crate::{Registration, RegistryError};

/// Pushes can be lost (a reconnect); the watch reads again this often anyway.
const BACKSTOP: Duration = Duration::from_secs(30);
/// The most a gRPC connection or subscription may take before polling wins.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// One gRPC naming client per namespace, made on first use.
#[derive(Default)]
pub(crate) struct NamingClients(tokio::sync::Mutex<HashMap<String, NamingService>>);

impl std::fmt::Debug for NamingClients {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NamingClients")
    }
}

/// Where and how to reach Nacos over gRPC.
pub(crate) struct Endpoint<'a> {
    /// `host:port` of the HTTP API; gRPC is on the port + 1000.
    pub server: &'a str,
    pub username: Option<&'a str>,
    pub password: Option<&'a str>,
}

impl NamingClients {
    /// Registers `registrations` (ephemeral ones, of one namespace, group and
    /// service) as this connection's instances of that service, or
    /// withdraws them. A client that failed is dropped (with its reconnect
    /// attempts).
    pub(crate) async fn publish(
        &self,
        endpoint: &Endpoint<'_>,
        (namespace, group, service): (&str, &str, &str),
        registrations: &[&Registration],
        what: Publish,
    ) -> Result<(), RegistryError> {
        let naming = self.get(endpoint, namespace).await?;
        let group = Some(group.to_owned());
        let outcome = match what {
            Publish::Register => {
                let instances: Vec<ServiceInstance> =
                    registrations.iter().map(|r| instance(r)).collect();
                let request = || {
                    naming.batch_register_instance(
                        service.to_owned(),
                        group.clone(),
                        instances.clone(),
                    )
                };
                answered(endpoint, "registration", request).await
            }
            Publish::Deregister => {
                let mut outcome = Ok(());
                for registration in registrations {
                    let request = || {
                        naming.deregister_instance(
                            service.to_owned(),
                            group.clone(),
                            instance(registration),
                        )
                    };
                    outcome = answered(endpoint, "deregistration", request).await;
                    if outcome.is_err() {
                        break;
                    }
                }
                outcome
            }
        };
        if outcome.is_err() {
            self.0.lock().await.remove(namespace);
        }
        outcome
    }

    async fn get(
        &self,
        endpoint: &Endpoint<'_>,
        namespace: &str,
    ) -> Result<NamingService, RegistryError> {
        let mut clients = self.0.lock().await;
        if let Some(client) = clients.get(namespace) {
            return Ok(client.clone());
        }
        let unreachable = |reason: String| RegistryError::Unreachable {
            url: format!("grpc://{}", endpoint.server),
            reason,
        };
        let mut props = ClientProps::new()
            .server_addr(endpoint.server)
            .namespace(namespace)
            .app_name("aduib-workbench")
            // Only what we are told, never NACOS_* from the environment.
            .env_first(false)
            // A cache from an earlier run can name dead instances.
            .naming_load_cache_at_start(false)
            .naming_push_empty_protection(false)
            .cache_dir(std::env::temp_dir().join("aduib-workbench-nacos"));
        let mut builder = None;
        if let (Some(username), Some(password)) = (endpoint.username, endpoint.password) {
            props = props.auth_username(username).auth_password(password);
            builder = Some(NamingServiceBuilder::new(props.clone()).enable_auth_plugin_http());
        }
        let builder = builder.unwrap_or_else(|| NamingServiceBuilder::new(props));
        let client = tokio::time::timeout(CONNECT_TIMEOUT, builder.build())
            .await
            .map_err(|_| unreachable(format!("no gRPC answer within {CONNECT_TIMEOUT:?}")))?
            .map_err(|e| unreachable(e.to_string()))?;
        clients.insert(namespace.to_owned(), client.clone());
        Ok(client)
    }
}

/// Registering or withdrawing instances over gRPC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Publish {
    Register,
    Deregister,
}

/// The registry's answer to `request`, within [`CONNECT_TIMEOUT`]. The
/// SDK refuses requests while its connection is being made (or made
/// again), which a busy machine can stretch past `build()`: such a refusal
/// is asked again shortly, until the time is up.
async fn answered<F>(
    endpoint: &Endpoint<'_>,
    what: &str,
    request: impl Fn() -> F,
) -> Result<(), RegistryError>
where
    F: std::future::Future<Output = nacos_sdk::api::error::Result<()>>,
{
    const PAUSE: Duration = Duration::from_millis(50);
    let deadline = tokio::time::Instant::now() + CONNECT_TIMEOUT;
    loop {
        let outcome = tokio::time::timeout_at(deadline, request())
            .await
            .map_err(|_| refused(endpoint, format!("no answer to the {what}")))?;
        match outcome {
            Ok(()) => return Ok(()),
            Err(error)
                if not_connected(&error) && tokio::time::Instant::now() + PAUSE < deadline =>
            {
                tracing::debug!(%error, "the registry's connection is not up yet; asking again");
                tokio::time::sleep(PAUSE).await;
            }
            Err(error) => return Err(refused(endpoint, error.to_string())),
        }
    }
}

/// The SDK's refusal while it has no connection: its only sign is the text.
fn not_connected(error: &nacos_sdk::api::error::Error) -> bool {
    error.to_string().contains("is not connected")
}

fn refused(endpoint: &Endpoint<'_>, reason: String) -> RegistryError {
    RegistryError::Unreachable {
        url: format!("grpc://{}", endpoint.server),
        reason,
    }
}

fn instance(registration: &Registration) -> ServiceInstance {
    ServiceInstance {
        instance_id: None,
        ip: registration.ip.clone(),
        port: i32::from(registration.port),
        weight: registration.weight,
        healthy: true,
        enabled: true,
        ephemeral: true,
        cluster_name: Some(
            registration
                .cluster
                .clone()
                .unwrap_or_else(|| "DEFAULT".to_owned()),
        ),
        service_name: Some(registration.service.clone()),
        metadata: registration
            .metadata
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    }
}

/// Wakes the watch on every push; a full channel already holds a wake.
struct Wake(mpsc::Sender<()>);

impl NamingEventListener for Wake {
    fn event(&self, _: Arc<NamingChangeEvent>) {
        let _ = self.0.try_send(());
    }
}

/// Unsubscribes when the watch is dropped.
struct Subscription {
    naming: NamingService,
    service: String,
    group: String,
    listener: Arc<dyn NamingEventListener>,
}

impl Drop for Subscription {
    fn drop(&mut self) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let naming = self.naming.clone();
        let (service, group) = (self.service.clone(), self.group.clone());
        let listener = self.listener.clone();
        runtime.spawn(async move {
            let _ = naming
                .unsubscribe(service, Some(group), Vec::new(), listener)
                .await;
        });
    }
}

/// Wakes for a watch of `service`: one once subscribed (a change may have
/// come between the first read and the subscription), then one per push,
/// and one every [`BACKSTOP`]. Polls every [`POLL_INTERVAL`] when pushes
/// cannot be had.
pub(crate) fn wakes(
    clients: Arc<NamingClients>,
    endpoint: Endpoint<'_>,
    namespace: String,
    group: String,
    service: String,
) -> BoxStream<'static, ()> {
    let server = endpoint.server.to_owned();
    let username = endpoint.username.map(str::to_owned);
    let password = endpoint.password.map(str::to_owned);
    let subscribed = async move {
        let endpoint = Endpoint {
            server: &server,
            username: username.as_deref(),
            password: password.as_deref(),
        };
        let (sender, receiver) = mpsc::channel(1);
        let listener: Arc<dyn NamingEventListener> = Arc::new(Wake(sender));
        let subscribe = async {
            let naming = clients.get(&endpoint, &namespace).await?;
            tokio::time::timeout(
                CONNECT_TIMEOUT,
                naming.subscribe(
                    service.clone(),
                    Some(group.clone()),
                    Vec::new(),
                    listener.clone(),
                ),
            )
            .await
            .map_err(|_| RegistryError::Unreachable {
                url: format!("grpc://{server}"),
                reason: "the subscription got no answer".into(),
            })?
            .map_err(|e| RegistryError::Unreachable {
                url: format!("grpc://{server}"),
                reason: e.to_string(),
            })?;
            Ok::<_, RegistryError>(naming)
        };
        let subscribed = subscribe.await;
        if subscribed.is_err() {
            clients.0.lock().await.remove(&namespace);
        }
        match subscribed {
            Ok(naming) => {
                let subscription = Subscription {
                    naming,
                    service,
                    group,
                    listener,
                };
                let pushes = stream::unfold(
                    (receiver, subscription),
                    |(mut receiver, subscription)| async move {
                        receiver.recv().await?;
                        Some(((), (receiver, subscription)))
                    },
                );
                stream::once(async {})
                    .chain(stream::select(pushes, every(BACKSTOP)))
                    .boxed()
            }
            Err(error) => {
                tracing::warn!(%error, service, "no pushes from Nacos; polling instead");
                every(POLL_INTERVAL)
            }
        }
    };
    stream::once(subscribed).flatten().boxed()
}
