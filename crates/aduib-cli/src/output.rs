//! Writing results: one JSON value per line on stdout, flushed as it goes.

use std::io::Write;

use serde::Serialize;

/// Prints `value` as one line of JSON and flushes, so a reader of a stream
/// sees each item as it arrives.
pub fn print_line<T: Serialize + ?Sized>(value: &T) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer(&mut out, value)?;
    out.write_all(b"\n")?;
    out.flush()?;
    Ok(())
}
