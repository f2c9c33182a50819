import { afterEach, describe, expect, it } from "vitest";
import { cleanup, render, screen } from "@testing-library/react";
import type { HostStatus } from "../bindings";
import { useStore } from "../store";
import { ServerView } from "./ServerView";

const stopped: HostStatus = { running: false, workspace: "", endpoints: [], functions: [] };

afterEach(cleanup);

describe("Server view", () => {
  it("says why the server is not running when its start failed", () => {
    const problem = "Address already in use (os error 98): another server may be using the port";
    useStore.setState({ serverStatus: { ...stopped, problem } });
    render(<ServerView />);
    expect(screen.getByTestId("server-state").textContent).toBe("Not running — it did not start");
    expect(screen.getByTestId("server-problem").textContent).toBe(problem);
  });

  it("shows no problem when the server was stopped on purpose", () => {
    useStore.setState({ serverStatus: stopped });
    render(<ServerView />);
    expect(screen.getByTestId("server-state").textContent).toContain("Stopped");
    expect(screen.queryByTestId("server-problem")).toBeNull();
  });
});
