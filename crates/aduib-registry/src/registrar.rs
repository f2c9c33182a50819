//! Keeping a server in a registry: register its instances and deregister
//! them on the way out.
//!
//! Ephemeral instances go over gRPC (Nacos 2.x), bound to the connection:
//! the registry drops them the moment the process dies, with no beats. Where
//! gRPC cannot be had, they go over HTTP with a beat every 5 s (Nacos drops
//! an ephemeral HTTP instance ~30 s after its last beat), registered again
//! if the registry forgot one.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::{NacosRegistry, Registration, Registry, RegistryError};

/// How often an ephemeral instance says it is alive (Nacos's default).
pub const BEAT_INTERVAL: Duration = Duration::from_secs(5);

/// The metadata the peer's clients need to find and call an Aduib
/// instance (NACOS-NOTES: the 11 keys the peer writes; `protocol` and
/// `service_name` are required, `scheme` picks the transport).
pub fn aduib_metadata(
    service: &str,
    scheme: &str,
    host: &str,
    port: u16,
    weight: f64,
    version: &str,
    now_ms: i64,
) -> BTreeMap<String, String> {
    [
        ("instance_id", format!("{service}@{host}:{port}/{scheme}")),
        ("service_name", service.to_owned()),
        ("version", version.to_owned()),
        ("host", host.to_owned()),
        ("port", port.to_string()),
        ("scheme", scheme.to_owned()),
        ("protocol", "AduibRpc".to_owned()),
        ("health", "healthy".to_owned()),
        ("weight", weight.to_string()),
        ("registered_at_ms", now_ms.to_string()),
        ("ttl_seconds", "30".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

/// Registrations kept alive until [`Registrar::stop`].
#[derive(Debug)]
pub struct Registrar {
    registry: Arc<NacosRegistry>,
    registrations: Vec<Registration>,
    /// The ephemeral ones went over gRPC.
    over_grpc: bool,
    stop: watch::Sender<bool>,
    beats: JoinHandle<()>,
}

impl Registrar {
    /// Registers every one; on a failure, undoes the ones done and says
    /// which failed.
    pub async fn start(
        registry: Arc<NacosRegistry>,
        registrations: Vec<Registration>,
    ) -> Result<Registrar, RegistryError> {
        let (ephemeral, persistent): (Vec<Registration>, Vec<Registration>) =
            registrations.iter().cloned().partition(|r| r.ephemeral);
        let over_grpc = !ephemeral.is_empty()
            && match registry.register_over_grpc(&ephemeral).await {
                Ok(()) => true,
                Err(error) => {
                    tracing::warn!(%error, "cannot register over gRPC; over HTTP with beats instead");
                    let _ = registry.deregister_over_grpc(&ephemeral).await;
                    false
                }
            };
        let over_http = if over_grpc {
            &persistent
        } else {
            &registrations
        };
        for (i, registration) in over_http.iter().enumerate() {
            if let Err(error) = registry.register(registration).await {
                for done in &over_http[..i] {
                    let _ = registry.deregister(done).await;
                }
                if over_grpc {
                    let _ = registry.deregister_over_grpc(&ephemeral).await;
                }
                return Err(error);
            }
        }
        let (stop, mut stopped) = watch::channel(false);
        let beating = registry.clone();
        // Over gRPC, the connection itself keeps them.
        let ephemeral = if over_grpc { Vec::new() } else { ephemeral };
        let beats = tokio::spawn(async move {
            let mut ticks = tokio::time::interval(BEAT_INTERVAL);
            ticks.tick().await; // the first tick is now: just registered
            loop {
                tokio::select! {
                    _ = ticks.tick() => {}
                    _ = stopped.changed() => break,
                }
                for registration in &ephemeral {
                    match beating.beat(registration).await {
                        Ok(true) => {}
                        // Forgotten (a registry restart): register again.
                        Ok(false) => {
                            if let Err(error) = beating.register(registration).await {
                                tracing::warn!(%error, service = %registration.service, "cannot register again");
                            }
                        }
                        Err(error) => {
                            tracing::warn!(%error, service = %registration.service, "beat failed; trying again");
                        }
                    }
                }
            }
        });
        Ok(Registrar {
            registry,
            registrations,
            over_grpc,
            stop,
            beats,
        })
    }

    pub fn registrations(&self) -> &[Registration] {
        &self.registrations
    }

    /// Whether the ephemeral instances are bound to a gRPC connection (else
    /// kept by HTTP beats).
    pub fn over_grpc(&self) -> bool {
        self.over_grpc
    }

    /// Stops beating and deregisters everything, within `grace`.
    pub async fn stop(self, grace: Duration) {
        let _ = self.stop.send(true);
        let _ = self.beats.await;
        let deregister = async {
            let over_http = self
                .registrations
                .iter()
                .filter(|r| !(self.over_grpc && r.ephemeral));
            for registration in over_http {
                if let Err(error) = self.registry.deregister(registration).await {
                    tracing::warn!(%error, service = %registration.service, "cannot deregister");
                }
            }
            if self.over_grpc {
                let ephemeral: Vec<Registration> = (self.registrations.iter())
                    .filter(|r| r.ephemeral)
                    .cloned()
                    .collect();
                if let Err(error) = self.registry.deregister_over_grpc(&ephemeral).await {
                    tracing::warn!(%error, "cannot deregister over gRPC; the registry drops them as the connection ends");
                }
            }
        };
        if tokio::time::timeout(grace, deregister).await.is_err() {
            tracing::warn!(
                "the registry did not answer in time; ephemeral instances expire on their own"
            );
        }
    }
}
