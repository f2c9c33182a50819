//! `aduib registry namespaces|services|instances`: browse Nacos.

use std::time::Duration;

use aduib_registry::{Instance, NacosRegistry, PageQuery, Registry, Scope};
use aduib_workbench::discovery::RegistryTarget;
use anyhow::bail;
use futures::StreamExt;
use serde_json::json;

use crate::Outcome;
use crate::cli::{NacosArgs, RegistryCommand};
use crate::output::print_line;

/// The registry the flags name, and the scope they ask about.
pub fn nacos(args: &NacosArgs) -> anyhow::Result<(NacosRegistry, Scope)> {
    let password = std::env::var("ADUIB_NACOS_PASSWORD").ok();
    if args.nacos_user.is_some() && password.is_none() {
        bail!("--nacos-user needs the password in $ADUIB_NACOS_PASSWORD");
    }
    // Flags win over what the address says (nacos://…?namespace=..); the
    // password comes from $ADUIB_NACOS_PASSWORD.
    let target = RegistryTarget {
        address: args.nacos.clone(),
        namespace: args.namespace.clone(),
        group: args.group.clone(),
        username: args.nacos_user.clone(),
        password: None,
    };
    Ok(target.open_with(Duration::from_millis(args.registry_timeout_ms))?)
}

pub async fn run(command: RegistryCommand) -> anyhow::Result<Outcome> {
    match command {
        RegistryCommand::Namespaces { nacos: args, json } => {
            let (registry, _) = nacos(&args)?;
            let namespaces = registry.namespaces().await?;
            if json {
                for namespace in &namespaces {
                    print_line(namespace)?;
                }
            } else {
                println!("{:<38}  NAME", "ID");
                for namespace in &namespaces {
                    let id = if namespace.id.is_empty() {
                        "(public)"
                    } else {
                        &namespace.id
                    };
                    println!("{id:<38}  {}", namespace.name);
                }
            }
        }
        RegistryCommand::Groups { nacos: args, json } => {
            let (registry, scope) = nacos(&args)?;
            for group in registry.groups(&scope).await? {
                if json {
                    print_line(&group)?;
                } else {
                    println!("{group}");
                }
            }
        }
        RegistryCommand::Services {
            nacos: args,
            filter,
            page,
            page_size,
            json,
        } => {
            let (registry, scope) = nacos(&args)?;
            let query = PageQuery {
                page,
                page_size,
                name_contains: filter,
            };
            let found = registry.services(&scope, &query).await?;
            if json {
                print_line(&found)?;
            } else {
                for service in &found.services {
                    println!("{service}");
                }
                let shown = found.services.len() as u64;
                let first = u64::from(page.max(1) - 1) * u64::from(page_size.max(1));
                eprintln!(
                    "{}–{} of {} services in {} / {}",
                    if shown == 0 { first } else { first + 1 },
                    first + shown,
                    found.total,
                    namespace_name(&scope),
                    scope.group()
                );
            }
        }
        RegistryCommand::Instances {
            nacos: args,
            service,
            json,
            watch,
        } => {
            let (registry, scope) = nacos(&args)?;
            if watch {
                return watch_instances(registry, scope, service, json).await;
            }
            let mut instances = registry.instances(&scope, &service).await?;
            instances.sort_by_key(|i| i.address());
            if json {
                for instance in &instances {
                    print_line(&instance_json(instance)?)?;
                }
            } else if instances.is_empty() {
                eprintln!(
                    "no instances of {service:?} in {} / {} (names are exact; `aduib registry services` lists them)",
                    namespace_name(&scope),
                    scope.group()
                );
            } else {
                print_table(&instances);
            }
        }
    }
    Ok(Outcome::Success)
}

fn instance_json(instance: &Instance) -> anyhow::Result<serde_json::Value> {
    let mut line = serde_json::to_value(instance)?;
    line["aduib"] = json!(instance.aduib());
    Ok(line)
}

fn print_table(instances: &[Instance]) {
    println!(
        "{:<22}  {:>6}  {:<9}  {:<8}  {:<30}  METADATA",
        "ADDRESS", "WEIGHT", "HEALTH", "CLUSTER", "ADUIB"
    );
    for i in instances {
        let health = match (i.healthy, i.enabled) {
            (_, false) => "disabled",
            (true, true) => "healthy",
            (false, true) => "unhealthy",
        };
        let aduib = i
            .aduib()
            .map(|e| format!("{} {}", e.transport, e.url))
            .unwrap_or_else(|| "-".to_owned());
        let metadata: Vec<String> = i.metadata.iter().map(|(k, v)| format!("{k}={v}")).collect();
        println!(
            "{:<22}  {:>6}  {:<9}  {:<8}  {:<30}  {}",
            i.address(),
            i.weight,
            health,
            i.cluster,
            aduib,
            metadata.join(",")
        );
    }
}

/// `registry instances --watch`: the list now, then again on each change,
/// until Ctrl+C. A registry that cannot be asked is reported, and the watch
/// goes on.
async fn watch_instances(
    registry: NacosRegistry,
    scope: Scope,
    service: String,
    json: bool,
) -> anyhow::Result<Outcome> {
    let mut updates = std::sync::Arc::new(registry).watch(scope, service.clone());
    loop {
        let update = tokio::select! {
            update = updates.next() => update,
            _ = tokio::signal::ctrl_c() => return Ok(Outcome::Success),
        };
        let Some(update) = update else {
            return Ok(Outcome::Success);
        };
        match (update, json) {
            (Ok(instances), true) => {
                let instances = instances
                    .iter()
                    .map(instance_json)
                    .collect::<anyhow::Result<Vec<_>>>()?;
                print_line(&json!({ "service": service, "instances": instances }))?;
            }
            (Ok(mut instances), false) => {
                instances.sort_by_key(Instance::address);
                println!("\n{service}: {} instance(s)", instances.len());
                print_table(&instances);
            }
            (Err(error), _) => eprintln!("aduib: stale, the registry cannot say now: {error}"),
        }
    }
}

fn namespace_name(scope: &Scope) -> &str {
    match scope.namespace() {
        "" => "public",
        name => name,
    }
}

/// `aduib fanout`: the same call to every instance.
pub async fn fanout(args: crate::cli::CallArgs) -> anyhow::Result<Outcome> {
    let mut call = crate::call::aduib_call(&args, aduib_workbench::request::CallMode::Unary)?;
    call.data =
        serde_json::Value::Object(crate::input::read_object(args.data.as_deref(), "--data")?);
    let Some(discovery) = call.discovery.clone() else {
        bail!("fanout calls the instances of a service: give --nacos and --service");
    };
    let report = aduib_workbench::discovery::fanout(&call, &discovery).await?;
    let failed = report.results.iter().filter(|r| r.error.is_some()).count();
    for result in &report.results {
        print_line(result)?;
    }
    eprintln!(
        "{} instances: {} {}{}",
        report.results.len(),
        report.distinct,
        if report.distinct == 1 {
            "answer, all alike"
        } else {
            "different answers"
        },
        if failed > 0 {
            format!(", {failed} failed")
        } else {
            String::new()
        }
    );
    Ok(if report.distinct == 1 && failed == 0 {
        Outcome::Success
    } else {
        Outcome::ServerError
    })
}
