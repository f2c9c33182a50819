#!/usr/bin/env bash
# Runs every test: formatting, lints, the UI's type check, lint and unit tests,
# the Rust test suite, interop in both directions with the real Python
# aduib-rpc 2.0.1 peer, short fuzz runs, the hostile-client suite, and the
# app's end-to-end flows in a real window. Sets itself up first.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
scripts/setup-system.sh
venv=$(scripts/setup-peer.sh)
# Every command the tests run records its history here, not in the user's.
ADUIB_DATA_DIR=$(mktemp -d)
export ADUIB_DATA_DIR
trap 'rm -rf "$ADUIB_DATA_DIR"' EXIT

step() { printf '\n== %s\n' "$*" >&2; }
step "ui: type check, lint, unit tests, build (the app embeds ui/dist)"
(cd ui && npm run --silent typecheck && npm run --silent lint && npm test --silent)
scripts/build-ui.sh
step "format";  cargo fmt --all --check
step "lint";    cargo clippy --workspace --all-targets --locked -- -D warnings
step "rust tests"
cargo test --workspace --locked
step "interop with the Python peer"
cargo build --locked -p aduib-cli -p aduib-app
ADUIB_BIN=$CARGO_TARGET_DIR/debug/aduib "$venv/bin/python" -m pytest -q -p no:cacheprovider tests/interop
step "fuzz every decoder briefly (scripts/fuzz.sh; long runs: see fuzz/README.md)"
scripts/fuzz.sh "${ADUIB_FUZZ_SECONDS:-20}"
step "hostile clients against aduib serve"
ADUIB_BIN=$CARGO_TARGET_DIR/debug/aduib "$venv/bin/python" -m pytest -q -p no:cacheprovider tests/hostile
step "the app in a real window (Xvfb, tauri-driver, WebKitWebDriver; screenshots in tests/e2e/artifacts)"
ADUIB_APP=$CARGO_TARGET_DIR/debug/aduib-app ADUIB_BIN=$CARGO_TARGET_DIR/debug/aduib \
  "$venv/bin/python" -m pytest -q -p no:cacheprovider tests/e2e
