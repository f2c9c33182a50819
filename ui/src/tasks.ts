// Tracked tasks as the Tasks view shows them: merged from live updates,
// with their progress as people read it.
import type { TrackedTask } from "./bindings";

/** `tasks` (newest first) with `updates` taken in: a known task replaced in
 * place (its change list kept when the update has none), a new one first. */
export function mergeTasks(tasks: TrackedTask[], updates: TrackedTask[]): TrackedTask[] {
  let next = tasks;
  for (const update of updates) {
    const i = next.findIndex((t) => t.task_id === update.task_id);
    if (i < 0) {
      next = [update, ...next];
    } else {
      const merged = update.changes.length === 0 ? { ...update, changes: next[i].changes } : update;
      next = [...next.slice(0, i), merged, ...next.slice(i + 1)];
    }
  }
  return next;
}

/** Done so far, 0-100; null when the task has said nothing of its size. */
export function percent(task: TrackedTask): number | null {
  if (task.status === "succeeded") return 100;
  const p = task.progress;
  if (!p || p.total <= 0) return null;
  return Math.min(100, Math.round((p.current / p.total) * 100));
}

export function isOpen(task: TrackedTask): boolean {
  return !task.lost && !["succeeded", "failed", "canceled"].includes(task.status);
}

/** The method's own name, for a compact list. */
export function shortMethod(method: string): string {
  return method.split("/").pop() || method || "(unknown method)";
}
