// A method box with completion: type to filter, arrows to move, Enter to pick.
import { useMemo, useState } from "react";

export type Suggestion = { name: string; detail?: string };

export function MethodInput({
  value,
  onChange,
  suggestions,
  placeholder,
}: {
  value: string;
  onChange: (value: string) => void;
  suggestions: Suggestion[];
  placeholder?: string;
}) {
  const [open, setOpen] = useState(false);
  const [index, setIndex] = useState(0);
  const matches = useMemo(() => {
    const needle = value.toLowerCase();
    const seen = new Set<string>();
    return suggestions
      .filter((s) => !seen.has(s.name) && (seen.add(s.name), true))
      .filter((s) => needle === "" || s.name.toLowerCase().includes(needle))
      .slice(0, 50);
  }, [suggestions, value]);
  const pick = (s: Suggestion) => {
    onChange(s.name);
    setOpen(false);
  };
  return (
    <div className="relative min-w-0 flex-1">
      <input
        value={value}
        data-testid="method"
        placeholder={placeholder}
        onChange={(e) => {
          onChange(e.target.value);
          setOpen(true);
          setIndex(0);
        }}
        onFocus={() => setOpen(true)}
        onBlur={() => setTimeout(() => setOpen(false), 120)}
        onKeyDown={(e) => {
          if (!open || matches.length === 0) return;
          if (e.key === "ArrowDown") {
            e.preventDefault();
            setIndex((index + 1) % matches.length);
          } else if (e.key === "ArrowUp") {
            e.preventDefault();
            setIndex((index - 1 + matches.length) % matches.length);
          } else if (e.key === "Enter" && !e.ctrlKey && !e.metaKey) {
            e.preventDefault();
            pick(matches[index]);
          } else if (e.key === "Escape") {
            e.preventDefault();
            setOpen(false);
          }
        }}
        className="w-full rounded-md border border-zinc-200 bg-transparent px-2.5 py-1.5 font-mono text-[12.5px] outline-none focus:border-indigo-400 dark:border-zinc-700"
      />
      {open && matches.length > 0 && !(matches.length === 1 && matches[0].name === value) && (
        <ul className="absolute left-0 right-0 top-full z-30 mt-1 max-h-72 overflow-auto rounded-md border border-zinc-200 bg-white py-1 shadow-lg dark:border-zinc-700 dark:bg-zinc-900" data-testid="method-suggestions">
          {matches.map((s, i) => (
            <li
              key={s.name}
              onMouseDown={(e) => {
                e.preventDefault();
                pick(s);
              }}
              className={`flex cursor-default items-center justify-between gap-3 px-2.5 py-1 font-mono text-xs ${i === index ? "bg-indigo-50 dark:bg-indigo-950" : ""}`}
            >
              <span className="truncate">{s.name}</span>
              {s.detail && <span className="shrink-0 font-sans text-[11px] text-zinc-400">{s.detail}</span>}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
