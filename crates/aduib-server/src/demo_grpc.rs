//! `aduib.demo.v1.RichService`: the rich demo service the generic gRPC client
//! is tested against (every protobuf shape, all four call kinds).

use std::time::{Duration, SystemTime};

use aduib_proto::demo::rich_service_server::RichService;
use aduib_proto::demo::{Number, Rich, Tick, TickRequest, Total};
use futures::stream::{self, BoxStream, StreamExt, TryStreamExt};
use tonic::{Request, Response, Status, Streaming};

/// Ticks are capped so one request cannot stream forever.
const MAX_TICKS: i32 = 10_000;
const DEFAULT_TICK_INTERVAL: Duration = Duration::from_millis(10);

#[derive(Debug, Clone, Copy)]
pub struct RichDemo;

#[tonic::async_trait]
impl RichService for RichDemo {
    async fn echo(&self, request: Request<Rich>) -> Result<Response<Rich>, Status> {
        Ok(Response::new(request.into_inner()))
    }

    type TicksStream = BoxStream<'static, Result<Tick, Status>>;

    async fn ticks(
        &self,
        request: Request<TickRequest>,
    ) -> Result<Response<Self::TicksStream>, Status> {
        let TickRequest { count, interval } = request.into_inner();
        if !(0..=MAX_TICKS).contains(&count) {
            return Err(Status::invalid_argument(format!(
                "count must be 0..={MAX_TICKS}, got {count}"
            )));
        }
        let interval = match interval {
            None => DEFAULT_TICK_INTERVAL,
            Some(d) => Duration::try_from(d).map_err(|_| {
                Status::invalid_argument("interval must be a non-negative duration")
            })?,
        };
        let ticks = stream::unfold(1, move |n| async move {
            if n > count {
                return None;
            }
            tokio::time::sleep(interval).await;
            let at = prost_types::Timestamp::from(SystemTime::now());
            Some((Ok(Tick { n, at: Some(at) }), n + 1))
        });
        Ok(Response::new(ticks.boxed()))
    }

    async fn sum(&self, request: Request<Streaming<Number>>) -> Result<Response<Total>, Status> {
        let numbers: Vec<Number> = request.into_inner().try_collect().await?;
        let sum = numbers
            .iter()
            .try_fold(0i64, |sum, n| sum.checked_add(n.value))
            .ok_or_else(|| Status::out_of_range("the sum overflows int64"))?;
        let count = i32::try_from(numbers.len()).unwrap_or(i32::MAX);
        Ok(Response::new(Total { sum, count }))
    }

    type ChatStream = BoxStream<'static, Result<Rich, Status>>;

    async fn chat(
        &self,
        request: Request<Streaming<Rich>>,
    ) -> Result<Response<Self::ChatStream>, Status> {
        Ok(Response::new(request.into_inner().boxed()))
    }
}
