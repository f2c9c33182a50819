//! A Thrift IDL, parsed (pilota-thrift-parser) and resolved: includes
//! followed, typedefs expanded, names qualified, `extends` chains flattened.
//!
//! Every definition is keyed `<file stem>.<Name>`, the way Thrift refers to
//! included definitions; inside a file an unqualified name means its own.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use pilota_thrift_parser as ast;
use thiserror::Error;

/// A resolved type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Type {
    Bool,
    Byte,
    I16,
    I32,
    I64,
    Double,
    String,
    Binary,
    List(Box<Type>),
    Set(Box<Type>),
    Map(Box<Type>, Box<Type>),
    /// A struct, union or exception, by qualified name.
    Struct(String),
    /// An enum, by qualified name.
    Enum(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Requiredness {
    Required,
    Optional,
    Default,
}

#[derive(Debug, Clone)]
pub struct Field {
    pub id: i16,
    pub name: String,
    pub ty: Type,
    pub requiredness: Requiredness,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StructKind {
    Struct,
    Union,
    Exception,
}

#[derive(Debug, Clone)]
pub struct StructDef {
    pub name: String,
    pub kind: StructKind,
    pub fields: Vec<Field>,
}

#[derive(Debug, Clone)]
pub struct EnumDef {
    pub name: String,
    pub values: Vec<(String, i32)>,
}

#[derive(Debug, Clone)]
pub struct Function {
    pub name: String,
    pub oneway: bool,
    /// `None` for `void`.
    pub result: Option<Type>,
    pub args: Vec<Field>,
    pub throws: Vec<Field>,
}

#[derive(Debug, Clone)]
pub struct ServiceDef {
    pub name: String,
    /// Own functions first, then inherited ones (`extends`).
    pub functions: Vec<Function>,
}

impl ServiceDef {
    pub fn function(&self, name: &str) -> Option<&Function> {
        self.functions.iter().find(|f| f.name == name)
    }
}

/// Everything an IDL and its includes define.
#[derive(Debug, Clone, Default)]
pub struct Schema {
    pub structs: HashMap<String, StructDef>,
    pub enums: HashMap<String, EnumDef>,
    pub services: HashMap<String, ServiceDef>,
    /// The stem of the file the schema was loaded from.
    pub main: String,
}

#[derive(Debug, Error)]
pub enum IdlError {
    #[error("cannot read {path}: {error}")]
    Read {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("{0}")]
    Syntax(String),
    #[error("{file}: {message}")]
    Resolve { file: String, message: String },
}

impl Schema {
    /// Loads `path` and its includes, found next to the including file or in
    /// `includes`.
    pub fn load(path: &Path, includes: &[PathBuf]) -> Result<Schema, IdlError> {
        let mut loader = Loader {
            includes: includes.to_vec(),
            files: Vec::new(),
        };
        let main = loader.load_file(path)?;
        let mut schema = Schema {
            main: main.clone(),
            ..Schema::default()
        };
        loader.resolve_into(&mut schema)?;
        Ok(schema)
    }

    /// Parses IDL text with no includes (the built-in Aduib IDL).
    pub fn parse_str(stem: &str, text: &str) -> Result<Schema, IdlError> {
        Schema::from_sources(
            &format!("{stem}.thrift"),
            &[(&format!("{stem}.thrift"), text)],
        )
    }

    /// Parses IDL files held in memory (built-in IDLs): `main` and the files
    /// it includes, found among `sources` by file name.
    pub fn from_sources(main: &str, sources: &[(&str, &str)]) -> Result<Schema, IdlError> {
        let mut loader = Loader {
            includes: Vec::new(),
            files: Vec::new(),
        };
        let texts: HashMap<String, String> = sources
            .iter()
            .map(|(name, text)| ((*name).to_owned(), (*text).to_owned()))
            .collect();
        let main_stem = loader.load_with(Path::new(main), &|path: &Path| {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            texts
                .get(&name)
                .cloned()
                .ok_or_else(|| std::io::ErrorKind::NotFound.into())
        })?;
        let mut schema = Schema {
            main: main_stem,
            ..Schema::default()
        };
        loader.resolve_into(&mut schema)?;
        Ok(schema)
    }

    /// A service by its name in the main file, or by qualified name.
    pub fn service(&self, name: &str) -> Option<&ServiceDef> {
        self.services
            .get(&format!("{}.{name}", self.main))
            .or_else(|| self.services.get(name))
    }

    /// The main file's services first, then those of includes, each sorted.
    pub fn service_names(&self) -> Vec<String> {
        let prefix = format!("{}.", self.main);
        let mut names: Vec<String> = self
            .services
            .keys()
            .map(|k| {
                k.strip_prefix(&prefix)
                    .map_or_else(|| k.clone(), str::to_owned)
            })
            .collect();
        names.sort_by_key(|n| (n.contains('.'), n.clone()));
        names
    }

    pub fn struct_def(&self, name: &str) -> Option<&StructDef> {
        self.structs.get(name)
    }

    pub fn enum_def(&self, name: &str) -> Option<&EnumDef> {
        self.enums.get(name)
    }
}

struct Loader {
    includes: Vec<PathBuf>,
    /// (stem, parsed file, include alias → stem), in load order.
    files: Vec<(String, ast::File, HashMap<String, String>)>,
}

fn parse(path: Option<&Path>, text: &str) -> Result<ast::File, IdlError> {
    let source = match path {
        Some(path) => ast::FileSource::new_with_path(path.to_path_buf(), text)
            .map_err(|e| IdlError::Syntax(format!("{}: {e}", path.display())))?,
        None => ast::FileSource::new(text),
    };
    ast::FileParser::new(source).parse().map_err(|e| match e {
        // The summary carries "at line L:C - reason".
        ast::Error::Syntax { summary, .. } => IdlError::Syntax(summary.to_string()),
        other => IdlError::Syntax(other.to_string()),
    })
}

fn stem(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

impl Loader {
    fn load_file(&mut self, path: &Path) -> Result<String, IdlError> {
        self.load_with(path, &|path: &Path| std::fs::read_to_string(path))
    }

    /// Loads `path` through `read` (the file system, or texts in memory).
    fn load_with(
        &mut self,
        path: &Path,
        read: &dyn Fn(&Path) -> std::io::Result<String>,
    ) -> Result<String, IdlError> {
        let stem = stem(path);
        if self.files.iter().any(|(s, _, _)| *s == stem) {
            return Ok(stem);
        }
        let text = read(path).map_err(|error| IdlError::Read {
            path: path.to_path_buf(),
            error,
        })?;
        let file = parse(path.is_file().then_some(path), &text)?;
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let mut aliases = HashMap::new();
        let include_paths: Vec<String> = file
            .items
            .iter()
            .filter_map(|item| match item {
                ast::Item::Include(include) => Some(include.path.0.clone()),
                _ => None,
            })
            .collect();
        // Register the file before its includes, so a cycle ends here.
        self.files.push((stem.clone(), file, HashMap::new()));
        let index = self.files.len() - 1;
        for include in include_paths {
            let found = std::iter::once(dir.clone())
                .chain(self.includes.iter().cloned())
                .map(|root| root.join(&include))
                .find(|candidate| read(candidate).is_ok())
                .ok_or_else(|| IdlError::Resolve {
                    file: path.display().to_string(),
                    message: format!("include {include:?} not found (searched next to the file and in -I folders)"),
                })?;
            let included = self.load_with(&found, read)?;
            aliases.insert(stem_of_str(&include), included);
        }
        if let Some(entry) = self.files.get_mut(index) {
            entry.2 = aliases;
        }
        Ok(stem)
    }

    fn resolve_into(&mut self, schema: &mut Schema) -> Result<(), IdlError> {
        // First pass: every name, so references resolve in any order.
        let mut kinds: HashMap<String, NameKind> = HashMap::new();
        let mut typedefs: HashMap<String, (String, ast::Type)> = HashMap::new();
        for (stem, file, _) in &self.files {
            for item in &file.items {
                let (name, kind) = match item {
                    ast::Item::Struct(s) => (s.name.as_str(), NameKind::Struct),
                    ast::Item::Union(u) => (u.name.as_str(), NameKind::Struct),
                    ast::Item::Exception(e) => (e.name.as_str(), NameKind::Struct),
                    ast::Item::Enum(e) => (e.name.as_str(), NameKind::Enum),
                    ast::Item::Typedef(t) => {
                        typedefs.insert(
                            format!("{stem}.{}", t.alias.as_str()),
                            (stem.clone(), t.r#type.clone()),
                        );
                        (t.alias.as_str(), NameKind::Typedef)
                    }
                    _ => continue,
                };
                kinds.insert(format!("{stem}.{name}"), kind);
            }
        }
        let resolver = Resolver {
            kinds: &kinds,
            typedefs: &typedefs,
            files: &self.files,
        };
        for (stem, file, _) in &self.files {
            for item in &file.items {
                match item {
                    ast::Item::Struct(s) => {
                        resolver.add_struct(schema, stem, &s.struct_like, StructKind::Struct)?
                    }
                    ast::Item::Union(u) => {
                        resolver.add_struct(schema, stem, &u.struct_like, StructKind::Union)?
                    }
                    ast::Item::Exception(e) => {
                        resolver.add_struct(schema, stem, &e.struct_like, StructKind::Exception)?;
                    }
                    ast::Item::Enum(e) => {
                        let mut next = 0i64;
                        let mut values = Vec::new();
                        for value in &e.values {
                            let number = value.value.as_ref().map_or(next, |v| v.0);
                            let number = i32::try_from(number).map_err(|_| IdlError::Resolve {
                                file: stem.clone(),
                                message: format!("enum value {} out of range", value.name.as_str()),
                            })?;
                            values.push((value.name.as_str().to_owned(), number));
                            next = i64::from(number) + 1;
                        }
                        let name = format!("{stem}.{}", e.name.as_str());
                        schema.enums.insert(name.clone(), EnumDef { name, values });
                    }
                    _ => {}
                }
            }
        }
        // Services last: `extends` may name a service of any file.
        let mut pending: Vec<(String, &ast::Service)> = Vec::new();
        for (stem, file, _) in &self.files {
            for item in &file.items {
                if let ast::Item::Service(service) = item {
                    pending.push((stem.clone(), service));
                }
            }
        }
        for (stem, service) in &pending {
            let mut functions = Vec::new();
            let mut current: Option<(String, &ast::Service)> = Some((stem.clone(), service));
            let mut hops = 0;
            while let Some((file_stem, svc)) = current.take() {
                hops += 1;
                if hops > 32 {
                    return Err(IdlError::Resolve {
                        file: stem.clone(),
                        message: format!("service {} extends in a cycle", service.name.as_str()),
                    });
                }
                for function in &svc.functions {
                    functions.push(resolver.function(&file_stem, function)?);
                }
                if let Some(parent) = &svc.extends {
                    let qualified = resolver.qualify(&file_stem, parent);
                    current = pending
                        .iter()
                        .find(|(s, p)| format!("{s}.{}", p.name.as_str()) == qualified)
                        .map(|(s, p)| (s.clone(), *p));
                    if current.is_none() {
                        return Err(IdlError::Resolve {
                            file: file_stem.clone(),
                            message: format!(
                                "service {} extends unknown service {qualified}",
                                svc.name.as_str()
                            ),
                        });
                    }
                }
            }
            let name = format!("{stem}.{}", service.name.as_str());
            schema
                .services
                .insert(name.clone(), ServiceDef { name, functions });
        }
        Ok(())
    }
}

fn stem_of_str(include: &str) -> String {
    stem(Path::new(include))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NameKind {
    Struct,
    Enum,
    Typedef,
}

struct Resolver<'a> {
    kinds: &'a HashMap<String, NameKind>,
    typedefs: &'a HashMap<String, (String, ast::Type)>,
    files: &'a [(String, ast::File, HashMap<String, String>)],
}

impl Resolver<'_> {
    /// `Name` → `<stem>.Name`; `inc.Name` → `<stem of inc>.Name`.
    fn qualify(&self, stem: &str, path: &ast::Path) -> String {
        let segments: Vec<&str> = path.segments.iter().map(|s| s.as_str()).collect();
        match segments.as_slice() {
            [name] => format!("{stem}.{name}"),
            [alias, rest @ ..] => {
                let target = self
                    .files
                    .iter()
                    .find(|(s, _, _)| s == stem)
                    .and_then(|(_, _, aliases)| aliases.get(*alias))
                    .cloned()
                    .unwrap_or_else(|| (*alias).to_owned());
                format!("{target}.{}", rest.join("."))
            }
            [] => String::new(),
        }
    }

    fn ty(&self, stem: &str, ty: &ast::Ty, depth: usize) -> Result<Type, IdlError> {
        let fail = |message: String| IdlError::Resolve {
            file: stem.to_owned(),
            message,
        };
        if depth > 32 {
            return Err(fail("typedefs nest too deeply (a cycle?)".into()));
        }
        Ok(match ty {
            ast::Ty::Bool => Type::Bool,
            ast::Ty::Byte | ast::Ty::I8 => Type::Byte,
            ast::Ty::I16 => Type::I16,
            ast::Ty::I32 => Type::I32,
            ast::Ty::I64 => Type::I64,
            ast::Ty::Double => Type::Double,
            ast::Ty::String => Type::String,
            ast::Ty::Binary => Type::Binary,
            ast::Ty::Void => return Err(fail("void is only a result type".into())),
            ast::Ty::Uuid => return Err(fail("the uuid type is not supported".into())),
            ast::Ty::List { value, .. } => {
                Type::List(Box::new(self.ty(stem, &value.0, depth + 1)?))
            }
            ast::Ty::Set { value, .. } => {
                Type::Set(Box::new(self.ty(stem, &value.0, depth + 1)?))
            }
            ast::Ty::Map { key, value, .. } => Type::Map(
                Box::new(self.ty(stem, &key.0, depth + 1)?),
                Box::new(self.ty(stem, &value.0, depth + 1)?),
            ),
            ast::Ty::Path(path) => {
                let name = self.qualify(stem, path);
                match self.kinds.get(&name) {
                    Some(NameKind::Struct) => Type::Struct(name),
                    Some(NameKind::Enum) => Type::Enum(name),
                    Some(NameKind::Typedef) => {
                        let (def_stem, target) = self
                            .typedefs
                            .get(&name)
                            .ok_or_else(|| fail(format!("typedef {name} vanished")))?;
                        self.ty(def_stem, &target.0, depth + 1)?
                    }
                    None => return Err(fail(format!("unknown type {name}"))),
                }
            }
        })
    }

    fn field(&self, stem: &str, field: &ast::Field) -> Result<Field, IdlError> {
        let id = i16::try_from(field.id).map_err(|_| IdlError::Resolve {
            file: stem.to_owned(),
            message: format!(
                "field id {} of {} is out of range",
                field.id,
                field.name.as_str()
            ),
        })?;
        Ok(Field {
            id,
            name: field.name.as_str().to_owned(),
            ty: self.ty(stem, &field.ty.0, 0)?,
            requiredness: match field.attribute {
                ast::Attribute::Required => Requiredness::Required,
                ast::Attribute::Optional => Requiredness::Optional,
                ast::Attribute::Default => Requiredness::Default,
            },
        })
    }

    fn add_struct(
        &self,
        schema: &mut Schema,
        stem: &str,
        s: &ast::StructLike,
        kind: StructKind,
    ) -> Result<(), IdlError> {
        let fields = s
            .fields
            .iter()
            .map(|f| self.field(stem, f))
            .collect::<Result<Vec<_>, _>>()?;
        let name = format!("{stem}.{}", s.name.as_str());
        schema
            .structs
            .insert(name.clone(), StructDef { name, kind, fields });
        Ok(())
    }

    fn function(&self, stem: &str, function: &ast::Function) -> Result<Function, IdlError> {
        let result = match &function.result_type.0 {
            ast::Ty::Void => None,
            other => Some(self.ty(stem, other, 0)?),
        };
        Ok(Function {
            name: function.name.as_str().to_owned(),
            oneway: function.oneway,
            result,
            args: function
                .arguments
                .iter()
                .map(|f| self.field(stem, f))
                .collect::<Result<_, _>>()?,
            throws: function
                .throws
                .iter()
                .map(|f| self.field(stem, f))
                .collect::<Result<_, _>>()?,
        })
    }
}

/// The built-in Aduib v2 IDL (`thrift/aduib_rpc_v2.thrift`).
pub const ADUIB_IDL: &str = include_str!("../../../thrift/aduib_rpc_v2.thrift");

/// The rich demo IDL, parsed once.
pub fn demo_schema() -> Result<&'static Schema, IdlError> {
    static SCHEMA: std::sync::OnceLock<Result<Schema, String>> = std::sync::OnceLock::new();
    SCHEMA
        .get_or_init(|| Schema::from_sources("rich.thrift", &DEMO_IDL).map_err(|e| e.to_string()))
        .as_ref()
        .map_err(|e| IdlError::Syntax(e.clone()))
}

/// The rich demo IDL and the file it includes (`thrift/demo/`).
pub const DEMO_IDL: [(&str, &str); 2] = [
    (
        "rich.thrift",
        include_str!("../../../thrift/demo/rich.thrift"),
    ),
    (
        "shapes.thrift",
        include_str!("../../../thrift/demo/shapes.thrift"),
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_aduib_idl_resolves() {
        let schema = Schema::parse_str("aduib_rpc_v2", ADUIB_IDL).unwrap();
        let service = schema.service("AduibRpcService").unwrap();
        let call = service.function("Call").unwrap();
        assert_eq!(call.args[0].ty, Type::Struct("aduib_rpc_v2.Request".into()));
        let trace = schema.struct_def("aduib_rpc_v2.TraceContext").unwrap();
        assert_eq!(
            trace.fields[4].ty,
            Type::Map(Box::new(Type::String), Box::new(Type::String)),
            "the StringMap typedef is expanded"
        );
        let payload = schema.struct_def("aduib_rpc_v2.ResponsePayload").unwrap();
        assert_eq!(payload.kind, StructKind::Union);
        assert_eq!(
            schema.service_names(),
            ["AduibRpcService", "HealthService", "TaskService"]
        );
    }

    #[test]
    fn the_demo_idl_resolves_includes_typedefs_and_extends() {
        let disk = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../thrift/demo/rich.thrift");
        for schema in [
            Schema::from_sources("rich.thrift", &DEMO_IDL).unwrap(),
            Schema::load(&disk, &[]).unwrap(),
        ] {
            let service = schema.service("RichService").unwrap();
            assert!(
                service.function("ping").is_some(),
                "inherited from BaseService"
            );
            assert!(service.function("notify").unwrap().oneway);
            let inner = schema.struct_def("rich.Inner").unwrap();
            assert_eq!(inner.fields[2].ty, Type::Struct("shapes.Point".into()));
            let rich = schema.struct_def("rich.Rich").unwrap();
            assert_eq!(rich.fields[17].ty, Type::I64, "typedef Millis");
            assert_eq!(rich.fields[0].requiredness, Requiredness::Required);
        }
        let err = Schema::load(&disk.with_file_name("missing.thrift"), &[]).unwrap_err();
        assert!(err.to_string().contains("missing.thrift"), "{err}");
    }

    #[test]
    fn syntax_errors_give_line_and_column() {
        let err = Schema::parse_str("bad", "struct A {\n  1: i32 x\n  2 i32 y\n}\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("line 3"), "{err}");
    }

    #[test]
    fn unknown_types_are_named() {
        let err = Schema::parse_str("bad", "struct A { 1: Nope x }")
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown type bad.Nope"), "{err}");
    }
}
