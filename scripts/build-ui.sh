#!/usr/bin/env bash
# Builds ui/dist (which the app embeds at compile time) only when the UI's
# sources are newer than it: a rebuilt dist makes Cargo rebuild the app.
set -euo pipefail
cd "$(dirname "$0")/../ui"
built=dist/index.html
if [[ -f $built ]] && [[ -z $(find src index.html package-lock.json vite.config.ts tsconfig.json -newer "$built" -print -quit) ]]; then
  exit 0
fi
npx vite build --logLevel warn
# The schema editor renders Markdown with ours, not with the library's
# shiki-highlighting renderer (vite.config.ts, src/markdown.ts): shiki's
# theme chunks in the bundle mean the substitution stopped matching.
if compgen -G "dist/assets/vitesse-*" > /dev/null; then
  echo "build-ui: shiki is back in the bundle; see the plugin in ui/vite.config.ts" >&2
  exit 1
fi
