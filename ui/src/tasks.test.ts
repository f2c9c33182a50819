import { describe, expect, it } from "vitest";
import type { TrackedTask } from "./bindings";
import { isOpen, mergeTasks, percent, shortMethod } from "./tasks";

const task = (id: string, patch: Partial<TrackedTask> = {}): TrackedTask => ({
  task_id: id,
  call: { transport: "jsonrpc", url: "http://127.0.0.1:1", method: "rpc.v2/B/BatchService.process", mode: "unary", data: {}, interactive: false, options: { headers: [] } },
  status: "running",
  progress: null,
  result: null,
  error: null,
  submitted_at_ms: 1,
  updated_at_ms: 1,
  ended_at_ms: null,
  note: null,
  lost: false,
  ended_while_away: false,
  changes: [],
  ...patch,
});

describe("mergeTasks", () => {
  it("puts a new task first and replaces a known one in place", () => {
    const list = [task("b"), task("a")];
    const merged = mergeTasks(list, [task("a", { status: "succeeded" }), task("c")]);
    expect(merged.map((t) => t.task_id)).toEqual(["c", "b", "a"]);
    expect(merged[2].status).toBe("succeeded");
  });

  it("keeps the change list a bare update lacks", () => {
    const change = { at_ms: 1, event: "submitted", status: "pending", progress: null };
    const merged = mergeTasks([task("a", { changes: [change] })], [task("a", { status: "failed" })]);
    expect(merged[0].changes).toEqual([change]);
    expect(merged[0].status).toBe("failed");
  });
});

describe("percent", () => {
  it("reads progress, is 100 on success and null without a size", () => {
    expect(percent(task("a", { progress: { current: 3, total: 4 } }))).toBe(75);
    expect(percent(task("a", { progress: { current: 9, total: 4 } }))).toBe(100);
    expect(percent(task("a", { status: "succeeded" }))).toBe(100);
    expect(percent(task("a", { progress: { current: 1, total: 0 } }))).toBeNull();
    expect(percent(task("a"))).toBeNull();
  });
});

describe("isOpen and shortMethod", () => {
  it("an ended or lost task is not open", () => {
    expect(isOpen(task("a"))).toBe(true);
    expect(isOpen(task("a", { status: "canceled" }))).toBe(false);
    expect(isOpen(task("a", { lost: true }))).toBe(false);
    expect(shortMethod("rpc.v2/B/BatchService.process")).toBe("BatchService.process");
    expect(shortMethod("")).toBe("(unknown method)");
  });
});
