//! Nacos through its HTTP open API (v1): namespaces, the paged service
//! list, instances, register, deregister and beats, with a login
//! (`/nacos/v1/auth/login`) when credentials are given. rnacos and Nacos 2.x
//! both serve it.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use futures::FutureExt;
use futures::future::BoxFuture;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::nacos_grpc::{self, NamingClients, Publish};
use crate::watch::watch_on;
use crate::{
    Instance, InstanceWatch, Namespace, PageQuery, Registration, Registry, RegistryError, Scope,
    ServicePage,
};

/// The most services read to list the groups of a namespace.
const GROUP_SCAN_LIMIT: usize = 100_000;

/// The most one answer may hold: 100,000 instances fit well within.
pub const MAX_REPLY_BYTES: usize = 64 * 1024 * 1024;

/// How to reach one Nacos server.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct NacosConfig {
    /// `host:port`, `http://host:port` or `nacos://host:port?namespace=..&group=..`.
    pub address: String,
    pub username: Option<String>,
    pub password: Option<String>,
    /// Per request; 10 s when unset.
    pub timeout: Option<Duration>,
}

impl std::fmt::Debug for NacosConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The password never reaches a log.
        f.debug_struct("NacosConfig")
            .field("address", &self.address)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("timeout", &self.timeout)
            .finish()
    }
}

#[derive(Debug)]
pub struct NacosRegistry {
    base: String,
    /// The namespace and group the address named, if any.
    scope: Scope,
    http: reqwest::Client,
    config: NacosConfig,
    token: Mutex<Option<(String, Instant)>>,
    /// Nacos 2.x gRPC clients, for pushed changes.
    naming: std::sync::Arc<NamingClients>,
}

impl NacosRegistry {
    pub fn new(config: NacosConfig) -> Result<Self, RegistryError> {
        let (base, scope) = parse_address(&config.address)?;
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(config.timeout.unwrap_or(Duration::from_secs(10)))
            .build()
            .map_err(|e| RegistryError::InvalidAddress {
                address: config.address.clone(),
                reason: e.to_string(),
            })?;
        Ok(NacosRegistry {
            base,
            scope,
            http,
            config,
            token: Mutex::new(None),
            naming: std::sync::Arc::default(),
        })
    }

    /// How the gRPC client reaches this registry.
    fn grpc_endpoint(&self) -> nacos_grpc::Endpoint<'_> {
        nacos_grpc::Endpoint {
            server: (self.base.split_once("://")).map_or(self.base.as_str(), |(_, rest)| rest),
            username: self.config.username.as_deref(),
            password: self.config.password.as_deref(),
        }
    }

    /// Registers ephemeral instances over gRPC (Nacos 2.x), bound to this
    /// client's connection: no beats, and gone with the process. Each
    /// service's instances go as one batch, as Nacos keeps one set per
    /// connection and service.
    pub async fn register_over_grpc(
        &self,
        registrations: &[Registration],
    ) -> Result<(), RegistryError> {
        self.publish_over_grpc(registrations, Publish::Register)
            .await
    }

    /// Withdraws what [`register_over_grpc`](Self::register_over_grpc) registered.
    pub async fn deregister_over_grpc(
        &self,
        registrations: &[Registration],
    ) -> Result<(), RegistryError> {
        self.publish_over_grpc(registrations, Publish::Deregister)
            .await
    }

    async fn publish_over_grpc(
        &self,
        registrations: &[Registration],
        what: Publish,
    ) -> Result<(), RegistryError> {
        for (scope, service, batch) in self.batches(registrations) {
            let key = (scope.namespace(), scope.group(), service.as_str());
            self.naming
                .publish(&self.grpc_endpoint(), key, &batch, what)
                .await?;
        }
        Ok(())
    }

    fn batches<'a>(
        &self,
        registrations: &'a [Registration],
    ) -> Vec<(Scope, String, Vec<&'a Registration>)> {
        let mut batches: BTreeMap<(String, String, String), Vec<&Registration>> = BTreeMap::new();
        for registration in registrations {
            let scope = self.scoped(&registration.scope);
            let key = (
                scope.namespace().to_owned(),
                scope.group().to_owned(),
                registration.service.clone(),
            );
            batches.entry(key).or_default().push(registration);
        }
        batches
            .into_iter()
            .map(|((namespace, group, service), batch)| {
                let scope = Scope {
                    namespace: Some(namespace),
                    group: Some(group),
                };
                (scope, service, batch)
            })
            .collect()
    }

    /// The namespace and group the address named (`nacos://…?namespace=..`).
    pub fn default_scope(&self) -> &Scope {
        &self.scope
    }

    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// `scope` with the address's namespace and group where it names none.
    fn scoped(&self, scope: &Scope) -> Scope {
        Scope {
            namespace: scope
                .namespace
                .clone()
                .or_else(|| self.scope.namespace.clone()),
            group: scope.group.clone().or_else(|| self.scope.group.clone()),
        }
    }

    /// The access token, logging in when credentials are set and the last
    /// token is missing or about to expire.
    async fn token(&self) -> Result<Option<String>, RegistryError> {
        let (Some(username), Some(password)) = (&self.config.username, &self.config.password)
        else {
            return Ok(None);
        };
        if let Some((token, until)) = self.lock_token().clone()
            && until > Instant::now()
        {
            return Ok(Some(token));
        }
        let url = format!("{}/nacos/v1/auth/login", self.base);
        let response = self
            .http
            .post(&url)
            .form(&[
                ("username", username.as_str()),
                ("password", password.as_str()),
            ])
            .send()
            .await
            .map_err(|e| unreachable(&url, &e))?;
        let status = response.status();
        let body = read_limited(&url, response).await?;
        if !status.is_success() {
            return Err(RegistryError::Auth {
                url,
                reason: format!("HTTP {}: {}", status.as_u16(), snippet(&body)),
            });
        }
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Login {
            access_token: String,
            #[serde(default)]
            token_ttl: u64,
        }
        let login: Login = parse(&url, &body)?;
        // Renewed a minute early (or at half-life for short tokens).
        let ttl = Duration::from_secs(login.token_ttl.max(2));
        let until = Instant::now() + ttl.saturating_sub(Duration::from_secs(60).min(ttl / 2));
        *self.lock_token() = Some((login.access_token.clone(), until));
        Ok(Some(login.access_token))
    }

    fn lock_token(&self) -> std::sync::MutexGuard<'_, Option<(String, Instant)>> {
        self.token
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    async fn request(
        &self,
        method: reqwest::Method,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<Vec<u8>, RegistryError> {
        let url = format!("{}{path}", self.base);
        let mut query: Vec<(&str, String)> = query.to_vec();
        if let Some(token) = self.token().await? {
            query.push(("accessToken", token));
        }
        let response = self
            .http
            .request(method, &url)
            .query(&query)
            .send()
            .await
            .map_err(|e| unreachable(&url, &e))?;
        let status = response.status();
        let body = read_limited(&url, response).await?;
        match status.as_u16() {
            200..=299 => Ok(body),
            401 | 403 => Err(RegistryError::Auth {
                url,
                reason: snippet(&body),
            }),
            code => Err(RegistryError::Status {
                url,
                status: code,
                body: snippet(&body),
            }),
        }
    }

    async fn get_json<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<T, RegistryError> {
        let body = self.request(reqwest::Method::GET, path, query).await?;
        parse(&format!("{}{path}", self.base), &body)
    }

    async fn instances_of(
        &self,
        scope: &Scope,
        service: &str,
    ) -> Result<Vec<Instance>, RegistryError> {
        let scope = self.scoped(scope);
        #[derive(Deserialize)]
        struct List {
            #[serde(default)]
            hosts: Vec<Host>,
        }
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Host {
            #[serde(default)]
            instance_id: Option<String>,
            ip: String,
            port: u16,
            #[serde(default = "one")]
            weight: f64,
            #[serde(default = "yes")]
            healthy: bool,
            #[serde(default = "yes")]
            enabled: bool,
            #[serde(default = "yes")]
            ephemeral: bool,
            #[serde(default)]
            cluster_name: Option<String>,
            /// `null` in some servers' answers.
            #[serde(default)]
            metadata: Option<BTreeMap<String, String>>,
        }
        let list: List = self
            .get_json(
                "/nacos/v1/ns/instance/list",
                &[
                    ("serviceName", service.to_owned()),
                    ("namespaceId", scope.namespace().to_owned()),
                    ("groupName", scope.group().to_owned()),
                    ("healthyOnly", "false".to_owned()),
                ],
            )
            .await?;
        Ok(list
            .hosts
            .into_iter()
            .map(|h| Instance {
                id: h
                    .instance_id
                    .unwrap_or_else(|| format!("{}#{}", h.ip, h.port)),
                service: service.to_owned(),
                ip: h.ip,
                port: h.port,
                weight: h.weight,
                healthy: h.healthy,
                enabled: h.enabled,
                ephemeral: h.ephemeral,
                cluster: h.cluster_name.unwrap_or_else(|| "DEFAULT".to_owned()),
                metadata: h.metadata.unwrap_or_default(),
            })
            .collect())
    }

    fn instance_query(
        &self,
        registration: &Registration,
    ) -> Result<Vec<(&'static str, String)>, RegistryError> {
        let scope = self.scoped(&registration.scope);
        let metadata =
            serde_json::to_string(&registration.metadata).map_err(|e| RegistryError::BadReply {
                url: self.base.clone(),
                reason: format!("metadata: {e}"),
            })?;
        let mut query = vec![
            ("serviceName", registration.service.clone()),
            ("ip", registration.ip.clone()),
            ("port", registration.port.to_string()),
            ("weight", registration.weight.to_string()),
            ("ephemeral", registration.ephemeral.to_string()),
            ("namespaceId", scope.namespace().to_owned()),
            ("groupName", scope.group().to_owned()),
            ("metadata", metadata),
        ];
        if let Some(cluster) = &registration.cluster {
            query.push(("clusterName", cluster.clone()));
        }
        Ok(query)
    }

    /// Tells Nacos an ephemeral instance is alive (every 5 s keeps it);
    /// `false` when Nacos no longer knows it (register it again). The beat
    /// carries the whole instance: a server that re-creates a forgotten
    /// instance from it (rnacos does) keeps its metadata.
    pub async fn beat(&self, registration: &Registration) -> Result<bool, RegistryError> {
        let scope = self.scoped(&registration.scope);
        let beat = serde_json::json!({
            "serviceName": registration.service,
            "ip": registration.ip,
            "port": registration.port,
            "cluster": registration.cluster.as_deref().unwrap_or("DEFAULT"),
            "weight": registration.weight,
            "metadata": registration.metadata,
            "scheduled": true,
        })
        .to_string();
        let body = self
            .request(
                reqwest::Method::PUT,
                "/nacos/v1/ns/instance/beat",
                &[
                    ("serviceName", registration.service.clone()),
                    ("ip", registration.ip.clone()),
                    ("port", registration.port.to_string()),
                    ("namespaceId", scope.namespace().to_owned()),
                    ("groupName", scope.group().to_owned()),
                    ("beat", beat),
                ],
            )
            .await?;
        #[derive(Deserialize)]
        struct Beat {
            #[serde(default)]
            code: i64,
        }
        // 10200 is Nacos's OK; 20404, an instance it does not know.
        let beat: Beat = parse(&format!("{}/nacos/v1/ns/instance/beat", self.base), &body)?;
        Ok(beat.code != 20404)
    }
}

fn one() -> f64 {
    1.0
}

fn yes() -> bool {
    true
}

impl Registry for NacosRegistry {
    fn namespaces(&self) -> BoxFuture<'_, Result<Vec<Namespace>, RegistryError>> {
        async move {
            #[derive(Deserialize)]
            struct Reply {
                #[serde(default)]
                data: Vec<Entry>,
            }
            #[derive(Deserialize)]
            #[serde(rename_all = "camelCase")]
            struct Entry {
                #[serde(default)]
                namespace: String,
                #[serde(default)]
                namespace_show_name: String,
                #[serde(default)]
                config_count: Option<u64>,
            }
            let reply: Reply = self.get_json("/nacos/v1/console/namespaces", &[]).await?;
            Ok(reply
                .data
                .into_iter()
                .map(|e| Namespace {
                    name: if e.namespace_show_name.is_empty() {
                        e.namespace.clone()
                    } else {
                        e.namespace_show_name
                    },
                    id: e.namespace,
                    count: e.config_count,
                })
                .collect())
        }
        .boxed()
    }

    fn services<'a>(
        &'a self,
        scope: &'a Scope,
        page: &'a PageQuery,
    ) -> BoxFuture<'a, Result<ServicePage, RegistryError>> {
        async move {
            let scope = self.scoped(scope);
            #[derive(Deserialize)]
            struct Reply {
                #[serde(default)]
                count: u64,
                #[serde(default)]
                doms: Vec<String>,
            }
            let mut query = vec![
                ("pageNo", page.page.max(1).to_string()),
                ("pageSize", page.page_size.clamp(1, 1000).to_string()),
                ("namespaceId", scope.namespace().to_owned()),
                ("groupName", scope.group().to_owned()),
            ];
            if let Some(text) = page.name_contains.as_ref().filter(|t| !t.is_empty()) {
                query.push(("serviceName", text.clone()));
            }
            let reply: Reply = self.get_json("/nacos/v1/ns/service/list", &query).await?;
            Ok(ServicePage {
                total: reply.count,
                services: reply.doms,
            })
        }
        .boxed()
    }

    /// From the console's catalog (`/nacos/v1/ns/catalog/services`, served
    /// by Nacos 2.x and rnacos): the v1 open API has no group list. Read in
    /// pages, at most [`GROUP_SCAN_LIMIT`] services.
    fn groups<'a>(&'a self, scope: &'a Scope) -> BoxFuture<'a, Result<Vec<String>, RegistryError>> {
        async move {
            let scope = self.scoped(scope);
            #[derive(Deserialize)]
            #[serde(rename_all = "camelCase")]
            struct Reply {
                #[serde(default)]
                count: u64,
                #[serde(default)]
                service_list: Vec<Entry>,
            }
            #[derive(Deserialize)]
            #[serde(rename_all = "camelCase")]
            struct Entry {
                #[serde(default)]
                group_name: Option<String>,
            }
            let mut groups = std::collections::BTreeSet::from([crate::DEFAULT_GROUP.to_owned()]);
            let page_size = 1000;
            for page in 1..=GROUP_SCAN_LIMIT / page_size {
                let reply: Reply = self
                    .get_json(
                        "/nacos/v1/ns/catalog/services",
                        &[
                            ("pageNo", page.to_string()),
                            ("pageSize", page_size.to_string()),
                            ("namespaceId", scope.namespace().to_owned()),
                        ],
                    )
                    .await?;
                let seen = reply.service_list.len();
                groups.extend(reply.service_list.into_iter().filter_map(|e| e.group_name));
                if seen < page_size || (page * page_size) as u64 >= reply.count {
                    break;
                }
            }
            Ok(groups.into_iter().collect())
        }
        .boxed()
    }

    fn instances<'a>(
        &'a self,
        scope: &'a Scope,
        service: &'a str,
    ) -> BoxFuture<'a, Result<Vec<Instance>, RegistryError>> {
        self.instances_of(scope, service).boxed()
    }

    fn register<'a>(
        &'a self,
        registration: &'a Registration,
    ) -> BoxFuture<'a, Result<(), RegistryError>> {
        async move {
            let query = self.instance_query(registration)?;
            self.request(reqwest::Method::POST, "/nacos/v1/ns/instance", &query)
                .await
                .map(drop)
        }
        .boxed()
    }

    fn deregister<'a>(
        &'a self,
        registration: &'a Registration,
    ) -> BoxFuture<'a, Result<(), RegistryError>> {
        async move {
            let query = self.instance_query(registration)?;
            self.request(reqwest::Method::DELETE, "/nacos/v1/ns/instance", &query)
                .await
                .map(drop)
        }
        .boxed()
    }

    /// Woken by Nacos's pushes over gRPC (polling when it cannot push).
    fn watch(self: std::sync::Arc<Self>, scope: Scope, service: String) -> InstanceWatch {
        let scoped = self.scoped(&scope);
        let wakes = nacos_grpc::wakes(
            self.naming.clone(),
            self.grpc_endpoint(),
            scoped.namespace().to_owned(),
            scoped.group().to_owned(),
            service.clone(),
        );
        watch_on(self, scope, service, wakes)
    }
}

/// `http://host:port` and the scope from what a person may type:
/// `host:port`, `http://host:port`, `nacos://host:port?namespace=..&group=..`.
fn parse_address(address: &str) -> Result<(String, Scope), RegistryError> {
    let bad = |reason: &str| RegistryError::InvalidAddress {
        address: address.to_owned(),
        reason: reason.to_owned(),
    };
    let with_scheme = if address.contains("://") {
        address.replacen("nacos://", "http://", 1)
    } else {
        format!("http://{address}")
    };
    let url = url::Url::parse(&with_scheme).map_err(|e| bad(&e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad("use nacos://, http:// or https://"));
    }
    let host = url.host_str().ok_or_else(|| bad("no host"))?;
    let port = url.port_or_known_default().ok_or_else(|| bad("no port"))?;
    let mut scope = Scope::default();
    for (key, value) in url.query_pairs() {
        match key.as_ref() {
            "namespace" | "namespaceId" => scope.namespace = Some(value.into_owned()),
            "group" | "groupName" => scope.group = Some(value.into_owned()),
            _ => {}
        }
    }
    let host = if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]")
    } else {
        host.to_owned()
    };
    Ok((format!("{}://{host}:{port}", url.scheme()), scope))
}

fn unreachable(url: &str, error: &reqwest::Error) -> RegistryError {
    let mut reason = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(next) = source {
        reason = next.to_string();
        source = next.source();
    }
    if error.is_timeout() {
        reason = format!("no answer in time ({reason})");
    }
    RegistryError::Unreachable {
        url: url.to_owned(),
        reason,
    }
}

/// The body, refused past [`MAX_REPLY_BYTES`] before it is all read.
async fn read_limited(
    url: &str,
    mut response: reqwest::Response,
) -> Result<Vec<u8>, RegistryError> {
    let too_large = || RegistryError::TooLarge {
        url: url.to_owned(),
        limit: MAX_REPLY_BYTES,
    };
    if response
        .content_length()
        .is_some_and(|n| n > MAX_REPLY_BYTES as u64)
    {
        return Err(too_large());
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| unreachable(url, &e))? {
        if body.len() + chunk.len() > MAX_REPLY_BYTES {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

fn parse<T: DeserializeOwned>(url: &str, body: &[u8]) -> Result<T, RegistryError> {
    serde_json::from_slice(body).map_err(|e| RegistryError::BadReply {
        url: url.to_owned(),
        reason: format!("{e} in {}", snippet(body)),
    })
}

fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(200)]);
    text.trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_take_every_form_a_person_types() {
        let (base, scope) = parse_address("127.0.0.1:8848").unwrap();
        assert_eq!(base, "http://127.0.0.1:8848");
        assert_eq!(scope, Scope::default());
        let (base, scope) = parse_address("nacos://h:18848?namespace=dev&group=G").unwrap();
        assert_eq!(base, "http://h:18848");
        assert_eq!(scope.namespace.as_deref(), Some("dev"));
        assert_eq!(scope.group(), "G");
        assert_eq!(parse_address("https://h").unwrap().0, "https://h:443");
        assert!(parse_address("ftp://h:1").is_err());
        assert!(parse_address("").is_err());
    }

    #[test]
    fn the_password_is_never_printed() {
        let config = NacosConfig {
            address: "h:1".into(),
            username: Some("nacos".into()),
            password: Some("hunter2".into()),
            timeout: None,
        };
        assert!(!format!("{config:?}").contains("hunter2"));
    }
}
