//! A workspace as a folder a team keeps in git:
//!
//! ```text
//! workspace.toml            name, and what the embedded server hosts
//! requests/<slug>.json      one saved request per file
//! environments/<name>.toml  [variables] base = "http://127.0.0.1:17101"
//!                                       token = "${env:DEMO_TOKEN}"
//! ```
//!
//! A request refers to a variable as `{{name}}`, and to the process
//! environment as `${env:NAME}`, in any of its strings. Both are resolved
//! only in memory, at send; what comes from `${env:...}` is a secret and
//! is put back as its reference before anything is recorded. A saved
//! request may not hold a credential in clear.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use ts_rs::TS;

use crate::error::WorkbenchError;
use crate::redact;
use crate::request::Request;

/// The registry connection, beside `workspace.toml`.
const REGISTRY_FILE: &str = "registry.toml";
/// Saved requests live here, one file each.
pub const REQUESTS_DIR: &str = "requests";
/// Environments live here, one TOML file each.
pub const ENVIRONMENTS_DIR: &str = "environments";
/// A saved request file larger than this is refused unread.
const MAX_FILE: u64 = 4 * 1024 * 1024;

/// A request kept in the workspace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct SavedRequest {
    /// The file's stem: `requests/<id>.json`.
    #[serde(default)]
    pub id: String,
    pub name: String,
    pub request: Request,
}

/// Named variables a request's `{{name}}` refers to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct Environment {
    pub name: String,
    pub variables: BTreeMap<String, String>,
}

/// A file of the workspace that could not be read, and why.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct FileProblem {
    pub path: String,
    pub message: String,
}

/// What the app shows of a workspace.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct WorkspaceSummary {
    pub name: String,
    pub dir: String,
    pub requests: Vec<SavedRequest>,
    pub environments: Vec<Environment>,
    /// Files skipped because they could not be read; nothing is dropped
    /// silently.
    pub problems: Vec<FileProblem>,
}

/// A request ready to send, and the secrets it holds.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub request: Request,
    /// `(value, reference)`: each value that came from `${env:NAME}`.
    pub secrets: Vec<(String, String)>,
}

/// One workspace folder.
#[derive(Debug, Clone)]
pub struct WorkspaceFolder {
    dir: PathBuf,
}

#[derive(Deserialize)]
struct EnvironmentFile {
    #[serde(default)]
    variables: BTreeMap<String, String>,
}

#[derive(Deserialize)]
struct NameOnly {
    name: Option<String>,
}

impl WorkspaceFolder {
    /// The workspace in `dir`, which must hold a `workspace.toml`.
    pub fn open(dir: impl Into<PathBuf>) -> Result<Self, WorkbenchError> {
        let dir = dir.into();
        let manifest = dir.join(aduib_server::workspace::WORKSPACE_FILE);
        if !manifest.is_file() {
            return Err(WorkbenchError::bad_input(format!(
                "{} is not a workspace: it has no {}",
                dir.display(),
                aduib_server::workspace::WORKSPACE_FILE
            ))
            .with_cause("create the file (name = \"...\") or pick another folder"));
        }
        Ok(WorkspaceFolder { dir })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The workspace's name (`name` in workspace.toml, else the folder's).
    pub fn name(&self) -> String {
        std::fs::read_to_string(self.dir.join(aduib_server::workspace::WORKSPACE_FILE))
            .ok()
            .and_then(|text| toml::from_str::<NameOnly>(&text).ok())
            .and_then(|file| file.name)
            .or_else(|| {
                self.dir
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
            })
            .unwrap_or_else(|| "workspace".to_owned())
    }

    /// Everything the app lists, with the files that could not be read.
    pub fn summary(&self) -> WorkspaceSummary {
        let mut problems = Vec::new();
        let requests = self.requests(&mut problems);
        let environments = self.environments(&mut problems);
        WorkspaceSummary {
            name: self.name(),
            dir: self.dir.display().to_string(),
            requests,
            environments,
            problems,
        }
    }

    /// Saved requests by name; unreadable files go to `problems`.
    pub fn requests(&self, problems: &mut Vec<FileProblem>) -> Vec<SavedRequest> {
        let mut found: Vec<SavedRequest> = files(&self.dir.join(REQUESTS_DIR), "json", problems)
            .into_iter()
            .filter_map(
                |(stem, path, text)| match serde_json::from_str::<SavedRequest>(&text) {
                    Ok(saved) => Some(SavedRequest { id: stem, ..saved }),
                    Err(e) => {
                        problems.push(FileProblem {
                            path: path.display().to_string(),
                            message: e.to_string(),
                        });
                        None
                    }
                },
            )
            .collect();
        found.sort_by_key(|saved| saved.name.to_lowercase());
        found
    }

    /// Environments by name; unreadable files go to `problems`.
    pub fn environments(&self, problems: &mut Vec<FileProblem>) -> Vec<Environment> {
        files(&self.dir.join(ENVIRONMENTS_DIR), "toml", problems)
            .into_iter()
            .filter_map(
                |(stem, path, text)| match toml::from_str::<EnvironmentFile>(&text) {
                    Ok(file) => Some(Environment {
                        name: stem,
                        variables: file.variables,
                    }),
                    Err(e) => {
                        problems.push(FileProblem {
                            path: path.display().to_string(),
                            message: e.to_string(),
                        });
                        None
                    }
                },
            )
            .collect()
    }

    /// One environment by name.
    pub fn environment(&self, name: &str) -> Result<Environment, WorkbenchError> {
        let mut problems = Vec::new();
        let environments = self.environments(&mut problems);
        environments
            .into_iter()
            .find(|e| e.name == name)
            .ok_or_else(|| {
                let mut error = WorkbenchError::not_found(format!(
                    "no environment {name:?} in {}",
                    self.dir.join(ENVIRONMENTS_DIR).display()
                ));
                for problem in problems {
                    error = error.with_cause(format!("{}: {}", problem.path, problem.message));
                }
                error
            })
    }

    /// Saves `request` as `name` (replacing the request saved under
    /// `id`, when given). Refuses a credential in clear: it belongs in the
    /// environment, as `${env:NAME}`.
    pub fn save_request(
        &self,
        id: Option<&str>,
        name: &str,
        request: &Request,
    ) -> Result<SavedRequest, WorkbenchError> {
        let name = name.trim();
        if name.is_empty() {
            return Err(WorkbenchError::bad_input("a saved request needs a name"));
        }
        if let Some(path) = redact::credentials_in_clear(request).into_iter().next() {
            return Err(WorkbenchError::bad_input(format!(
                "{path} holds a credential in clear, which would be written to the workspace"
            ))
            .with_path(path)
            .with_cause("put it in the environment as ${env:NAME}, or in a variable"));
        }
        let dir = self.dir.join(REQUESTS_DIR);
        std::fs::create_dir_all(&dir).map_err(|e| io_error(&dir, &e))?;
        let id = match id {
            Some(id) => checked_id(id)?.to_owned(),
            None => unique_stem(&dir, &slug(name)),
        };
        let saved = SavedRequest {
            id: id.clone(),
            name: name.to_owned(),
            request: request.clone(),
        };
        // The id is the file name; it is not repeated inside.
        let mut json =
            serde_json::to_value(&saved).map_err(|e| WorkbenchError::internal(e.to_string()))?;
        if let Value::Object(map) = &mut json {
            map.remove("id");
        }
        let text = serde_json::to_string_pretty(&json)
            .map_err(|e| WorkbenchError::internal(e.to_string()))?;
        write_atomically(&dir.join(format!("{id}.json")), &(text + "\n"))?;
        Ok(saved)
    }

    /// Deletes the saved request `id`.
    /// The registry this workspace browses (`registry.toml`), if saved.
    pub fn registry(&self) -> Result<Option<crate::discovery::RegistryTarget>, WorkbenchError> {
        let path = self.dir.join(REGISTRY_FILE);
        match std::fs::read_to_string(&path) {
            Ok(text) => toml::from_str(&text)
                .map(Some)
                .map_err(|e| WorkbenchError::bad_input(format!("{}: {e}", path.display()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_error(&path, &e)),
        }
    }

    /// Saves the registry connection in `registry.toml` (no credentials:
    /// those come from `$ADUIB_NACOS_USER` / `$ADUIB_NACOS_PASSWORD`).
    pub fn save_registry(
        &self,
        target: &crate::discovery::RegistryTarget,
    ) -> Result<(), WorkbenchError> {
        let text = toml::to_string(target).map_err(|e| WorkbenchError::internal(e.to_string()))?;
        write_atomically(&self.dir.join(REGISTRY_FILE), &text)
    }

    pub fn delete_request(&self, id: &str) -> Result<(), WorkbenchError> {
        let path = self
            .dir
            .join(REQUESTS_DIR)
            .join(format!("{}.json", checked_id(id)?));
        std::fs::remove_file(&path).map_err(|e| io_error(&path, &e))
    }

    /// `request` with `{{variables}}` of `environment` and `${env:NAME}`
    /// resolved, and a Thrift IDL without folders of its own searched in
    /// the workspace's schema folders.
    pub fn resolve(
        &self,
        request: Request,
        environment: Option<&str>,
    ) -> Result<Resolved, WorkbenchError> {
        let variables = match environment {
            Some(name) => self.environment(name)?.variables,
            None => BTreeMap::new(),
        };
        let mut resolved = resolve(request, &variables)?;
        if let Request::Thrift(call) = &mut resolved.request
            && call.includes.is_empty()
        {
            call.includes = schema_dirs(&self.dir);
        }
        Ok(resolved)
    }
}

/// Folders searched for `.thrift` and `.proto` files: the workspace, and the
/// repository's demo schemas beside a workspace in `workspaces/`.
pub fn schema_dirs(workspace: &Path) -> Vec<String> {
    [
        workspace.to_path_buf(),
        workspace.join("../../thrift/demo"),
        workspace.join("../../proto/demo"),
    ]
    .into_iter()
    .filter(|dir| dir.is_dir())
    .map(|dir| dir.display().to_string())
    .collect()
}

/// `request` with `{{name}}` taken from `variables` and `${env:NAME}` from
/// the process environment, in every string.
pub fn resolve(
    request: Request,
    variables: &BTreeMap<String, String>,
) -> Result<Resolved, WorkbenchError> {
    resolve_with(request, variables, &|name| std::env::var(name).ok())
}

/// [`resolve`], with `${env:NAME}` looked up by `env`.
pub fn resolve_with(
    request: Request,
    variables: &BTreeMap<String, String>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Resolved, WorkbenchError> {
    let mut value =
        serde_json::to_value(&request).map_err(|e| WorkbenchError::internal(e.to_string()))?;
    let mut secrets = Vec::new();
    let mut scope = Scope {
        variables,
        env,
        secrets: &mut secrets,
    };
    substitute(&mut value, "", &mut scope)?;
    let request = serde_json::from_value(value)
        .map_err(|e| WorkbenchError::bad_input(format!("the request after substitution: {e}")))?;
    Ok(Resolved { request, secrets })
}

/// What substitution reads from, and the secrets it finds.
struct Scope<'a> {
    variables: &'a BTreeMap<String, String>,
    env: &'a dyn Fn(&str) -> Option<String>,
    secrets: &'a mut Vec<(String, String)>,
}

fn substitute(value: &mut Value, path: &str, scope: &mut Scope<'_>) -> Result<(), WorkbenchError> {
    match value {
        Value::String(text) if text.contains("{{") || text.contains("${env:") => {
            *text = expand(text, path, scope, 0)?;
        }
        Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                substitute(item, &format!("{path}[{i}]"), scope)?;
            }
        }
        Value::Object(map) => {
            for (key, field) in map.iter_mut() {
                let path = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                substitute(field, &path, scope)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// How deep a variable may refer to variables.
const MAX_NESTING: usize = 8;

fn expand(
    text: &str,
    path: &str,
    scope: &mut Scope<'_>,
    depth: usize,
) -> Result<String, WorkbenchError> {
    if depth > MAX_NESTING {
        return Err(WorkbenchError::bad_input(format!(
            "variables in {path} refer to each other more than {MAX_NESTING} deep"
        ))
        .with_path(path));
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    loop {
        let next_var = rest.find("{{");
        let next_env = rest.find("${env:");
        let (start, env) = match (next_var, next_env) {
            (None, None) => break,
            (Some(v), Some(e)) if e < v => (e, true),
            (Some(v), _) => (v, false),
            (None, Some(e)) => (e, true),
        };
        out.push_str(&rest[..start]);
        let (open, close) = if env { ("${env:", "}") } else { ("{{", "}}") };
        let after = &rest[start + open.len()..];
        let Some(end) = after.find(close) else {
            return Err(WorkbenchError::bad_input(format!(
                "{path}: {open} is not closed by {close}"
            ))
            .with_path(path));
        };
        let name = after[..end].trim();
        if env {
            let value = (scope.env)(name).ok_or_else(|| {
                WorkbenchError::bad_input(format!(
                    "{path} refers to ${{env:{name}}}, which is not set"
                ))
                .with_path(path)
                .with_cause("set it in the environment the app or command starts from")
            })?;
            let reference = format!("${{env:{name}}}");
            if !value.is_empty() && !scope.secrets.iter().any(|(v, _)| v == &value) {
                scope.secrets.push((value.clone(), reference));
            }
            out.push_str(&value);
        } else {
            let value = scope.variables.get(name).ok_or_else(|| {
                WorkbenchError::bad_input(format!(
                    "{path} refers to {{{{{name}}}}}, which the environment does not define"
                ))
                .with_path(path)
            })?;
            let value = value.clone();
            out.push_str(&expand(&value, path, scope, depth + 1)?);
        }
        rest = &after[end + close.len()..];
    }
    out.push_str(rest);
    Ok(out)
}

/// `value` with every secret put back as its reference.
pub fn unresolve<T: Serialize + serde::de::DeserializeOwned>(
    value: T,
    secrets: &[(String, String)],
) -> T {
    if secrets.is_empty() {
        return value;
    }
    let Ok(mut json) = serde_json::to_value(&value) else {
        return value;
    };
    put_back(&mut json, secrets);
    serde_json::from_value(json).unwrap_or(value)
}

fn put_back(value: &mut Value, secrets: &[(String, String)]) {
    match value {
        Value::String(text) => {
            for (secret, reference) in secrets {
                if text.contains(secret.as_str()) {
                    *text = text.replace(secret.as_str(), reference);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| put_back(v, secrets)),
        Value::Object(map) => map.values_mut().for_each(|v| put_back(v, secrets)),
        _ => {}
    }
}

/// `(stem, path, text)` of each `*.ext` file in `dir` (none if it is absent).
fn files(dir: &Path, ext: &str, problems: &mut Vec<FileProblem>) -> Vec<(String, PathBuf, String)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().and_then(|e| e.to_str()) != Some(ext) {
            continue;
        }
        let Some(stem) = path.file_stem().map(|s| s.to_string_lossy().into_owned()) else {
            continue;
        };
        let read = match entry.metadata() {
            Ok(meta) if meta.len() > MAX_FILE => Err(format!(
                "{} bytes, over the {MAX_FILE}-byte limit",
                meta.len()
            )),
            _ => std::fs::read_to_string(&path).map_err(|e| e.to_string()),
        };
        match read {
            Ok(text) => found.push((stem, path, text)),
            Err(message) => problems.push(FileProblem {
                path: path.display().to_string(),
                message,
            }),
        }
    }
    found.sort_by(|a, b| a.0.cmp(&b.0));
    found
}

/// A file-name-safe form of `name`.
fn slug(name: &str) -> String {
    let mut slug = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.ends_with('-') && !slug.is_empty() {
            slug.push('-');
        }
    }
    let slug = slug.trim_end_matches('-');
    if slug.is_empty() {
        "request".to_owned()
    } else {
        slug.chars().take(64).collect()
    }
}

fn unique_stem(dir: &Path, base: &str) -> String {
    let mut stem = base.to_owned();
    let mut n = 2;
    while dir.join(format!("{stem}.json")).exists() {
        stem = format!("{base}-{n}");
        n += 1;
    }
    stem
}

/// An id names a file in `requests/`, never a path elsewhere.
fn checked_id(id: &str) -> Result<&str, WorkbenchError> {
    let ok = !id.is_empty()
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(id)
    } else {
        Err(WorkbenchError::bad_input(format!(
            "{id:?} is not a saved request's id (letters, digits, - and _)"
        )))
    }
}

/// Writes through a temporary file and a rename, so a crash leaves the old
/// file or the new one, never half of one.
fn write_atomically(path: &Path, text: &str) -> Result<(), WorkbenchError> {
    let temp = path.with_extension("json.tmp");
    std::fs::write(&temp, text).map_err(|e| io_error(&temp, &e))?;
    std::fs::rename(&temp, path).map_err(|e| io_error(path, &e))
}

fn io_error(path: &Path, error: &std::io::Error) -> WorkbenchError {
    WorkbenchError::internal(format!("{}: {error}", path.display()))
}
