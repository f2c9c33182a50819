/// <reference types="vitest/config" />
import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";
import tailwindcss from "@tailwindcss/vite";

// Tauri serves dist/ itself; relative asset paths keep it portable.
export default defineConfig({
  base: "./",
  plugins: [
    {
      // codemirror-json-schema's Markdown renderer, without the highlighter
      // it loads at import: see src/markdown.ts.
      name: "schema-markdown-without-shiki",
      enforce: "pre",
      resolveId(source, importer) {
        const theirs = source === "../utils/markdown" && importer?.includes("codemirror-json-schema");
        return theirs ? this.resolve("/src/markdown.ts", importer, { skipSelf: true }) : null;
      },
    },
    react(),
    tailwindcss(),
  ],
  build: { target: "safari15", outDir: "dist", emptyOutDir: true, chunkSizeWarningLimit: 2000 },
  test: {
    environment: "jsdom",
    include: ["src/**/*.test.ts", "src/**/*.test.tsx"],
    // Its ESM imports omit file extensions, which only a bundler resolves.
    server: { deps: { inline: ["codemirror-json-schema"] } },
  },
});
