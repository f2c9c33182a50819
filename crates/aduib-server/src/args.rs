//! Typed access to a call's `data`, with errors that name the argument.
//!
//! A handler takes what it needs and then calls [`Args::finish`], which rejects
//! arguments it did not expect, the way a Python function rejects an unknown
//! keyword.

use std::sync::Arc;

use aduib_core::RpcError;
use aduib_core::envelope::json_kind;
use serde_json::{Map, Number, Value};

/// The arguments of one call.
#[derive(Debug, Clone)]
pub struct Args {
    function: Arc<str>,
    /// The call's arguments in its order; a taken one is left as `None`.
    /// A call has a handful of arguments: finding one by comparing names
    /// is cheaper than hashing it, and a list costs one allocation where a
    /// map (SipHash, for every key, while it is built) cost the most of any
    /// step of a unary gRPC call after HTTP/2.
    entries: Vec<(String, Option<Value>)>,
}

impl Args {
    /// The arguments `data` holds, in its order (a JSON object's, or a
    /// protobuf Struct's sorted one).
    pub fn new(
        function: impl Into<Arc<str>>,
        data: impl IntoIterator<Item = (String, Value)>,
    ) -> Self {
        Args {
            function: function.into(),
            entries: data
                .into_iter()
                .map(|(name, value)| (name, Some(value)))
                .collect(),
        }
    }

    /// Takes the argument `name`, if the call has it.
    fn take(&mut self, name: &str) -> Option<Value> {
        self.entries
            .iter_mut()
            .find(|(key, value)| value.is_some() && key == name)
            .and_then(|(_, value)| value.take())
    }

    /// The arguments not yet taken, in the call's order.
    fn untaken(&self) -> impl Iterator<Item = (&String, &Value)> {
        self.entries
            .iter()
            .filter_map(|(key, value)| Some((key, value.as_ref()?)))
    }

    /// The function being called (`CaculService.add`), for messages.
    pub fn function(&self) -> &str {
        &self.function
    }

    /// A required number. Numeric strings are accepted, as the peer accepts them.
    pub fn number(&mut self, name: &str) -> Result<Number, RpcError> {
        match self.take(name) {
            Some(value) => self.to_number(name, &value),
            None => Err(self.missing(name)),
        }
    }

    /// An optional number with a default.
    pub fn number_or(&mut self, name: &str, default: i64) -> Result<Number, RpcError> {
        match self.take(name) {
            None | Some(Value::Null) => Ok(Number::from(default)),
            Some(value) => self.to_number(name, &value),
        }
    }

    /// An optional array, empty when absent.
    pub fn array_or_empty(&mut self, name: &str) -> Result<Vec<Value>, RpcError> {
        match self.take(name) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(items)) => Ok(items),
            Some(other) => Err(self.wrong_type(name, "an array", &other)),
        }
    }

    /// An optional non-negative integer with a default.
    pub fn u64_or(&mut self, name: &str, default: u64) -> Result<u64, RpcError> {
        match self.take(name) {
            None | Some(Value::Null) => Ok(default),
            Some(value) => self.to_u64(name, &value),
        }
    }

    /// A required non-negative integer.
    pub fn u64(&mut self, name: &str) -> Result<u64, RpcError> {
        match self.take(name) {
            Some(value) => self.to_u64(name, &value),
            None => Err(self.missing(name)),
        }
    }

    /// Everything not yet taken.
    pub fn into_map(self) -> Map<String, Value> {
        self.entries
            .into_iter()
            .filter_map(|(key, value)| Some((key, value?)))
            .collect()
    }

    /// Fails when arguments are left that the function does not take.
    pub fn finish(self) -> Result<(), RpcError> {
        match self.untaken().next().map(|(key, _)| key) {
            None => Ok(()),
            Some(extra) => Err(RpcError::invalid_params(format!(
                "{}() got an unexpected argument `{extra}`",
                self.function
            ))
            .with_field(format!("data.{extra}"), "unexpected argument")),
        }
    }

    fn missing(&self, name: &str) -> RpcError {
        RpcError::invalid_params(format!(
            "{}() missing required argument `{name}`",
            self.function
        ))
        .with_field(format!("data.{name}"), "missing")
    }

    fn wrong_type(&self, name: &str, expected: &str, value: &Value) -> RpcError {
        RpcError::invalid_params(format!(
            "{}() argument `{name}` must be {expected}, got {}",
            self.function,
            json_kind(value)
        ))
        .with_field(format!("data.{name}"), format!("must be {expected}"))
    }

    fn to_number(&self, name: &str, value: &Value) -> Result<Number, RpcError> {
        match value {
            Value::Number(n) => Ok(n.clone()),
            Value::String(s) => {
                parse_number(s.trim()).ok_or_else(|| self.wrong_type(name, "a number", value))
            }
            _ => Err(self.wrong_type(name, "a number", value)),
        }
    }

    fn to_u64(&self, name: &str, value: &Value) -> Result<u64, RpcError> {
        self.to_number(name, value)
            .ok()
            .and_then(|n| n.as_u64())
            .ok_or_else(|| self.wrong_type(name, "a non-negative integer", value))
    }
}

fn parse_number(s: &str) -> Option<Number> {
    if let Ok(i) = s.parse::<i64>() {
        return Some(Number::from(i));
    }
    s.parse::<f64>().ok().and_then(Number::from_f64)
}

/// `a + b`, keeping integers integers and falling back to floats when either is
/// a float or the integer sum would overflow.
pub fn add(a: &Number, b: &Number) -> Result<Number, RpcError> {
    if let (Some(x), Some(y)) = (a.as_i64(), b.as_i64())
        && let Some(sum) = x.checked_add(y)
    {
        return Ok(Number::from(sum));
    }
    float_result(as_f64(a) + as_f64(b))
}

/// `a * b`, with the same typing rules as [`add`].
pub fn mul(a: &Number, b: &Number) -> Result<Number, RpcError> {
    if let (Some(x), Some(y)) = (a.as_i64(), b.as_i64())
        && let Some(product) = x.checked_mul(y)
    {
        return Ok(Number::from(product));
    }
    float_result(as_f64(a) * as_f64(b))
}

fn as_f64(n: &Number) -> f64 {
    // Every serde_json number (without arbitrary precision) converts.
    n.as_f64().unwrap_or(f64::NAN)
}

fn float_result(x: f64) -> Result<Number, RpcError> {
    Number::from_f64(x).ok_or_else(|| RpcError::invalid_params("result is not a finite number"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn args(data: Value) -> Args {
        Args::new("S.f", data.as_object().cloned().unwrap())
    }

    #[test]
    fn numbers_keep_their_json_type() {
        let n = |v: Value| serde_json::from_value::<Number>(v).unwrap();
        assert_eq!(add(&n(json!(1)), &n(json!(2))).unwrap().to_string(), "3");
        assert_eq!(
            add(&n(json!(1.5)), &n(json!(2))).unwrap().to_string(),
            "3.5"
        );
        assert_eq!(mul(&n(json!(3)), &n(json!(-4))).unwrap().to_string(), "-12");
        assert_eq!(
            add(&n(json!(i64::MAX)), &n(json!(1))).unwrap().as_f64(),
            Some(9.223372036854776e18)
        );
        assert!(mul(&n(json!(1e308)), &n(json!(10))).is_err());
    }

    /// Arguments are taken once each, in any order, from small calls and
    /// large ones, and the rest are left for `finish` and `into_map`.
    #[test]
    fn arguments_are_taken_once_in_any_order_from_small_and_large_calls() {
        for extra in [0, 100] {
            let mut data = Map::new();
            data.insert("x".into(), json!(1));
            for i in 0..extra {
                data.insert(format!("pad{i}"), json!(i));
            }
            data.insert("y".into(), json!(2));
            data.insert("z".into(), json!(3));
            let mut a = Args::new("S.f", data);
            assert_eq!(a.number("z").unwrap().as_i64(), Some(3));
            assert_eq!(a.number("x").unwrap().as_i64(), Some(1));
            let again = a.number("x").unwrap_err();
            assert!(again.message.contains("missing required argument `x`"));
            let rest = a.clone().into_map();
            assert_eq!(rest.len(), extra + 1, "only y and the padding are left");
            assert_eq!(rest.get("y"), Some(&json!(2)));
            assert_eq!(rest.keys().next_back().map(String::as_str), Some("y"));
            let unexpected = a.clone().finish().unwrap_err();
            let first_left = if extra == 0 { "y" } else { "pad0" };
            assert!(
                unexpected
                    .message
                    .contains(&format!("unexpected argument `{first_left}`")),
                "{}",
                unexpected.message
            );
            a.number("y").unwrap();
            for i in 0..extra {
                a.u64(&format!("pad{i}")).unwrap();
            }
            a.finish().unwrap();
        }
    }

    #[test]
    fn argument_errors_name_the_argument() {
        let err = args(json!({"x": "abc"})).number("x").unwrap_err();
        assert_eq!(err.code, 2001);
        assert!(err.message.contains("`x` must be a number, got a string"));
        let err = args(json!({})).number("y").unwrap_err();
        assert!(err.message.contains("missing required argument `y`"));
        let err = args(json!({"start": -1})).u64("start").unwrap_err();
        assert!(err.message.contains("non-negative integer"));
        let mut a = args(json!({"x": 1, "z": 2}));
        a.number("x").unwrap();
        assert!(
            a.finish()
                .unwrap_err()
                .message
                .contains("unexpected argument `z`")
        );
    }

    #[test]
    fn numeric_strings_are_accepted() {
        assert_eq!(
            args(json!({"x": "7"})).number("x").unwrap(),
            Number::from(7)
        );
        assert!(args(json!({"x": "2.5"})).u64("x").is_err());
        assert_eq!(args(json!({})).u64_or("ms", 50).unwrap(), 50);
    }
}
