// The request's name in the workspace, and Save (Ctrl+S): one file per
// request under requests/, for the team's git.
import { useEffect, useState } from "react";
import { Bookmark, Check } from "lucide-react";
import { activeTab, useStore } from "../store";

export function SaveBar() {
  const tab = useStore(activeTab);
  const saveTab = useStore((s) => s.saveTab);
  const [name, setName] = useState(tab.saved?.name ?? "");
  const [problem, setProblem] = useState<string | null>(null);
  const [justSaved, setJustSaved] = useState(false);

  // Another tab, or the same one saved under a new name.
  useEffect(() => {
    setName(tab.saved?.name ?? "");
    setProblem(null);
  }, [tab.id, tab.saved?.name]);

  const save = async () => {
    const fallback = tab.draft.method.split("/").pop() || tab.draft.target || "request";
    const problem = await saveTab(name.trim() || fallback);
    setProblem(problem);
    if (!problem) {
      setJustSaved(true);
      setTimeout(() => setJustSaved(false), 1500);
    }
  };

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === "s") {
        e.preventDefault();
        void save();
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  });

  return (
    <div className="border-b border-zinc-200 px-3 pt-2.5 dark:border-zinc-800">
      <div className="flex items-center gap-2">
        <Bookmark size={13} className={tab.saved ? "text-indigo-500" : "text-zinc-400"} />
        <input
          value={name}
          onChange={(e) => setName(e.target.value)}
          onKeyDown={(e) => e.key === "Enter" && void save()}
          placeholder="Untitled request — name it and save it to the workspace"
          data-testid="save-name"
          className="min-w-0 flex-1 bg-transparent text-[13px] font-medium outline-none placeholder:font-normal placeholder:text-zinc-400"
        />
        <button
          onClick={() => void save()}
          data-testid="save"
          title="Save to the workspace (Ctrl+S)"
          className="flex items-center gap-1 rounded-md px-2 py-1 text-xs text-zinc-500 hover:bg-zinc-100 hover:text-zinc-800 dark:hover:bg-zinc-800 dark:hover:text-zinc-200"
        >
          {justSaved ? <Check size={13} className="text-emerald-500" /> : null}
          {justSaved ? "Saved" : tab.saved ? "Save" : "Save as…"}
        </button>
      </div>
      {problem && (
        <div className="mb-1 mt-1 text-xs text-rose-600 dark:text-rose-400" data-testid="save-problem">
          {problem}
        </div>
      )}
      <div className="h-2" />
    </div>
  );
}
