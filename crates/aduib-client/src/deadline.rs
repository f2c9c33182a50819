//! A deadline over a whole exchange: the call, and every item of a stream.

use std::time::Duration;

use futures::stream::{self, BoxStream, Stream, StreamExt};
use tokio::time::Instant;

/// When an exchange must be over, if ever.
#[derive(Debug, Clone, Copy)]
pub struct Deadline {
    at: Option<Instant>,
}

/// The deadline passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Elapsed;

impl Deadline {
    /// Starts now; `None` never expires.
    pub fn after(budget: Option<Duration>) -> Self {
        Deadline {
            at: budget.map(|b| Instant::now() + b),
        }
    }

    /// Runs `work`, or gives up when the deadline passes. The future holds
    /// no borrow of the deadline, so it is `Send` whenever `work` is.
    pub fn run<T>(
        &self,
        work: impl Future<Output = T>,
    ) -> impl Future<Output = Result<T, Elapsed>> {
        let at = self.at;
        async move {
            match at {
                Some(at) => tokio::time::timeout_at(at, work).await.map_err(|_| Elapsed),
                None => Ok(work.await),
            }
        }
    }

    /// Ends `items` with `expired()` when the deadline passes before they do.
    pub fn bound<T: Send + 'static>(
        &self,
        items: impl Stream<Item = T> + Send + 'static,
        expired: impl FnOnce() -> T + Send + 'static,
    ) -> BoxStream<'static, T> {
        let Some(at) = self.at else {
            return items.boxed();
        };
        stream::unfold(
            (items.boxed(), Some(expired)),
            move |(mut items, expired)| async move {
                let expired = expired?;
                tokio::select! {
                    item = items.next() => item.map(|item| (item, (items, Some(expired)))),
                    () = tokio::time::sleep_until(at) => Some((expired(), (items, None))),
                }
            },
        )
        .boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Paused time: the clock only moves when every task waits, so the
    // outcome does not depend on how busy the machine is.
    #[tokio::test(start_paused = true)]
    async fn a_stream_is_cut_with_one_final_item() {
        let deadline = Deadline::after(Some(Duration::from_millis(30)));
        let ticks = stream::unfold(0, |n| async move {
            tokio::time::sleep(Duration::from_millis(20)).await;
            Some((Ok::<_, &str>(n), n + 1))
        });
        let items: Vec<_> = deadline.bound(ticks, || Err("late")).collect().await;
        assert_eq!(items, [Ok(0), Err("late")]);
        assert_eq!(Deadline::after(None).run(async { 1 }).await, Ok(1));
        let slow = tokio::time::sleep(Duration::from_secs(5));
        assert_eq!(
            Deadline::after(Some(Duration::from_millis(5)))
                .run(slow)
                .await,
            Err(Elapsed)
        );
    }
}
