// UI state: tabs of drafts and their live exchanges, the open view, theme.
import { create } from "zustand";
import type {
  CallStatus,
  Event,
  Header,
  HostCall,
  HostStatus,
  MethodInfo,
  SavedRequest,
  Summary,
  TrackedTask,
  WorkbenchError,
  WorkspaceSummary,
} from "./bindings";
import { rowOf, type TimelineRow } from "./components/Timeline";
import { readSetting, writeSetting } from "./settings";
import { mergeTasks } from "./tasks";
import * as api from "./api";
import {
  adoptEndpoints,
  DEFAULT_TARGETS,
  type Draft,
  DraftError,
  fromRequest,
  isInteractive,
  newDraft,
  toRequest,
} from "./compose";

export type View = "compose" | "history" | "server" | "workspace" | "tasks" | "registry";
export type Theme = "light" | "dark";

export type ExchangeView = {
  id: string | null;
  /** Appended in place as batches arrive. */
  events: Event[];
  /** The timeline's rows, appended in place alongside `events`; this view
   * holds the first `count` (later batches append to the same array). */
  rows: TimelineRow[];
  count: number;
  running: boolean;
  summary: Summary | null;
  error: WorkbenchError | null;
  interactive: boolean;
  // Kept up to date per batch, so a render never walks a long stream.
  messages: number;
  sent: number;
  lastBody: unknown;
  status: CallStatus | null;
  headers: Header[];
  trailers: Header[];
  httpStatus: number | null;
};

export function emptyExchange(interactive: boolean): ExchangeView {
  return {
    id: null, events: [], rows: [], count: 0, running: true, summary: null, error: null, interactive,
    messages: 0, sent: 0, lastBody: undefined, status: null, headers: [], trailers: [], httpStatus: null,
  };
}

/** `view` with `batch` taken in: O(batch), whatever came before. */
export function absorb(view: ExchangeView, batch: Event[]): ExchangeView {
  const next = { ...view };
  for (const e of batch) {
    view.events.push(e);
    const row = rowOf(e);
    if (row) view.rows.push(row);
    switch (e.type) {
      case "message":
        next.messages += 1;
        next.lastBody = e.body;
        break;
      case "sent":
        next.sent += 1;
        break;
      case "status":
        next.status = e.status;
        break;
      case "headers":
        next.headers = [...next.headers, ...e.headers];
        if (e.status !== undefined && next.httpStatus === null) next.httpStatus = e.status;
        break;
      case "trailers":
        next.trailers = [...next.trailers, ...e.trailers];
        break;
      case "end":
        next.summary = e.summary;
        next.running = false;
        break;
      case "error":
        next.error = e.error;
        break;
    }
  }
  next.count = view.rows.length;
  return next;
}

/** A tab's request as saved in the workspace, when it was opened from or saved there. */
export type SavedRef = { id: string; name: string };

export type Tab = { id: number; draft: Draft; exchange: ExchangeView | null; notice: string | null; saved: SavedRef | null };

type State = {
  view: View;
  theme: Theme;
  tabs: Tab[];
  active: number;
  methods: MethodInfo[];
  paletteOpen: boolean;
  historyVersion: number;
  /** Calls the embedded server answered, newest first (the last LOG_LIMIT). */
  serverCalls: HostCall[];
  /** The embedded server's status, as it last published it. */
  serverStatus: HostStatus | null;
  /** The open workspace, and the environment requests are sent in. */
  workspace: WorkspaceSummary | null;
  environment: string | null;
  loadWorkspace: () => Promise<void>;
  openWorkspace: (dir: string) => Promise<string | null>;
  setEnvironment: (name: string | null) => void;
  /** Saves the active tab's request as `name`; returns a problem, or null. */
  saveTab: (name: string) => Promise<string | null>;
  openSaved: (saved: SavedRequest) => void;
  deleteSaved: (id: string) => Promise<void>;
  /** The history view's search, kept while other views are open. */
  historyFilter: { text: string; transport: string };
  setHistoryFilter: (patch: Partial<{ text: string; transport: string }>) => void;
  setView: (view: View) => void;
  setTheme: (theme: Theme) => void;
  setPalette: (open: boolean) => void;
  newTab: (draft?: Draft) => void;
  closeTab: (id: number) => void;
  selectTab: (id: number) => void;
  edit: (patch: Partial<Draft>) => void;
  setMethods: (methods: MethodInfo[]) => void;
  send: () => Promise<void>;
  cancel: () => void;
  sendMessage: (text: string) => Promise<string | null>;
  endStream: () => void;
  openRecorded: (request: Parameters<typeof fromRequest>[0], events: Event[]) => void;
  adoptEndpoints: (endpoints: { transport: string; url: string }[]) => void;
  /** Tracked tasks, newest first; the one the Tasks view shows. */
  tasks: TrackedTask[];
  selectedTask: string | null;
  /** The Registry view's chosen service, kept while other views are open. */
  registryService: string | null;
  setRegistryService: (service: string | null) => void;
  selectTask: (id: string | null) => void;
  /** Submits the active tab's request as a task; shows it in the Tasks view. */
  submitTask: () => Promise<void>;
};

let nextTab = 1;
const tab = (draft: Draft = newDraft(), saved: SavedRef | null = null): Tab => ({
  id: nextTab++,
  draft,
  exchange: null,
  notice: null,
  saved,
});
const first = tab();

export const useStore = create<State>((set, get) => {
  const update = (id: number, f: (t: Tab) => Tab) =>
    set((s) => ({ tabs: s.tabs.map((t) => (t.id === id ? f(t) : t)) }));
  const current = () => get().tabs.find((t) => t.id === get().active) ?? get().tabs[0];

  return {
    view: "compose",
    theme: "light",
    tabs: [first],
    tasks: [],
    selectedTask: null,
    registryService: null,
    setRegistryService: (registryService) => set({ registryService }),
    selectTask: (selectedTask) => set({ selectedTask }),
    submitTask: async () => {
      const t = current();
      let request;
      try {
        request = toRequest(t.draft);
        if (request.kind !== "aduib" || request.mode !== "unary") {
          throw new DraftError("Only a unary Aduib call runs as a task: pick an Aduib transport and the Unary mode.");
        }
      } catch (e) {
        update(t.id, (x) => ({ ...x, notice: e instanceof DraftError ? e.message : String(e) }));
        return;
      }
      try {
        const task = await api.taskSubmit(request, get().environment);
        set((s) => ({ tasks: mergeTasks(s.tasks, [task]), selectedTask: task.task_id, view: "tasks" }));
      } catch (e) {
        update(t.id, (x) => ({ ...x, notice: `Not submitted: ${api.errorText(e)}` }));
      }
    },
    active: first.id,
    methods: [],
    paletteOpen: false,
    historyVersion: 0,
    serverCalls: [],
    serverStatus: null,
    workspace: null,
    environment: null,
    loadWorkspace: async () => {
      try {
        const workspace = await api.workspaceSummary();
        const current = get().workspace?.dir === workspace.dir ? get().environment : undefined;
        set({ workspace, environment: await environmentFor(workspace, current) });
      } catch {
        set({ workspace: null });
      }
    },
    openWorkspace: async (dir) => {
      try {
        const workspace = await api.workspaceOpen(dir);
        set({ workspace, environment: await environmentFor(workspace, undefined) });
        return null;
      } catch (e) {
        return api.errorText(e);
      }
    },
    setEnvironment: (environment) => {
      set({ environment });
      const dir = get().workspace?.dir;
      // Remembered per workspace folder; "" is a deliberate "none".
      if (dir) writeSetting(`environment:${dir}`, environment ?? "");
    },
    saveTab: async (name) => {
      const t = current();
      let request;
      try {
        request = toRequest(t.draft);
      } catch (e) {
        return e instanceof DraftError ? e.message : String(e);
      }
      try {
        const saved = await api.requestSave(t.saved?.id ?? null, name, request);
        update(t.id, (x) => ({ ...x, saved: { id: saved.id, name: saved.name } }));
        await get().loadWorkspace();
        return null;
      } catch (e) {
        return api.errorText(e);
      }
    },
    openSaved: (saved) => {
      const open = get().tabs.find((t) => t.saved?.id === saved.id);
      if (open) {
        set({ active: open.id, view: "compose" });
        return;
      }
      const t = tab(fromRequest(saved.request), { id: saved.id, name: saved.name });
      set((s) => ({ tabs: [...s.tabs, t], active: t.id, view: "compose" }));
    },
    deleteSaved: async (id) => {
      await api.requestDelete(id).catch(() => undefined);
      set((s) => ({ tabs: s.tabs.map((t) => (t.saved?.id === id ? { ...t, saved: null } : t)) }));
      await get().loadWorkspace();
    },
    historyFilter: { text: "", transport: "" },
    setHistoryFilter: (patch) => set((s) => ({ historyFilter: { ...s.historyFilter, ...patch } })),
    setView: (view) => set({ view }),
    setTheme: (theme) => set({ theme }),
    setPalette: (paletteOpen) => set({ paletteOpen }),
    newTab: (draft) => {
      const t = tab(draft);
      set((s) => ({ tabs: [...s.tabs, t], active: t.id, view: "compose" }));
    },
    closeTab: (id) => {
      // A call still running in a closed tab would have nowhere to show.
      const closing = get().tabs.find((t) => t.id === id)?.exchange;
      if (closing?.running && closing.id) void api.cancel(closing.id).catch(() => undefined);
      set((s) => {
        const tabs = s.tabs.filter((t) => t.id !== id);
        if (tabs.length === 0) tabs.push(tab());
        const active = s.active === id ? tabs[tabs.length - 1].id : s.active;
        return { tabs, active };
      });
    },
    selectTab: (active) => set({ active, view: "compose" }),
    edit: (patch) => update(current().id, (t) => ({ ...t, draft: { ...t.draft, ...patch }, notice: null })),
    setMethods: (methods) => set({ methods }),
    send: async () => {
      const t = current();
      if (t.exchange?.running) return;
      let request;
      try {
        request = toRequest(t.draft);
      } catch (e) {
        update(t.id, (x) => ({ ...x, notice: e instanceof DraftError ? e.message : String(e) }));
        return;
      }
      const interactive = isInteractive(t.draft);
      update(t.id, (x) => ({ ...x, notice: null, exchange: emptyExchange(interactive) }));
      try {
        // Whatever arrives between two frames is taken in at once: the
        // window renders at most once per frame however fast the stream.
        let pending: Event[] = [];
        let scheduled = false;
        const flush = () => {
          scheduled = false;
          const batch = pending;
          pending = [];
          update(t.id, (x) => (x.exchange ? { ...x, exchange: absorb(x.exchange, batch) } : x));
          if (batch.some((e) => e.type === "end")) set((s) => ({ historyVersion: s.historyVersion + 1 }));
        };
        const id = await api.send(request, get().environment, (batch) => {
          for (const event of batch) pending.push(event);
          if (!scheduled) {
            scheduled = true;
            requestAnimationFrame(flush);
          }
        });
        update(t.id, (x) => (x.exchange ? { ...x, exchange: { ...x.exchange, id } } : x));
      } catch (e) {
        update(t.id, (x) => ({ ...x, notice: api.errorText(e), exchange: null }));
      }
    },
    cancel: () => {
      const id = current().exchange?.id;
      if (id) void api.cancel(id).catch(() => undefined);
    },
    sendMessage: async (text) => {
      const id = current().exchange?.id;
      if (!id) return "The stream is not open yet";
      let data: unknown;
      try {
        data = JSON.parse(text);
      } catch (e) {
        return `Not valid JSON: ${(e as Error).message}`;
      }
      try {
        await api.sendMessage(id, data);
        return null;
      } catch (e) {
        return api.errorText(e);
      }
    },
    endStream: () => {
      const id = current().exchange?.id;
      if (id) void api.endStream(id).catch(() => undefined);
    },
    adoptEndpoints: (endpoints) => {
      const before = adoptEndpoints(endpoints);
      // Drafts still aimed at a default follow the server to its real ports.
      set((s) => ({
        tabs: s.tabs.map((t) => {
          const d = t.draft;
          const kind = d.kind === "aduib" ? d.transport : d.kind === "jsonrpc" ? "jsonrpc" : d.kind === "http" ? "rest" : d.kind;
          const key = kind as keyof typeof before;
          if (!(key in before) || !d.target.startsWith(before[key]) || before[key] === DEFAULT_TARGETS[key]) return t;
          return { ...t, draft: { ...d, target: DEFAULT_TARGETS[key] + d.target.slice(before[key].length) } };
        }),
      }));
    },
    openRecorded: (request, events) => {
      const t = tab(fromRequest(request));
      t.exchange = { ...absorb(emptyExchange(false), events), running: false };
      set((s) => ({ tabs: [...s.tabs, t], active: t.id, view: "compose" }));
    },
  };
});

/**
 * The environment to send in for `workspace`: the one in use (`current`),
 * else the one last chosen there, else its "local" one, else none.
 */
async function environmentFor(workspace: WorkspaceSummary, current: string | null | undefined): Promise<string | null> {
  const names = workspace.environments.map((e) => e.name);
  if (current !== undefined && (current === null || names.includes(current))) return current;
  const saved = await readSetting<string>(`environment:${workspace.dir}`);
  if (saved === "") return null;
  if (saved !== undefined && names.includes(saved)) return saved;
  return names.includes("local") ? "local" : null;
}

export function activeTab(state: { tabs: Tab[]; active: number }): Tab {
  return state.tabs.find((t) => t.id === state.active) ?? state.tabs[0];
}

/** How many of the server's calls the log keeps. */
export const LOG_LIMIT = 500;
let serverLogOpen = false;

/** Starts collecting the embedded server's calls (once per window). */
export function subscribeServerLog(): void {
  if (serverLogOpen) return;
  serverLogOpen = true;
  void api
    .serverLog((batch) =>
      useStore.setState((s) => ({ serverCalls: [...batch.reverse(), ...s.serverCalls].slice(0, LOG_LIMIT) })),
    )
    .catch(() => {
      serverLogOpen = false;
    });
}

let serverStatusOpen = false;

/** Follows the embedded server's status (once per window): it starts with
 * the app, so its endpoints are adopted once it is up; each later start or
 * stop arrives too, with no polling. */
export function subscribeServerStatus(): void {
  if (serverStatusOpen) return;
  serverStatusOpen = true;
  void api
    .serverWatch((status) => {
      useStore.setState({ serverStatus: status });
      if (status.running) useStore.getState().adoptEndpoints(status.endpoints);
    })
    .catch(() => {
      serverStatusOpen = false;
    });
}

let taskUpdatesOpen = false;

/** Loads the tracked tasks and keeps them current (once per window). */
export function subscribeTasks(): void {
  if (taskUpdatesOpen) return;
  taskUpdatesOpen = true;
  // Subscribed before the list is read, so no change slips between the two.
  void api
    .taskUpdates((batch) => useStore.setState((s) => ({ tasks: mergeTasks(s.tasks, batch) })))
    .then(() => api.tasksList(200))
    .then((listed) => useStore.setState((s) => ({ tasks: mergeTasks(listed, [...s.tasks].reverse()) })))
    .catch(() => {
      taskUpdatesOpen = false;
    });
}
