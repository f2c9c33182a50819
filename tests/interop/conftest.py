"""Fixtures for interop with the real aduib-rpc 2.0.1 peer.

`ADUIB_BIN` names our `aduib` binary (scripts/test.sh sets it). Every server
runs on loopback on a free port and is stopped at the end of its test.
"""
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "support"))
from net import free_port, wait_for_port  # noqa: E402
from rnacos import running_rnacos  # noqa: E402

HERE = Path(__file__).parent
ADUIB_BIN = os.environ.get("ADUIB_BIN", "aduib")


def aduib(*args: str, stdin: str | None = None, timeout: float = 30,
          env: dict | None = None) -> subprocess.CompletedProcess:
    """Runs our CLI and returns the finished process (text mode); `env` adds
    variables to ours."""
    return subprocess.run(
        [ADUIB_BIN, *args], input=stdin, capture_output=True, text=True, timeout=timeout,
        env={**os.environ, **(env or {})},
    )


def json_lines(text: str) -> list:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


@pytest.fixture(scope="session")
def our_server():
    """`aduib serve` on the demo workspace, every transport on a free port.

    Yields {"jsonrpc": url, "rest": url, "grpc": host:port, "thrift": host:port}; at the end checks
    that SIGTERM stops it cleanly with exit code 0.
    """
    proc = subprocess.Popen(
        [ADUIB_BIN, "serve", "--jsonrpc", "127.0.0.1:0", "--rest", "127.0.0.1:0", "--grpc", "127.0.0.1:0",
         "--thrift", "127.0.0.1:0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    urls = {}
    while len(urls) < 4:
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError(f"aduib serve exited: {proc.wait()}")
        transport, url = line.split()
        urls[transport] = url
    yield urls
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=10) == 0


@pytest.fixture(scope="session")
def peer_servers():
    """The Python peer on JSON-RPC, REST ("http" is its name for it), gRPC and Thrift."""
    procs, urls = [], {}
    try:
        for ours, theirs in (("jsonrpc", "jsonrpc"), ("rest", "http"), ("grpc", "grpc"), ("thrift", "thrift")):
            port = free_port()
            proc = subprocess.Popen(
                [sys.executable, str(HERE / "peer_server.py"), "--transport", theirs, "--port", str(port)],
                stdout=subprocess.DEVNULL,
            )
            procs.append(proc)
            wait_for_port(port, proc)
            urls[ours] = f"127.0.0.1:{port}" if ours in ("grpc", "thrift") else f"http://127.0.0.1:{port}"
        yield urls
    finally:
        for proc in procs:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()



@pytest.fixture
def rnacos(tmp_path):
    """A real rnacos on free loopback ports; yields its `host:port`."""
    with running_rnacos(tmp_path / "rnacos") as address:
        yield address
