import { beforeEach, describe, expect, it, vi } from "vitest";

const cancel = vi.fn(() => Promise.resolve());
vi.mock("./api", async (original) => ({ ...(await original<typeof import("./api")>()), cancel }));

const { emptyExchange, useStore } = await import("./store");

describe("closing a tab", () => {
  beforeEach(() => cancel.mockClear());

  it("cancels the call still running in it", () => {
    useStore.getState().newTab();
    const { active } = useStore.getState();
    useStore.setState((s) => ({
      tabs: s.tabs.map((t) => (t.id === active ? { ...t, exchange: { ...emptyExchange(true), id: "x-1", running: true } } : t)),
    }));
    useStore.getState().closeTab(active);
    expect(cancel).toHaveBeenCalledWith("x-1");
    expect(useStore.getState().tabs.some((t) => t.id === active)).toBe(false);
  });

  it("cancels nothing when its call has ended", () => {
    useStore.getState().newTab();
    const { active } = useStore.getState();
    useStore.setState((s) => ({
      tabs: s.tabs.map((t) => (t.id === active ? { ...t, exchange: { ...emptyExchange(false), id: "x-2", running: false } } : t)),
    }));
    useStore.getState().closeTab(active);
    expect(cancel).not.toHaveBeenCalled();
  });
});
