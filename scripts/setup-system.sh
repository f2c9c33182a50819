#!/usr/bin/env bash
# Installs what building and testing need on Debian 12, only what is missing:
# Debian packages (the WebKitGTK stack Tauri builds against, Xvfb and
# WebKitWebDriver for the app's end-to-end tests, Node.js for the UI), the Rust
# toolchain check (edition 2024 needs Rust >= 1.90), tauri-driver, rnacos, and the
# UI's npm packages.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
packages=(build-essential pkg-config ca-certificates file python3 python3-venv python3-pip
  libwebkit2gtk-4.1-dev libsoup-3.0-dev libjavascriptcoregtk-4.1-dev libgtk-3-dev librsvg2-dev
  libayatana-appindicator3-dev libxdo-dev libssl-dev
  xvfb xauth webkit2gtk-driver imagemagick python3-gi gir1.2-webkit2-4.1)
command -v npm >/dev/null || packages+=(nodejs npm)
missing=()
for pkg in "${packages[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}" >&2
  sudo_=""; [[ $(id -u) -eq 0 ]] || sudo_=sudo
  $sudo_ apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_ apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi
if ! command -v cargo >/dev/null; then
  echo "setup: no Rust toolchain found; install Rust >= 1.90 with rustup (https://rustup.rs)" >&2
  exit 1
fi
minor=$(rustc --version | sed -E 's/^rustc 1\.([0-9]+).*/\1/')
if ((minor < 90)); then
  echo "setup: $(rustc --version) is too old; Rust >= 1.90 is needed" >&2
  exit 1
fi
for component in rustfmt clippy; do
  cargo "${component/rustfmt/fmt}" --version >/dev/null 2>&1 || rustup component add "$component"
done
# The WebDriver front for Tauri apps, used by tests/e2e.
if ! "$ADUIB_TOOLS/bin/tauri-driver" --help >/dev/null 2>&1; then
  echo "setup: installing tauri-driver 2.1.0" >&2
  cargo install tauri-driver --locked --version 2.1.0 --root "$ADUIB_TOOLS" >&2
fi
# rnacos, a Nacos-compatible server (Nacos itself cannot be had here), for the
# registry tests: a debug build installs in ~3 minutes, once (BUILD-NOTES §5).
if [[ ! -x $ADUIB_TOOLS/bin/rnacos ]]; then
  echo "setup: installing rnacos 0.8.8" >&2
  cargo install rnacos --locked --debug --version 0.8.8 --root "$ADUIB_TOOLS" >&2
fi
# The UI's packages, reinstalled only when the lock file changed.
stamp=ui/node_modules/.package-lock.json
if [[ ! -f $stamp || ui/package-lock.json -nt $stamp ]]; then
  echo "setup: npm ci in ui/" >&2
  (cd ui && npm ci --no-audit --no-fund --loglevel=error) >&2
fi
