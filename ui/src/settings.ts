// UI preferences in tauri-plugin-store: settings.json in the app's data
// folder (the app names the file, so ADUIB_DATA_DIR moves it with history).
import { load, type Store } from "@tauri-apps/plugin-store";

let store: Promise<Store> | null = null;

/** Opens the settings file at `path`; reads and writes wait for it. */
export function openSettings(path: string): void {
  store ??= load(path, { autoSave: 200, defaults: {} });
}

export async function readSetting<T>(key: string): Promise<T | undefined> {
  try {
    return store ? await (await store).get<T>(key) : undefined;
  } catch {
    return undefined;
  }
}

/** Writes `key` and saves at once: a window closed right after keeps it. */
export function writeSetting(key: string, value: unknown): void {
  void store
    ?.then(async (s) => {
      await s.set(key, value);
      await s.save();
    })
    .catch(() => undefined);
}
