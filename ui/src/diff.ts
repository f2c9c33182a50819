// Side-by-side diff of two exchanges' JSON: aligned rows, changes marked.
import { diffLines } from "diff";

export type DiffRow = { left: string | null; right: string | null; kind: "same" | "changed" | "added" | "removed" };

export function pretty(value: unknown): string {
  return JSON.stringify(value, null, 2) ?? "null";
}

/** Rows pairing the lines of `a` and `b`: removed lines face added ones. */
export function diffRows(a: string, b: string): DiffRow[] {
  const rows: DiffRow[] = [];
  let removed: string[] = [];
  const flush = (added: string[]) => {
    const n = Math.max(removed.length, added.length);
    for (let i = 0; i < n; i++) {
      const left = removed[i] ?? null;
      const right = added[i] ?? null;
      rows.push({ left, right, kind: left !== null && right !== null ? "changed" : left !== null ? "removed" : "added" });
    }
    removed = [];
  };
  for (const part of diffLines(a, b)) {
    const lines = part.value.replace(/\n$/, "").split("\n");
    if (part.removed) {
      removed.push(...lines);
    } else if (part.added) {
      flush(lines);
    } else {
      flush([]);
      for (const line of lines) rows.push({ left: line, right: line, kind: "same" });
    }
  }
  flush([]);
  return rows;
}

/** An Aduib envelope without what differs between any two calls (its id,
 * and its metadata's timestamp and duration), for a diff of what matters.
 * Anything that is not an envelope is returned as it is. */
export function withoutCallNoise(message: unknown): unknown {
  if (typeof message !== "object" || message === null || !("aduib_rpc" in message)) return message;
  const rest: Record<string, unknown> = { ...(message as Record<string, unknown>) };
  delete rest.id;
  const metadata = rest.metadata;
  if (typeof metadata === "object" && metadata !== null && !Array.isArray(metadata)) {
    const kept: Record<string, unknown> = { ...(metadata as Record<string, unknown>) };
    delete kept.timestamp_ms;
    delete kept.duration_ms;
    if (Object.keys(kept).length > 0) rest.metadata = kept;
    else delete rest.metadata;
  }
  return rest;
}
