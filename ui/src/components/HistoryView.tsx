// Every exchange, newest first: search, filter, open, re-run, copy as a
// command, and diff two side by side.
import { useEffect, useMemo, useState } from "react";
import { Columns2, Copy, ExternalLink, History as HistoryIcon, RotateCcw, Search } from "lucide-react";
import type { Detail, Entry, Event, Outcome } from "../bindings";
import * as api from "../api";
import { asAduib, asCurl, asGrpcurl } from "../copyas";
import { diffRows, pretty, withoutCallNoise } from "../diff";
import { DiffRows } from "./DiffRows";
import { bytes, ms, when } from "../format";
import { useStore } from "../store";

const OUTCOME_TONE: Record<Outcome, string> = {
  ok: "text-emerald-600 dark:text-emerald-400",
  server_error: "text-rose-600 dark:text-rose-400",
  failed: "text-rose-600 dark:text-rose-400",
  cancelled: "text-zinc-500",
};

function messagesOf(events: Event[]): unknown[] {
  return events.flatMap((e) => (e.type === "message" ? [e.body] : []));
}

export function HistoryView() {
  const { text, transport } = useStore((s) => s.historyFilter);
  const setFilter = useStore((s) => s.setHistoryFilter);
  const [entries, setEntries] = useState<Entry[]>([]);
  const [problem, setProblem] = useState<string | null>(null);
  const [open, setOpen] = useState<Detail | null>(null);
  const [picked, setPicked] = useState<string[]>([]);
  const [diff, setDiff] = useState<[Detail, Detail] | null>(null);
  const version = useStore((s) => s.historyVersion);
  const { openRecorded, send } = useStore();

  useEffect(() => {
    let stale = false;
    const timer = setTimeout(() => {
      api
        .historyQuery({ text: text.trim() || undefined, transport: transport || undefined, limit: 200 })
        .then((found) => !stale && (setEntries(found), setProblem(null)))
        .catch((e) => !stale && setProblem(api.errorText(e)));
    }, 120);
    return () => {
      stale = true;
      clearTimeout(timer);
    };
  }, [text, transport, version]);

  const load = async (id: string) => setOpen(await api.historyGet(id));
  const togglePick = (id: string) =>
    setPicked((p) => (p.includes(id) ? p.filter((x) => x !== id) : [...p.slice(-1), id]));
  const showDiff = async () => {
    const [a, b] = await Promise.all(picked.map((id) => api.historyGet(id)));
    if (a && b) setDiff([a, b]);
  };

  if (diff) return <DiffView pair={diff} onClose={() => setDiff(null)} />;

  return (
    <div className="flex h-full min-h-0" data-testid="history">
      <div className="flex min-w-0 flex-1 flex-col border-r border-zinc-200 dark:border-zinc-800">
        <div className="flex items-center gap-2 border-b border-zinc-200 p-3 dark:border-zinc-800">
          <div className="relative flex-1">
            <Search size={14} className="absolute left-2.5 top-2 text-zinc-400" />
            <input
              value={text}
              onChange={(e) => setFilter({ text: e.target.value })}
              placeholder="Search method, target, bodies…"
              data-testid="history-search"
              className="w-full rounded-md border border-zinc-200 bg-transparent py-1.5 pl-8 pr-2 outline-none focus:border-indigo-400 dark:border-zinc-700"
            />
          </div>
          <select
            value={transport}
            onChange={(e) => setFilter({ transport: e.target.value })}
            data-testid="history-transport"
            className="rounded-md border border-zinc-200 bg-transparent px-2 py-1.5 dark:border-zinc-700 dark:bg-zinc-900"
          >
            <option value="">All transports</option>
            {["jsonrpc", "rest", "grpc", "thrift", "http"].map((t) => <option key={t} value={t}>{t}</option>)}
          </select>
          <button
            disabled={picked.length !== 2}
            onClick={() => void showDiff()}
            data-testid="history-diff"
            className="flex items-center gap-1.5 rounded-md border border-zinc-300 px-2.5 py-1.5 text-xs disabled:opacity-40 dark:border-zinc-700"
          >
            <Columns2 size={13} /> Diff {picked.length}/2
          </button>
        </div>
        {problem && <p className="p-3 text-rose-600">{problem}</p>}
        {entries.length === 0 && !problem ? (
          <div className="flex flex-1 flex-col items-center justify-center gap-2 text-zinc-400" data-testid="history-empty">
            <HistoryIcon size={28} strokeWidth={1.5} />
            <p>{text ? "Nothing matches — try fewer words." : "No history yet — send a request with Ctrl+Enter."}</p>
          </div>
        ) : (
          <ul className="min-h-0 flex-1 overflow-auto">
            {entries.map((e) => (
              <li
                key={e.id}
                data-testid="history-row"
                onClick={() => void load(e.id)}
                className={`flex cursor-default items-center gap-3 border-b border-zinc-100 px-3 py-2 dark:border-zinc-900 ${open?.entry.id === e.id ? "bg-indigo-50 dark:bg-indigo-950/50" : "hover:bg-zinc-50 dark:hover:bg-zinc-900"}`}
              >
                <input
                  type="checkbox"
                  checked={picked.includes(e.id)}
                  onClick={(ev) => ev.stopPropagation()}
                  onChange={() => togglePick(e.id)}
                  data-testid="history-pick"
                  title="Pick for diff"
                />
                <span className="w-14 shrink-0 rounded bg-zinc-100 px-1.5 py-0.5 text-center text-[11px] uppercase text-zinc-600 dark:bg-zinc-800 dark:text-zinc-300">{e.transport}</span>
                <div className="min-w-0 flex-1">
                  <div className="truncate font-mono text-[12.5px]">{e.method || "(no method)"}</div>
                  <div className="truncate text-xs text-zinc-500">{e.target}</div>
                </div>
                <span className={`w-24 shrink-0 text-right text-xs ${OUTCOME_TONE[e.outcome]}`}>{e.status_name ?? e.outcome.replace("_", " ")}</span>
                <span className="w-16 shrink-0 text-right text-xs text-zinc-500">{ms(e.total_ms)}</span>
                <span className="w-20 shrink-0 text-right text-xs text-zinc-400">{when(e.started_at_ms)}</span>
              </li>
            ))}
          </ul>
        )}
      </div>
      <div className="flex w-[42%] min-w-0 flex-col">
        {open ? (
          <DetailPane
            detail={open}
            onOpen={() => openRecorded(open.request, open.events)}
            onRerun={() => {
              openRecorded(open.request, []);
              void send();
            }}
          />
        ) : (
          <div className="flex flex-1 items-center justify-center p-6 text-center text-zinc-400">Pick an exchange to see it whole; tick two to compare them.</div>
        )}
      </div>
    </div>
  );
}

function DetailPane({ detail, onOpen, onRerun }: { detail: Detail; onOpen: () => void; onRerun: () => void }) {
  const [copied, setCopied] = useState<string | null>(null);
  const copies = useMemo(
    () =>
      [
        ["aduib", asAduib(detail.request)],
        ["curl", asCurl(detail.request)],
        ["grpcurl", asGrpcurl(detail.request)],
      ].filter((c): c is [string, string] => c[1] !== null),
    [detail],
  );
  const copy = (name: string, text: string) => {
    void navigator.clipboard?.writeText(text);
    setCopied(name);
    setTimeout(() => setCopied(null), 1200);
  };
  return (
    <div className="flex min-h-0 flex-1 flex-col" data-testid="history-detail">
      <div className="space-y-1 border-b border-zinc-200 p-3 dark:border-zinc-800">
        <div className="truncate font-mono text-[12.5px]">{detail.entry.method}</div>
        <div className="text-xs text-zinc-500">
          {detail.entry.target} · {when(detail.entry.started_at_ms)} · {ms(detail.entry.total_ms)} · {bytes(detail.entry.bytes_received)}
        </div>
        <div className="flex flex-wrap gap-1.5 pt-1">
          <button onClick={onOpen} className="flex items-center gap-1 rounded border border-zinc-300 px-2 py-1 text-xs hover:bg-zinc-100 dark:border-zinc-700 dark:hover:bg-zinc-800">
            <ExternalLink size={12} /> Open
          </button>
          <button onClick={onRerun} data-testid="history-rerun" className="flex items-center gap-1 rounded bg-indigo-600 px-2 py-1 text-xs text-white hover:bg-indigo-500">
            <RotateCcw size={12} /> Re-run
          </button>
          {copies.map(([name, text]) => (
            <button key={name} onClick={() => copy(name, text)} title={text} className="flex items-center gap-1 rounded border border-zinc-300 px-2 py-1 text-xs hover:bg-zinc-100 dark:border-zinc-700 dark:hover:bg-zinc-800">
              <Copy size={12} /> {copied === name ? "Copied" : `Copy as ${name}`}
            </button>
          ))}
        </div>
      </div>
      <pre className="min-h-0 flex-1 overflow-auto p-3 font-mono text-xs" data-testid="history-detail-body">
        {pretty({ request: detail.request, messages: messagesOf(detail.events) })}
      </pre>
    </div>
  );
}



function DiffView({ pair, onClose }: { pair: [Detail, Detail]; onClose: () => void }) {
  // The older exchange on the left, as in any diff.
  const [a, b] = pair[0].entry.started_at_ms <= pair[1].entry.started_at_ms ? pair : [pair[1], pair[0]];
  const [quiet, setQuiet] = useState(true);
  const rows = useMemo(() => {
    const doc = (d: Detail) => {
      const messages = messagesOf(d.events);
      return pretty({ request: d.request, messages: quiet ? messages.map(withoutCallNoise) : messages, outcome: d.entry.outcome });
    };
    return diffRows(doc(a), doc(b));
  }, [a, b, quiet]);
  const changed = rows.filter((r) => r.kind !== "same").length;
  return (
    <div className="flex h-full min-h-0 flex-col" data-testid="diff">
      <div className="flex items-center gap-3 border-b border-zinc-200 p-3 dark:border-zinc-800">
        <button onClick={onClose} className="rounded border border-zinc-300 px-2 py-1 text-xs dark:border-zinc-700">← History</button>
        <span className="text-zinc-500" data-testid="diff-summary">{changed === 0 ? "The two exchanges are identical." : `${changed} lines differ`}</span>
        <label className="ml-auto flex items-center gap-1.5 text-xs text-zinc-500" title="Envelope ids and metadata timestamps and durations differ on every call">
          <input type="checkbox" checked={quiet} onChange={(e) => setQuiet(e.target.checked)} data-testid="diff-quiet" />
          Ignore ids and times
        </label>
      </div>
      <div className="grid grid-cols-2 border-b border-zinc-200 text-xs text-zinc-500 dark:border-zinc-800">
        {[a, b].map((d) => (
          <div key={d.entry.id} className="truncate px-3 py-1.5">{d.entry.method} · {when(d.entry.started_at_ms)}</div>
        ))}
      </div>
      <DiffRows rows={rows} className="min-h-0 flex-1 overflow-auto" />
    </div>
  );
}
