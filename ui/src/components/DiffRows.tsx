// Two documents side by side, line against line, changes tinted: the one
// rendering of a diff (history's two exchanges, a fan-out's two answers).
import type { DiffRow } from "../diff";

const ROW_TONE: Record<DiffRow["kind"], string> = {
  same: "",
  changed: "bg-amber-50 dark:bg-amber-950/40",
  added: "bg-emerald-50 dark:bg-emerald-950/40",
  removed: "bg-rose-50 dark:bg-rose-950/40",
};

export function DiffRows({ rows, className = "" }: { rows: DiffRow[]; className?: string }) {
  return (
    <div className={`font-mono text-xs ${className}`}>
      {rows.map((row, i) => (
        <div key={i} className={`grid grid-cols-2 ${ROW_TONE[row.kind]}`} data-testid={row.kind === "same" ? undefined : "diff-row"}>
          <pre className="overflow-hidden whitespace-pre-wrap border-r border-zinc-200 px-3 dark:border-zinc-800">{row.left ?? ""}</pre>
          <pre className="overflow-hidden whitespace-pre-wrap px-3">{row.right ?? ""}</pre>
        </div>
      ))}
    </div>
  );
}
