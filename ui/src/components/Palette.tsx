// Ctrl+K: every action, fuzzy-matched. The list and its matcher load the
// first time the palette opens.
import { lazy, Suspense } from "react";
import { useStore } from "../store";

export type Action = { id: string; label: string; hint?: string; run: () => void };

const PaletteList = lazy(() => import("./PaletteList"));

export function Palette({ actions }: { actions: Action[] }) {
  const open = useStore((s) => s.paletteOpen);
  if (!open) return null;
  return (
    <Suspense fallback={null}>
      <PaletteList actions={actions} />
    </Suspense>
  );
}
