import { describe, expect, it } from "vitest";
import type { Event } from "../bindings";
import { timelineRows } from "./Timeline";

const events: Event[] = [
  { seq: 0, at_ms: 0, type: "sent", body: { n: 3 }, size: 7 },
  { seq: 1, at_ms: 1, type: "headers", status: 200, headers: [] },
  { seq: 2, at_ms: 5, type: "message", body: { left: 2 }, size: 10 },
  { seq: 3, at_ms: 9, type: "message", body: { left: 1 }, size: 10 },
  { seq: 4, at_ms: 9, type: "status", status: { ok: false, code: 14, name: "UNAVAILABLE", message: "gone" } },
  {
    seq: 5, at_ms: 10, type: "end",
    summary: { outcome: "server_error", total_ms: 10, messages_sent: 1, messages_received: 2, bytes_sent: 7, bytes_received: 20 },
  },
];

describe("timelineRows", () => {
  it("shows each sent and received message, the status and the end, in order", () => {
    const rows = timelineRows(events);
    expect(rows.map((r) => r.direction)).toEqual(["up", "down", "down", "info", "info"]);
    expect(rows[1]).toMatchObject({ seq: 2, size: 10, text: '{"left":2}' });
    expect(rows[3].text).toBe("status UNAVAILABLE 14 gone");
    expect(rows[4].text).toBe("end · server error · 2 received");
  });

  it("shows an Aduib envelope by its result, not its wrapping", () => {
    const envelope: Event = {
      seq: 0, at_ms: 0, type: "message", size: 60,
      body: { aduib_rpc: "2.0", id: "x", status: "success", result: { n: 9 }, metadata: { timestamp_ms: 1 } },
    };
    expect(timelineRows([envelope])[0].text).toBe('{"n":9}');
  });

  it("shows a preview (an envelope's payload, sent alone) as it shows the envelope", () => {
    const preview: Event = { seq: 0, at_ms: 0, type: "message", size: 60, body: { n: 9 }, preview: true };
    const error: Event = { seq: 1, at_ms: 0, type: "message", size: 60, body: { code: 5, message: "no" }, preview: true };
    expect(timelineRows([preview, error]).map((r) => r.text)).toEqual(['{"n":9}', '{"code":5,"message":"no"}']);
  });

  it("keeps only rows matching the filter, ignoring case", () => {
    expect(timelineRows(events, '"LEFT":1').map((r) => r.seq)).toEqual([3]);
    expect(timelineRows(events, "nothing like it")).toEqual([]);
  });
});
