// The embedded server of the workspace: start, stop, where it listens, what
// it serves, and a live log of the calls it answers.
import { useState } from "react";
import { Play, Server, Square } from "lucide-react";
import * as api from "../api";
import { ms, when } from "../format";
import { useStore } from "../store";

export function ServerView() {
  const status = useStore((s) => s.serverStatus);
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);
  const calls = useStore((s) => s.serverCalls);

  const toggle = async () => {
    setBusy(true);
    setProblem(null);
    try {
      // The new status arrives on the server's status channel.
      await (status?.running ? api.serverStop() : api.serverStart());
    } catch (e) {
      setProblem(api.errorText(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="flex h-full min-h-0 flex-col" data-testid="server">
      <div className="flex items-center gap-3 border-b border-zinc-200 p-4 dark:border-zinc-800">
        <Server size={18} className="text-zinc-400" />
        <div className="min-w-0">
          <div className="font-semibold">Embedded server</div>
          <div className="text-xs text-zinc-500" data-testid="server-state">
            {status?.running
              ? `Running · workspace ${status.workspace}`
              : status?.problem
                ? "Not running — it did not start"
                : "Stopped — start it to serve the workspace's mocks"}
          </div>
        </div>
        <button
          onClick={() => void toggle()}
          disabled={busy}
          data-testid="server-toggle"
          className={`ml-auto flex items-center gap-1.5 rounded-md px-3 py-1.5 text-[12.5px] font-medium text-white disabled:opacity-50 ${status?.running ? "bg-rose-600 hover:bg-rose-500" : "bg-indigo-600 hover:bg-indigo-500"}`}
        >
          {status?.running ? <><Square size={13} /> Stop</> : <><Play size={13} /> Start</>}
        </button>
      </div>
      {/* This view's own Start or Stop failing, else the last start's (maybe the app's at launch). */}
      {(problem ?? status?.problem) && (
        <p data-testid="server-problem" className="border-b border-rose-200 bg-rose-50 px-4 py-2 text-rose-800 dark:border-rose-900 dark:bg-rose-950/40 dark:text-rose-200">
          {problem ?? status?.problem}
        </p>
      )}
      <div className="grid grid-cols-2 gap-6 border-b border-zinc-200 p-4 dark:border-zinc-800">
        <section>
          <h3 className="mb-2 text-xs font-semibold uppercase tracking-wide text-zinc-500">Listening on</h3>
          {status?.running ? (
            <ul className="space-y-1 font-mono text-xs" data-testid="server-endpoints">
              {status.endpoints.map((e) => (
                <li key={e.transport} className="flex gap-3">
                  <span className="w-16 text-zinc-500">{e.transport}</span>
                  <span>{e.url}</span>
                </li>
              ))}
            </ul>
          ) : (
            <p className="text-zinc-400">Nothing: the server is stopped.</p>
          )}
        </section>
        <section>
          <h3 className="mb-2 text-xs font-semibold uppercase tracking-wide text-zinc-500">Serves</h3>
          {status?.running ? (
            <ul className="flex flex-wrap gap-1.5">
              {status.functions.map((f) => (
                <li key={f} className="rounded bg-zinc-100 px-1.5 py-0.5 font-mono text-[11px] dark:bg-zinc-800">{f}</li>
              ))}
            </ul>
          ) : (
            <p className="text-zinc-400">The workspace's functions, once it runs.</p>
          )}
        </section>
      </div>
      <h3 className="px-4 pt-3 text-xs font-semibold uppercase tracking-wide text-zinc-500">Live calls</h3>
      <div className="min-h-0 flex-1 overflow-auto px-4 py-2" data-testid="server-log">
        {calls.length === 0 ? (
          <p className="text-zinc-400">No calls yet — send one from the Composer and it shows here.</p>
        ) : (
          <table className="w-full text-xs">
            <tbody>
              {calls.map((c, i) => (
                <tr key={i} className="border-b border-zinc-100 dark:border-zinc-900" data-testid="server-call">
                  <td className="w-24 py-1 text-zinc-400">{when(c.at_ms)}</td>
                  <td className="py-1 font-mono">{c.method}</td>
                  <td className="w-16 py-1 text-zinc-500">{c.stream ? "stream" : "unary"}</td>
                  <td className={`w-20 py-1 ${c.ok ? "text-emerald-600" : "text-rose-600"}`}>{c.ok ? "ok" : `error ${c.code ?? ""}`}</td>
                  <td className="w-16 py-1 text-right text-zinc-500">{ms(c.duration_ms)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </div>
    </div>
  );
}
