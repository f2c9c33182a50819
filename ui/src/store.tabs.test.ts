import { beforeEach, describe, expect, it, vi } from "vitest";

const cancel = vi.fn(() => Promise.resolve());
vi.mock("./api", async (original) => ({ ...(await original<typeof import("./api")>()), cancel }));

const { emptyExchange, useStore } = await import("./store");

/** Opens a tab whose call `id` is running or has ended, and closes it. */
function closeTabWithCall(id: string, running: boolean): number {
  useStore.getState().newTab();
  const { active } = useStore.getState();
  useStore.setState((s) => ({
    tabs: s.tabs.map((t) => (t.id === active ? { ...t, exchange: { ...emptyExchange(false), id, running } } : t)),
  }));
  useStore.getState().closeTab(active);
  return active;
}

describe("closing a tab", () => {
  beforeEach(() => cancel.mockClear());

  it("cancels the call still running in it", () => {
    const closed = closeTabWithCall("x-1", true);
    expect(cancel).toHaveBeenCalledWith("x-1");
    expect(useStore.getState().tabs.some((t) => t.id === closed)).toBe(false);
  });

  it("cancels nothing when its call has ended", () => {
    closeTabWithCall("x-2", false);
    expect(cancel).not.toHaveBeenCalled();
  });
});
