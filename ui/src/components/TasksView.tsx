// Long-running tasks: every task submitted from here (or the CLI), live —
// progress, status history, result or error — with cancel and re-submit.
// Tasks that ended while the app was closed are called out first.
import { useEffect, useState } from "react";
import { CheckCircle2, CircleDashed, Copy, Loader2, RotateCcw, Square, TimerReset, XCircle } from "lucide-react";
import type { TrackedTask } from "../bindings";
import * as api from "../api";
import { fromRequest } from "../compose";
import { ms, when } from "../format";
import { useStore } from "../store";
import { badgeOf } from "./Sidebar";
import { isOpen, percent, shortMethod } from "../tasks";

const STATUS_STYLE: Record<string, string> = {
  pending: "bg-zinc-100 text-zinc-600 dark:bg-zinc-800 dark:text-zinc-300",
  scheduled: "bg-zinc-100 text-zinc-600 dark:bg-zinc-800 dark:text-zinc-300",
  retrying: "bg-amber-50 text-amber-700 dark:bg-amber-950/50 dark:text-amber-300",
  running: "bg-indigo-50 text-indigo-700 dark:bg-indigo-950/60 dark:text-indigo-300",
  succeeded: "bg-emerald-50 text-emerald-700 dark:bg-emerald-950/50 dark:text-emerald-300",
  failed: "bg-rose-50 text-rose-700 dark:bg-rose-950/50 dark:text-rose-300",
  canceled: "bg-zinc-200 text-zinc-700 dark:bg-zinc-800 dark:text-zinc-300",
  lost: "bg-amber-50 text-amber-800 dark:bg-amber-950/50 dark:text-amber-300",
};

const BAR_STYLE: Record<string, string> = {
  running: "bg-indigo-500",
  succeeded: "bg-emerald-500",
  failed: "bg-rose-500",
  canceled: "bg-zinc-400",
};

function statusOf(task: TrackedTask): string {
  return task.lost ? "lost" : task.status;
}

function StatusPill({ task }: { task: TrackedTask }) {
  const status = statusOf(task);
  const Icon =
    status === "succeeded" ? CheckCircle2 : status === "failed" ? XCircle : status === "running" ? Loader2 : CircleDashed;
  return (
    <span data-testid="task-status" className={`inline-flex items-center gap-1 rounded-full px-2 py-0.5 text-[11px] font-medium ${STATUS_STYLE[status] ?? STATUS_STYLE.pending}`}>
      <Icon size={11} className={status === "running" ? "animate-spin" : ""} />
      {status}
    </span>
  );
}

function ProgressBar({ task, tall = false }: { task: TrackedTask; tall?: boolean }) {
  const value = percent(task);
  const style = BAR_STYLE[task.status] ?? "bg-zinc-400";
  return (
    <div
      className={`w-full overflow-hidden rounded-full bg-zinc-200 dark:bg-zinc-800 ${tall ? "h-2.5" : "h-1.5"}`}
      role="progressbar"
      aria-valuenow={value ?? undefined}
      data-testid="task-progress"
      data-percent={value ?? ""}
    >
      {value === null ? (
        isOpen(task) && <div className={`h-full w-1/3 animate-pulse rounded-full ${style}`} />
      ) : (
        <div className={`h-full rounded-full transition-[width] duration-300 ${style}`} style={{ width: `${value}%` }} />
      )}
    </div>
  );
}

function TaskRow({ task, selected, onSelect }: { task: TrackedTask; selected: boolean; onSelect: () => void }) {
  const value = percent(task);
  return (
    <li
      onClick={onSelect}
      data-testid="task-row"
      data-task-id={task.task_id}
      className={`cursor-default border-b border-zinc-100 px-4 py-2.5 dark:border-zinc-800/80 ${selected ? "bg-indigo-50/70 dark:bg-indigo-950/30" : "hover:bg-zinc-50 dark:hover:bg-zinc-900"}`}
    >
      <div className="flex items-center gap-2">
        <span className="min-w-0 flex-1 truncate font-mono text-[12.5px]" title={task.call.method}>
          {shortMethod(task.call.method)}
        </span>
        {task.ended_while_away && <span className="rounded bg-amber-100 px-1 text-[10px] font-medium text-amber-800 dark:bg-amber-900/60 dark:text-amber-200">while away</span>}
        <StatusPill task={task} />
      </div>
      <div className="mt-1.5 flex items-center gap-2">
        <ProgressBar task={task} />
        <span className="w-9 shrink-0 text-right text-[11px] tabular-nums text-zinc-500">{value === null ? "" : `${value}%`}</span>
      </div>
      <div className="mt-1 flex gap-2 text-[11px] text-zinc-400">
        <span className="font-medium">{badgeOf({ kind: "aduib", transport: task.call.transport })}</span>
        <span className="truncate">{task.call.url}</span>
        <span className="ml-auto shrink-0">{when(task.submitted_at_ms)}</span>
      </div>
    </li>
  );
}

function Detail({ task }: { task: TrackedTask }) {
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);
  const { selectTask, newTab } = useStore();
  const value = percent(task);
  const open = isOpen(task);

  const act = async (work: () => Promise<TrackedTask>, select = false) => {
    setBusy(true);
    setProblem(null);
    try {
      const next = await work();
      useStore.setState((s) => ({ tasks: s.tasks.some((t) => t.task_id === next.task_id) ? s.tasks.map((t) => (t.task_id === next.task_id ? { ...next, changes: next.changes.length ? next.changes : t.changes } : t)) : [next, ...s.tasks] }));
      if (select) selectTask(next.task_id);
    } catch (e) {
      setProblem(api.errorText(e));
    } finally {
      setBusy(false);
    }
  };

  const started = task.changes[0]?.at_ms ?? task.submitted_at_ms;
  return (
    <div className="flex h-full min-h-0 flex-col" data-testid="task-detail">
      <div className="border-b border-zinc-200 p-4 dark:border-zinc-800">
        <div className="flex items-center gap-3">
          <div className="min-w-0 flex-1">
            <div className="truncate font-mono text-[13px] font-semibold" title={task.call.method}>{task.call.method}</div>
            <div className="mt-0.5 flex items-center gap-1.5 text-xs text-zinc-500">
              <span className="font-mono" data-testid="task-id">{task.task_id}</span>
              <button title="Copy the task id" className="rounded p-0.5 hover:bg-zinc-100 dark:hover:bg-zinc-800" onClick={() => void navigator.clipboard?.writeText(task.task_id)}>
                <Copy size={11} />
              </button>
            </div>
          </div>
          <StatusPill task={task} />
        </div>
        <div className="mt-3 flex items-center gap-3">
          <ProgressBar task={task} tall />
          <span className="w-12 shrink-0 text-right text-sm font-medium tabular-nums" data-testid="task-percent">
            {value === null ? "—" : `${value}%`}
          </span>
        </div>
        <div className="mt-1.5 flex text-xs text-zinc-500">
          <span>{task.progress ? `${task.progress.current} of ${task.progress.total}${task.progress.message ? ` · ${task.progress.message}` : ""}` : open ? "No progress reported yet" : ""}</span>
          <span className="ml-auto">
            {task.ended_at_ms ? `took ${ms(Math.max(0, task.ended_at_ms - task.submitted_at_ms))}` : `submitted ${when(task.submitted_at_ms)}`}
          </span>
        </div>
        <div className="mt-3 flex gap-2">
          {open && (
            <button disabled={busy} data-testid="task-cancel" onClick={() => void act(() => api.taskCancel(task.task_id))} className="flex items-center gap-1.5 rounded-md bg-rose-600 px-3 py-1.5 text-[12.5px] font-medium text-white hover:bg-rose-500 disabled:opacity-50">
              <Square size={12} /> Cancel
            </button>
          )}
          <button disabled={busy} data-testid="task-resubmit" onClick={() => void act(() => api.taskResubmit(task.task_id), true)} className="flex items-center gap-1.5 rounded-md border border-zinc-200 px-3 py-1.5 text-[12.5px] font-medium hover:bg-zinc-50 disabled:opacity-50 dark:border-zinc-700 dark:hover:bg-zinc-800">
            <RotateCcw size={12} /> Re-submit
          </button>
          <button onClick={() => newTab(fromRequest({ kind: "aduib", ...task.call }))} className="rounded-md px-3 py-1.5 text-[12.5px] text-zinc-600 hover:bg-zinc-100 dark:text-zinc-300 dark:hover:bg-zinc-800">
            Open in Composer
          </button>
        </div>
        {problem && <p className="mt-2 rounded-md bg-rose-50 px-2 py-1 text-xs text-rose-700 dark:bg-rose-950/40 dark:text-rose-300">{problem}</p>}
      </div>
      <div className="min-h-0 flex-1 overflow-auto p-4">
        {task.note && (
          <p className="mb-3 rounded-md border border-amber-200 bg-amber-50 px-3 py-2 text-xs text-amber-900 dark:border-amber-900 dark:bg-amber-950/40 dark:text-amber-200" data-testid="task-note">
            {task.note}
          </p>
        )}
        {task.status === "succeeded" && (
          <section className="mb-4">
            <h3 className="mb-1.5 text-xs font-semibold uppercase tracking-wide text-zinc-500">Result</h3>
            <pre className="overflow-auto rounded-md bg-zinc-50 p-3 font-mono text-xs dark:bg-zinc-900" data-testid="task-result">{JSON.stringify(task.result, null, 2)}</pre>
          </section>
        )}
        {task.error && (
          <section className="mb-4">
            <h3 className="mb-1.5 text-xs font-semibold uppercase tracking-wide text-zinc-500">Error</h3>
            <div className="rounded-md border border-rose-200 bg-rose-50 p-3 text-xs text-rose-800 dark:border-rose-900 dark:bg-rose-950/40 dark:text-rose-200" data-testid="task-error">
              <span className="font-mono font-semibold">{task.error.code} {task.error.name}</span> — {task.error.message}
            </div>
          </section>
        )}
        <h3 className="mb-1.5 text-xs font-semibold uppercase tracking-wide text-zinc-500">Status history</h3>
        <ol className="relative ml-1.5 border-l border-zinc-200 dark:border-zinc-800" data-testid="task-changes">
          {task.changes.map((c, i) => (
            <li key={i} className="mb-2 ml-3 text-xs">
              <span className={`absolute -left-[4.5px] mt-1 h-2 w-2 rounded-full ${BAR_STYLE[c.status] ?? "bg-zinc-400"}`} />
              <span className="inline-block w-20 tabular-nums text-zinc-400">+{((c.at_ms - started) / 1000).toFixed(2)}s</span>
              <span className="font-medium">{c.event}</span>
              <span className="ml-2 text-zinc-500">{c.status}</span>
              {c.progress && (
                <span className="ml-2 text-zinc-500">
                  {c.progress.current}/{c.progress.total}
                  {c.progress.message ? ` · ${c.progress.message}` : ""}
                </span>
              )}
            </li>
          ))}
        </ol>
      </div>
    </div>
  );
}

export function TasksView() {
  const tasks = useStore((s) => s.tasks);
  const selected = useStore((s) => s.selectedTask);
  const selectTask = useStore((s) => s.selectTask);
  const shown = tasks.find((t) => t.task_id === selected) ?? tasks[0] ?? null;
  const away = tasks.filter((t) => t.ended_while_away);
  const running = tasks.filter(isOpen).length;

  // The list carries no change lists: the shown task's comes on demand.
  const shownId = shown?.task_id;
  const needsChanges = shown !== null && shown.changes.length === 0;
  useEffect(() => {
    if (!shownId || !needsChanges) return;
    void api
      .taskGet(shownId)
      .then((full) => useStore.setState((s) => ({ tasks: s.tasks.map((t) => (t.task_id === full.task_id && t.changes.length === 0 ? full : t)) })))
      .catch(() => undefined);
  }, [shownId, needsChanges]);

  const dismissAway = () => {
    for (const t of away) void api.taskSeen(t.task_id).catch(() => undefined);
    useStore.setState((s) => ({ tasks: s.tasks.map((t) => ({ ...t, ended_while_away: false })) }));
  };

  return (
    <div className="flex h-full min-h-0 flex-col" data-testid="tasks">
      <div className="flex items-center gap-3 border-b border-zinc-200 px-4 py-3 dark:border-zinc-800">
        <TimerReset size={18} className="text-zinc-400" />
        <div>
          <div className="font-semibold">Tasks</div>
          <div className="text-xs text-zinc-500">
            {tasks.length === 0 ? "Nothing tracked yet" : `${running} open · ${tasks.length - running} ended · kept in the history database`}
          </div>
        </div>
      </div>
      {away.length > 0 && (
        <div className="flex items-center gap-3 border-b border-amber-200 bg-amber-50 px-4 py-2 text-xs text-amber-900 dark:border-amber-900 dark:bg-amber-950/40 dark:text-amber-200" data-testid="tasks-away">
          <span>
            {away.length === 1 ? "1 task" : `${away.length} tasks`} ended while the app was closed:{" "}
            {away.map((t) => `${shortMethod(t.call.method)} (${t.status})`).join(", ")}
          </span>
          <button onClick={dismissAway} className="ml-auto rounded px-2 py-0.5 font-medium hover:bg-amber-100 dark:hover:bg-amber-900/50">
            Got it
          </button>
        </div>
      )}
      {tasks.length === 0 ? (
        <div className="flex flex-1 items-center justify-center p-8 text-center text-zinc-500" data-testid="tasks-empty">
          <div className="max-w-sm space-y-2">
            <p className="font-medium text-zinc-700 dark:text-zinc-300">No tasks yet</p>
            <p className="text-xs">
              In the Composer, pick an Aduib call — try <span className="font-mono">BatchService.process</span> — and press <span className="font-medium">Run as task</span> (the checklist button beside Send). Its progress shows here live, and stays after a restart.
            </p>
          </div>
        </div>
      ) : (
        <div className="flex min-h-0 flex-1">
          <ul className="w-[380px] shrink-0 overflow-auto border-r border-zinc-200 dark:border-zinc-800" data-testid="task-list">
            {tasks.map((t) => (
              <TaskRow key={t.task_id} task={t} selected={t.task_id === shown?.task_id} onSelect={() => selectTask(t.task_id)} />
            ))}
          </ul>
          <div className="min-w-0 flex-1">{shown && <Detail key={shown.task_id} task={shown} />}</div>
        </div>
      )}
    </div>
  );
}
