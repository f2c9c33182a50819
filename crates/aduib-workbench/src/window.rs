//! What the window is sent of an exchange. A fast stream of Aduib envelopes
//! costs the window far more to take in than it can show (measured: 100,000
//! messages of ~230 bytes of JSON each), while a timeline row shows only the
//! envelope's payload. So the window is sent the payload of each message, and
//! the whole envelopes stay here, in Rust's far more compact memory, until a
//! row is opened.

use std::collections::VecDeque;

use serde_json::Value;

use crate::event::{Event, EventBody};

/// Whole bodies kept for the exchanges started last.
const MAX_EXCHANGES: usize = 16;
/// Serialized bytes kept for all of them; beyond it the oldest exchange's
/// bodies go, and an exchange that alone fills it sends its bodies whole.
const MAX_BYTES: usize = 128 * 1024 * 1024;

/// The whole bodies of the messages the window was sent previews of, by
/// exchange and sequence number.
#[derive(Debug)]
pub struct KeptBodies {
    exchanges: VecDeque<Kept>,
    bytes: usize,
    max_bytes: usize,
}

#[derive(Debug)]
struct Kept {
    exchange: String,
    /// In sequence order: events arrive in order.
    bodies: Vec<(u32, String)>,
    bytes: usize,
}

impl Default for KeptBodies {
    fn default() -> Self {
        KeptBodies::with_limit(MAX_BYTES)
    }
}

impl KeptBodies {
    fn with_limit(max_bytes: usize) -> Self {
        KeptBodies {
            exchanges: VecDeque::new(),
            bytes: 0,
            max_bytes,
        }
    }

    /// `event` as the window is sent it: a received Aduib envelope becomes its
    /// payload, the whole envelope being kept here. Anything else, and any
    /// envelope that no longer fits, goes whole.
    pub fn preview(&mut self, exchange: &str, mut event: Event) -> Event {
        let EventBody::Message { body, preview, .. } = &mut event.body else {
            return event;
        };
        let Some(payload) = envelope_payload(body) else {
            return event;
        };
        let whole = body.to_string();
        if !self.make_room(exchange, whole.len()) {
            return event;
        }
        let payload = payload.clone();
        self.bytes += whole.len();
        let kept = self.entry(exchange);
        kept.bytes += whole.len();
        kept.bodies.push((event.seq, whole));
        *body = payload;
        *preview = true;
        event
    }

    /// A batch of `exchange`'s events as the window is sent it: its messages
    /// as previews, but the last, which the response's body shows, whole.
    pub fn previews(&mut self, exchange: &str, batch: Vec<Event>) -> Vec<Event> {
        let last = batch
            .iter()
            .rposition(|e| matches!(e.body, EventBody::Message { .. }));
        batch
            .into_iter()
            .enumerate()
            .map(|(at, event)| {
                if Some(at) == last {
                    event
                } else {
                    self.preview(exchange, event)
                }
            })
            .collect()
    }

    /// The whole body of message `seq` of `exchange`, if it is still kept.
    pub fn get(&self, exchange: &str, seq: u32) -> Option<Value> {
        let kept = self.exchanges.iter().rfind(|k| k.exchange == exchange)?;
        let at = kept.bodies.binary_search_by_key(&seq, |(s, _)| *s).ok()?;
        serde_json::from_str(&kept.bodies[at].1).ok()
    }

    /// Frees older exchanges' bodies until `bytes` more of `exchange` fit;
    /// false when they cannot.
    fn make_room(&mut self, exchange: &str, bytes: usize) -> bool {
        while self.bytes + bytes > self.max_bytes {
            match self.exchanges.front() {
                Some(oldest) if oldest.exchange != exchange => {
                    self.bytes -= oldest.bytes;
                    self.exchanges.pop_front();
                }
                _ => return false,
            }
        }
        true
    }

    /// `exchange`'s bodies; a new exchange's, the oldest going when there
    /// are [`MAX_EXCHANGES`] already.
    fn entry(&mut self, exchange: &str) -> &mut Kept {
        // The exchange being streamed is nearly always the newest.
        let at = match self.exchanges.iter().rposition(|k| k.exchange == exchange) {
            Some(at) => at,
            None => {
                if self.exchanges.len() == MAX_EXCHANGES
                    && let Some(oldest) = self.exchanges.pop_front()
                {
                    self.bytes -= oldest.bytes;
                }
                self.exchanges.push_back(Kept {
                    exchange: exchange.to_owned(),
                    bodies: Vec::new(),
                    bytes: 0,
                });
                self.exchanges.len() - 1
            }
        };
        &mut self.exchanges[at]
    }
}

/// An Aduib envelope's payload: its error, result or data, as its timeline
/// row shows it (`ui/src/components/Timeline.tsx`).
fn envelope_payload(body: &Value) -> Option<&Value> {
    let envelope = body.as_object().filter(|o| o.contains_key("aduib_rpc"))?;
    ["error", "result", "data"]
        .into_iter()
        .find_map(|key| envelope.get(key).filter(|v| !v.is_null()))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn message(seq: u32, body: Value) -> Event {
        Event {
            seq,
            at_ms: 1.0,
            body: EventBody::Message {
                body,
                size: 10,
                preview: false,
            },
        }
    }

    fn envelope(n: u32) -> Value {
        json!({"aduib_rpc": "2.0", "id": "a", "status": "success", "result": {"n": n}, "metadata": {"duration_ms": 0}})
    }

    fn body_of(event: &Event) -> (&Value, bool) {
        match &event.body {
            EventBody::Message { body, preview, .. } => (body, *preview),
            other => panic!("not a message: {other:?}"),
        }
    }

    #[test]
    fn an_envelope_is_sent_as_its_payload_and_kept_whole() {
        let mut kept = KeptBodies::default();
        let sent = kept.preview("x", message(3, envelope(7)));
        assert_eq!(body_of(&sent), (&json!({"n": 7}), true));
        assert_eq!(kept.get("x", 3), Some(envelope(7)));
        assert_eq!(kept.get("x", 4), None, "no such message");
        assert_eq!(kept.get("y", 3), None, "no such exchange");
    }

    #[test]
    fn a_batch_goes_as_previews_but_its_last_message_whole() {
        let mut kept = KeptBodies::default();
        let end = Event {
            seq: 3,
            at_ms: 2.0,
            body: EventBody::Trailers {
                trailers: Vec::new(),
            },
        };
        let batch = vec![
            message(0, envelope(2)),
            message(1, envelope(1)),
            message(2, envelope(0)),
            end.clone(),
        ];
        let sent = kept.previews("x", batch);
        let bodies: Vec<(&Value, bool)> = sent[..3].iter().map(body_of).collect();
        assert_eq!(
            bodies,
            [
                (&json!({"n": 2}), true),
                (&json!({"n": 1}), true),
                (&envelope(0), false)
            ]
        );
        assert_eq!(sent[3], end);
        assert_eq!(kept.get("x", 1), Some(envelope(1)));
        assert_eq!(kept.get("x", 2), None, "sent whole, not kept");
    }

    #[test]
    fn the_payload_is_the_error_else_the_result_else_the_data() {
        let mut kept = KeptBodies::default();
        let error =
            json!({"aduib_rpc": "2.0", "status": "error", "result": null, "error": {"code": 5}});
        let sent = kept.preview("x", message(0, error));
        assert_eq!(body_of(&sent).0, &json!({"code": 5}));
        let data = json!({"aduib_rpc": "2.0", "method": "m", "data": [1]});
        let sent = kept.preview("x", message(1, data));
        assert_eq!(body_of(&sent).0, &json!([1]));
    }

    #[test]
    fn other_bodies_and_other_events_go_whole() {
        let mut kept = KeptBodies::default();
        for body in [
            json!({"result": 1}),
            json!([1, 2]),
            json!({"aduib_rpc": "2.0", "status": "success"}),
        ] {
            let sent = kept.preview("x", message(0, body.clone()));
            assert_eq!(body_of(&sent), (&body, false));
        }
        let sent = Event {
            seq: 1,
            at_ms: 0.0,
            body: EventBody::Sent {
                body: envelope(1),
                size: 3,
            },
        };
        assert_eq!(kept.preview("x", sent.clone()), sent);
        assert_eq!(kept.bytes, 0);
    }

    #[test]
    fn the_oldest_exchange_goes_first_and_a_full_store_sends_bodies_whole() {
        let one = envelope(1).to_string().len();
        let mut kept = KeptBodies::with_limit(3 * one);
        kept.preview("old", message(0, envelope(1)));
        kept.preview("old", message(1, envelope(1)));
        kept.preview("new", message(0, envelope(1)));
        kept.preview("new", message(1, envelope(1)));
        assert_eq!(kept.get("old", 0), None, "made room for the newer exchange");
        assert_eq!(kept.get("new", 1), Some(envelope(1)));
        kept.preview("new", message(2, envelope(1)));
        let sent = kept.preview("new", message(3, envelope(1)));
        assert_eq!(
            body_of(&sent),
            (&envelope(1), false),
            "nothing left to free: sent whole"
        );
        assert_eq!(kept.get("new", 3), None);
        assert_eq!(kept.bytes, 3 * one);
    }

    #[test]
    fn at_most_sixteen_exchanges_are_kept() {
        let mut kept = KeptBodies::default();
        for exchange in 0..=MAX_EXCHANGES {
            kept.preview(&exchange.to_string(), message(0, envelope(1)));
        }
        assert_eq!(kept.get("0", 0), None);
        assert!(kept.get("1", 0).is_some());
        assert_eq!(kept.bytes, MAX_EXCHANGES * envelope(1).to_string().len());
    }
}
