//! A registry in memory: for tests, the embedded server and offline use.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use futures::FutureExt;
use futures::future::BoxFuture;
use futures::stream::{self, StreamExt};
use tokio::sync::broadcast;

use crate::watch::watch_on;
use crate::{
    Instance, InstanceWatch, Namespace, PageQuery, Registration, Registry, RegistryError, Scope,
    ServicePage,
};

/// Key of a service: namespace, group, name.
type ServiceKey = (String, String, String);

#[derive(Debug)]
pub struct MemoryRegistry {
    services: Mutex<BTreeMap<ServiceKey, Vec<Instance>>>,
    /// Which service changed, for watches.
    changes: broadcast::Sender<ServiceKey>,
}

impl Default for MemoryRegistry {
    fn default() -> Self {
        MemoryRegistry {
            services: Mutex::default(),
            changes: broadcast::channel(64).0,
        }
    }
}

impl MemoryRegistry {
    pub fn new() -> Self {
        MemoryRegistry::default()
    }

    fn changed(&self, key: ServiceKey) {
        // Nobody watching is fine.
        let _ = self.changes.send(key);
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<ServiceKey, Vec<Instance>>> {
        self.services.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Marks an instance healthy or not (as a health check would).
    pub fn set_healthy(&self, scope: &Scope, service: &str, address: &str, healthy: bool) {
        if let Some(instances) = self.lock().get_mut(&key(scope, service)) {
            for instance in instances.iter_mut().filter(|i| i.address() == address) {
                instance.healthy = healthy;
            }
        }
        self.changed(key(scope, service));
    }
}

fn key(scope: &Scope, service: &str) -> ServiceKey {
    (
        scope.namespace().to_owned(),
        scope.group().to_owned(),
        service.to_owned(),
    )
}

impl Registry for MemoryRegistry {
    fn namespaces(&self) -> BoxFuture<'_, Result<Vec<Namespace>, RegistryError>> {
        let mut names: Vec<String> = self.lock().keys().map(|(ns, _, _)| ns.clone()).collect();
        names.push(String::new());
        names.sort();
        names.dedup();
        let namespaces = names
            .into_iter()
            .map(|id| Namespace {
                name: if id.is_empty() {
                    "public".into()
                } else {
                    id.clone()
                },
                id,
                count: None,
            })
            .collect();
        async move { Ok(namespaces) }.boxed()
    }

    fn services<'a>(
        &'a self,
        scope: &'a Scope,
        page: &'a PageQuery,
    ) -> BoxFuture<'a, Result<ServicePage, RegistryError>> {
        let names: Vec<String> = self
            .lock()
            .iter()
            .filter(|((ns, group, name), instances)| {
                ns == scope.namespace()
                    && group == scope.group()
                    && !instances.is_empty()
                    && page
                        .name_contains
                        .as_deref()
                        .is_none_or(|text| name.contains(text))
            })
            .map(|((_, _, name), _)| name.clone())
            .collect();
        let size = page.page_size.max(1) as usize;
        let skip = (page.page.max(1) as usize - 1) * size;
        let services = names.iter().skip(skip).take(size).cloned().collect();
        let total = names.len() as u64;
        async move { Ok(ServicePage { total, services }) }.boxed()
    }

    fn groups<'a>(&'a self, scope: &'a Scope) -> BoxFuture<'a, Result<Vec<String>, RegistryError>> {
        let mut groups: Vec<String> = self
            .lock()
            .iter()
            .filter(|((ns, _, _), instances)| ns == scope.namespace() && !instances.is_empty())
            .map(|((_, group, _), _)| group.clone())
            .collect();
        groups.push(crate::DEFAULT_GROUP.to_owned());
        groups.sort();
        groups.dedup();
        async move { Ok(groups) }.boxed()
    }

    fn instances<'a>(
        &'a self,
        scope: &'a Scope,
        service: &'a str,
    ) -> BoxFuture<'a, Result<Vec<Instance>, RegistryError>> {
        let found = self.lock().get(&key(scope, service)).cloned();
        async move { found.ok_or_else(|| RegistryError::NoService(service.to_owned())) }.boxed()
    }

    fn register<'a>(
        &'a self,
        registration: &'a Registration,
    ) -> BoxFuture<'a, Result<(), RegistryError>> {
        let instance = Instance {
            id: format!("{}#{}", registration.ip, registration.port),
            service: registration.service.clone(),
            ip: registration.ip.clone(),
            port: registration.port,
            weight: registration.weight,
            healthy: true,
            enabled: true,
            ephemeral: registration.ephemeral,
            cluster: registration
                .cluster
                .clone()
                .unwrap_or_else(|| "DEFAULT".into()),
            metadata: registration.metadata.clone(),
        };
        let service = key(&registration.scope, &registration.service);
        {
            let mut services = self.lock();
            let instances = services.entry(service.clone()).or_default();
            instances.retain(|i| i.address() != instance.address());
            instances.push(instance);
        }
        self.changed(service);
        async { Ok(()) }.boxed()
    }

    fn deregister<'a>(
        &'a self,
        registration: &'a Registration,
    ) -> BoxFuture<'a, Result<(), RegistryError>> {
        let address = format!("{}:{}", registration.ip, registration.port);
        let service = key(&registration.scope, &registration.service);
        if let Some(instances) = self.lock().get_mut(&service) {
            instances.retain(|i| i.address() != address);
        }
        self.changed(service);
        async { Ok(()) }.boxed()
    }

    /// Woken by each change of the service; a watch that fell behind reads
    /// once more.
    fn watch(self: Arc<Self>, scope: Scope, service: String) -> InstanceWatch {
        let wanted = key(&scope, &service);
        let changes = self.changes.subscribe();
        let wakes = stream::unfold(changes, move |mut changes| {
            let wanted = wanted.clone();
            async move {
                loop {
                    match changes.recv().await {
                        Ok(changed) if changed == wanted => return Some(((), changes)),
                        Ok(_) => {}
                        Err(broadcast::error::RecvError::Lagged(_)) => return Some(((), changes)),
                        Err(broadcast::error::RecvError::Closed) => return None,
                    }
                }
            }
        })
        .boxed();
        watch_on(self, scope, service, wakes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registration(service: &str, port: u16) -> Registration {
        Registration {
            scope: Scope::default(),
            service: service.into(),
            ip: "127.0.0.1".into(),
            port,
            weight: 1.0,
            ephemeral: true,
            cluster: None,
            metadata: BTreeMap::new(),
        }
    }

    #[tokio::test]
    async fn register_list_page_and_deregister() {
        let registry = MemoryRegistry::new();
        for (service, port) in [("A", 1), ("A", 2), ("B", 3), ("Cab", 4)] {
            registry
                .register(&registration(service, port))
                .await
                .unwrap();
        }
        let scope = Scope::default();
        let page = registry
            .services(
                &scope,
                &PageQuery {
                    page: 1,
                    page_size: 2,
                    name_contains: None,
                },
            )
            .await
            .unwrap();
        assert_eq!(
            (page.total, page.services),
            (3, vec!["A".into(), "B".into()])
        );
        let filtered = registry
            .services(
                &scope,
                &PageQuery {
                    name_contains: Some("a".into()),
                    ..PageQuery::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(filtered.services, vec!["Cab".to_owned()]);
        assert_eq!(registry.instances(&scope, "A").await.unwrap().len(), 2);
        registry.deregister(&registration("A", 1)).await.unwrap();
        assert_eq!(registry.instances(&scope, "A").await.unwrap().len(), 1);
        assert!(matches!(
            registry.instances(&scope, "Z").await,
            Err(RegistryError::NoService(_))
        ));
        // Another group is another service.
        let other = Scope {
            group: Some("G".into()),
            ..Scope::default()
        };
        assert!(registry.instances(&other, "A").await.is_err());
    }
}
