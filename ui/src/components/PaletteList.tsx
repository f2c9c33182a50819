// The open palette: every action, fuzzy-matched (loaded on first Ctrl+K).
import { Command } from "cmdk";
import { useStore } from "../store";
import type { Action } from "./Palette";

export default function PaletteList({ actions }: { actions: Action[] }) {
  const setOpen = useStore((s) => s.setPalette);
  return (
    <div className="fixed inset-0 z-50 flex items-start justify-center bg-black/20 pt-[15vh] dark:bg-black/50" onClick={() => setOpen(false)}>
      <div onClick={(e) => e.stopPropagation()} className="w-[520px] overflow-hidden rounded-xl border border-zinc-200 bg-white shadow-2xl dark:border-zinc-700 dark:bg-zinc-900">
        <Command label="Command palette" data-testid="palette">
          <Command.Input
            autoFocus
            placeholder="Type a command…"
            onKeyDown={(e) => {
              if (e.key !== "Escape") return;
              e.preventDefault();
              setOpen(false);
            }}
            className="w-full border-b border-zinc-200 bg-transparent px-4 py-3 outline-none dark:border-zinc-700"
          />
          <Command.List className="max-h-80 overflow-auto p-1.5">
            <Command.Empty className="p-3 text-zinc-500">No command matches.</Command.Empty>
            {actions.map((a) => (
              <Command.Item
                key={a.id}
                value={a.label}
                onSelect={() => {
                  setOpen(false);
                  a.run();
                }}
                className="flex cursor-default items-center justify-between rounded-md px-3 py-2 data-[selected=true]:bg-indigo-50 dark:data-[selected=true]:bg-indigo-950"
              >
                <span>{a.label}</span>
                {a.hint && <kbd className="text-xs text-zinc-400">{a.hint}</kbd>}
              </Command.Item>
            ))}
          </Command.List>
        </Command>
      </div>
    </div>
  );
}
