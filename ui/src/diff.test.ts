import { describe, expect, it } from "vitest";
import { diffRows, pretty, withoutCallNoise } from "./diff";

describe("diffRows", () => {
  it("pairs a changed line with its replacement and keeps the rest aligned", () => {
    const rows = diffRows(pretty({ a: 1, b: 2, c: 3 }), pretty({ a: 1, b: 5, c: 3 }));
    expect(rows.map((r) => r.kind)).toEqual(["same", "same", "changed", "same", "same"]);
    expect(rows[2]).toEqual({ left: '  "b": 2,', right: '  "b": 5,', kind: "changed" });
  });

  it("marks lines only on one side as added or removed", () => {
    const rows = diffRows("a\nb\n", "a\nb\nc\n");
    expect(rows.at(-1)).toEqual({ left: null, right: "c", kind: "added" });
    expect(diffRows("a\nb\n", "a\n").at(-1)).toEqual({ left: "b", right: null, kind: "removed" });
  });

  it("finds nothing to mark in equal texts", () => {
    expect(diffRows("x\ny", "x\ny").every((r) => r.kind === "same")).toBe(true);
  });
});

describe("withoutCallNoise", () => {
  it("drops an envelope's id and its metadata's timestamp and duration, nothing else", () => {
    const envelope = { aduib_rpc: "2.0", id: "a", status: "success", result: { id: 7 }, metadata: { timestamp_ms: 1, duration_ms: 2, trace: "t" } };
    expect(withoutCallNoise(envelope)).toEqual({ aduib_rpc: "2.0", status: "success", result: { id: 7 }, metadata: { trace: "t" } });
    expect(envelope.id).toBe("a");
  });

  it("makes two runs of the same call diff as identical", () => {
    const run = (id: string, at: number) => ({ aduib_rpc: "2.0", id, status: "success", result: 3, metadata: { timestamp_ms: at, duration_ms: 0 } });
    const rows = diffRows(pretty(withoutCallNoise(run("a", 1))), pretty(withoutCallNoise(run("b", 2))));
    expect(rows.every((r) => r.kind === "same")).toBe(true);
  });

  it("leaves what is not an envelope alone", () => {
    const message = { id: 1, name: "row" };
    expect(withoutCallNoise(message)).toBe(message);
  });
});
