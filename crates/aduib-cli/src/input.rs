//! Reading argument values: literal, `@FILE` or `-` (stdin).

use std::io::Read;

use anyhow::{Context, bail};
use serde_json::{Map, Value};

/// The text an argument stands for.
pub fn read_value(arg: &str, flag: &str) -> anyhow::Result<String> {
    if arg == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .with_context(|| format!("{flag}: cannot read stdin"))?;
        Ok(text)
    } else if let Some(path) = arg.strip_prefix('@') {
        std::fs::read_to_string(path).with_context(|| format!("{flag}: cannot read {path}"))
    } else {
        Ok(arg.to_owned())
    }
}

/// An argument as JSON.
pub fn read_json(arg: &str, flag: &str) -> anyhow::Result<Value> {
    let text = read_value(arg, flag)?;
    serde_json::from_str(&text).with_context(|| format!("{flag} is not valid JSON"))
}

/// An argument as a JSON object (`--data`); none is an empty object.
pub fn read_object(arg: Option<&str>, flag: &str) -> anyhow::Result<Map<String, Value>> {
    match arg {
        None => Ok(Map::new()),
        Some(arg) => parse_object(&read_value(arg, flag)?, flag),
    }
}

/// Text as a JSON object.
pub fn parse_object(text: &str, flag: &str) -> anyhow::Result<Map<String, Value>> {
    match serde_json::from_str(text).with_context(|| format!("{flag} is not valid JSON"))? {
        Value::Object(map) => Ok(map),
        other => bail!(
            "{flag} must be a JSON object, got {}",
            aduib_core::envelope::json_kind(&other)
        ),
    }
}

/// `K:V` header arguments.
pub fn parse_headers(args: &[String]) -> anyhow::Result<Vec<(String, String)>> {
    args.iter()
        .map(|arg| match arg.split_once(':') {
            Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_owned(), v.trim().to_owned())),
            _ => bail!("--header {arg:?} must look like Name: value"),
        })
        .collect()
}
