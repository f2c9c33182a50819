#!/usr/bin/env bash
# Instructions per unary gRPC call: our server against the bare tonic baseline
# (`crates/aduib-server/examples/bare_tonic.rs`), each run under valgrind's
# callgrind while h2load makes a fixed count of CaculService.add calls
# (16 connections x 1 stream). Unlike req/s or CPU time, the count of
# instructions a server executes per call hardly moves with the machine's
# load (two runs differ by well under 1 %), so it shows a change of a few
# per cent that wall-clock figures on a shared machine cannot. It does not
# see the kernel, caches or scheduling: `scripts/bench.sh` measures those.
#   CALLS (default 20000). The callgrind files stay in $BENCH_KEEP if set,
#   for `callgrind_annotate --inclusive=yes FILE`.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
source scripts/bench-lib.sh
venv=$(scripts/setup-peer.sh)
build_servers
need_commands valgrind:valgrind callgrind_control:valgrind h2load:nghttp2-client
work=${BENCH_KEEP:-$(mktemp -d)}
mkdir -p "$work"
pid=""
cleanup() { [[ -n $pid ]] && kill "$pid" 2>/dev/null; [[ -n ${BENCH_KEEP:-} ]] || rm -rf "$work"; }
trap cleanup EXIT
write_grpc_add "$work/grpc.bin"
calls=${CALLS:-20000}

count() { # label command...: instructions per call of the server the command starts
  local label=$1 port; shift
  port=$(free_port)
  valgrind --tool=callgrind --callgrind-out-file="$work/callgrind.$label" "$@" "127.0.0.1:$port" \
    >/dev/null 2>"$work/valgrind.$label.log" &
  pid=$!
  wait_port "$port"
  h2load_grpc "$port" "$work/grpc.bin" 1 -n 2000 >/dev/null 2>&1 # warm up: connections, caches, pages
  callgrind_control -z "$pid" >/dev/null 2>&1
  local done_calls
  done_calls=$(h2load_grpc "$port" "$work/grpc.bin" 1 -n "$calls" 2>/dev/null | awk '/^requests:/ {print $8}')
  callgrind_control -d "$pid" >/dev/null 2>&1
  kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""
  [[ $done_calls == "$calls" ]] || { echo "bench: $label answered $done_calls of $calls calls" >&2; return 1; }
  # The dump taken after zeroing (part 1) holds just the measured calls.
  awk -v calls="$calls" '/^(summary|totals):/ {print int($2 / calls); exit}' "$work/callgrind.$label.1"
}

ours=$(count ours "$CARGO_TARGET_DIR/release/aduib" serve --grpc)
bare=$(count bare-tonic "$CARGO_TARGET_DIR/release/examples/bare_tonic")
python3 -c 'import sys; n, o, b = map(int, sys.argv[1:]); print(f"instructions per unary call, {n} calls: ours {o}, bare tonic {b}, ours / bare tonic {o / b:.3f}")' \
  "$calls" "$ours" "$bare"
