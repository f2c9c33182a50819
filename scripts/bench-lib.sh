# Sourced by the gRPC and server benchmarks (scripts/bench*.sh): helpers they
# share. Expects scripts/env.sh sourced; `write_grpc_add` also `$venv` (the
# peer's venv).

# Our server and the bare tonic baseline, release builds.
build_servers() {
  cargo build --release --locked -p aduib-cli >&2
  cargo build --release --locked -p aduib-server --example bare_tonic >&2
}

# Installs the Debian packages of the commands that are missing:
# `need_commands command:package ...`.
need_commands() {
  local missing=() pair sudo_=""
  for pair in "$@"; do
    command -v "${pair%%:*}" >/dev/null || missing+=("${pair#*:}")
  done
  ((${#missing[@]})) || return 0
  [[ $(id -u) -eq 0 ]] || sudo_=sudo
  $sudo_ apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

wait_port() { # port
  for _ in $(seq 200); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "bench: nothing listening on $1" >&2; return 1
}

# The gRPC request h2load sends: unary CaculService.add(1, 2), encoded by the
# peer's own protobuf module and framed (no compression, 4-byte length).
write_grpc_add() { # file
  "$venv/bin/python" - "$1" <<'PY'
import struct, sys
from google.protobuf import struct_pb2
from aduib_rpc.grpc import aduib_rpc_v2_pb2 as pb
data = struct_pb2.Struct(); data.update({"x": 1, "y": 2})
message = pb.Request(aduib_rpc="2.0", id="b", method="rpc.v2/CaculService/CaculService.add", data=data).SerializeToString()
open(sys.argv[1], "wb").write(struct.pack(">BI", 0, len(message)) + message)
PY
}

GRPC_ADD_PATH=/aduib.rpc.v2.AduibRpcService/Call

# h2load's unary calls to a gRPC server: 16 connections, `streams` each.
h2load_grpc() { # port body-file streams h2load-args...
  local port=$1 body=$2 streams=$3; shift 3
  h2load -t 1 -c 16 -m "$streams" -d "$body" -H 'content-type: application/grpc' -H 'te: trailers' "$@" \
    "http://127.0.0.1:$port$GRPC_ADD_PATH"
}
