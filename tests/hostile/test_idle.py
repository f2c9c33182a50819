"""Idle connections: open, used (or not), then silent.

The server runs with --idle-timeout-ms 1500 (header and body timeouts at
their defaults, 10 s and 30 s, so only the idle timeout can close these
connections in time). A connection with nothing in flight and nothing
received must be closed within the idle timeout plus a margin, and the
server's file descriptors must return to where they were; a call or a
stream that is in flight for longer than the idle timeout must not be cut.
"""
import json
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from conftest import (ADD, ADUIB_BIN, COUNTDOWN, H2_PREFACE, H2_SETTINGS, H2_SETTINGS_ACK, SLOW, TRANSPORTS, close_all,
                      connect, http_head, jsonrpc_body, probe, read_http_response, read_thrift_reply, start_server,
                      thrift_call_bytes, wait_closed, wait_until)

IDLE_TIMEOUT_S = 1.5
MARGIN_S = 2.0
CONNECTIONS = 10


@pytest.fixture(scope="module")
def server():
    srv = start_server("--idle-timeout-ms", str(int(IDLE_TIMEOUT_S * 1000)))
    for transport in TRANSPORTS:
        probe(srv, transport)
    yield srv
    srv.stop()


def settled_fds(server):
    """The server's fd count once it stops changing (connections from earlier tests wound down)."""
    last = server.fd_count()
    for _ in range(20):
        time.sleep(0.1)
        now = server.fd_count()
        if now == last:
            return now
        last = now
    return last


def check_closed_by_idle_timeout(server, socks, what, baseline):
    outcome = wait_closed(socks, IDLE_TIMEOUT_S + MARGIN_S)
    times = [t for t, _ in outcome.values() if t is not None]
    still = len(socks) - len(times)
    try:
        assert still == 0, (
            f"{what}: {still} of {len(socks)} idle connections still open {IDLE_TIMEOUT_S + MARGIN_S:.1f}s "
            f"after going silent (idle timeout {IDLE_TIMEOUT_S}s)")
        assert min(times) >= IDLE_TIMEOUT_S * 0.5, (
            f"{what}: connections closed after {min(times):.2f}s, long before the {IDLE_TIMEOUT_S}s idle "
            "timeout: closed for some other reason (protocol error?)")
    finally:
        close_all(socks)
    wait_until(lambda: server.fd_count() <= baseline, 2.0)
    fds = server.fd_count()
    assert fds <= baseline, f"{what}: server has {fds} fds after the idle connections closed, baseline {baseline}"


@pytest.mark.parametrize("transport", ["jsonrpc", "rest"])
def test_http1_keep_alive_connection_idle_after_one_request(server, transport):
    """Defect: an HTTP/1.1 keep-alive connection that made one request and went
    silent is kept open for ever (no idle timeout), holding an fd each."""
    baseline = settled_fds(server)
    path = "/aduib_rpc" if transport == "jsonrpc" else "/aduib_rpc/v2/rpc"
    body = jsonrpc_body(ADD, {"x": 1, "y": 2}) if transport == "jsonrpc" else \
        json.dumps({"aduib_rpc": "2.0", "id": "1", "method": ADD, "data": {"x": 1, "y": 2}}).encode()
    host = "127.0.0.1:%d" % server.port(transport)
    socks = []
    for _ in range(CONNECTIONS):
        sock = connect(server.addr(transport))
        sock.sendall(http_head("POST", path, host, {"Content-Type": "application/json"}, len(body)) + body)
        reply = read_http_response(sock)
        assert reply.status == 200, f"{transport} keep-alive request answered {reply.status}: {reply.body[:200]!r}"
        assert reply.headers.get("connection", "").lower() != "close", "the server closed after one request"
        socks.append(sock)
    check_closed_by_idle_timeout(server, socks, f"{transport} HTTP/1.1 keep-alive after one request", baseline)


def read_h2_frame(sock):
    head = b""
    while len(head) < 9:
        chunk = sock.recv(9 - len(head))
        if not chunk:
            raise ConnectionError("HTTP/2 connection closed by the server during the handshake")
        head += chunk
    length = int.from_bytes(head[:3], "big")
    kind, flags = head[3], head[4]
    payload = b""
    while len(payload) < length:
        chunk = sock.recv(length - len(payload))
        if not chunk:
            raise ConnectionError("HTTP/2 connection closed inside a frame")
        payload += chunk
    return kind, flags, payload


def test_http2_connection_without_streams(server):
    """Defect: an HTTP/2 (gRPC) connection that finishes the handshake (preface,
    SETTINGS both ways) and never opens a stream is kept open for ever."""
    baseline = settled_fds(server)
    socks = []
    for _ in range(CONNECTIONS):
        sock = connect(server.addr("grpc"))
        sock.settimeout(5)
        sock.sendall(H2_PREFACE + H2_SETTINGS)
        while True:
            kind, flags, _ = read_h2_frame(sock)
            if kind == 4 and not flags & 1:
                break
        sock.sendall(H2_SETTINGS_ACK)
        socks.append(sock)
    check_closed_by_idle_timeout(server, socks, "gRPC HTTP/2 connection with no streams", baseline)


def test_thrift_connection_idle_after_one_call(server):
    """Defect: a Thrift connection that made one call and went silent is kept
    open for ever."""
    baseline = settled_fds(server)
    socks = []
    for _ in range(CONNECTIONS):
        sock = connect(server.addr("thrift"))
        sock.sendall(thrift_call_bytes())
        reply = read_thrift_reply(sock)
        assert reply.result_json() == 3, f"thrift call before going idle: {reply}"
        socks.append(sock)
    check_closed_by_idle_timeout(server, socks, "Thrift connection after one call", baseline)


def test_calls_in_flight_outlive_the_idle_timeout(server):
    """Regression guard: a call in flight is not idle. CaculService.slow with a
    2.5 s delay (longer than the 1.5 s idle timeout) still answers over
    JSON-RPC (keep-alive) and Thrift."""
    def over_jsonrpc():
        host = "127.0.0.1:%d" % server.port("jsonrpc")
        body = jsonrpc_body(SLOW, {"x": 2, "delay_ms": 2500})
        with connect(server.addr("jsonrpc")) as sock:
            sock.sendall(http_head("POST", "/aduib_rpc", host, {"Content-Type": "application/json"}, len(body)) + body)
            return read_http_response(sock, timeout=10).json()

    def over_thrift():
        with connect(server.addr("thrift")) as sock:
            sock.sendall(thrift_call_bytes(SLOW, {"x": 2, "delay_ms": 2500}))
            return read_thrift_reply(sock, timeout=10)

    with ThreadPoolExecutor(2) as pool:
        jsonrpc_reply, thrift_reply = pool.submit(over_jsonrpc), pool.submit(over_thrift)
        reply = jsonrpc_reply.result()
        assert reply.get("result", {}).get("result") == {"doubled": 4}, f"slow JSON-RPC call under idle timeout: {reply}"
        reply = thrift_reply.result()
        assert reply.kind == 2 and reply.result_json() == {"doubled": 4}, f"slow Thrift call under idle timeout: {reply}"


def test_streams_with_long_gaps_outlive_the_idle_timeout(server):
    """Regression guard: a server stream whose items come 2 s apart (longer
    than the idle timeout) is in flight, not idle: every item arrives over
    JSON-RPC SSE and gRPC."""
    host = "127.0.0.1:%d" % server.port("jsonrpc")
    body = jsonrpc_body(COUNTDOWN, {"start": 1, "interval_ms": 2000})
    grpc = subprocess.Popen(
        [ADUIB_BIN, "stream", "--transport", "grpc", "--url", server.urls["grpc"], "--method",
         "CaculService.countdown", "--data", '{"start": 1, "interval_ms": 2000}', "--timeout-ms", "15000"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    with connect(server.addr("jsonrpc")) as sock:
        sock.sendall(http_head("POST", "/aduib_rpc", host, {"Content-Type": "application/json",
                                                              "Accept": "text/event-stream"}, len(body)) + body)
        reply = read_http_response(sock, timeout=15)
    events = [json.loads(line[5:]) for line in reply.body.decode().splitlines() if line.startswith("data:")]
    numbers = [e.get("result", {}).get("result", {}).get("n") for e in events]
    assert numbers == [1, 0], f"JSON-RPC SSE countdown with 2 s gaps under a 1.5 s idle timeout gave {numbers}"
    out, err = grpc.communicate(timeout=20)
    numbers = [json.loads(line).get("result", {}).get("n") for line in out.splitlines() if line.strip()]
    assert numbers == [1, 0], f"gRPC countdown with 2 s gaps under a 1.5 s idle timeout gave {numbers}: {err[:300]}"
