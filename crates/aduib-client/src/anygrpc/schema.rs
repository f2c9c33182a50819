//! Where a gRPC schema comes from: `.proto` files (compiled with protox,
//! well-known types built in), a descriptor set file, or server reflection.

use std::path::{Path, PathBuf};

use miette::Diagnostic;
use prost::Message;
use prost_reflect::DescriptorPool;

use super::GrpcError;

/// `.proto` files and the folders their imports are resolved against. With no
/// include folder, each file's own folder is used.
pub fn from_proto_files(
    protos: &[PathBuf],
    includes: &[PathBuf],
) -> Result<DescriptorPool, GrpcError> {
    let mut roots: Vec<PathBuf> = includes.to_vec();
    if roots.is_empty() {
        for proto in protos {
            let parent = proto
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            if !roots.iter().any(|r| r == parent) {
                roots.push(parent.to_path_buf());
            }
        }
    }
    let mut compiler = protox::Compiler::new(&roots).map_err(|e| schema_error(&e, &roots))?;
    compiler.include_imports(true);
    compiler
        .open_files(protos)
        .map_err(|e| schema_error(&e, &roots))?;
    Ok(compiler.descriptor_pool())
}

/// A serialized `FileDescriptorSet` (`protoc --descriptor_set_out`,
/// `buf build -o`), ideally with imports included.
pub fn from_protoset(path: &Path) -> Result<DescriptorPool, GrpcError> {
    let bytes = std::fs::read(path)
        .map_err(|e| GrpcError::Schema(format!("cannot read {}: {e}", path.display())))?;
    let set = prost_types::FileDescriptorSet::decode(bytes.as_slice()).map_err(|e| {
        GrpcError::Schema(format!("{} is not a descriptor set: {e}", path.display()))
    })?;
    pool_from_files(set.file)
}

/// A pool from file descriptors, completing missing well-known imports
/// (`google/protobuf/*.proto`) from the built-in copies.
pub fn pool_from_files(
    mut files: Vec<prost_types::FileDescriptorProto>,
) -> Result<DescriptorPool, GrpcError> {
    let known: Vec<String> = files.iter().map(|f| f.name().to_owned()).collect();
    let missing: Vec<String> = files
        .iter()
        .flat_map(|f| f.dependency.iter().cloned())
        .filter(|d| !known.contains(d))
        .collect();
    for name in missing {
        if let Some(builtin) = well_known_file(&name)
            && !files.iter().any(|f| f.name() == name)
        {
            files.insert(0, builtin);
        }
    }
    DescriptorPool::from_file_descriptor_set(prost_types::FileDescriptorSet { file: files })
        .map_err(|e| GrpcError::Schema(format!("the descriptors do not form a valid schema: {e}")))
}

/// A well-known type's file, if `name` is one.
pub fn well_known_file(name: &str) -> Option<prost_types::FileDescriptorProto> {
    if !name.starts_with("google/protobuf/") {
        return None;
    }
    DescriptorPool::global()
        .get_file_by_name(name)
        .map(|file| file.file_descriptor_proto().clone())
}

/// `file:line:column: message` for a protox error.
fn schema_error(error: &protox::Error, roots: &[PathBuf]) -> GrpcError {
    let location = error.file().and_then(|file| {
        let offset = error.labels()?.next()?.offset();
        let text = roots
            .iter()
            .find_map(|root| std::fs::read_to_string(root.join(file)).ok())?;
        let before = text.get(..offset)?;
        let line = before.matches('\n').count() + 1;
        let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
        Some(format!("{file}:{line}:{column}"))
    });
    let message = error.to_string();
    GrpcError::Schema(match (location, error.file()) {
        (Some(location), _) => format!("{location}: {message}"),
        (None, Some(file)) if !message.contains(file) => format!("{file}: {message}"),
        _ => message,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn demo_root() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../proto/demo")
    }

    #[test]
    fn proto_files_compile_with_include_paths_and_well_known_types() {
        let pool = from_proto_files(
            &[demo_root().join("aduib/demo/v1/rich.proto")],
            &[demo_root()],
        )
        .unwrap();
        assert!(
            pool.get_service_by_name("aduib.demo.v1.RichService")
                .is_some()
        );
        assert!(
            pool.get_message_by_name("google.protobuf.Timestamp")
                .is_some()
        );
    }

    #[test]
    fn a_missing_import_names_the_file_and_position() {
        // Without the include root, the import of geometry.proto cannot resolve.
        let err = from_proto_files(
            &[demo_root().join("aduib/demo/v1/rich.proto")],
            &[demo_root().join("aduib/demo/v1")],
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("rich.proto"), "{err}");
        assert!(err.contains("geometry.proto"), "{err}");
    }

    #[test]
    fn a_syntax_error_has_line_and_column() {
        let dir = std::env::temp_dir().join(format!("aduib-schema-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("bad.proto"),
            "syntax = \"proto3\";\nmessage A {\n  int32 x = ;\n}\n",
        )
        .unwrap();
        let err = from_proto_files(&[dir.join("bad.proto")], std::slice::from_ref(&dir))
            .unwrap_err()
            .to_string();
        assert!(err.contains("bad.proto:3:13: expected an integer"), "{err}");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
