#!/usr/bin/env bash
# Benchmark: our server vs the real Python peer (aduib-rpc 2.0.1), unary
# CaculService.add over JSON-RPC, REST, gRPC and Thrift, and over gRPC also vs
# a bare tonic server for the same proto; measured in the same run by the same load
# generator (`aduib bench`). Per transport the servers run side by side and are
# measured in turn, one at a time, for several rounds; each server's median
# round counts, so a noisy moment on a shared machine does not decide a ratio.
# Every HTTP transport is measured by third-party generators too, so that no
# figure depends on a generator we wrote: wrk for JSON-RPC and REST (16
# connections), h2load for gRPC (16 connections x 1 stream, no pipelining, and
# 16 x 4), alternating rounds in the same way.
# Prints each measurement as JSON and then the ratios: of the median rounds,
# and the median (and range) of the rounds' own ratios.
#   BENCH_DURATION_S (per round, default 5), BENCH_ROUNDS (default 3),
#   BENCH_CONCURRENCY (default 64), BENCH_TRANSPORTS (default all four)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
source scripts/bench-lib.sh
scripts/setup-system.sh
venv=$(scripts/setup-peer.sh)
build_servers
need_commands wrk:wrk h2load:nghttp2-client
bin=$CARGO_TARGET_DIR/release/aduib
duration=${BENCH_DURATION_S:-5}
rounds=${BENCH_ROUNDS:-3}
concurrency=${BENCH_CONCURRENCY:-64}
results=$(mktemp)
work=$(mktemp -d)
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; rm -rf "$results" "$work"; }
trap cleanup EXIT

url_for() { [[ $1 == grpc || $1 == thrift ]] && echo "127.0.0.1:$2" || echo "http://127.0.0.1:$2"; }
measure() { # server-label transport url
  "$bin" bench --transport "$2" --url "$3" --concurrency "$concurrency" --duration-s "$duration" \
    | python3 -c 'import json,sys; r=json.load(sys.stdin); r["server"]=sys.argv[1]; print(json.dumps(r))' "$1" \
    | tee -a "$results"
}

# The same unary CaculService.add(1, 2) for the third-party generators.
add='{"aduib_rpc":"2.0","id":"b","method":"rpc.v2/CaculService/CaculService.add","data":{"x":1,"y":2}}'
printf '%s' "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"rpc.v2/CaculService/CaculService.add\",\"params\":$add}" >"$work/jsonrpc.json"
printf '%s' "$add" >"$work/rest.json"
write_grpc_add "$work/grpc.bin"
cat >"$work/post.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local file = io.open(os.getenv("BODY_FILE"), "rb")
wrk.body = file:read("*a")
file:close()
LUA
path_for() { case $1 in jsonrpc) echo /aduib_rpc ;; rest) echo /aduib_rpc/v2/rpc ;; grpc) echo "$GRPC_ADD_PATH" ;; esac; }
record() { # server transport generator: JSON of rps from stdin's number
  python3 -c 'import json,sys; print(json.dumps({"server":sys.argv[1],"transport":sys.argv[2],"generator":sys.argv[3],"rps":float(sys.stdin.read().strip() or 0)}))' "$@" \
    | tee -a "$results"
}
measure_wrk() { # label transport port
  # A reply that is not a success (an error envelope) must not count.
  local body
  body=$(curl -s -H 'content-type: application/json' --data-binary "@$work/$2.json" "http://127.0.0.1:$3$(path_for "$2")")
  [[ $body == *'"result":3'* || $body == *'"result": 3'* ]] || { echo "bench: $1 $2 answered $body" >&2; return 1; }
  BODY_FILE="$work/$2.json" wrk -t 1 -c 16 -d "${duration}s" -s "$work/post.lua" "http://127.0.0.1:$3$(path_for "$2")" \
    | awk '/^Requests\/sec/ {print $2}' | record "$1" "$2" wrk-c16
}
measure_h2load() { # label port streams
  h2load_grpc "$2" "$work/grpc.bin" "$3" -D "$duration" 2>/dev/null \
    | awk '/^finished in/ {gsub(",", "", $4); print $4} /^requests:/ && $10 != "0" {print "bench: failed requests: " $0 > "/dev/stderr"}' \
    | record "$1" grpc "h2load-c16-m$3"
}

start() { # label port command...: starts a server in the background
  local label=$1 port=$2; shift 2
  "$@" >/dev/null 2>&1 & pids+=($!)
  wait_port "$port"
  servers+=("$label $port")
}

for transport in ${BENCH_TRANSPORTS:-jsonrpc rest grpc thrift}; do
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
      case $transport in
        jsonrpc | rest) measure_wrk "$label" "$transport" "$port" ;;
        grpc) measure_h2load "$label" "$port" 1; measure_h2load "$label" "$port" 4 ;;
      esac
    done
  done
  for pid in "${pids[@]:first}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
done

python3 - "$results" <<'PY'
import json, statistics, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
runs = {}
for r in rows:
    runs.setdefault((r["server"], r["transport"], r.get("generator", "aduib")), []).append(r)
def median(key):
    ordered = sorted(runs[key], key=lambda r: r["rps"])
    return ordered[(len(ordered) - 1) // 2]
def row(label, t, other, generator):
    if ("ours", t, generator) not in runs or (other, t, generator) not in runs:
        return
    o, p = median(("ours", t, generator)), median((other, t, generator))
    ratio = o["rps"] / p["rps"] if p["rps"] else float("inf")
    # The i-th rounds of both servers ran back to back: their ratio is
    # measured under the same load on the machine, so slow drift cancels.
    paired = [a["rps"] / b["rps"] for a, b in zip(runs[("ours", t, generator)], runs[(other, t, generator)]) if b["rps"]]
    paired_text = f"{statistics.median(paired):.2f}x ({min(paired):.2f}-{max(paired):.2f})" if paired else "-"
    spread = lambda key: "-".join(f"{f(r['rps'] for r in runs[key]):.0f}" for f in (min, max))
    print(f"{label:<20} {generator:<16} {o['rps']:>11.0f} {p['rps']:>11.0f} {ratio:>7.2f}x  {paired_text:<22}"
          f" (rounds: ours {spread(('ours', t, generator))}, them {spread((other, t, generator))})")
print(f"\nmedian round of each {'generator':<16} {'ours req/s':>11} {'them req/s':>11} {'ratio':>8}  {'per-round ratio':<22}")
for t in ("jsonrpc", "rest", "grpc", "thrift"):
    for g in ("aduib", "wrk-c16", "h2load-c16-m1", "h2load-c16-m4"):
        row(f"peer {t}", t, "peer", g)
for g in ("aduib", "h2load-c16-m1", "h2load-c16-m4"):
    row("bare tonic grpc", "grpc", "bare-tonic", g)
PY
