#!/usr/bin/env bash
# The desktop app's figures (issue 9), each printed as JSON:
#   - the release binary's size, stripped;
#   - cold start, idle memory and a 100,000-message stream in the real window
#     (tests/e2e/bench_app.py; baseline: the same stream read by the CLI);
#   - the facade's latency against the client crate called directly
#     (crates/aduib-workbench/benches/facade_overhead.rs);
#   - history search over 1,000,000 exchanges (benches/history_search.rs).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
scripts/setup-system.sh
venv=$(scripts/setup-peer.sh)
scripts/build-ui.sh
cargo build --release --locked -p aduib-app -p aduib-cli >&2
app=$CARGO_TARGET_DIR/release/aduib-app
stripped=$(mktemp)
strip -o "$stripped" "$app"
printf '{"figure": "release binary, stripped", "mib": %s}\n' \
  "$(awk "BEGIN { printf \"%.1f\", $(stat -c %s "$stripped") / 1048576 }")"
rm -f "$stripped"
ADUIB_APP=$app ADUIB_BIN=$CARGO_TARGET_DIR/release/aduib "$venv/bin/python" tests/e2e/bench_app.py
cargo bench --locked -p aduib-workbench --bench facade_overhead
cargo bench --locked -p aduib-workbench --bench history_search
