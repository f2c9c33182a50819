import { describe, expect, it } from "vitest";
import { diffRows, pretty } from "./diff";

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
