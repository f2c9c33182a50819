import { lazy, Suspense, useEffect, useMemo, useState } from "react";
import { Group, Panel, Separator } from "react-resizable-panels";
import { Command, FolderOpen, History, ListChecks, Moon, Network, Plus, Send, Server, Sun, X } from "lucide-react";
import * as api from "./api";
import { Composer } from "./components/Composer";
import { ErrorBoundary } from "./components/ErrorBoundary";
import { Palette } from "./components/Palette";
import { Response } from "./components/Response";
import { badgeOf, EnvironmentPicker, SavedRequests } from "./components/Sidebar";
import { openSettings, readSetting, writeSetting } from "./settings";
import { activeTab, subscribeServerLog, subscribeServerStatus, subscribeTasks, useStore, type View } from "./store";
import { isOpen } from "./tasks";

// The views besides Compose load when first opened: the window starts
// with less code to parse and hold.
const HistoryView = lazy(() => import("./components/HistoryView").then((m) => ({ default: m.HistoryView })));
const ServerView = lazy(() => import("./components/ServerView").then((m) => ({ default: m.ServerView })));
const TasksView = lazy(() => import("./components/TasksView").then((m) => ({ default: m.TasksView })));
const RegistryView = lazy(() => import("./components/RegistryView").then((m) => ({ default: m.RegistryView })));
const WorkspaceView = lazy(() => import("./components/WorkspaceView").then((m) => ({ default: m.WorkspaceView })));

const NAV: { view: View; label: string; icon: typeof Send }[] = [
  { view: "compose", label: "Compose", icon: Send },
  { view: "history", label: "History", icon: History },
  { view: "tasks", label: "Tasks", icon: ListChecks },
  { view: "registry", label: "Registry", icon: Network },
  { view: "server", label: "Server", icon: Server },
  { view: "workspace", label: "Workspace", icon: FolderOpen },
];


/** A tab's title: the method's own name first, then what it belongs to. */
export function tabTitle(method: string, target: string): { name: string; context: string } {
  const host = target.replace(/^[a-z]+:\/\//, "");
  if (!method) return { name: host, context: "" };
  const last = method.split("/").pop() ?? method;
  const dot = last.lastIndexOf(".");
  return dot > 0 ? { name: last.slice(dot + 1), context: last.slice(0, dot) } : { name: last, context: host };
}

function TabTitle({ name, context }: { name: string; context: string }) {
  return (
    <span className="min-w-0 flex-1 truncate text-xs" title={context ? `${context}.${name}` : name}>
      <span className="font-medium">{name}</span>
      {context && <span className="ml-1.5 text-zinc-400">{context}</span>}
    </span>
  );
}

/** The open request tabs; re-renders as their exchanges change. */
function OpenTabs() {
  const tabs = useStore((s) => s.tabs);
  const active = useStore((s) => s.active);
  const view = useStore((s) => s.view);
  const selectTab = useStore((s) => s.selectTab);
  const closeTab = useStore((s) => s.closeTab);
  return (
    <ul className="mt-1 min-h-0 flex-1 space-y-0.5 overflow-auto px-2">
      {tabs.map((t) => (
        <li
          key={t.id}
          onClick={() => selectTab(t.id)}
          data-testid="request-tab"
          className={`group flex cursor-default items-center gap-2 rounded-md px-2.5 py-1.5 ${t.id === active && view === "compose" ? "bg-white shadow-sm dark:bg-zinc-800" : "hover:bg-zinc-100 dark:hover:bg-zinc-800/60"}`}
        >
          <span className="w-[3.6rem] shrink-0 whitespace-nowrap rounded bg-indigo-50 px-1 text-center text-[9px] font-semibold uppercase leading-4 tracking-tight text-indigo-700 dark:bg-indigo-950 dark:text-indigo-300">
            {badgeOf(t.draft)}
          </span>
          <TabTitle {...(t.saved ? { name: t.saved.name, context: "" } : tabTitle(t.draft.method, t.draft.target))} />
          {t.exchange?.running && <span className="h-1.5 w-1.5 rounded-full bg-amber-400" />}
          <button
            onClick={(e) => {
              e.stopPropagation();
              closeTab(t.id);
            }}
            className="invisible rounded p-0.5 text-zinc-400 hover:text-zinc-700 group-hover:visible"
            title="Close (Ctrl+W)"
          >
            <X size={12} />
          </button>
        </li>
      ))}
    </ul>
  );
}

/** The active tab's response: the one view a stream's batches re-render. */
function ActiveResponse({ dark }: { dark: boolean }) {
  const id = useStore((s) => activeTab(s).id);
  const exchange = useStore((s) => activeTab(s).exchange);
  return <Response key={id} exchange={exchange} dark={dark} />;
}

export default function App() {
  // Narrow subscriptions: a stream's batches change the active tab's
  // exchange many times a second; only the views that show it re-render.
  const view = useStore((s) => s.view);
  const theme = useStore((s) => s.theme);
  const active = useStore((s) => s.active);
  const running = useStore((s) => activeTab(s).exchange?.running ?? false);
  const openTasks = useStore((s) => s.tasks.filter(isOpen).length);
  const awayTasks = useStore((s) => s.tasks.filter((t) => t.ended_while_away).length);
  const setView = useStore((s) => s.setView);
  const setTheme = useStore((s) => s.setTheme);
  const newTab = useStore((s) => s.newTab);
  const closeTab = useStore((s) => s.closeTab);
  const send = useStore((s) => s.send);
  const cancel = useStore((s) => s.cancel);
  const setPalette = useStore((s) => s.setPalette);
  const status = useStore((s) => s.serverStatus);
  const dark = theme === "dark";

  // Preferences are written only once the saved ones are read, so a start
  // never overwrites them with the defaults.
  const [settingsRead, setSettingsRead] = useState(false);

  useEffect(() => {
    void api
      .appInfo()
      .then(async (info) => {
        openSettings(info.settings_path);
        const saved = await readSetting<"light" | "dark">("theme");
        if (saved === "light" || saved === "dark") setTheme(saved);
      })
      // The workspace's environment choice is a setting too: read it after them.
      .finally(() => void useStore.getState().loadWorkspace())
      .catch(() => undefined)
      .finally(() => setSettingsRead(true));
    subscribeServerStatus();
    subscribeServerLog();
    subscribeTasks();
  }, [setTheme]);

  useEffect(() => {
    document.documentElement.classList.toggle("dark", dark);
    if (settingsRead) writeSetting("theme", theme);
  }, [dark, theme, settingsRead]);

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      // A key something in the window already handled (Esc closing the
      // palette, suggestions or a completion) is not also a shortcut.
      if (e.defaultPrevented) return;
      const mod = e.ctrlKey || e.metaKey;
      if (mod && e.key === "Enter") {
        e.preventDefault();
        void send();
      } else if (e.key === "Escape" && useStore.getState().paletteOpen) {
        setPalette(false);
      } else if (e.key === "Escape" && running) {
        cancel();
      } else if (mod && e.key.toLowerCase() === "k") {
        e.preventDefault();
        setPalette(true);
      } else if (mod && e.key.toLowerCase() === "t") {
        e.preventDefault();
        newTab();
      } else if (mod && e.key.toLowerCase() === "w" && useStore.getState().view === "compose") {
        // Only where the tab can be seen.
        e.preventDefault();
        closeTab(active);
      } else if (mod && e.key.toLowerCase() === "l") {
        e.preventDefault();
        setView("compose");
        setTimeout(() => document.getElementById("target")?.focus(), 0);
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [send, cancel, setPalette, newTab, closeTab, active, setView, running]);

  const actions = useMemo(
    () => [
      { id: "send", label: "Send request", hint: "Ctrl+Enter", run: () => void send() },
      { id: "new", label: "New request tab", hint: "Ctrl+T", run: () => newTab() },
      { id: "compose", label: "Go to Compose", run: () => setView("compose") },
      { id: "history", label: "Go to History", run: () => setView("history") },
      { id: "server", label: "Go to Server", run: () => setView("server") },
      { id: "tasks", label: "Go to Tasks", run: () => setView("tasks") },
      { id: "registry", label: "Go to Registry", run: () => setView("registry") },
      { id: "task", label: "Run the request as a long task", run: () => void useStore.getState().submitTask() },
      { id: "workspace", label: "Open a workspace folder…", run: () => setView("workspace") },
      { id: "theme", label: dark ? "Switch to light theme" : "Switch to dark theme", run: () => setTheme(dark ? "light" : "dark") },
      { id: "start", label: "Start the embedded server", run: () => void api.serverStart().catch(() => undefined) },
      { id: "stop", label: "Stop the embedded server", run: () => void api.serverStop().catch(() => undefined) },
    ],
    [send, newTab, setView, dark, setTheme],
  );

  return (
    <div className="flex h-full">
      <aside className="flex w-60 shrink-0 flex-col border-r border-zinc-200 bg-zinc-50 dark:border-zinc-800 dark:bg-zinc-900/60">
        <div className="flex items-center gap-2 px-4 py-3">
          <div className="flex h-6 w-6 items-center justify-center rounded-md bg-indigo-600 text-xs font-bold text-white">A</div>
          <span className="font-semibold">Aduib Workbench</span>
        </div>
        <EnvironmentPicker />
        <nav className="space-y-0.5 px-2">
          {NAV.map(({ view: v, label, icon: Icon }) => (
            <button
              key={v}
              data-testid={`nav-${v}`}
              onClick={() => setView(v)}
              className={`flex w-full items-center gap-2 rounded-md px-2.5 py-1.5 ${view === v ? "bg-white font-medium shadow-sm dark:bg-zinc-800" : "text-zinc-600 hover:bg-zinc-100 dark:text-zinc-400 dark:hover:bg-zinc-800/60"}`}
            >
              <Icon size={14} /> {label}
              {v === "tasks" && (openTasks > 0 || awayTasks > 0) && (
                <span
                  data-testid="tasks-badge"
                  title={awayTasks > 0 ? `${awayTasks} ended while the app was closed` : `${openTasks} open`}
                  className={`ml-auto rounded-full px-1.5 text-[10px] font-semibold leading-4 ${awayTasks > 0 ? "bg-amber-100 text-amber-800 dark:bg-amber-900/60 dark:text-amber-200" : "bg-indigo-100 text-indigo-700 dark:bg-indigo-900/60 dark:text-indigo-200"}`}
                >
                  {awayTasks > 0 ? awayTasks : openTasks}
                </span>
              )}
              {v === "server" && (
                <span
                  className={`ml-auto h-2 w-2 rounded-full ${status?.running ? "bg-emerald-500" : status?.problem ? "bg-rose-500" : "bg-zinc-300 dark:bg-zinc-600"}`}
                  title={status?.problem ?? (status?.running ? "Running" : "Stopped")}
                  data-testid="server-dot"
                />
              )}
            </button>
          ))}
        </nav>
        <SavedRequests />
        <div className="mt-4 flex items-center justify-between px-4 text-[11px] font-semibold uppercase tracking-wide text-zinc-400">
          Open
          <button onClick={() => newTab()} title="New request (Ctrl+T)" data-testid="new-tab" className="rounded p-0.5 hover:bg-zinc-200 dark:hover:bg-zinc-800">
            <Plus size={13} />
          </button>
        </div>
        <OpenTabs />
        <div className="flex items-center gap-2 border-t border-zinc-200 px-3 py-2 text-xs text-zinc-500 dark:border-zinc-800">
          <button onClick={() => setPalette(true)} className="flex items-center gap-1 rounded px-1.5 py-1 hover:bg-zinc-200 dark:hover:bg-zinc-800">
            <Command size={12} /> Ctrl+K
          </button>
          <button
            onClick={() => setTheme(dark ? "light" : "dark")}
            data-testid="theme-toggle"
            title="Toggle theme"
            className="ml-auto rounded p-1 hover:bg-zinc-200 dark:hover:bg-zinc-800"
          >
            {dark ? <Sun size={14} /> : <Moon size={14} />}
          </button>
        </div>
      </aside>
      <main className="min-w-0 flex-1">
        {view === "compose" && (
          <Group orientation="horizontal" className="h-full">
            <Panel id="composer" defaultSize="50%" minSize="25%">
              <Composer dark={dark} functions={status?.functions ?? []} />
            </Panel>
            <Separator className="w-px bg-zinc-200 hover:bg-indigo-400 dark:bg-zinc-800" />
            <Panel id="response" defaultSize="50%" minSize="25%">
              <ActiveResponse dark={dark} />
            </Panel>
          </Group>
        )}
        {/* Keyed by view: a view that fails (its code did not load, say) takes
            only itself down, and another view can still be opened. */}
        <ErrorBoundary key={view}>
          <Suspense fallback={null}>
            {view === "history" && <HistoryView />}
            {view === "server" && <ServerView />}
            {view === "tasks" && <TasksView />}
            {view === "registry" && <RegistryView />}
            {view === "workspace" && <WorkspaceView />}
          </Suspense>
        </ErrorBoundary>
      </main>
      <Palette actions={actions} />
    </div>
  );
}
