// The workspace in the sidebar: which environment requests are sent in,
// and the requests saved in it.
import { Bookmark, Trash2 } from "lucide-react";
import { useStore } from "../store";

const BADGES: Record<string, string> = { jsonrpc: "JSON-RPC", rest: "REST", grpc: "gRPC", thrift: "Thrift", http: "HTTP" };

export function badgeOf(request: { kind: string; transport?: string }): string {
  return BADGES[request.kind === "aduib" ? (request.transport ?? "") : request.kind] ?? request.kind;
}

export function EnvironmentPicker() {
  const workspace = useStore((s) => s.workspace);
  const environment = useStore((s) => s.environment);
  const setEnvironment = useStore((s) => s.setEnvironment);
  // The same height before the workspace loads: nothing below it moves (a
  // click aimed at a menu entry must not land on the one above).
  if (!workspace) return <div className="px-3 pb-2" aria-hidden><div className="h-[26px]" /></div>;
  return (
    <div className="px-3 pb-2">
      <select
        value={environment ?? ""}
        onChange={(e) => setEnvironment(e.target.value || null)}
        data-testid="environment"
        title="Variables {{name}} in requests come from this environment"
        className="w-full rounded-md border border-zinc-200 bg-white px-2 py-1 text-xs outline-none focus:border-indigo-400 dark:border-zinc-700 dark:bg-zinc-900"
      >
        <option value="">No environment</option>
        {workspace.environments.map((e) => (
          <option key={e.name} value={e.name}>
            {e.name}
          </option>
        ))}
      </select>
    </div>
  );
}

export function SavedRequests() {
  const workspace = useStore((s) => s.workspace);
  const { openSaved, deleteSaved } = useStore();
  if (!workspace) return null;
  return (
    <>
      <div className="mt-3 flex items-center justify-between px-4 text-[11px] font-semibold uppercase tracking-wide text-zinc-400">
        <span className="truncate" title={workspace.dir}>
          Saved · {workspace.name}
        </span>
      </div>
      <ul className="mt-1 max-h-[40%] space-y-0.5 overflow-auto px-2" data-testid="saved-list">
        {workspace.requests.length === 0 && (
          <li className="px-2.5 py-1.5 text-xs text-zinc-400">Nothing saved yet — name a request and press Ctrl+S.</li>
        )}
        {workspace.requests.map((saved) => (
          <li
            key={saved.id}
            onClick={() => openSaved(saved)}
            data-testid="saved-request"
            title={`${saved.name} — requests/${saved.id}.json`}
            className="group flex cursor-default items-center gap-2 rounded-md px-2.5 py-1.5 hover:bg-zinc-100 dark:hover:bg-zinc-800/60"
          >
            <Bookmark size={12} className="shrink-0 text-indigo-400" />
            <span className="min-w-0 flex-1 truncate text-xs">{saved.name}</span>
            <span className="shrink-0 text-[9px] font-semibold uppercase tracking-tight text-zinc-400 group-hover:hidden">
              {badgeOf(saved.request)}
            </span>
            <button
              onClick={(e) => {
                e.stopPropagation();
                if (window.confirm(`Delete the saved request "${saved.name}"?`)) void deleteSaved(saved.id);
              }}
              title="Delete from the workspace"
              className="invisible rounded p-0.5 text-zinc-400 hover:text-rose-600 group-hover:visible"
            >
              <Trash2 size={12} />
            </button>
          </li>
        ))}
      </ul>
    </>
  );
}
