//! The desktop app: a thin shell. Every command forwards to aduib-workbench;
//! what this file adds is the window, the IPC, and batching of events so a
//! fast stream cannot flood the window.
//!
//! The app allocates with the system allocator, not mimalloc as `aduib` does:
//! GTK and WebKit allocate with glibc's anyway, and a second allocator beside
//! it held ~24 MiB more at idle (all processes' PSS 300–304 against 276–281
//! MiB, `tests/e2e/bench_app.py`), for a stream shown 15–25 % faster (111–115
//! against 81–97 k msg/s, where the bar is 50 k). At idle is where a desktop
//! app spends its life; throughput is the command line's and the server's.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use aduib_workbench::catalog::MethodInfo;
use aduib_workbench::discovery::{
    self, FanoutReport, InstanceView, InstancesUpdate, NamespaceView, RegistryTarget, ServicesView,
};
use aduib_workbench::host::{self, Host, HostCall, HostStatus};
use aduib_workbench::window::KeptBodies;
use aduib_workbench::workspace::{self, SavedRequest, WorkspaceFolder, WorkspaceSummary};
use aduib_workbench::{
    Detail, Entry, Event, EventBody, ExchangeHandle, GrpcTarget, History, HistoryError, Query,
    Request, TrackedTask, Workbench, WorkbenchError,
};
use serde::Serialize;
use tauri::ipc::Channel;
use tauri::{AppHandle, Manager, State};
use tokio::sync::mpsc::UnboundedReceiver;

/// At most one batch of events per frame reaches the window...
const FRAME: Duration = Duration::from_millis(16);
/// ...of at most this many events.
const MAX_BATCH: usize = 4096;

struct App {
    workbench: Workbench,
    host: Host,
    workspace_dir: Mutex<PathBuf>,
    exchanges: Mutex<HashMap<String, ExchangeHandle>>,
    /// Whole envelopes of the messages the window holds previews of.
    bodies: Mutex<KeptBodies>,
    /// Instance watches by id (the Registry view's; IPC calls may arrive out
    /// of order, so each is ended by its own id, not "the current one").
    instance_watches: Mutex<HashMap<u64, tauri::async_runtime::JoinHandle<()>>>,
    /// The feeds the window subscribes to once per page (server status,
    /// server log, task updates): a reloaded page subscribes again, and its
    /// old feed, whose sends still "succeed", is ended then.
    feeds: Mutex<HashMap<&'static str, tauri::async_runtime::JoinHandle<()>>>,
}

impl App {
    /// Keeps `feed` as the window's only `name` feed, ending the one before.
    fn replace_feed(&self, name: &'static str, feed: tauri::async_runtime::JoinHandle<()>) {
        let mut feeds = self.feeds.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(old) = feeds.insert(name, feed) {
            old.abort();
        }
    }

    fn workspace_dir(&self) -> PathBuf {
        self.workspace_dir
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn workspace(&self) -> Result<WorkspaceFolder, WorkbenchError> {
        WorkspaceFolder::open(self.workspace_dir())
    }

    /// `request` with the open workspace's `environment` (and `${env:NAME}`).
    fn resolve(
        &self,
        request: Request,
        environment: Option<&str>,
    ) -> Result<workspace::Resolved, WorkbenchError> {
        match self.workspace() {
            Ok(folder) => folder.resolve(request, environment),
            Err(_) if environment.is_none() => workspace::resolve(request, &Default::default()),
            Err(error) => Err(error),
        }
    }

    fn handle(&self, id: &str) -> Result<ExchangeHandle, WorkbenchError> {
        self.exchanges
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(id)
            .cloned()
            .ok_or_else(|| WorkbenchError::bad_input(format!("exchange {id} has ended")))
    }
}

/// Starts `request`, with `{{variables}}` from `environment` and
/// `${env:NAME}` resolved; its events arrive on `events` in batches. Returns
/// the exchange id (the id history keeps it under).
#[tauri::command]
async fn send(
    app: AppHandle,
    state: State<'_, App>,
    request: Request,
    environment: Option<String>,
    events: Channel<Vec<Event>>,
) -> Result<String, WorkbenchError> {
    let resolved = state.resolve(request, environment.as_deref())?;
    let exchange = state.workbench.send_resolved(resolved);
    let id = exchange.id.clone();
    state
        .exchanges
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(id.clone(), exchange.handle.clone());
    tauri::async_runtime::spawn(forward(
        app,
        id.clone(),
        exchange.events,
        exchange.handle,
        events,
    ));
    Ok(id)
}

/// Sends events in batches: whatever has arrived, then a frame's pause.
async fn forward(
    app: AppHandle,
    id: String,
    mut events: UnboundedReceiver<Event>,
    handle: ExchangeHandle,
    channel: Channel<Vec<Event>>,
) {
    while let Some(first) = events.recv().await {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match events.try_recv() {
                Ok(event) => batch.push(event),
                Err(_) => break,
            }
        }
        let ended = batch
            .iter()
            .any(|e| matches!(e.body, EventBody::End { .. }));
        let batch = app
            .state::<App>()
            .bodies
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .previews(&id, batch);
        if channel.send(batch).is_err() {
            // The window went away: so does the call.
            handle.cancel();
        }
        if ended {
            break;
        }
        tokio::time::sleep(FRAME).await;
    }
    app.state::<App>()
        .exchanges
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .remove(&id);
}

/// The whole body of a message the window was sent a preview of; none once
/// it is no longer kept.
#[tauri::command]
fn exchange_message(state: State<'_, App>, id: String, seq: u32) -> Option<serde_json::Value> {
    state
        .bodies
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .get(&id, seq)
}

#[tauri::command]
fn cancel(state: State<'_, App>, id: String) -> Result<(), WorkbenchError> {
    state.handle(&id)?.cancel();
    Ok(())
}

#[tauri::command]
fn send_message(
    state: State<'_, App>,
    id: String,
    data: serde_json::Value,
) -> Result<(), WorkbenchError> {
    state.handle(&id)?.send_message(data)
}

#[tauri::command]
fn end_stream(state: State<'_, App>, id: String) -> Result<(), WorkbenchError> {
    state.handle(&id)?.end_stream();
    Ok(())
}

/// Runs `read` on history off the async workers: SQLite blocks.
async fn read_history<T: Send + 'static>(
    state: &App,
    read: impl FnOnce(&History) -> Result<T, HistoryError> + Send + 'static,
) -> Result<T, WorkbenchError> {
    let workbench = state.workbench.clone();
    tauri::async_runtime::spawn_blocking(move || {
        let history = workbench.history().ok_or_else(|| {
            WorkbenchError::internal("history is off: its database could not be opened")
        })?;
        read(history).map_err(|e| WorkbenchError::internal(e.to_string()))
    })
    .await
    .map_err(|e| WorkbenchError::internal(e.to_string()))?
}

#[tauri::command]
async fn history_query(state: State<'_, App>, query: Query) -> Result<Vec<Entry>, WorkbenchError> {
    read_history(&state, move |history| history.query(&query)).await
}

#[tauri::command]
async fn history_get(state: State<'_, App>, id: String) -> Result<Option<Detail>, WorkbenchError> {
    read_history(&state, move |history| history.get(&id)).await
}

#[tauri::command]
async fn server_start(state: State<'_, App>) -> Result<HostStatus, WorkbenchError> {
    state.host.start().await
}

#[tauri::command]
async fn server_stop(state: State<'_, App>) -> Result<HostStatus, WorkbenchError> {
    Ok(state.host.stop().await)
}

/// The embedded server's status now and after each start or stop, so the
/// window need not poll for it.
#[tauri::command]
fn server_watch(state: State<'_, App>, status: Channel<HostStatus>) {
    let mut watcher = state.host.watch_status();
    let feed = tauri::async_runtime::spawn(async move {
        loop {
            let now = watcher.borrow_and_update().clone();
            if status.send(now).is_err() || watcher.changed().await.is_err() {
                break;
            }
        }
    });
    state.replace_feed("server_status", feed);
}

/// The calls the embedded server sees, from now on, batched like events.
#[tauri::command]
fn server_log(state: State<'_, App>, calls: Channel<Vec<HostCall>>) {
    let feed = forward_batches(state.host.calls(), calls, |batch, call| {
        batch.push(HostCall::from(call));
    });
    state.replace_feed("server_log", feed);
}

/// Sends what `seen` broadcasts to the window: whatever has arrived, then a
/// frame's pause; `add` puts one item into the batch. Ends when either
/// side goes away.
fn forward_batches<T, U>(
    mut seen: tokio::sync::broadcast::Receiver<T>,
    channel: Channel<Vec<U>>,
    add: impl Fn(&mut Vec<U>, T) + Send + 'static,
) -> tauri::async_runtime::JoinHandle<()>
where
    T: Clone + Send + 'static,
    U: Serialize + Send + 'static,
{
    use tokio::sync::broadcast::error::RecvError;
    tauri::async_runtime::spawn(async move {
        loop {
            let first = match seen.recv().await {
                Ok(item) => item,
                Err(RecvError::Lagged(_)) => continue,
                Err(RecvError::Closed) => break,
            };
            let mut batch = Vec::new();
            add(&mut batch, first);
            while let Ok(item) = seen.try_recv() {
                add(&mut batch, item);
            }
            if channel.send(batch).is_err() {
                break;
            }
            tokio::time::sleep(FRAME).await;
        }
    })
}

/// Submits an Aduib call as a long-running task; the tracker watches it.
#[tauri::command]
async fn task_submit(
    state: State<'_, App>,
    request: Request,
    environment: Option<String>,
    priority: Option<u8>,
) -> Result<TrackedTask, WorkbenchError> {
    let resolved = state.resolve(request, environment.as_deref())?;
    state.workbench.submit_task(resolved, priority).await
}

/// Submits a tracked task's call again, as a new task.
#[tauri::command]
async fn task_resubmit(
    state: State<'_, App>,
    task_id: String,
) -> Result<TrackedTask, WorkbenchError> {
    let task = state.workbench.task(&task_id)?;
    let resolved = workspace::resolve(Request::Aduib(task.call), &Default::default())?;
    state.workbench.submit_task(resolved, None).await
}

#[tauri::command]
async fn task_cancel(
    state: State<'_, App>,
    task_id: String,
) -> Result<TrackedTask, WorkbenchError> {
    Ok(state.workbench.cancel_task(&task_id).await?.1)
}

/// The tracked tasks, newest first (without their change lists).
#[tauri::command]
async fn tasks_list(state: State<'_, App>, limit: u32) -> Result<Vec<TrackedTask>, WorkbenchError> {
    let workbench = state.workbench.clone();
    tauri::async_runtime::spawn_blocking(move || workbench.tasks(limit))
        .await
        .map_err(|e| WorkbenchError::internal(e.to_string()))?
}

/// One tracked task with its status history.
#[tauri::command]
async fn task_get(state: State<'_, App>, task_id: String) -> Result<TrackedTask, WorkbenchError> {
    state.workbench.task(&task_id)
}

/// The user has seen how a task that ended while the app was closed ended.
#[tauri::command]
fn task_seen(state: State<'_, App>, task_id: String) -> Result<(), WorkbenchError> {
    match state.workbench.task_tracker() {
        Some(tracker) => Ok(tracker.mark_seen(&task_id)?),
        None => Ok(()),
    }
}

/// Every change of every tracked task, from now on, batched like events.
#[tauri::command]
fn task_updates(state: State<'_, App>, updates: Channel<Vec<TrackedTask>>) {
    let Some(tracker) = state.workbench.task_tracker() else {
        return;
    };
    // Only each task's latest state matters.
    let feed = forward_batches(tracker.updates(), updates, |batch, task| {
        batch.retain(|t: &TrackedTask| t.task_id != task.task_id);
        batch.push(task);
    });
    state.replace_feed("task_updates", feed);
}

/// The registry the workspace browses, as saved in it.
#[tauri::command]
async fn registry_saved(state: State<'_, App>) -> Result<Option<RegistryTarget>, WorkbenchError> {
    state.workspace()?.registry()
}

/// Connects to a registry: its namespaces; the connection is saved in the
/// workspace once it answers.
#[tauri::command]
async fn registry_namespaces(
    state: State<'_, App>,
    target: RegistryTarget,
) -> Result<Vec<NamespaceView>, WorkbenchError> {
    target.check()?;
    let namespaces = discovery::namespaces(&target).await?;
    if let Ok(folder) = state.workspace() {
        folder.save_registry(&target)?;
    }
    Ok(namespaces)
}

#[tauri::command]
async fn registry_services(
    target: RegistryTarget,
    page: u32,
    page_size: u32,
    filter: Option<String>,
) -> Result<ServicesView, WorkbenchError> {
    discovery::services(&target, page, page_size, filter).await
}

#[tauri::command]
async fn registry_groups(target: RegistryTarget) -> Result<Vec<String>, WorkbenchError> {
    discovery::groups(&target).await
}

#[tauri::command]
async fn registry_instances(
    target: RegistryTarget,
    service: String,
) -> Result<Vec<InstanceView>, WorkbenchError> {
    discovery::instances(&target, &service).await
}

/// Follows `service`'s instances: the list now, then each change, on
/// `updates`, until `registry_unwatch` with the id returned.
#[tauri::command]
fn registry_watch(
    state: State<'_, App>,
    target: RegistryTarget,
    service: String,
    updates: Channel<InstancesUpdate>,
) -> Result<u64, WorkbenchError> {
    static NEXT_WATCH: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    let mut watch = discovery::watch_instances(&target, &service)?;
    let task = tauri::async_runtime::spawn(async move {
        use futures::StreamExt;
        while let Some(update) = watch.next().await {
            if updates.send(update).is_err() {
                break;
            }
        }
    });
    let id = NEXT_WATCH.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    state
        .instance_watches
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(id, task);
    Ok(id)
}

/// Ends the watch `id` (the view left the service, or closed).
#[tauri::command]
fn registry_unwatch(state: State<'_, App>, id: u64) {
    let watch = state
        .instance_watches
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .remove(&id);
    if let Some(watch) = watch {
        watch.abort();
    }
}

/// The same call to every instance of a service (`request.discovery`).
#[tauri::command]
async fn fanout(
    state: State<'_, App>,
    request: Request,
    environment: Option<String>,
) -> Result<FanoutReport, WorkbenchError> {
    let resolved = state.resolve(request, environment.as_deref())?;
    match &resolved.request {
        Request::Aduib(call) => match &call.discovery {
            Some(found) => discovery::fanout(call, found).await,
            None => Err(WorkbenchError::bad_input(
                "a fan-out needs a service in a registry",
            )),
        },
        _ => Err(WorkbenchError::bad_input("a fan-out sends an Aduib call")),
    }
}

/// The open workspace: saved requests, environments, unreadable files.
#[tauri::command]
async fn workspace_summary(state: State<'_, App>) -> Result<WorkspaceSummary, WorkbenchError> {
    Ok(state.workspace()?.summary())
}

/// Opens the workspace in `dir`; the embedded server serves it from now on.
#[tauri::command]
async fn workspace_open(
    state: State<'_, App>,
    dir: String,
) -> Result<WorkspaceSummary, WorkbenchError> {
    let dir = PathBuf::from(dir.trim());
    let folder = WorkspaceFolder::open(&dir)?;
    state.host.switch(dir.clone()).await?;
    *state
        .workspace_dir
        .lock()
        .unwrap_or_else(PoisonError::into_inner) = dir;
    Ok(folder.summary())
}

/// Saves `request` in the workspace as `name` (over `id`, when given).
#[tauri::command]
async fn request_save(
    state: State<'_, App>,
    id: Option<String>,
    name: String,
    request: Request,
) -> Result<SavedRequest, WorkbenchError> {
    state
        .workspace()?
        .save_request(id.as_deref(), &name, &request)
}

#[tauri::command]
async fn request_delete(state: State<'_, App>, id: String) -> Result<(), WorkbenchError> {
    state.workspace()?.delete_request(&id)
}

#[tauri::command]
async fn grpc_methods(
    state: State<'_, App>,
    target: GrpcTarget,
) -> Result<Vec<MethodInfo>, WorkbenchError> {
    state.workbench.grpc_methods(&target).await
}

#[tauri::command]
async fn thrift_functions(
    state: State<'_, App>,
    idl: String,
    includes: Vec<String>,
) -> Result<Vec<MethodInfo>, WorkbenchError> {
    let includes = if includes.is_empty() {
        workspace::schema_dirs(&state.workspace_dir())
    } else {
        includes
    };
    state.workbench.thrift_functions(&idl, &includes)
}

/// Where things are, for the About box and the empty states.
#[derive(Debug, Serialize)]
struct AppInfo {
    version: &'static str,
    workspace_dir: String,
    history_path: Option<String>,
    /// UI preferences (tauri-plugin-store), beside history in the data folder.
    settings_path: String,
    schema_dirs: Vec<String>,
}

#[tauri::command]
fn app_info(state: State<'_, App>) -> AppInfo {
    AppInfo {
        version: env!("CARGO_PKG_VERSION"),
        workspace_dir: state.workspace_dir().display().to_string(),
        history_path: state
            .workbench
            .history()
            .map(|h| h.path().display().to_string()),
        settings_path: aduib_workbench::history::data_dir()
            .join("settings.json")
            .display()
            .to_string(),
        schema_dirs: workspace::schema_dirs(&state.workspace_dir()),
    }
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("ADUIB_LOG")
                // nacos-sdk logs each reconnect as an error; what matters
                // of it (no gRPC, polling instead) aduib-registry says once.
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,nacos_sdk=off")),
        )
        .with_writer(std::io::stderr)
        .init();
    let workspace_dir = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("ADUIB_WORKSPACE").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("workspaces/demo"));
    // ADUIB_APP_PORT_BASE moves the embedded server off its default ports
    // (17101-17104), so the app can run beside another server or a test.
    let binds = match std::env::var("ADUIB_APP_PORT_BASE")
        .ok()
        .map(|b| b.parse::<u16>())
    {
        Some(Ok(base)) => host::binds_from(base),
        Some(Err(_)) => anyhow::bail!("ADUIB_APP_PORT_BASE must be a port number"),
        None => host::default_binds(),
    };
    let host = Host::new(Some(workspace_dir.clone()), binds);

    if std::env::var_os("DISPLAY").is_none() && std::env::var_os("WAYLAND_DISPLAY").is_none() {
        return headless(host, &workspace_dir);
    }

    let history = match History::open(History::default_path()) {
        Ok(history) => Some(history),
        Err(error) => {
            tracing::warn!(%error, "history is off");
            None
        }
    };
    let app = App {
        workbench: Workbench::new(history)?,
        host,
        workspace_dir: Mutex::new(workspace_dir),
        exchanges: Mutex::default(),
        bodies: Mutex::default(),
        instance_watches: Mutex::default(),
        feeds: Mutex::default(),
    };
    tauri::Builder::default()
        .plugin(tauri_plugin_store::Builder::new().build())
        .manage(app)
        .setup(|app| {
            #[cfg(target_os = "linux")]
            if let Some(window) = app.get_webview_window("main") {
                window.with_webview(|webview| software_rendering(&webview.inner()))?;
            }
            // The embedded server starts with the app, so the first Send works.
            let handle = app.handle().clone();
            tauri::async_runtime::spawn(async move {
                let state = handle.state::<App>();
                if let Err(error) = state.host.start().await {
                    tracing::warn!(error = %error.chain(), "the embedded server did not start");
                }
                // Tasks left open by the last run are watched again.
                if state.workbench.task_tracker().is_some() {
                    match state.workbench.resume_tasks() {
                        Ok(n) if n > 0 => tracing::info!(tasks = n, "watching tasks again"),
                        Ok(_) => {}
                        Err(error) => tracing::warn!(%error, "tasks were not resumed"),
                    }
                }
            });
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![
            send,
            exchange_message,
            cancel,
            send_message,
            end_stream,
            history_query,
            history_get,
            server_start,
            server_stop,
            server_watch,
            server_log,
            workspace_summary,
            workspace_open,
            request_save,
            request_delete,
            grpc_methods,
            thrift_functions,
            app_info,
            task_submit,
            task_resubmit,
            task_cancel,
            tasks_list,
            task_get,
            task_seen,
            task_updates,
            registry_saved,
            registry_namespaces,
            registry_services,
            registry_groups,
            registry_instances,
            registry_watch,
            registry_unwatch,
            fanout,
        ])
        .run(tauri::generate_context!())?;
    Ok(())
}

/// Without a GPU, WebKit composites its layers with Mesa's software GL,
/// which holds ~85 MiB more in the web process than WebKit's own CPU
/// painting (measured under Xvfb), so there the page is painted without
/// compositing. `WEBKIT_DISABLE_COMPOSITING_MODE`, when set, decides instead.
#[cfg(target_os = "linux")]
fn software_rendering(webview: &webkit2gtk::WebView) {
    use webkit2gtk::{HardwareAccelerationPolicy, SettingsExt, WebViewExt};
    if std::env::var_os("WEBKIT_DISABLE_COMPOSITING_MODE").is_some()
        || has_gpu(std::path::Path::new("/dev/dri"))
    {
        return;
    }
    if let Some(settings) = WebViewExt::settings(webview) {
        settings.set_hardware_acceleration_policy(HardwareAccelerationPolicy::Never);
    }
}

/// Whether the machine has a GPU to render with: a DRM render node.
#[cfg(target_os = "linux")]
fn has_gpu(dri: &std::path::Path) -> bool {
    std::fs::read_dir(dri).is_ok_and(|entries| {
        entries
            .flatten()
            .any(|entry| entry.file_name().to_string_lossy().starts_with("renderD"))
    })
}

/// No display: say so in one line and serve the workspace until Ctrl+C.
fn headless(host: Host, workspace_dir: &std::path::Path) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let status = host.start().await?;
        let urls: Vec<String> = status
            .endpoints
            .iter()
            .map(|e| format!("{} {}", e.transport, e.url))
            .collect();
        println!(
            "no display: serving {} headless ({}); Ctrl+C stops",
            workspace_dir.display(),
            urls.join(", ")
        );
        tokio::signal::ctrl_c().await?;
        host.stop().await;
        anyhow::Ok(())
    })
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::has_gpu;

    #[test]
    fn a_gpu_is_a_drm_render_node() {
        let dri = std::env::temp_dir().join(format!("aduib-dri-{}", std::process::id()));
        assert!(!has_gpu(&dri), "no /dev/dri at all");
        std::fs::create_dir_all(&dri).unwrap();
        std::fs::write(dri.join("card0"), b"").unwrap();
        assert!(!has_gpu(&dri), "a display controller alone renders nothing");
        std::fs::write(dri.join("renderD128"), b"").unwrap();
        assert!(has_gpu(&dri));
        std::fs::remove_dir_all(&dri).unwrap();
    }
}
