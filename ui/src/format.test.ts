import { describe, expect, it } from "vitest";
import { bytes, ms, offset } from "./format";

describe("format", () => {
  it("prints sizes, durations and offsets as people read them", () => {
    expect([bytes(12), bytes(2048), bytes(3 * 1024 * 1024)]).toEqual(["12 B", "2.0 KB", "3.0 MB"]);
    expect([ms(0.5), ms(42.4), ms(1500)]).toEqual(["0.50 ms", "42 ms", "1.50 s"]);
    expect(offset(1234)).toBe("+1.234s");
  });
});
