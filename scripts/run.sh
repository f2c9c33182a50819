#!/usr/bin/env bash
# The main job: the desktop app on the demo workspace, with its embedded server
# serving it on every transport (JSON-RPC on 127.0.0.1:17101, REST on :17102,
# gRPC on :17103, Thrift on :17104). Another workspace: pass its folder.
# Without a display it runs the embedded server alone and says so.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
scripts/setup-system.sh
scripts/build-ui.sh
cargo build --release --locked -p aduib-app
exec "$CARGO_TARGET_DIR/release/aduib-app" "${1:-workspaces/demo}"
