//! What a workspace asks the server to host (`<workspace>/workspace.toml`).
//!
//! For now a workspace names built-in services; mock services defined in
//! workspace files come with the mocks work, and this module moves to the
//! workbench crate once that exists.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use thiserror::Error;

use crate::demo::{
    BATCH_SERVICE, CACUL_SERVICE, RICH_SERVICE, register_batch_service, register_cacul_service,
};
use crate::registry::HandlerRegistry;

/// The file, inside a workspace folder, that describes it.
pub const WORKSPACE_FILE: &str = "workspace.toml";

/// Built-in services a workspace can host.
pub const BUILTIN_SERVICES: &[&str] = &[CACUL_SERVICE, BATCH_SERVICE, RICH_SERVICE];

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Workspace {
    pub name: String,
    #[serde(default)]
    pub serve: ServeSection,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServeSection {
    /// Built-in services to host, by name.
    #[serde(default)]
    pub services: Vec<String>,
}

#[derive(Debug, Error)]
pub enum WorkspaceError {
    #[error("cannot read {path}: {error}")]
    Read {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("{path}: {error}")]
    Parse {
        path: PathBuf,
        error: Box<toml::de::Error>,
    },
    #[error("{path}: unknown service {name:?}; built-in services are {known:?}")]
    UnknownService {
        path: PathBuf,
        name: String,
        known: &'static [&'static str],
    },
}

/// Reads `dir/workspace.toml`.
pub fn load(dir: &Path) -> Result<Workspace, WorkspaceError> {
    let path = dir.join(WORKSPACE_FILE);
    let text = std::fs::read_to_string(&path).map_err(|error| WorkspaceError::Read {
        path: path.clone(),
        error,
    })?;
    let workspace: Workspace = toml::from_str(&text).map_err(|error| WorkspaceError::Parse {
        path: path.clone(),
        error: Box::new(error),
    })?;
    if let Some(name) = workspace
        .serve
        .services
        .iter()
        .find(|name| !BUILTIN_SERVICES.contains(&name.as_str()))
    {
        return Err(WorkspaceError::UnknownService {
            path,
            name: name.clone(),
            known: BUILTIN_SERVICES,
        });
    }
    Ok(workspace)
}

/// Whether the workspace hosts the rich gRPC demo service.
pub fn hosts_rich_demo(workspace: &Workspace) -> bool {
    workspace.serve.services.iter().any(|s| s == RICH_SERVICE)
}

/// The handlers of every Aduib service the workspace hosts.
pub fn registry(workspace: &Workspace) -> HandlerRegistry {
    let mut registry = HandlerRegistry::new();
    for name in &workspace.serve.services {
        if name == CACUL_SERVICE {
            register_cacul_service(&mut registry);
        } else if name == BATCH_SERVICE {
            register_batch_service(&mut registry);
        }
    }
    registry
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, text: &str) {
        std::fs::write(dir.join(WORKSPACE_FILE), text).unwrap();
    }

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("aduib-ws-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn the_demo_workspace_hosts_cacul_service() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../workspaces/demo");
        let workspace = load(&dir).unwrap();
        assert_eq!(
            registry(&workspace).services(),
            [BATCH_SERVICE, CACUL_SERVICE]
        );
        assert!(hosts_rich_demo(&workspace));
    }

    #[test]
    fn errors_name_the_file_and_the_problem() {
        let dir = temp_dir("bad");
        assert!(matches!(
            load(&dir.join("nope")),
            Err(WorkspaceError::Read { .. })
        ));
        write(&dir, "name = \"x\"\n[serve]\nservices = [\"Nope\"]\n");
        let err = load(&dir).unwrap_err().to_string();
        assert!(err.contains("unknown service \"Nope\""), "{err}");
        write(&dir, "name = \n");
        let err = load(&dir).unwrap_err().to_string();
        assert!(
            err.contains("workspace.toml") && err.contains("line 1"),
            "{err}"
        );
        std::fs::remove_dir_all(dir).unwrap();
    }
}
