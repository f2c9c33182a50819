//! The client stack: an Aduib call to a *service*, not an address.
//!
//! Layers, outermost first:
//! - **deadline**: one budget for the whole call, retries included; each
//!   attempt carries what is left to the server (`qos.timeout_ms`, and
//!   `grpc-timeout` through the client's own deadline);
//! - **retry** ([`RetryPolicy`]): capped exponential backoff with full
//!   jitter, at most `max_attempts`, within a retry budget (tower's
//!   `TpsBudget`), on another instance when there is one. A call that may
//!   have reached a server is sent again only when it is idempotent (the
//!   flag, or `qos.idempotency_key`); a refused connection never reached
//!   one, so any call moves on from it. One loop serves calls and streams
//!   (see [`ServiceClient`] for why it is not tower's `Retry`);
//! - **auth** ([`Auth`]): bearer, API key and basic as headers, Aduib's as
//!   `metadata.auth`; never printed;
//! - **discovery and balancing** ([`Balanced`]): the service's instances
//!   from a [`Registry`], kept fresh by its watch (Nacos pushes changes),
//!   asked again after `refresh` without news, and kept (marked stale) when
//!   the registry cannot be reached; a [`Balancer`] picks one; one pooled
//!   client per instance.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use aduib_core::{AduibRequest, AduibResponse, AuthContext, AuthScheme, Limits, RequestMetadata};
use aduib_registry::balance::{Balancer, Strategy};
use aduib_registry::{Instance, Registry, RegistryError, Scope};
use base64::Engine;
use tower::retry::budget::{Budget, TpsBudget};

use crate::aduib::{AduibClient, ClientConfig, ResponseStream, Transport};
use crate::error::ClientError;
use crate::tls::TlsOptions;

/// Credentials for every call. `Debug` never shows them.
#[derive(Clone, PartialEq, Eq)]
pub enum Auth {
    /// `Authorization: Bearer <token>`.
    Bearer(String),
    /// `X-API-Key: <key>`.
    ApiKey(String),
    /// `Authorization: Basic base64(user:password)`.
    Basic { user: String, password: String },
    /// Aduib's own: `metadata.auth` in the envelope.
    Aduib {
        scheme: AuthScheme,
        credentials: String,
        principal: Option<String>,
        roles: Vec<String>,
    },
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self {
            Auth::Bearer(_) => "Bearer",
            Auth::ApiKey(_) => "ApiKey",
            Auth::Basic { .. } => "Basic",
            Auth::Aduib { .. } => "Aduib",
        };
        write!(f, "Auth::{kind}(<redacted>)")
    }
}

impl Auth {
    /// `bearer:TOKEN`, `api-key:KEY`, `basic:USER:PASSWORD`,
    /// `aduib:SCHEME:CREDENTIALS[:PRINCIPAL[:ROLE,ROLE]]` (values already
    /// resolved; the error never repeats them).
    pub fn parse(spec: &str) -> Result<Auth, String> {
        let (kind, rest) = spec
            .split_once(':')
            .ok_or("auth is KIND:VALUE (bearer, api-key, basic or aduib)")?;
        let empty = |what: &str| format!("{kind} auth needs {what}");
        match kind {
            "bearer" if !rest.is_empty() => Ok(Auth::Bearer(rest.to_owned())),
            "api-key" | "apikey" if !rest.is_empty() => Ok(Auth::ApiKey(rest.to_owned())),
            "basic" => {
                let (user, password) =
                    rest.split_once(':').ok_or_else(|| empty("USER:PASSWORD"))?;
                Ok(Auth::Basic {
                    user: user.to_owned(),
                    password: password.to_owned(),
                })
            }
            "aduib" => {
                let mut parts = rest.splitn(4, ':');
                let scheme = match parts.next().unwrap_or_default() {
                    "bearer" => AuthScheme::Bearer,
                    "api-key" | "api_key" => AuthScheme::ApiKey,
                    "basic" => AuthScheme::Basic,
                    "mtls" => AuthScheme::Mtls,
                    _ => return Err("aduib auth is aduib:SCHEME:CREDENTIALS with SCHEME bearer, api-key, basic or mtls".into()),
                };
                let credentials = parts
                    .next()
                    .filter(|c| !c.is_empty())
                    .ok_or_else(|| empty("credentials"))?;
                Ok(Auth::Aduib {
                    scheme,
                    credentials: credentials.to_owned(),
                    principal: parts.next().filter(|p| !p.is_empty()).map(str::to_owned),
                    roles: parts
                        .next()
                        .map(|r| {
                            r.split(',')
                                .filter(|r| !r.is_empty())
                                .map(str::to_owned)
                                .collect()
                        })
                        .unwrap_or_default(),
                })
            }
            "bearer" | "api-key" | "apikey" => Err(empty("a value")),
            other => Err(format!(
                "unknown auth kind {other:?}: bearer, api-key, basic or aduib"
            )),
        }
    }

    /// The headers it adds to every call.
    pub fn headers(&self) -> Vec<(String, String)> {
        match self {
            Auth::Bearer(token) => vec![("authorization".into(), format!("Bearer {token}"))],
            Auth::ApiKey(key) => vec![("x-api-key".into(), key.clone())],
            Auth::Basic { user, password } => {
                let encoded =
                    base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
                vec![("authorization".into(), format!("Basic {encoded}"))]
            }
            Auth::Aduib { .. } => Vec::new(),
        }
    }

    /// Sets `metadata.auth` for Aduib's own kind.
    fn apply(&self, request: &mut AduibRequest) {
        if let Auth::Aduib {
            scheme,
            credentials,
            principal,
            roles,
        } = self
        {
            request
                .metadata
                .get_or_insert_with(RequestMetadata::now)
                .auth = Some(AuthContext {
                scheme: *scheme,
                credentials: Some(credentials.clone()),
                principal: principal.clone(),
                principal_type: None,
                roles: (!roles.is_empty()).then(|| roles.clone()),
            });
        }
    }
}

/// When and how often to try again.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (1: never again).
    pub max_attempts: u32,
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
    /// Sent again after a failure that may have reached a server.
    pub idempotent: bool,
    budget: Arc<TpsBudget>,
}

impl RetryPolicy {
    pub fn new(max_attempts: u32, idempotent: bool) -> Self {
        RetryPolicy {
            max_attempts: max_attempts.max(1),
            initial_backoff: Duration::from_millis(25),
            max_backoff: Duration::from_secs(2),
            idempotent,
            // At least 10 retries a second, beyond that 20 % of calls.
            budget: Arc::new(TpsBudget::new(Duration::from_secs(10), 10, 0.2)),
        }
    }

    /// Full jitter: a random wait up to the capped exponential step.
    fn backoff(&self, attempt: u32) -> Duration {
        let step = self
            .initial_backoff
            .saturating_mul(1u32 << attempt.min(16))
            .min(self.max_backoff);
        step.mul_f64(fastrand::f64())
    }
}

/// Aduib codes that say "try elsewhere": unavailable, timeout, circuit open.
const RETRYABLE_CODES: [i32; 3] = [5002, 5003, 5010];

/// Where to send the calls.
#[derive(Debug, Clone)]
pub struct ServiceTarget {
    pub scope: Scope,
    /// The service's name in the registry.
    pub service: String,
    pub strategy: Strategy,
    /// Only this instance (its id, or `host:port`).
    pub instance: Option<String>,
    /// Only instances serving this transport; any Aduib one when `None`.
    pub transport: Option<Transport>,
    /// Where consistent hashing takes its key from: this `data` field, else
    /// the request id.
    pub hash_field: Option<String>,
}

/// Settings of the whole stack.
#[derive(Debug, Clone)]
pub struct StackConfig {
    pub target: ServiceTarget,
    pub retry: RetryPolicy,
    pub timeout: Option<Duration>,
    pub auth: Option<Auth>,
    pub headers: Vec<(String, String)>,
    pub limits: Limits,
    /// TLS for every instance (JSON-RPC, REST and gRPC ones).
    pub tls: Option<TlsOptions>,
    /// How long listed instances are used before asking again.
    pub refresh: Duration,
}

/// How a call went: where it went and how many tries it took.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// `host:port` of the instance that answered (or failed last).
    pub instance: String,
    pub attempts: u32,
    /// The instances came from the last good answer of a registry that
    /// cannot be reached now.
    pub stale: bool,
}

/// A failed call, and where it went.
#[derive(Debug, thiserror::Error)]
#[error("{error}")]
pub struct StackError {
    #[source]
    pub error: ClientError,
    pub route: Option<Route>,
}

/// One attempt: the request, what is left of the deadline, and the
/// instances that already failed this call.
#[derive(Debug)]
struct Attempt {
    /// Shared with the attempt in flight; a retry copies it only if that one still holds it.
    request: Arc<AduibRequest>,
    deadline: Option<Instant>,
    excluded: Vec<String>,
    attempts: u32,
}

/// An attempt's failure, naming the instance it went to.
#[derive(Debug)]
struct AttemptError {
    error: ClientError,
    instance: Option<String>,
    /// Whether the request may have reached a server.
    maybe_sent: bool,
    stale: bool,
}

/// Discovery and balancing: the innermost layer.
#[derive(Debug, Clone)]
struct Balanced {
    inner: Arc<BalancedInner>,
}

#[derive(Debug)]
struct BalancedInner {
    registry: Arc<dyn Registry>,
    target: ServiceTarget,
    balancer: Balancer,
    auth: Option<Auth>,
    config: ClientConfigBase,
    refresh: Duration,
    /// Shared with the watch, which updates it on each change.
    known: Arc<Mutex<Option<Known>>>,
    /// The registry's watch of the service, from the first call on.
    watching: Mutex<Option<WatchTask>>,
    /// Per URL, one client per transport (JSON-RPC and REST share URLs).
    clients: Mutex<HashMap<String, [Option<Arc<AduibClient>>; 4]>>,
}

/// The watch ends with the client.
#[derive(Debug)]
struct WatchTask(tokio::task::JoinHandle<()>);

impl Drop for WatchTask {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[derive(Debug, Clone)]
struct ClientConfigBase {
    headers: Vec<(String, String)>,
    timeout: Option<Duration>,
    limits: Limits,
    tls: Option<TlsOptions>,
}

#[derive(Debug)]
struct Known {
    targets: Arc<Vec<Target>>,
    at: Instant,
}

impl Known {
    fn new(instances: Vec<Instance>) -> Known {
        Known {
            targets: Arc::new(instances.into_iter().map(Target::new).collect()),
            at: Instant::now(),
        }
    }
}

/// An instance as the stack calls it, worked out once per registry answer
/// rather than on every call.
#[derive(Debug)]
struct Target {
    instance: Instance,
    /// `host:port`.
    address: String,
    /// Its transport and URL; `None` when it is not an Aduib instance.
    endpoint: Option<(Transport, String)>,
    /// Its client from the pool, once a call has gone to it.
    client: OnceLock<Arc<AduibClient>>,
}

impl Target {
    fn new(instance: Instance) -> Target {
        let endpoint = instance.aduib().map(|endpoint| {
            let transport = transport_of(&endpoint.transport).unwrap_or(Transport::JsonRpc);
            (transport, endpoint.url)
        });
        Target {
            address: instance.address(),
            endpoint,
            instance,
            client: OnceLock::new(),
        }
    }
}

impl AsRef<Instance> for Target {
    fn as_ref(&self) -> &Instance {
        &self.instance
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Balanced {
    /// The instances to choose from: fresh, or the last known when the
    /// registry cannot answer (then `stale`).
    async fn instances(&self) -> Result<(Arc<Vec<Target>>, bool), ClientError> {
        let inner = &self.inner;
        self.watch_changes();
        if let Some(known) = lock(&inner.known).as_ref()
            && known.at.elapsed() < inner.refresh
        {
            return Ok((known.targets.clone(), false));
        }
        match inner
            .registry
            .instances(&inner.target.scope, &inner.target.service)
            .await
        {
            Ok(instances) => {
                let known = Known::new(instances);
                let targets = known.targets.clone();
                *lock(&inner.known) = Some(known);
                Ok((targets, false))
            }
            Err(error) => match lock(&inner.known).as_ref() {
                Some(known) => {
                    tracing::warn!(%error, "the registry did not answer; using the instances it gave last");
                    Ok((known.targets.clone(), true))
                }
                None => Err(registry_error(error)),
            },
        }
    }

    /// Puts the credentials and what is left of `deadline` on `request`.
    fn prepare(&self, request: &mut AduibRequest, deadline: Option<Instant>) {
        if let Some(auth) = &self.inner.auth {
            auth.apply(request);
        }
        if let Some(deadline) = deadline {
            let left = deadline.saturating_duration_since(Instant::now());
            let qos = request.qos.get_or_insert_with(Default::default);
            qos.timeout_ms = Some(i64::try_from(left.as_millis()).unwrap_or(i64::MAX).max(1));
        }
    }

    /// The first attempt of a call: the request copied and prepared once;
    /// attempts share it.
    fn first_attempt(&self, request: &AduibRequest, timeout: Option<Duration>) -> Attempt {
        let deadline = timeout.map(|t| Instant::now() + t);
        let mut request = request.clone();
        self.prepare(&mut request, deadline);
        Attempt {
            request: Arc::new(request),
            deadline,
            excluded: Vec::new(),
            attempts: 0,
        }
    }

    /// Starts following the registry's changes, once: each change replaces
    /// the known instances at once, so a call never waits out `refresh` to
    /// see an instance come or go.
    fn watch_changes(&self) {
        let inner = &self.inner;
        let mut watching = lock(&inner.watching);
        if watching.is_some() {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let mut updates = (inner.registry.clone())
            .watch(inner.target.scope.clone(), inner.target.service.clone());
        let known = inner.known.clone();
        *watching = Some(WatchTask(runtime.spawn(async move {
            use futures::StreamExt;
            while let Some(update) = updates.next().await {
                // A failure is found by the next read too; the last list stands.
                if let Ok(instances) = update {
                    *lock(&known) = Some(Known::new(instances));
                }
            }
        })));
    }

    /// The target's client: its own once it has one, else one from the
    /// pool (so a new list from the registry keeps the connections).
    fn client_of(&self, target: &Target) -> Result<Option<Arc<AduibClient>>, ClientError> {
        if let Some(client) = target.client.get() {
            return Ok(Some(client.clone()));
        }
        let Some((transport, url)) = &target.endpoint else {
            return Ok(None);
        };
        let client = self.client(*transport, url)?;
        Ok(Some(target.client.get_or_init(|| client).clone()))
    }

    fn client(&self, transport: Transport, url: &str) -> Result<Arc<AduibClient>, ClientError> {
        let slot = match transport {
            Transport::JsonRpc => 0,
            Transport::Rest => 1,
            Transport::Grpc => 2,
            Transport::Thrift => 3,
        };
        let mut clients = lock(&self.inner.clients);
        if let Some(client) = clients.get(url).and_then(|slots| slots[slot].as_ref()) {
            return Ok(client.clone());
        }
        let base = &self.inner.config;
        let mut headers = base.headers.clone();
        if let Some(auth) = &self.inner.auth {
            headers.extend(auth.headers());
        }
        let client = Arc::new(AduibClient::new(ClientConfig {
            transport,
            url: url.to_owned(),
            headers,
            timeout: base.timeout,
            limits: base.limits,
            tls: base.tls.clone(),
        })?);
        clients.entry(url.to_owned()).or_default()[slot] = Some(client.clone());
        Ok(client)
    }

    /// One attempt: picks an instance, prepares the request (auth, what is
    /// left of the deadline) and runs `operation` on that instance's client.
    async fn attempt_with<T, F>(
        &self,
        attempt: &Attempt,
        operation: &impl Fn(Arc<AduibClient>, Arc<AduibRequest>) -> F,
    ) -> Result<(T, Route), AttemptError>
    where
        F: Future<Output = Result<T, ClientError>>,
    {
        let fail = |error, instance: Option<String>, maybe_sent, stale| AttemptError {
            error,
            instance,
            maybe_sent,
            stale,
        };
        let (targets, stale) = self
            .instances()
            .await
            .map_err(|error| fail(error, None, false, false))?;
        let target = &self.inner.target;
        // References only: this runs on every call, over every instance.
        let candidates: Vec<&Target> = targets
            .iter()
            .filter(|t| match &target.instance {
                Some(wanted) => &t.instance.id == wanted || &t.address == wanted,
                None => true,
            })
            .filter(|t| {
                t.endpoint.as_ref().is_some_and(|(transport, _)| {
                    target.transport.is_none_or(|want| *transport == want)
                })
            })
            .collect();
        if candidates.is_empty() {
            let error = ClientError::Setup(no_instance_message(target));
            return Err(fail(error, None, false, stale));
        }
        // Instances that failed this call go last: used only when nothing
        // else is left.
        let pool = if attempt.excluded.is_empty() {
            candidates
        } else {
            let fresh: Vec<&Target> = candidates
                .iter()
                .filter(|t| !attempt.excluded.contains(&t.address))
                .copied()
                .collect();
            if fresh.iter().any(|t| t.instance.callable()) {
                fresh
            } else {
                candidates
            }
        };
        let key = match target.strategy {
            Strategy::ConsistentHash => {
                Some(hash_key(&attempt.request, target.hash_field.as_deref()))
            }
            _ => None,
        };
        let Some(picked) = self.inner.balancer.pick(pool, key.as_deref()) else {
            let error = ClientError::Setup(format!(
                "no instance of {:?} is healthy and enabled with a weight above 0",
                target.service
            ));
            return Err(fail(error, None, false, stale));
        };
        let address = &picked.instance.address;
        let client = match self.client_of(picked.instance) {
            Ok(Some(client)) => client,
            Ok(None) => {
                let error = ClientError::Setup("not an Aduib instance".into());
                return Err(fail(error, Some(address.clone()), false, stale));
            }
            Err(error) => return Err(fail(error, Some(address.clone()), false, stale)),
        };
        let route = Route {
            instance: address.clone(),
            attempts: attempt.attempts + 1,
            stale,
        };
        match operation(client, attempt.request.clone()).await {
            Ok(answer) => Ok((answer, route)),
            Err(error) => {
                let maybe_sent = !matches!(error, ClientError::Connect { .. });
                Err(fail(error, Some(address.clone()), maybe_sent, stale))
            }
        }
        // `picked` lives until here: the call (or the opening of a stream)
        // counted as in flight.
    }
}

/// What an attempt came to, as the retry policy sees it.
enum Outcome<'a> {
    /// An answer, carrying this Aduib error code, if any.
    Answered {
        code: Option<i32>,
        instance: &'a str,
    },
    Failed(&'a AttemptError),
}

impl RetryPolicy {
    /// After an attempt: the wait before the next one, or `None` to end
    /// the call with this outcome. `repeatable`: whether the call may be
    /// sent twice when the request is idempotent (an opened stream may not:
    /// its items may have been used).
    fn again(
        &self,
        attempt: &mut Attempt,
        outcome: Outcome<'_>,
        repeatable: bool,
    ) -> Option<Duration> {
        let idempotent = repeatable
            && (self.idempotent
                || attempt
                    .request
                    .qos
                    .as_ref()
                    .is_some_and(|q| q.idempotency_key.is_some()));
        // A refused connection sent nothing: trying elsewhere adds no load
        // anywhere, so it does not draw on the budget (which would
        // otherwise run dry exactly when an instance dies).
        let never_sent = matches!(outcome, Outcome::Failed(f) if !f.maybe_sent);
        let (instance, retry) = match outcome {
            Outcome::Answered { code, instance } => {
                let retryable = code.is_some_and(|c| RETRYABLE_CODES.contains(&c));
                if !retryable {
                    self.budget.deposit();
                }
                (Some(instance), retryable && idempotent)
            }
            Outcome::Failed(failure) => {
                let retryable = match &failure.error {
                    ClientError::Connect { .. } => true,
                    ClientError::Transport { .. } => idempotent,
                    ClientError::GrpcStatus { code, .. } => {
                        idempotent && *code == tonic::Code::Unavailable
                    }
                    _ => false,
                };
                (
                    failure.instance.as_deref(),
                    retryable && (idempotent || !failure.maybe_sent),
                )
            }
        };
        attempt.attempts += 1;
        if !retry || attempt.attempts >= self.max_attempts {
            return None;
        }
        let wait = self.backoff(attempt.attempts - 1);
        if attempt.deadline.is_some_and(|d| Instant::now() + wait >= d) {
            return None;
        }
        if !never_sent && !self.budget.withdraw() {
            tracing::debug!("the retry budget is spent; not trying again");
            return None;
        }
        if let Some(instance) = instance {
            attempt.excluded.push(instance.to_owned());
        }
        Some(wait)
    }
}

/// A client for one service through a registry (see the module doc).
#[derive(Debug, Clone)]
pub struct ServiceClient {
    balanced: Balanced,
    retry: RetryPolicy,
    timeout: Option<Duration>,
}

impl ServiceClient {
    pub fn new(registry: Arc<dyn Registry>, config: StackConfig) -> Self {
        let balanced = Balanced {
            inner: Arc::new(BalancedInner {
                registry,
                balancer: Balancer::new(config.target.strategy),
                target: config.target,
                auth: config.auth,
                config: ClientConfigBase {
                    headers: config.headers,
                    timeout: config.timeout,
                    limits: config.limits,
                    tls: config.tls,
                },
                refresh: config.refresh,
                known: Arc::default(),
                watching: Mutex::new(None),
                clients: Mutex::default(),
            }),
        };
        ServiceClient {
            balanced,
            retry: config.retry,
            timeout: config.timeout,
        }
    }

    /// One unary call through discovery, balancing, retry, deadline and auth.
    pub async fn call(&self, request: &AduibRequest) -> Result<(AduibResponse, Route), StackError> {
        let answer_code = |response: &AduibResponse| response.error.as_ref().map(|e| e.code);
        self.run(request, true, answer_code, |client, request| async move {
            client.call(&request).await
        })
        .await
    }

    /// A server stream through discovery, balancing, deadline and auth. An
    /// instance that refuses the connection (nothing was sent) is passed
    /// over, up to the retry policy's attempts; an open stream is never
    /// sent again, whatever the policy, since its items may have been used.
    pub async fn stream(
        &self,
        request: &AduibRequest,
    ) -> Result<(ResponseStream, Route), StackError> {
        self.run(
            request,
            false,
            |_| None,
            |client, request| async move { client.stream(&request).await },
        )
        .await
    }

    /// The retry loop around attempts, within the deadline. It is a loop
    /// and not tower's `Retry` layer: a tower service's future must be
    /// named, which here means boxing each attempt's (large) future, and
    /// that alone cost a loopback call 2-3 % (`benches/stack_overhead.rs`).
    async fn run<T, F>(
        &self,
        request: &AduibRequest,
        repeatable: bool,
        answer_code: impl Fn(&T) -> Option<i32>,
        operation: impl Fn(Arc<AduibClient>, Arc<AduibRequest>) -> F,
    ) -> Result<(T, Route), StackError>
    where
        F: Future<Output = Result<T, ClientError>>,
    {
        let mut attempt = self.balanced.first_attempt(request, self.timeout);
        let attempts = async {
            loop {
                let result = self.balanced.attempt_with(&attempt, &operation).await;
                let outcome = match &result {
                    Ok((answer, route)) => Outcome::Answered {
                        code: answer_code(answer),
                        instance: &route.instance,
                    },
                    Err(failure) => Outcome::Failed(failure),
                };
                let Some(wait) = self.retry.again(&mut attempt, outcome, repeatable) else {
                    return result.map_err(|failure| StackError {
                        route: failure.instance.map(|instance| Route {
                            instance,
                            attempts: attempt.attempts,
                            stale: failure.stale,
                        }),
                        error: failure.error,
                    });
                };
                tokio::time::sleep(wait).await;
                // What is left of the deadline goes with the next attempt;
                // no attempt holds the request now, so this copies nothing.
                self.balanced
                    .prepare(Arc::make_mut(&mut attempt.request), attempt.deadline);
            }
        };
        let Some(timeout) = self.timeout else {
            return attempts.await;
        };
        match tokio::time::timeout(timeout, attempts).await {
            Ok(result) => result,
            Err(_) => Err(StackError {
                error: ClientError::Timeout {
                    url: "the service".into(),
                    after: timeout,
                },
                route: None,
            }),
        }
    }
}

fn transport_of(name: &str) -> Option<Transport> {
    match name {
        "jsonrpc" => Some(Transport::JsonRpc),
        "rest" => Some(Transport::Rest),
        "grpc" => Some(Transport::Grpc),
        "thrift" => Some(Transport::Thrift),
        _ => None,
    }
}

/// What consistent hashing hashes: a `data` field when named, else the id.
fn hash_key(request: &AduibRequest, field: Option<&str>) -> String {
    field
        .and_then(|f| request.data.as_ref()?.get(f))
        .map(|v| v.to_string())
        .unwrap_or_else(|| request.id.clone().unwrap_or_default())
}

fn no_instance_message(target: &ServiceTarget) -> String {
    let mut message = format!(
        "no instance of {:?} in {} / {}",
        target.service,
        match target.scope.namespace() {
            "" => "public",
            ns => ns,
        },
        target.scope.group()
    );
    if let Some(instance) = &target.instance {
        message.push_str(&format!(" is {instance:?}"));
    }
    if let Some(transport) = target.transport {
        message.push_str(&format!(" serves {transport:?}"));
    }
    message
}

fn registry_error(error: RegistryError) -> ClientError {
    match error {
        RegistryError::Unreachable { url, reason } => ClientError::Connect {
            url,
            reason: format!("the registry: {reason}"),
        },
        other => ClientError::Setup(format!("the registry: {other}")),
    }
}
