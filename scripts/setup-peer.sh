#!/usr/bin/env bash
# Creates (once) the Python venv holding the real aduib-rpc 2.0.1 peer, pinned to the
# known-good set from shared/aduib-protocol.md §10, plus pytest for the interop suite.
# Prints the venv's path on stdout. Idempotent: a venv whose stamp matches is reused.
set -euo pipefail
cache=${ADUIB_CACHE:-$HOME/.cache/aduib-workbench}
venv=$cache/peer-venv
pins=(
  'aduib-rpc[uvicorn,nacos]==2.0.1'
  pydantic==2.11.7 pydantic-core==2.33.2 fastapi==0.128.0 starlette==0.50.0
  grpcio==1.78.0 grpcio-reflection==1.78.0 grpcio-tools==1.78.0 'protobuf>=6.31.1,<7'
  uvicorn==0.35.0 sse-starlette==3.0.2 httpx==0.28.1 httpx-sse==0.4.1
  thrift==0.22.0 thriftpy2==0.4.20 aiothrift==0.2.7 anyio==4.10.0 nacos-sdk-python==2.0.9
  pytest==8.3.4
)
stamp=$(printf '%s\n' "${pins[@]}" | sha256sum | cut -c1-16)
if [[ -f $venv/.stamp && $(cat "$venv/.stamp") == "$stamp" ]]; then
  echo "$venv"; exit 0
fi
rm -rf "$venv"
mkdir -p "$cache"
python3 -m venv "$venv" >&2
"$venv/bin/pip" install --quiet --disable-pip-version-check "${pins[@]}" >&2
echo "$stamp" > "$venv/.stamp"
echo "$venv"
