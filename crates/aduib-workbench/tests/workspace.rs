//! Workspaces as folders: saved requests as files, environments with
//! `{{variables}}` and `${env:NAME}` secrets that are resolved in memory and
//! never written anywhere in clear.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::net::SocketAddr;

use aduib_server::demo::register_cacul_service;
use aduib_server::{HandlerRegistry, Server, ServerConfig, Transport};
use aduib_workbench::request::{AduibCall, AduibTransport, CallMode, CallOptions, Header};
use aduib_workbench::workspace::{WorkspaceFolder, resolve, resolve_with};
use aduib_workbench::{ErrorKind, EventBody, History, Request, Workbench};
use serde_json::json;

fn folder() -> (tempfile::TempDir, WorkspaceFolder) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("workspace.toml"), "name = \"team\"\n").unwrap();
    let folder = WorkspaceFolder::open(dir.path()).unwrap();
    (dir, folder)
}

fn call(url: &str, data: serde_json::Value, headers: Vec<Header>) -> Request {
    Request::Aduib(AduibCall {
        discovery: None,
        tls: None,
        transport: AduibTransport::Jsonrpc,
        url: url.into(),
        method: "CaculService.echo".into(),
        mode: CallMode::Unary,
        data,
        messages: vec![],
        interactive: false,
        id: None,
        options: CallOptions {
            headers,
            ..CallOptions::default()
        },
    })
}

/// A process environment holding only `NAME=value`.
fn env_of(name: &str, value: &str) -> impl Fn(&str) -> Option<String> {
    let (name, value) = (name.to_owned(), value.to_owned());
    move |wanted| (wanted == name).then(|| value.clone())
}

#[test]
fn a_folder_without_workspace_toml_is_refused_with_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let error = WorkspaceFolder::open(dir.path()).unwrap_err();
    assert_eq!(error.kind, ErrorKind::BadInput);
    assert!(error.message.contains("not a workspace"), "{error:?}");
    assert!(!error.causes.is_empty());
}

#[test]
fn saved_requests_are_one_readable_file_each_listed_by_name() {
    let (dir, folder) = folder();
    let first = folder
        .save_request(
            None,
            "Add two numbers",
            &call("{{base}}", json!({"x": 1}), vec![]),
        )
        .unwrap();
    let second = folder
        .save_request(
            None,
            "Add two numbers",
            &call("{{base}}", json!({"x": 2}), vec![]),
        )
        .unwrap();
    assert_eq!(first.id, "add-two-numbers");
    assert_eq!(
        second.id, "add-two-numbers-2",
        "a second save keeps the first"
    );

    let text = std::fs::read_to_string(dir.path().join("requests/add-two-numbers.json")).unwrap();
    assert!(
        text.contains("\n  \"name\": \"Add two numbers\""),
        "pretty, diffable: {text}"
    );
    assert!(!text.contains("\"id\""), "the file name is the id: {text}");

    // Saving under an id replaces that file.
    folder
        .save_request(
            Some(&first.id),
            "Add",
            &call("{{base}}", json!({"x": 3}), vec![]),
        )
        .unwrap();
    let summary = folder.summary();
    assert_eq!(summary.name, "team");
    let names: Vec<_> = summary.requests.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["Add", "Add two numbers"]);
    folder.delete_request(&second.id).unwrap();
    assert_eq!(folder.summary().requests.len(), 1);
}

#[test]
fn an_unreadable_file_is_reported_not_dropped_silently() {
    let (dir, folder) = folder();
    std::fs::create_dir_all(dir.path().join("requests")).unwrap();
    std::fs::write(dir.path().join("requests/broken.json"), "{ not json").unwrap();
    std::fs::create_dir_all(dir.path().join("environments")).unwrap();
    std::fs::write(dir.path().join("environments/dev.toml"), "[variables\n").unwrap();
    let summary = folder.summary();
    assert!(summary.requests.is_empty() && summary.environments.is_empty());
    assert_eq!(summary.problems.len(), 2, "{:?}", summary.problems);
    assert!(
        summary
            .problems
            .iter()
            .any(|p| p.path.ends_with("broken.json"))
    );
}

#[test]
fn an_id_cannot_name_a_file_outside_the_workspace() {
    let (_dir, folder) = folder();
    for id in ["../workspace", "a/b", ""] {
        let error = folder.delete_request(id).unwrap_err();
        assert_eq!(error.kind, ErrorKind::BadInput, "{id}");
    }
}

#[test]
fn a_credential_in_clear_is_not_saved_but_a_reference_is() {
    let (dir, folder) = folder();
    let secret = uuid::Uuid::new_v4().to_string();
    let clear = call(
        "http://h",
        json!({}),
        vec![Header::new("Authorization", format!("Bearer {secret}"))],
    );
    let error = folder.save_request(None, "clear", &clear).unwrap_err();
    assert_eq!(error.kind, ErrorKind::BadInput);
    assert_eq!(error.path.as_deref(), Some("header Authorization"));
    let in_body = call(
        "http://h",
        json!({"metadata": {"auth": {"credentials": secret}}}),
        vec![],
    );
    let error = folder.save_request(None, "body", &in_body).unwrap_err();
    assert_eq!(
        error.path.as_deref(),
        Some("body.metadata.auth.credentials")
    );
    let requests = dir.path().join("requests");
    assert!(
        !requests.exists() || requests.read_dir().unwrap().next().is_none(),
        "nothing written"
    );

    let referenced = call(
        "http://h",
        json!({"metadata": {"auth": {"credentials": "{{token}}"}}}),
        vec![Header::new("Authorization", "Bearer ${env:API_TOKEN}")],
    );
    folder.save_request(None, "ok", &referenced).unwrap();
}

#[test]
fn variables_resolve_nested_and_env_references_become_secrets() {
    let secret = uuid::Uuid::new_v4().to_string();
    let name = "API_TOKEN";
    let variables = BTreeMap::from([
        ("host".to_owned(), "127.0.0.1:9".to_owned()),
        ("base".to_owned(), "http://{{host}}".to_owned()),
        ("token".to_owned(), format!("${{env:{name}}}")),
    ]);
    let request = call(
        "{{ base }}/x",
        json!({"note": "keep {{host}}", "n": 1}),
        vec![Header::new("Authorization", "Bearer {{token}}")],
    );
    let resolved = resolve_with(request, &variables, &env_of(name, &secret)).unwrap();
    let Request::Aduib(call) = &resolved.request else {
        panic!()
    };
    assert_eq!(call.url, "http://127.0.0.1:9/x");
    assert_eq!(call.data, json!({"note": "keep 127.0.0.1:9", "n": 1}));
    assert_eq!(call.options.headers[0].value, format!("Bearer {secret}"));
    assert_eq!(resolved.secrets, [(secret, format!("${{env:{name}}}"))]);
}

#[test]
fn what_cannot_be_resolved_says_where() {
    let none = BTreeMap::new();
    let error = resolve(call("{{base}}/x", json!({}), vec![]), &none).unwrap_err();
    assert_eq!(error.kind, ErrorKind::BadInput);
    assert_eq!(error.path.as_deref(), Some("url"));
    assert!(error.message.contains("{{base}}"), "{error:?}");

    let unset = format!("ADUIB_UNSET_{}", uuid::Uuid::new_v4().simple());
    let error = resolve(
        call(
            "http://h",
            json!({"a": [format!("${{env:{unset}}}")]}),
            vec![],
        ),
        &none,
    )
    .unwrap_err();
    assert_eq!(error.path.as_deref(), Some("data.a[0]"));
    assert!(error.message.contains("not set"), "{error:?}");

    let error = resolve(call("{{base", json!({}), vec![]), &none).unwrap_err();
    assert!(error.message.contains("not closed"), "{error:?}");

    let looping = BTreeMap::from([("a".to_owned(), "{{a}}".to_owned())]);
    let error = resolve(call("{{a}}", json!({}), vec![]), &looping).unwrap_err();
    assert!(error.message.contains("deep"), "{error:?}");
}

#[test]
fn environments_are_read_from_toml_files() {
    let (dir, folder) = folder();
    std::fs::create_dir_all(dir.path().join("environments")).unwrap();
    std::fs::write(
        dir.path().join("environments/local.toml"),
        "[variables]\nbase = \"http://127.0.0.1:17101\"\n",
    )
    .unwrap();
    let env = folder.environment("local").unwrap();
    assert_eq!(env.variables["base"], "http://127.0.0.1:17101");
    let error = folder.environment("prod").unwrap_err();
    assert_eq!(error.kind, ErrorKind::NotFound);
}

/// The secret travels (the server echoes it back), and history keeps only
/// its reference, in the request and in every event.
#[tokio::test]
async fn history_records_env_secrets_as_their_references() {
    let mut registry = HandlerRegistry::new();
    register_cacul_service(&mut registry);
    let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let server = Server::new(registry, ServerConfig::default())
        .start(&[(Transport::JsonRpc, any)])
        .await
        .unwrap();
    let url = server.endpoints()[0].url();

    let secret = uuid::Uuid::new_v4().to_string();
    let name = "NOTE_SECRET";
    let variables = BTreeMap::from([("base".to_owned(), url)]);
    let request = call(
        "{{base}}",
        json!({"note": format!("${{env:{name}}}")}),
        vec![],
    );
    let resolved = resolve_with(request, &variables, &env_of(name, &secret)).unwrap();

    let data = tempfile::tempdir().unwrap();
    let workbench =
        Workbench::new(Some(History::open(data.path().join("h.sqlite3")).unwrap())).unwrap();
    let mut exchange = workbench.send_resolved(resolved);
    let mut echoed = false;
    while let Some(event) = exchange.events.recv().await {
        if let EventBody::Message { body, .. } = &event.body {
            echoed |= body.to_string().contains(&secret);
        }
    }
    assert!(echoed, "the call carried the secret");

    let detail = workbench
        .history()
        .unwrap()
        .get(&exchange.id)
        .unwrap()
        .unwrap();
    let kept = serde_json::to_string(&(&detail.request, &detail.events)).unwrap();
    assert!(!kept.contains(&secret), "{kept}");
    assert!(kept.contains(&format!("${{env:{name}}}")), "{kept}");
    assert!(
        kept.contains("127.0.0.1"),
        "variables that are not secrets stay resolved"
    );
    // Nor in any of the database's files (WAL included).
    for file in std::fs::read_dir(data.path()).unwrap() {
        let bytes = std::fs::read(file.unwrap().path()).unwrap();
        assert!(!bytes.windows(secret.len()).any(|w| w == secret.as_bytes()));
    }
    server.shutdown(std::time::Duration::from_secs(1)).await;
}

#[test]
fn the_demo_workspace_reads_cleanly() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../workspaces/demo");
    let summary = WorkspaceFolder::open(&dir).unwrap().summary();
    assert!(summary.problems.is_empty(), "{:?}", summary.problems);
    assert!(summary.requests.len() >= 4);
    let local = &summary
        .environments
        .iter()
        .find(|e| e.name == "local")
        .unwrap()
        .variables;
    // Every variable a saved request uses is defined by "local".
    for saved in &summary.requests {
        resolve(saved.request.clone(), local).unwrap();
    }
}

#[test]
fn the_registry_connection_is_saved_beside_the_workspace_with_references_only() {
    use aduib_workbench::discovery::RegistryTarget;
    let (dir, folder) = folder();
    assert_eq!(folder.registry().unwrap(), None, "nothing saved yet");
    let target = RegistryTarget {
        address: "nacos://127.0.0.1:8848?namespace=dev".into(),
        group: Some("G".into()),
        username: Some("nacos".into()),
        password: Some("${env:NACOS_PASSWORD}".into()),
        ..RegistryTarget::default()
    };
    folder.save_registry(&target).unwrap();
    assert_eq!(folder.registry().unwrap(), Some(target));
    let text = std::fs::read_to_string(dir.path().join("registry.toml")).unwrap();
    assert!(text.contains("${env:NACOS_PASSWORD}"), "{text}");
    // A file a person broke is named, not ignored.
    std::fs::write(dir.path().join("registry.toml"), "address = [").unwrap();
    let error = folder.registry().unwrap_err();
    assert!(error.message.contains("registry.toml"), "{}", error.message);
}
