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
