// The workspace folder: where it is, another one to open, its environments
// and the files that could not be read.
import { useState } from "react";
import { FolderOpen, TriangleAlert } from "lucide-react";
import { useStore } from "../store";

export function WorkspaceView() {
  const workspace = useStore((s) => s.workspace);
  const { openWorkspace, environment, setEnvironment } = useStore();
  const [dir, setDir] = useState("");
  const [problem, setProblem] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const open = async () => {
    setBusy(true);
    const problem = await openWorkspace(dir);
    setProblem(problem);
    setBusy(false);
    // The server follows the workspace; its new status arrives on its channel.
    if (!problem) setDir("");
  };

  return (
    <div className="flex h-full min-h-0 flex-col overflow-auto" data-testid="workspace">
      <div className="flex items-center gap-3 border-b border-zinc-200 p-4 dark:border-zinc-800">
        <FolderOpen size={18} className="text-zinc-400" />
        <div className="min-w-0">
          <div className="font-semibold" data-testid="workspace-name">{workspace?.name ?? "No workspace"}</div>
          <div className="truncate font-mono text-xs text-zinc-500">{workspace?.dir}</div>
        </div>
      </div>
      <section className="border-b border-zinc-200 p-4 dark:border-zinc-800">
        <h2 className="mb-2 text-[11px] font-semibold uppercase tracking-wide text-zinc-400">Open another folder</h2>
        <div className="flex gap-2">
          <input
            value={dir}
            onChange={(e) => setDir(e.target.value)}
            onKeyDown={(e) => e.key === "Enter" && void open()}
            placeholder="/path/to/a/folder/with/workspace.toml"
            data-testid="workspace-dir"
            className="min-w-0 flex-1 rounded-md border border-zinc-200 bg-transparent px-2.5 py-1.5 font-mono text-[12.5px] outline-none focus:border-indigo-400 dark:border-zinc-700"
          />
          <button
            onClick={() => void open()}
            disabled={busy || dir.trim() === ""}
            data-testid="workspace-open"
            className="rounded-md bg-indigo-600 px-3 py-1.5 text-[12.5px] font-medium text-white hover:bg-indigo-500 disabled:opacity-50"
          >
            Open
          </button>
        </div>
        <p className="mt-2 text-xs text-zinc-500">
          The embedded server then serves that workspace. Saved requests are <code>requests/*.json</code>, environments{" "}
          <code>environments/*.toml</code>; secrets stay out of them as <code>{"${env:NAME}"}</code>.
        </p>
        {problem && <div className="mt-2 text-xs text-rose-600 dark:text-rose-400" data-testid="workspace-problem">{problem}</div>}
      </section>
      <section className="p-4">
        <h2 className="mb-2 text-[11px] font-semibold uppercase tracking-wide text-zinc-400">Environments</h2>
        {workspace && workspace.environments.length === 0 && (
          <p className="text-xs text-zinc-500">
            None yet. Add <code>environments/local.toml</code> with a <code>[variables]</code> table, then use{" "}
            <code>{"{{name}}"}</code> in any request.
          </p>
        )}
        <div className="grid gap-3 lg:grid-cols-2">
          {workspace?.environments.map((env) => (
            <div
              key={env.name}
              data-testid="environment-card"
              className={`rounded-lg border p-3 ${env.name === environment ? "border-indigo-400" : "border-zinc-200 dark:border-zinc-800"}`}
            >
              <div className="mb-2 flex items-center justify-between">
                <span className="font-medium">{env.name}</span>
                <button
                  onClick={() => setEnvironment(env.name === environment ? null : env.name)}
                  className="rounded px-2 py-0.5 text-xs text-indigo-600 hover:bg-indigo-50 dark:text-indigo-400 dark:hover:bg-indigo-950"
                >
                  {env.name === environment ? "In use" : "Use"}
                </button>
              </div>
              <table className="w-full font-mono text-xs">
                <tbody>
                  {Object.entries(env.variables).map(([k, v]) => (
                    <tr key={k}>
                      <td className="w-1/3 py-0.5 pr-3 text-zinc-500">{k}</td>
                      <td className="truncate py-0.5">{v}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          ))}
        </div>
        {workspace && workspace.problems.length > 0 && (
          <>
            <h2 className="mb-2 mt-5 text-[11px] font-semibold uppercase tracking-wide text-zinc-400">Files not read</h2>
            <ul className="space-y-1 text-xs">
              {workspace.problems.map((p) => (
                <li key={p.path} className="flex gap-2">
                  <TriangleAlert size={13} className="shrink-0 text-amber-500" />
                  <span className="font-mono">{p.path}</span>
                  <span className="text-zinc-500">{p.message}</span>
                </li>
              ))}
            </ul>
          </>
        )}
      </section>
    </div>
  );
}
