import { describe, expect, it } from "vitest";
import type { Event } from "./bindings";
import { absorb, emptyExchange } from "./store";

const message = (seq: number, n: number): Event => ({ seq, at_ms: seq, type: "message", body: { n }, size: 8 });

describe("absorb", () => {
  it("keeps counts, the last body, status, headers and rows per batch", () => {
    let view = emptyExchange(false);
    view = absorb(view, [
      { seq: 0, at_ms: 0, type: "sent", body: {}, size: 2 },
      { seq: 1, at_ms: 1, type: "headers", status: 200, headers: [{ name: "a", value: "1" }] },
      message(2, 3),
    ]);
    const before = view;
    view = absorb(view, [message(3, 2), { seq: 4, at_ms: 4, type: "status", status: { ok: true } }]);
    expect(view).toMatchObject({ messages: 2, sent: 1, lastBody: { n: 2 }, httpStatus: 200, count: 4, status: { ok: true } });
    expect(view.headers).toEqual([{ name: "a", value: "1" }]);
    expect(view.rows.map((r) => r.seq)).toEqual([0, 2, 3, 4]);
    expect(before.count).toBe(2);
    expect(before.messages).toBe(1);
  });

  it("ends the exchange with its summary and error", () => {
    const view = absorb(emptyExchange(false), [
      { seq: 0, at_ms: 0, type: "error", error: { kind: "connect", message: "refused", causes: [] } },
      {
        seq: 1, at_ms: 1, type: "end",
        summary: { outcome: "failed", total_ms: 1, messages_sent: 0, messages_received: 0, bytes_sent: 0, bytes_received: 0 },
      },
    ]);
    expect(view.running).toBe(false);
    expect(view.error?.message).toBe("refused");
    expect(view.summary?.outcome).toBe("failed");
  });

  it("takes a long stream in without walking what came before", () => {
    let view = emptyExchange(false);
    for (let i = 0; i < 1000; i++) view = absorb(view, Array.from({ length: 100 }, (_, j) => message(i * 100 + j, j)));
    expect(view.count).toBe(100_000);
    expect(view.rows.length).toBe(100_000);
  });
});
