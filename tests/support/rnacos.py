"""A real rnacos for the Python suites (interop, e2e): free loopback ports
(gRPC = HTTP + 1000, as Nacos clients assume), a data folder of its own,
killed at the end. `RNACOS_BIN` names the binary; else the one
scripts/setup-system.sh installs in the tools folder."""
from __future__ import annotations

import contextlib
import os
import socket
import subprocess
from pathlib import Path

from net import free_port
from net import wait_for_port

RNACOS_BIN = os.environ.get(
    "RNACOS_BIN",
    os.path.join(os.environ.get("ADUIB_TOOLS", os.path.expanduser("~/.cache/aduib-workbench/tools")), "bin", "rnacos"),
)


@contextlib.contextmanager
def running_rnacos(data_dir: Path):
    """Yields the `host:port` of a fresh rnacos."""
    if not os.path.exists(RNACOS_BIN):
        raise RuntimeError(f"rnacos is not installed at {RNACOS_BIN}: scripts/setup-system.sh installs it")
    while True:
        http = free_port()
        if http >= 64000:
            continue
        try:
            with socket.socket() as probe:
                probe.bind(("127.0.0.1", http + 1000))
            break
        except OSError:
            continue
    env = dict(
        os.environ,
        RNACOS_SDK_HOST="127.0.0.1",
        RNACOS_CONSOLE_HOST="127.0.0.1",
        RNACOS_DATA_DIR=str(data_dir),
        RNACOS_HTTP_PORT=str(http),
        RNACOS_GRPC_PORT=str(http + 1000),
        RNACOS_HTTP_CONSOLE_PORT=str(free_port()),
        RNACOS_RAFT_NODE_ADDR=f"127.0.0.1:{http + 1000}",
    )
    proc = subprocess.Popen([RNACOS_BIN], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(http, proc, what="rnacos")
        wait_for_port(http + 1000, proc, what="rnacos")
        yield f"127.0.0.1:{http}"
    finally:
        proc.kill()
        proc.wait(timeout=10)
