//! Following a service's instances as they change.
//!
//! Every registry's watch is the same loop: read the instances, yield them
//! when they differ from what was yielded last, wait for a wake, read again.
//! Only the wake differs: a timer ([`Registry::watch`]'s default), a change
//! in the in-memory registry, or a push from Nacos over gRPC. Reading through
//! `instances` after each wake keeps one mapping of a registry's answer.

use std::sync::Arc;
use std::time::Duration;

use futures::stream::{self, BoxStream, StreamExt};

use crate::{Instance, Registry, RegistryError, Scope};

/// A service's instance lists: the current one first, then one each time it
/// changes (sorted by id). When the registry cannot be asked, one error is
/// yielded and the watch goes on; the next good answer follows it.
pub type InstanceWatch = BoxStream<'static, Result<Vec<Instance>, RegistryError>>;

/// How often a registry that cannot push is asked again.
pub const POLL_INTERVAL: Duration = Duration::from_secs(2);

/// Wakes every `interval`, for ever.
pub fn every(interval: Duration) -> BoxStream<'static, ()> {
    stream::unfold((), move |()| async move {
        tokio::time::sleep(interval).await;
        Some(((), ()))
    })
    .boxed()
}

/// The watch loop: reads `service`'s instances at the start and after each
/// of `wakes`, yielding what changed. Ends when `wakes` ends.
pub fn watch_on<R: Registry + ?Sized>(
    registry: Arc<R>,
    scope: Scope,
    service: String,
    wakes: BoxStream<'static, ()>,
) -> InstanceWatch {
    struct State<R: ?Sized> {
        registry: Arc<R>,
        scope: Scope,
        service: String,
        wakes: BoxStream<'static, ()>,
        started: bool,
        /// What was yielded last: a list, or `None` for an error.
        last: Option<Option<Vec<Instance>>>,
    }
    let state = State {
        registry,
        scope,
        service,
        wakes,
        started: false,
        last: None,
    };
    stream::unfold(state, |mut state| async move {
        loop {
            if state.started {
                state.wakes.next().await?;
            }
            state.started = true;
            let outcome = state
                .registry
                .instances(&state.scope, &state.service)
                .await
                .map(|mut instances| {
                    instances.sort_by(|a, b| a.id.cmp(&b.id));
                    instances
                });
            let now = outcome.as_ref().ok().cloned();
            if state.last.as_ref() != Some(&now) {
                state.last = Some(now);
                return Some((outcome, state));
            }
        }
    })
    .boxed()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{MemoryRegistry, Registration};

    fn registration(port: u16) -> Registration {
        Registration {
            scope: Scope::default(),
            service: "Greeter".into(),
            ip: "127.0.0.1".into(),
            port,
            weight: 1.0,
            ephemeral: true,
            cluster: None,
            metadata: Default::default(),
        }
    }

    fn ports(update: Option<Result<Vec<Instance>, RegistryError>>) -> Vec<u16> {
        update
            .expect("the watch goes on")
            .expect("a list")
            .iter()
            .map(|i| i.port)
            .collect()
    }

    #[tokio::test]
    async fn the_memory_registry_pushes_each_change_and_nothing_else() {
        let registry = Arc::new(MemoryRegistry::new());
        registry.register(&registration(1)).await.unwrap();
        let mut watch = registry.clone().watch(Scope::default(), "Greeter".into());
        assert_eq!(ports(watch.next().await), [1]);

        registry.register(&registration(2)).await.unwrap();
        assert_eq!(ports(watch.next().await), [1, 2]);
        // A change elsewhere wakes the watch but yields nothing new.
        let mut other = registration(3);
        other.service = "Other".into();
        registry.register(&other).await.unwrap();
        registry.deregister(&registration(1)).await.unwrap();
        assert_eq!(ports(watch.next().await), [2]);
    }

    #[tokio::test(start_paused = true)]
    async fn an_unreachable_registry_is_one_error_then_the_next_good_answer() {
        use futures::future::BoxFuture;

        /// A memory registry whose instance list is up, down twice, up again.
        #[derive(Debug, Default)]
        struct Flaky {
            inner: MemoryRegistry,
            asked: std::sync::atomic::AtomicU32,
        }
        impl Registry for Flaky {
            fn namespaces(&self) -> BoxFuture<'_, Result<Vec<crate::Namespace>, RegistryError>> {
                self.inner.namespaces()
            }
            fn services<'a>(
                &'a self,
                scope: &'a Scope,
                page: &'a crate::PageQuery,
            ) -> BoxFuture<'a, Result<crate::ServicePage, RegistryError>> {
                self.inner.services(scope, page)
            }
            fn groups<'a>(
                &'a self,
                scope: &'a Scope,
            ) -> BoxFuture<'a, Result<Vec<String>, RegistryError>> {
                self.inner.groups(scope)
            }
            fn instances<'a>(
                &'a self,
                scope: &'a Scope,
                service: &'a str,
            ) -> BoxFuture<'a, Result<Vec<Instance>, RegistryError>> {
                let n = self.asked.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                if n == 1 || n == 2 {
                    return Box::pin(async {
                        Err(RegistryError::Unreachable {
                            url: "nacos".into(),
                            reason: "down".into(),
                        })
                    });
                }
                self.inner.instances(scope, service)
            }
            fn register<'a>(
                &'a self,
                r: &'a Registration,
            ) -> BoxFuture<'a, Result<(), RegistryError>> {
                self.inner.register(r)
            }
            fn deregister<'a>(
                &'a self,
                r: &'a Registration,
            ) -> BoxFuture<'a, Result<(), RegistryError>> {
                self.inner.deregister(r)
            }
        }
        let flaky = Arc::new(Flaky::default());
        flaky.register(&registration(1)).await.unwrap();
        let mut watch = flaky.watch(Scope::default(), "Greeter".into());
        assert_eq!(ports(watch.next().await), [1]);
        assert!(matches!(
            watch.next().await,
            Some(Err(RegistryError::Unreachable { .. }))
        ));
        // The second failure is not repeated; the recovery is.
        assert_eq!(ports(watch.next().await), [1]);
    }
}
