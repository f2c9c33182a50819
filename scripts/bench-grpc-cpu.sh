#!/usr/bin/env bash
# Server CPU per call: our gRPC server against the bare tonic baseline
# (`crates/aduib-server/examples/bare_tonic.rs`) under the same fixed count of
# unary CaculService.add calls from h2load (16 connections x 1 stream). Per
# round and server: req/s, context switches per call and CPU microseconds per
# call (the process's own counters, from /proc). A fixed count of calls and
# each server's own CPU time move less with the machine's load than req/s do.
#   ROUNDS (default 5), CALLS (default 200000)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
source scripts/bench-lib.sh
venv=$(scripts/setup-peer.sh)
build_servers
need_commands h2load:nghttp2-client
work=$(mktemp -d)
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
write_grpc_add "$work/grpc.bin"
ours_port=$(free_port)
"$CARGO_TARGET_DIR/release/aduib" serve --grpc "127.0.0.1:$ours_port" >/dev/null 2>&1 & pids+=($!); ours_pid=$!
bare_port=$(free_port)
"$CARGO_TARGET_DIR/release/examples/bare_tonic" "127.0.0.1:$bare_port" >/dev/null 2>&1 & pids+=($!); bare_pid=$!
wait_port "$ours_port"; wait_port "$bare_port"
calls=${CALLS:-200000}
ticks=$(getconf CLK_TCK)
counters() { # pid -> "cpu_ticks context_switches"
  local switches=0 status
  for status in /proc/"$1"/task/*/status; do
    switches=$((switches + $(awk '/ctxt_switches/ {s += $2} END {print s}' "$status")))
  done
  echo "$(awk '{print $14 + $15}' /proc/"$1"/stat) $switches"
}
measure() { # pid port
  local cpu0 cs0 cpu1 cs1 rps
  read -r cpu0 cs0 <<<"$(counters "$1")"
  rps=$(h2load_grpc "$2" "$work/grpc.bin" 1 -n "$calls" 2>/dev/null | awk '/^finished in/ {gsub(",", "", $4); print $4}')
  read -r cpu1 cs1 <<<"$(counters "$1")"
  python3 -c 'import sys; rps, cpu, cs, n, hz = map(float, sys.argv[1:]); print("%6.0f req/s  %.3f switches/call  %5.2f us CPU/call" % (rps, cs / n, cpu / hz * 1e6 / n))' \
    "$rps" "$((cpu1 - cpu0))" "$((cs1 - cs0))" "$calls" "$ticks"
}
for round in $(seq "${ROUNDS:-5}"); do
  ours=$(measure "$ours_pid" "$ours_port")
  bare=$(measure "$bare_pid" "$bare_port")
  echo "round $round  ours: $ours | bare tonic: $bare"
done
