#!/usr/bin/env bash
# Benchmark: our server vs the real Python peer (aduib-rpc 2.0.1), unary
# CaculService.add over JSON-RPC, REST, gRPC and Thrift, and over gRPC also vs
# a bare tonic server for the same proto; measured in the same run by the same load
# generator (`aduib bench`). Per transport the servers run side by side and are
# measured in turn, one at a time, for several rounds; each server's median
# round counts, so a noisy moment on a shared machine does not decide a ratio.
# Prints each measurement as JSON and then the ratios.
#   BENCH_DURATION_S (per round, default 5), BENCH_ROUNDS (default 3),
#   BENCH_CONCURRENCY (default 64)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
scripts/setup-system.sh
venv=$(scripts/setup-peer.sh)
cargo build --release --locked -p aduib-cli >&2
cargo build --release --locked -p aduib-server --example bare_tonic >&2
bin=$CARGO_TARGET_DIR/release/aduib
duration=${BENCH_DURATION_S:-5}
rounds=${BENCH_ROUNDS:-3}
concurrency=${BENCH_CONCURRENCY:-64}
results=$(mktemp)
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; rm -f "$results"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_port() {
  for _ in $(seq 200); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "bench: nothing listening on $1" >&2; return 1
}
url_for() { [[ $1 == grpc || $1 == thrift ]] && echo "127.0.0.1:$2" || echo "http://127.0.0.1:$2"; }
measure() { # server-label transport url
  "$bin" bench --transport "$2" --url "$3" --concurrency "$concurrency" --duration-s "$duration" \
    | python3 -c 'import json,sys; r=json.load(sys.stdin); r["server"]=sys.argv[1]; print(json.dumps(r))' "$1" \
    | tee -a "$results"
}

start() { # label port command...: starts a server in the background
  local label=$1 port=$2; shift 2
  "$@" >/dev/null 2>&1 & pids+=($!)
  wait_port "$port"
  servers+=("$label $port")
}

for transport in jsonrpc rest grpc thrift; do
  servers=()
  first=${#pids[@]}
  port=$(free_port)
  start ours "$port" "$bin" serve "--$transport" "127.0.0.1:$port"
  port=$(free_port)
  peer_transport=$transport; [[ $transport == rest ]] && peer_transport=http
  start peer "$port" "$venv/bin/python" tests/interop/peer_server.py --transport "$peer_transport" --port "$port"
  if [[ $transport == grpc ]]; then
    port=$(free_port)
    start bare-tonic "$port" "$CARGO_TARGET_DIR/release/examples/bare_tonic" "127.0.0.1:$port"
  fi
  for _ in $(seq "$rounds"); do
    for server in "${servers[@]}"; do
      read -r label port <<<"$server"
      measure "$label" "$transport" "$(url_for "$transport" "$port")"
    done
  done
  for pid in "${pids[@]:first}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
done

python3 - "$results" <<'PY'
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
runs = {}
for r in rows:
    runs.setdefault((r["server"], r["transport"]), []).append(r)
def median(key):
    ordered = sorted(runs[key], key=lambda r: r["rps"])
    return ordered[(len(ordered) - 1) // 2]
def row(label, t, other):
    o, p = median(("ours", t)), median((other, t))
    ratio = o["rps"] / p["rps"] if p["rps"] else float("inf")
    spread = lambda key: "-".join(f"{f(r['rps'] for r in runs[key]):.0f}" for f in (min, max))
    print(f"{label:<20} {o['rps']:>11.0f} {o['p50_ms']:>6.2f}/{o['p99_ms']:<6.2f} "
          f"{p['rps']:>11.0f} {p['p50_ms']:>6.2f}/{p['p99_ms']:<6.2f} {ratio:>6.2f}x"
          f"   (rounds: ours {spread(('ours', t))}, them {spread((other, t))})")
print(f"\nmedian round of each   {'ours req/s':>11} {'p50/p99 ms':>13} {'them req/s':>11} {'p50/p99 ms':>13} {'ratio':>7}")
for t in ("jsonrpc", "rest", "grpc", "thrift"):
    row(f"peer {t}", t, "peer")
row("bare tonic grpc", "grpc", "bare-tonic")
PY
