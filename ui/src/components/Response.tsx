// The answer: a header line with everything at a glance, then the body,
// the timeline of a stream, headers and trailers, and timings.
import { useEffect, useState } from "react";
import { Copy, Loader2, Send } from "lucide-react";
import * as api from "../api";
import type { Event, Header } from "../bindings";
import { bytes, ms } from "../format";
import { type ExchangeView, useStore } from "../store";
import { JsonEditor } from "./JsonEditor";
import { Timeline } from "./Timeline";

type TabName = "body" | "timeline" | "headers" | "timing";

function statusLine(exchange: ExchangeView) {
  const s = exchange.status;
  if (exchange.running) return { tone: "running", label: "Running", detail: "" };
  const outcome = exchange.summary?.outcome;
  if (outcome === "cancelled") return { tone: "muted", label: "Cancelled", detail: "" };
  if (outcome === "failed") return { tone: "bad", label: "Failed", detail: exchange.error?.kind?.replace("_", " ") ?? "" };
  if (s && !s.ok) return { tone: "bad", label: "Error", detail: [s.name, s.code].filter((x) => x !== undefined && x !== null).join(" · ") };
  return { tone: "good", label: "OK", detail: "" };
}

const TONES: Record<string, string> = {
  good: "bg-emerald-500",
  bad: "bg-rose-500",
  running: "bg-amber-400 animate-pulse",
  muted: "bg-zinc-400",
};

/** What a stream's message was sent as to the window: a preview (its
 * envelope's payload) is replaced by the whole body, asked for once shown. */
function useWholeBody(exchangeId: string | null | undefined, chosen: Event | undefined) {
  // The envelope asked for, by message; null once it is no longer kept.
  const [whole, setWhole] = useState<{ seq: number; body: unknown } | null>(null);
  const preview = chosen?.type === "message" && chosen.preview === true;
  const seq = chosen?.seq;
  useEffect(() => {
    if (!preview || !exchangeId || seq === undefined) return;
    let live = true;
    api
      .exchangeMessage(exchangeId, seq)
      .then((body) => live && setWhole({ seq, body }))
      .catch(() => live && setWhole({ seq, body: null }));
    return () => {
      live = false;
    };
  }, [exchangeId, seq, preview]);
  if (!chosen || (chosen.type !== "message" && chosen.type !== "sent")) return { body: undefined, freed: false };
  const answer = preview && whole?.seq === chosen.seq ? whole : null;
  if (answer === null || answer.body === null) return { body: chosen.body, freed: answer !== null };
  return { body: answer.body, freed: false };
}

export function Response({ exchange, dark }: { exchange: ExchangeView | null; dark: boolean }) {
  const [tab, setTab] = useState<TabName | null>(null);
  const [selected, setSelected] = useState<number | null>(null);
  const messages = exchange?.messages ?? 0;
  const chosen = selected === null ? undefined : exchange?.events.find((e) => e.seq === selected);
  const whole = useWholeBody(exchange?.id, chosen);
  if (!exchange) {
    return (
      <div className="flex h-full flex-col items-center justify-center gap-2 text-zinc-400" data-testid="response-empty">
        <Send size={28} strokeWidth={1.5} />
        <p className="text-sm">No response yet — send the request with Ctrl+Enter.</p>
      </div>
    );
  }
  const streaming = messages > 1 || exchange.interactive || exchange.sent > 1;
  const current: TabName = tab ?? (streaming ? "timeline" : "body");
  const line = statusLine(exchange);
  const summary = exchange.summary;
  const body = whole.body !== undefined ? whole.body : exchange.lastBody;
  const { headers, trailers, httpStatus } = exchange;
  const text = body === undefined ? "" : JSON.stringify(body, null, 2);

  return (
    <div className="flex h-full min-h-0 flex-col" data-testid="response">
      <div className="flex items-center gap-3 border-b border-zinc-200 px-4 py-2 dark:border-zinc-800">
        <span className={`h-2.5 w-2.5 rounded-full ${TONES[line.tone]}`} />
        <span className="font-semibold" data-testid="response-status">{line.label}</span>
        {line.detail && <span className="text-zinc-500" data-testid="response-code">{line.detail}</span>}
        {httpStatus !== null && <span className="text-zinc-500">HTTP {httpStatus}</span>}
        <span className="ml-auto flex items-center gap-3 text-xs text-zinc-500">
          {exchange.running && <Loader2 size={13} className="animate-spin" />}
          {summary && <span data-testid="response-duration">{ms(summary.total_ms)}</span>}
          {summary && <span>{bytes(summary.bytes_received)}</span>}
          {streaming && (
            <span data-testid="response-messages">
              {messages} {messages === 1 ? "message" : "messages"}
              {exchange.running ? " · open" : ""}
            </span>
          )}
        </span>
      </div>
      <div className="flex gap-1 border-b border-zinc-200 px-3 text-xs dark:border-zinc-800">
        {(["body", "timeline", "headers", "timing"] as TabName[]).map((name) => (
          <button
            key={name}
            data-testid={`response-tab-${name}`}
            onClick={() => setTab(name)}
            className={`border-b-2 px-2 py-1.5 capitalize ${current === name ? "border-indigo-500 text-zinc-900 dark:text-zinc-100" : "border-transparent text-zinc-500 hover:text-zinc-800 dark:hover:text-zinc-300"}`}
          >
            {name}
          </button>
        ))}
      </div>
      {exchange.error && exchange.error.kind !== "cancelled" && (
        <div className="mx-3 mt-3 rounded-md border border-rose-200 bg-rose-50 px-3 py-2 text-rose-800 dark:border-rose-900 dark:bg-rose-950/50 dark:text-rose-200" data-testid="response-error">
          <div className="font-medium">{exchange.error.message}</div>
          {exchange.error.causes?.map((c, i) => (
            <div key={i} className="text-xs opacity-80">{c}</div>
          ))}
          {exchange.error.kind === "connect" && (
            <div className="mt-1 text-xs opacity-80">Is the server running? The embedded one starts from the Server view.</div>
          )}
          {messages > 0 && <div className="mt-1 text-xs opacity-80">What arrived before the failure is kept below.</div>}
        </div>
      )}
      {!exchange.error && exchange.status && !exchange.status.ok && exchange.status.message && (
        // A gRPC or Aduib error status: its message, not only its code.
        <div className="mx-3 mt-3 rounded-md border border-rose-200 bg-rose-50 px-3 py-2 text-rose-800 dark:border-rose-900 dark:bg-rose-950/50 dark:text-rose-200" data-testid="response-status-message">
          <div className="font-medium">{exchange.status.message}</div>
          {messages > 1 && <div className="mt-1 text-xs opacity-80">The messages that came before it are kept below.</div>}
        </div>
      )}
      <div className="min-h-0 flex-1">
        {current === "body" && (
          <div className="relative h-full" data-testid="response-body">
            {text ? (
              <>
                <button
                  title="Copy"
                  onClick={() => void navigator.clipboard?.writeText(text)}
                  className="absolute right-3 top-2 z-10 rounded p-1 text-zinc-400 hover:bg-zinc-100 hover:text-zinc-700 dark:hover:bg-zinc-800"
                >
                  <Copy size={14} />
                </button>
                {whole.freed && (
                  <p className="border-b border-zinc-200 px-4 py-1 text-xs text-zinc-500 dark:border-zinc-800" data-testid="body-freed">
                    The payload of message {selected}: its whole envelope is no longer kept (newer streams needed the room).
                  </p>
                )}
                <JsonEditor value={text} readOnly dark={dark} />
              </>
            ) : (
              <p className="p-4 text-zinc-400">{exchange.running ? "Waiting for the first message…" : "No body."}</p>
            )}
          </div>
        )}
        {current === "timeline" && <Timeline rows={exchange.rows} count={exchange.count} selected={selected} onSelect={(seq) => { setSelected(seq); }} />}
        {current === "headers" && (
          <div className="space-y-4 overflow-auto p-4">
            <HeaderTable title="Headers" headers={headers} />
            <HeaderTable title="Trailers" headers={trailers} />
          </div>
        )}
        {current === "timing" && summary && (
          <dl className="grid grid-cols-[10rem_1fr] gap-y-1.5 p-4 text-sm">
            <dt className="text-zinc-500">Total</dt><dd>{ms(summary.total_ms)}</dd>
            <dt className="text-zinc-500">First byte</dt><dd>{summary.first_byte_ms === undefined ? "—" : ms(summary.first_byte_ms)}</dd>
            <dt className="text-zinc-500">Messages sent</dt><dd>{summary.messages_sent} ({bytes(summary.bytes_sent)})</dd>
            <dt className="text-zinc-500">Messages received</dt><dd>{summary.messages_received} ({bytes(summary.bytes_received)})</dd>
            <dt className="text-zinc-500">Outcome</dt><dd>{summary.outcome.replace("_", " ")}</dd>
          </dl>
        )}
      </div>
      {exchange.interactive && <StreamBox open={exchange.running} />}
    </div>
  );
}

function HeaderTable({ title, headers }: { title: string; headers: Header[] }) {
  return (
    <section>
      <h3 className="mb-1 text-xs font-semibold uppercase tracking-wide text-zinc-500">{title}</h3>
      {headers.length === 0 ? (
        <p className="text-zinc-400">None.</p>
      ) : (
        <table className="w-full font-mono text-xs">
          <tbody>
            {headers.map((h, i) => (
              <tr key={i} className="border-b border-zinc-100 dark:border-zinc-800">
                <td className="w-1/3 py-1 pr-3 text-zinc-500">{h.name}</td>
                <td className="break-all py-1">{h.value}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

/** Client and bidi streams: one message at a time, then end the stream. */
function StreamBox({ open }: { open: boolean }) {
  const [text, setText] = useState("{}");
  const [problem, setProblem] = useState<string | null>(null);
  const sendMessage = useStore((s) => s.sendMessage);
  const endStream = useStore((s) => s.endStream);
  const submit = async () => {
    setProblem(await sendMessage(text));
  };
  return (
    <div className="border-t border-zinc-200 p-3 dark:border-zinc-800">
      <div className="flex gap-2">
        <input
          value={text}
          onChange={(e) => setText(e.target.value)}
          onKeyDown={(e) => {
            if (e.key === "Enter" && !e.shiftKey) {
              e.preventDefault();
              void submit();
            }
          }}
          disabled={!open}
          data-testid="stream-input"
          placeholder='{"name": "hello"}'
          className="min-w-0 flex-1 rounded border border-zinc-200 bg-transparent px-2 py-1 font-mono text-xs outline-none focus:border-indigo-400 disabled:opacity-50 dark:border-zinc-700"
        />
        <button data-testid="stream-send" disabled={!open} onClick={() => void submit()} className="rounded bg-indigo-600 px-3 py-1 text-xs font-medium text-white hover:bg-indigo-500 disabled:opacity-40">
          Send message
        </button>
        <button data-testid="stream-end" disabled={!open} onClick={endStream} className="rounded border border-zinc-300 px-3 py-1 text-xs hover:bg-zinc-100 disabled:opacity-40 dark:border-zinc-700 dark:hover:bg-zinc-800">
          End stream
        </button>
      </div>
      {problem && <p className="mt-1 text-xs text-rose-600">{problem}</p>}
      {!open && <p className="mt-1 text-xs text-zinc-500">The stream is closed.</p>}
    </div>
  );
}
