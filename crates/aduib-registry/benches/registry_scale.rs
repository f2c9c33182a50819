//! A registry at scale: 10,000 services with 10 instances each (100,000
//! instances) registered in a real rnacos, then the first page of services
//! and one service's instances read through `NacosRegistry` (target: each
//! under 300 ms). Prints the medians of 20 reads, and how long registering
//! took.
//!
//! `cargo bench -p aduib-registry --bench registry_scale` (rnacos from
//! scripts/setup-system.sh; SERVICES=.. INSTANCES=.. to change the size)

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use aduib_registry::testing::Rnacos;
use aduib_registry::{PageQuery, Registration, Registry, Scope};
use futures::StreamExt;

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn size(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let services = size("SERVICES", 10_000);
    let per_service = size("INSTANCES", 10);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let nacos = Rnacos::start();
        let registry = nacos.registry();
        let started = Instant::now();
        let registrations = (0..services).flat_map(|s| {
            (0..per_service).map(move |i| Registration {
                scope: Scope::default(),
                service: format!("Service{s:05}"),
                ip: format!("10.{}.{}.{}", s / 250 % 250, s % 250, i + 1),
                port: 18000,
                weight: 1.0,
                // Persistent: nothing to keep alive while the bench runs.
                ephemeral: false,
                cluster: None,
                metadata: BTreeMap::from([
                    ("scheme".to_owned(), "jsonrpc".to_owned()),
                    ("protocol".to_owned(), "AduibRpc".to_owned()),
                ]),
            })
        });
        let failures = futures::stream::iter(registrations)
            .map(|r| {
                let registry = &registry;
                async move { registry.register(&r).await.is_err() }
            })
            .buffer_unordered(64)
            .filter(|failed| std::future::ready(*failed))
            .count()
            .await;
        let registered = started.elapsed();
        println!(
            "registered {} instances of {services} services in {registered:.1?} ({failures} failed)",
            services * per_service
        );

        let (mut pages, mut lists) = (Vec::new(), Vec::new());
        let mut total = 0;
        for round in 0..20 {
            let started = Instant::now();
            let page = registry.services(&Scope::default(), &PageQuery::default()).await?;
            pages.push(started.elapsed());
            total = page.total;
            let name = format!("Service{:05}", (round * 487) % services);
            let started = Instant::now();
            let instances = registry.instances(&Scope::default(), &name).await?;
            lists.push(started.elapsed());
            assert_eq!(instances.len(), per_service, "{name}");
        }
        println!("first page of services (100 of {total}): median {:?} (target < 300 ms)", median(pages));
        println!("one service's {per_service} instances:      median {:?} (target < 300 ms)", median(lists));
        Ok(())
    })
}
