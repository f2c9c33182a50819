"""Clients that go away in the middle of a server stream.

Each test starts 20 long server streams (CaculService.countdown from 600,
100 ms apart: a minute each) on one transport, waits until the server is
producing them, then disconnects every client. Within a few seconds the
server must hold no socket in CLOSE_WAIT on its ports, use no CPU, and be
back to its file-descriptor baseline: the streams were cancelled, not left
running to the end.
"""
import json
import selectors
import signal
import subprocess
import time

import pytest

from conftest import (ADUIB_BIN, COUNTDOWN, SLOW, T_STRUCT, TRANSPORTS, assert_answers, close_all, connect,
                      http_head, jsonrpc_body, probe, start_server, tb_field, tb_message, tb_request,
                      wait_until)

STREAMS = 20
GRPC_STREAMS = 10  # one `aduib stream` process each
LONG = {"start": 600, "interval_ms": 100}
SETTLE_S = 5.0


@pytest.fixture
def server():
    """A server of its own for each test, so calls abandoned by one test
    cannot count against the next; stopped without waiting for them."""
    srv = start_server()
    for transport in TRANSPORTS:
        probe(srv, transport)
    yield srv
    srv.stop(grace=0.5)


def settled_fds(server):
    last = server.fd_count()
    for _ in range(30):
        time.sleep(0.1)
        now = server.fd_count()
        if now == last:
            return now
        last = now
    return last


def read_until(sock, marker: bytes, timeout: float = 10.0) -> bytes:
    sock.settimeout(timeout)
    buf = b""
    while marker not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"closed before {marker!r}: {buf[:200]!r}")
        buf += chunk
    return buf


def start_http_streams(server, transport):
    host = "127.0.0.1:%d" % server.port(transport)
    if transport == "jsonrpc":
        path, body = "/aduib_rpc", jsonrpc_body(COUNTDOWN, LONG)
    else:
        path = "/aduib_rpc/v2/rpc/stream"
        body = json.dumps({"aduib_rpc": "2.0", "id": "1", "method": COUNTDOWN, "data": LONG}).encode()
    socks = []
    for _ in range(STREAMS):
        sock = connect(server.addr(transport))
        sock.sendall(http_head("POST", path, host, {"Content-Type": "application/json",
                                                     "Accept": "text/event-stream"}, len(body)) + body)
        socks.append(sock)
    for sock in socks:
        read_until(sock, b"data:")  # the stream is running
    return socks


def start_grpc_streams(server):
    procs = [subprocess.Popen(
        [ADUIB_BIN, "stream", "--transport", "grpc", "--url", server.urls["grpc"], "--method",
         "CaculService.countdown", "--data", json.dumps(LONG)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL) for _ in range(GRPC_STREAMS)]
    sel = selectors.DefaultSelector()
    for proc in procs:
        sel.register(proc.stdout, selectors.EVENT_READ, proc)
    waiting, deadline = set(procs), time.monotonic() + 15
    while waiting and time.monotonic() < deadline:
        for key, _ in sel.select(timeout=0.5):
            if key.data in waiting and key.fileobj.read1(4096):
                waiting.discard(key.data)
                sel.unregister(key.fileobj)
    sel.close()
    assert not waiting, f"{len(waiting)} of {GRPC_STREAMS} gRPC streams printed nothing within 15 s"
    return procs


def start_thrift_streams(server, baseline):
    message = tb_message("CallServerStream", tb_field(T_STRUCT, 1, tb_request(COUNTDOWN, LONG)) + b"\x00")
    socks = []
    for _ in range(STREAMS):
        sock = connect(server.addr("thrift"))
        sock.sendall(message)
        socks.append(sock)
    # Thrift streams are collected into one reply: there is no first item to
    # wait for, so wait until the server holds all the connections.
    wait_until(lambda: server.fd_count() >= baseline + STREAMS, 5.0)
    return socks


def assert_clean_after_disconnect(server, transport, what, baseline):
    wait_until(lambda: server.close_wait_on(transport) == 0, SETTLE_S)
    close_wait = server.close_wait_on(transport)
    wait_until(lambda: server.fd_count() <= baseline + 2, 2.0)
    fds = server.fd_count()
    cpu_before = server.cpu_seconds()
    time.sleep(1.0)  # a one-second CPU sample
    cpu = server.cpu_seconds() - cpu_before
    server.assert_alive(what)
    problems = []
    if close_wait:
        problems.append(f"{close_wait} server sockets on the {transport} port in CLOSE_WAIT "
                        f"{SETTLE_S:.0f}s after the clients left")
    if fds > baseline + 2:
        problems.append(f"{fds} fds, baseline {baseline}")
    if cpu > 0.1:
        problems.append(f"{cpu:.2f} CPU-seconds used in the following second")
    assert not problems, f"{what}: " + "; ".join(problems)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_streams_are_cancelled_when_clients_disconnect(server, transport):
    """Defect: a server stream whose client has gone must be cancelled at once.
    Thrift CallServerStream collects the whole stream (a minute here) before
    writing anything and never watches the socket, so each abandoned call
    keeps its task, its timer and a CLOSE_WAIT socket until the stream ends."""
    baseline = settled_fds(server)
    if transport == "grpc":
        procs = start_grpc_streams(server)
        for proc in procs:
            proc.send_signal(signal.SIGKILL)
        for proc in procs:
            proc.wait(timeout=10)
            proc.stdout.close()
    else:
        socks = (start_thrift_streams(server, baseline) if transport == "thrift"
                 else start_http_streams(server, transport))
        close_all(socks)
    assert_clean_after_disconnect(server, transport, f"{transport}: {STREAMS if transport != 'grpc' else GRPC_STREAMS} "
                                          f"streams abandoned mid-way", baseline)
    assert_answers(server, [transport], context="after the abandoned streams")


@pytest.mark.parametrize("transport", ["jsonrpc", "thrift"])
def test_slow_unary_calls_are_cancelled_when_clients_disconnect(server, transport):
    """Defect (same class, unary): a client that sends CaculService.slow
    (60 s) and disconnects leaves the handler running and the server's
    socket in CLOSE_WAIT for the whole minute; a flood of these holds fds
    and tasks without bound."""
    baseline = settled_fds(server)
    data = {"x": 1, "delay_ms": 60_000}
    socks = []
    for _ in range(STREAMS):
        sock = connect(server.addr(transport))
        if transport == "jsonrpc":
            body = jsonrpc_body(SLOW, data)
            host = "127.0.0.1:%d" % server.port(transport)
            sock.sendall(http_head("POST", "/aduib_rpc", host, {"Content-Type": "application/json"}, len(body)) + body)
        else:
            sock.sendall(tb_message("Call", tb_field(T_STRUCT, 1, tb_request(SLOW, data)) + b"\x00"))
        socks.append(sock)
    wait_until(lambda: server.fd_count() >= baseline + STREAMS, 5.0)
    close_all(socks)
    assert_clean_after_disconnect(server, transport, f"{transport}: {STREAMS} slow calls abandoned", baseline)
