//! `CaculService`, the demo service: the same functions and semantics as the
//! peer's reference test service, so one client works against both.

use std::time::Duration;

use aduib_core::{ErrorCode, RpcError};
use futures::stream;
use serde_json::{Value, json};

use crate::args::{self, Args};
use crate::dispatch::STREAM_ITEMS;
use crate::registry::HandlerRegistry;
use crate::tasks::report_progress;

/// The name the demo service registers under.
pub const CACUL_SERVICE: &str = "CaculService";
/// The long-task demo: work in steps that reports its progress.
pub const BATCH_SERVICE: &str = "BatchService";
/// The rich gRPC demo service (`aduib.demo.v1.RichService`, see `demo_grpc`).
pub const RICH_SERVICE: &str = "RichService";

/// Upper bound for the demo's sleeps, so a typo cannot park a request for days.
const MAX_DELAY_MS: u64 = 600_000;

/// Registers `CaculService.{add, mul, sum, echo, countdown, slow, fail}`.
pub fn register_cacul_service(registry: &mut HandlerRegistry) {
    registry
        .unary("CaculService.add", |mut args: Args| async move {
            let (x, y) = (args.number("x")?, args.number("y")?);
            args.finish()?;
            Ok(Value::Number(args::add(&x, &y)?))
        })
        .unary("CaculService.mul", |mut args: Args| async move {
            let (x, y) = (args.number("x")?, args.number("y")?);
            args.finish()?;
            Ok(Value::Number(args::mul(&x, &y)?))
        })
        .unary("CaculService.sum", |mut args: Args| async move {
            // `x` of the first message plus `x` of every later one: the
            // function a client stream calls.
            let mut total = args.number_or("x", 0)?;
            for (i, item) in args.array_or_empty(STREAM_ITEMS)?.iter().enumerate() {
                let name = format!("{}[{STREAM_ITEMS}][{i}]", args.function());
                let Value::Object(fields) = item else {
                    return Err(
                        RpcError::invalid_params(format!("{name} must be an object"))
                            .with_field(format!("data.{STREAM_ITEMS}[{i}]"), "not an object"),
                    );
                };
                let mut item_args = Args::new(name, fields.clone());
                total = args::add(&total, &item_args.number_or("x", 0)?)?;
            }
            args.finish()?;
            Ok(Value::Number(total))
        })
        .unary("CaculService.echo", |args: Args| async move {
            Ok(Value::Object(args.into_map()))
        })
        .unary("CaculService.slow", |mut args: Args| async move {
            let x = args.number("x")?;
            let delay_ms = delay(&mut args, "delay_ms", 500)?;
            args.finish()?;
            tokio::time::sleep(Duration::from_millis(delay_ms)).await;
            Ok(json!({ "doubled": args::add(&x, &x)? }))
        })
        .unary("CaculService.fail", |args: Args| async move {
            args.finish()?;
            Err(RpcError::new(
                ErrorCode::InternalError,
                "CaculService.fail always fails: Oops!",
            ))
        })
        .server_stream("CaculService.countdown", |mut args: Args| {
            let start = args.u64("start")?;
            let interval = Duration::from_millis(delay(&mut args, "interval_ms", 50)?);
            args.finish()?;
            let items = (0..=start).rev();
            Ok(stream::unfold(items, move |mut items| async move {
                let n = items.next()?;
                // A timer rounds even a zero sleep up to its 1 ms tick: a
                // zero interval streams as fast as the client reads.
                if !interval.is_zero() {
                    tokio::time::sleep(interval).await;
                }
                Some((Ok(json!({ "n": n })), items))
            }))
        });
}

fn delay(args: &mut Args, name: &str, default: u64) -> Result<u64, RpcError> {
    let ms = args.u64_or(name, default)?;
    if ms > MAX_DELAY_MS {
        return Err(RpcError::invalid_params(format!(
            "{}() argument `{name}` must be at most {MAX_DELAY_MS} ms",
            args.function()
        ))
        .with_field(format!("data.{name}"), "too large"));
    }
    Ok(ms)
}

/// Registers `BatchService.{process, fail_midway}`: run them as long tasks
/// (`metadata.long_task`, or `TaskService.Submit`) to watch their progress.
pub fn register_batch_service(registry: &mut HandlerRegistry) {
    registry
        .unary("BatchService.process", |mut args: Args| async move {
            let items = args.array_or_empty("items")?;
            let item_ms = delay(&mut args, "item_ms", 100)?;
            args.finish()?;
            let total = items.len() as u64;
            for (done, _) in items.iter().enumerate() {
                tokio::time::sleep(Duration::from_millis(item_ms)).await;
                report_progress(
                    done as u64 + 1,
                    total,
                    Some(format!("item {} of {total}", done + 1)),
                );
            }
            Ok(json!({ "processed": total }))
        })
        .unary("BatchService.fail_midway", |mut args: Args| async move {
            let steps = args.u64_or("steps", 4)?.min(1000);
            let item_ms = delay(&mut args, "item_ms", 100)?;
            args.finish()?;
            for step in 1..=steps / 2 {
                tokio::time::sleep(Duration::from_millis(item_ms)).await;
                report_progress(step, steps, None);
            }
            Err(RpcError::new(
                ErrorCode::InternalError,
                format!(
                    "failed at step {} of {steps}, as it always does",
                    steps / 2 + 1
                ),
            ))
        });
}
