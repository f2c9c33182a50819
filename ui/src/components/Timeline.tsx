// A stream as it happens: one row per message (↑ sent, ↓ received), its
// offset from the start and its size; virtualized, following the tail
// until the user scrolls up.
import { useLayoutEffect, useMemo, useRef, useState } from "react";
import { useVirtualizer } from "@tanstack/react-virtual";
import { ArrowDown, ArrowUp, CircleAlert, CircleCheck, Flag } from "lucide-react";
import type { Event } from "../bindings";
import { bytes, offset } from "../format";

export type TimelineRow = { seq: number; at: number; direction: "up" | "down" | "info"; size: number | null; text: string };

/** What a message says: an Aduib envelope's result or data, else the body. */
function payload(body: unknown): string {
  if (body && typeof body === "object" && "aduib_rpc" in body) {
    const envelope = body as { result?: unknown; data?: unknown; error?: unknown };
    const inner = envelope.error ?? envelope.result ?? envelope.data;
    if (inner !== undefined) return JSON.stringify(inner);
  }
  return JSON.stringify(body);
}

/** A message's row: its text is worked out when first shown or searched,
 * not as it arrives (a fast stream brings thousands a frame; few are seen). */
class BodyRow {
  private shown: string | undefined;
  constructor(
    readonly seq: number,
    readonly at: number,
    readonly direction: "up" | "down",
    readonly size: number,
    private readonly body: unknown,
  ) {}
  get text(): string {
    this.shown ??= payload(this.body);
    return this.shown;
  }
}

/** The row an event shows as, or null. */
export function rowOf(e: Event): TimelineRow | null {
  let row: TimelineRow | null = null;
  switch (e.type) {
    case "sent":
      row = new BodyRow(e.seq, e.at_ms, "up", e.size, e.body);
      break;
    case "message":
      row = new BodyRow(e.seq, e.at_ms, "down", e.size, e.body);
      break;
    case "status":
      row = {
        seq: e.seq, at: e.at_ms, direction: "info", size: null,
        text: e.status.ok ? "status OK" : `status ${e.status.name ?? ""} ${e.status.code ?? ""} ${e.status.message ?? ""}`.trim(),
      };
      break;
    case "error":
      row = { seq: e.seq, at: e.at_ms, direction: "info", size: null, text: `error: ${e.error.message}` };
      break;
    case "routed":
      row = {
        seq: e.seq, at: e.at_ms, direction: "info", size: null,
        text: `routed to ${e.instance}${e.attempts > 1 ? ` after ${e.attempts} attempts` : ""}${e.stale ? " (registry unreachable: last known instances)" : ""}`,
      };
      break;
    case "end":
      row = {
        seq: e.seq, at: e.at_ms, direction: "info", size: null,
        text: `end · ${e.summary.outcome.replace("_", " ")} · ${e.summary.messages_received} received`,
      };
      break;
    default:
      break;
  }
  return row;
}

/** Of the first `count` rows, those matching `filter` (any case); null when there is no filter. */
export function filterRows(rows: TimelineRow[], filter: string, count = rows.length): TimelineRow[] | null {
  const needle = filter.trim().toLowerCase();
  return needle === "" ? null : rows.slice(0, count).filter((r) => r.text.toLowerCase().includes(needle));
}

/** The rows of a timeline: messages, status, errors and the end; `filter` keeps matching rows. */
export function timelineRows(events: Event[], filter = ""): TimelineRow[] {
  const rows = events.flatMap((e) => rowOf(e) ?? []);
  return filterRows(rows, filter) ?? rows;
}

const ROW = 24;

type Props = {
  /** Every row so far (appended in place); the first `count` are shown. */
  rows: TimelineRow[];
  count: number;
  onSelect?: (seq: number) => void;
  selected?: number | null;
};

export function Timeline({ rows: all, count, onSelect, selected }: Props) {
  const [filter, setFilter] = useState("");
  const [follow, setFollow] = useState(true);
  // Unfiltered, the rows are shown as they are: nothing is copied per batch.
  const filtered = useMemo(() => filterRows(all, filter, count), [all, count, filter]);
  const rows = filtered ?? all;
  const shown = filtered ? filtered.length : count;
  const scroller = useRef<HTMLDivElement>(null);
  const virtualizer = useVirtualizer({
    count: shown,
    getScrollElement: () => scroller.current,
    estimateSize: () => ROW,
    overscan: 20,
  });

  // Following is sticking to the bottom: one scroll, no index lookup.
  useLayoutEffect(() => {
    const el = scroller.current;
    if (follow && el) el.scrollTop = el.scrollHeight;
  }, [shown, follow]);

  const onScroll = () => {
    const el = scroller.current;
    if (!el) return;
    const atBottom = el.scrollHeight - el.scrollTop - el.clientHeight < ROW * 2;
    setFollow(atBottom);
  };

  return (
    <div className="flex h-full min-h-0 flex-col">
      <div className="flex items-center gap-2 border-b border-zinc-200 px-3 py-1.5 dark:border-zinc-800">
        <input
          value={filter}
          onChange={(e) => setFilter(e.target.value)}
          placeholder="Filter messages"
          data-testid="timeline-filter"
          className="w-48 rounded border border-zinc-200 bg-transparent px-2 py-0.5 text-xs outline-none focus:border-indigo-400 dark:border-zinc-700"
        />
        <span className="text-xs text-zinc-500" data-testid="timeline-count">
          {shown} {shown === 1 ? "row" : "rows"}
        </span>
        <button
          onClick={() => setFollow(!follow)}
          className={`ml-auto rounded px-2 py-0.5 text-xs ${follow ? "bg-indigo-50 text-indigo-700 dark:bg-indigo-950 dark:text-indigo-300" : "text-zinc-500 hover:bg-zinc-100 dark:hover:bg-zinc-800"}`}
        >
          {follow ? "Following" : "Paused — follow"}
        </button>
      </div>
      <div ref={scroller} onScroll={onScroll} className="min-h-0 flex-1 overflow-auto font-mono text-xs" data-testid="timeline">
        <div style={{ height: virtualizer.getTotalSize(), position: "relative" }}>
          {virtualizer.getVirtualItems().map((item, slot) => {
            const row = rows[item.index];
            return (
              <div
                // Keyed by place, not by row: as the stream scrolls by, the
                // same elements show the next rows instead of being
                // replaced (new elements cost the window style and layout).
                key={slot}
                data-testid="timeline-row"
                onClick={() => onSelect?.(row.seq)}
                className={`absolute left-0 right-0 flex cursor-default items-center gap-3 px-3 ${selected === row.seq ? "bg-indigo-50 dark:bg-indigo-950/60" : "hover:bg-zinc-50 dark:hover:bg-zinc-900"}`}
                style={{ top: item.start, height: ROW }}
              >
                <span className="w-4 shrink-0">
                  {row.direction === "up" ? (
                    <ArrowUp size={13} className="text-sky-600" />
                  ) : row.direction === "down" ? (
                    <ArrowDown size={13} className="text-emerald-600" />
                  ) : row.text.startsWith("error") ? (
                    <CircleAlert size={13} className="text-rose-500" />
                  ) : row.text.startsWith("status OK") ? (
                    <CircleCheck size={13} className="text-emerald-600" />
                  ) : (
                    <Flag size={13} className="text-zinc-400" />
                  )}
                </span>
                <span className="w-20 shrink-0 text-zinc-500">{offset(row.at)}</span>
                <span className="w-16 shrink-0 text-right text-zinc-500">{row.size === null ? "" : bytes(row.size)}</span>
                <span className="truncate">{row.text}</span>
              </div>
            );
          })}
        </div>
      </div>
    </div>
  );
}
