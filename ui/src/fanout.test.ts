import { describe, expect, it } from "vitest";
import type { FanoutResult } from "./bindings";
import { fanoutFailed } from "./fanout";

const base: FanoutResult = { instance: "127.0.0.1:1", transport: "jsonrpc", latency_ms: 1, response: null, error: null, group: 0 };

describe("fanoutFailed", () => {
  it("is false for a success envelope", () => {
    expect(fanoutFailed({ ...base, response: { aduib_rpc: "2.0", status: "success", result: 3 } })).toBe(false);
  });

  it("is true for an error envelope", () => {
    expect(fanoutFailed({ ...base, response: { aduib_rpc: "2.0", status: "error", error: { code: 1001 } } })).toBe(true);
  });

  it("is true when the instance did not answer", () => {
    const error = { kind: "connect", message: "Connection refused" } as FanoutResult["error"];
    expect(fanoutFailed({ ...base, error })).toBe(true);
  });
});
