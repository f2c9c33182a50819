#!/usr/bin/env bash
# The main job: serves the demo workspace on every transport with the embedded
# server (JSON-RPC on 127.0.0.1:17101, REST on :17102, gRPC on :17103, Thrift
# on :17104). Extra arguments go to `aduib serve`. Stop with Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
scripts/setup-system.sh
cargo build --release --locked -p aduib-cli
exec "$CARGO_TARGET_DIR/release/aduib" serve --workspace workspaces/demo "$@"
