//! JSON written the way Python's `json.dumps` writes it by default
//! (`", "` between items, `": "` after keys), for the places where the peer's
//! bytes use that style: REST SSE frames and Thrift's `data_json`.

use serde::Serialize;
use serde_json::ser::{Formatter, Serializer};
use std::io;

#[derive(Debug, Default)]
struct PythonFormatter;

impl Formatter for PythonFormatter {
    fn begin_array_value<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        if first { Ok(()) } else { w.write_all(b", ") }
    }

    fn begin_object_key<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        if first { Ok(()) } else { w.write_all(b", ") }
    }

    fn begin_object_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        w.write_all(b": ")
    }
}

/// Serializes `value` in Python's default `json.dumps` layout.
pub fn to_python_string<T: Serialize + ?Sized>(value: &T) -> serde_json::Result<String> {
    let mut out = Vec::with_capacity(128);
    value.serialize(&mut Serializer::with_formatter(&mut out, PythonFormatter))?;
    // serde_json only ever writes valid UTF-8.
    String::from_utf8(out).map_err(|e| serde::ser::Error::custom(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn matches_python_default_separators() {
        let value = json!({"aduib_rpc": "2.0", "result": {"n": 1}, "list": [1, 2], "empty": {}});
        assert_eq!(
            to_python_string(&value).unwrap(),
            r#"{"aduib_rpc": "2.0", "result": {"n": 1}, "list": [1, 2], "empty": {}}"#
        );
    }

    #[test]
    fn floats_survive_a_round_trip_exactly() {
        // serde_json's default parser can be one unit in the last place off;
        // the workspace enables `float_roundtrip` so a number read back is
        // the number written (found by fuzzing `data_json`).
        for text in ["9.893216058924181e+173", "9.094947017729282e-13", "0.1"] {
            let value: serde_json::Value = serde_json::from_str(text).unwrap();
            assert_eq!(to_python_string(&value).unwrap(), text);
        }
    }
}
