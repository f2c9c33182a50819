"""Request bodies (and Thrift messages) that start and never finish.

The server runs with --body-timeout-ms 1000 and the default (10 s) header
timeout, so a connection cut within about a second of its head can only have
been cut by the body timeout. A stalled HTTP body must get an answer (408 or
an Aduib error) or a closed connection; a Thrift message that stops midway a
closed connection (or a TApplicationException).
"""
import struct
import time

import pytest

from conftest import (SLOW, T_STRING, T_STRUCT, assert_answers, close_all, connect, http_head, http_post,
                      jsonrpc_body, start_server, summarize_closures, tb_field, tb_message, tb_str, wait_closed)

BODY_TIMEOUT_S = 1.0
MARGIN_S = 2.0
CONNECTIONS = 20

PATHS = {"jsonrpc": "/aduib_rpc", "rest": "/aduib_rpc/v2/rpc"}


@pytest.fixture(scope="module")
def server():
    srv = start_server("--body-timeout-ms", str(int(BODY_TIMEOUT_S * 1000)))
    yield srv
    srv.stop()


def stalled(server, transport, first_bytes):
    socks = []
    for _ in range(CONNECTIONS):
        sock = connect(server.addr(transport))
        sock.sendall(first_bytes)
        socks.append(sock)
    return socks


def describe(outcome):
    answered = sum(1 for _, data in outcome.values() if data.startswith(b"HTTP/1.1 "))
    statuses = sorted({data[9:12].decode(errors="replace") for _, data in outcome.values() if data})
    return f"{summarize_closures(outcome)}; {answered} got an HTTP answer (statuses {statuses})"


def assert_all_ended(outcome, what):
    """Every connection either got an HTTP answer or was closed."""
    pending = [s for s, (closed, data) in outcome.items() if closed is None and not data.startswith(b"HTTP/")]
    assert not pending, (
        f"{what}: {len(pending)} of {len(outcome)} connections neither answered nor closed "
        f"{BODY_TIMEOUT_S + MARGIN_S:.1f}s later (body timeout {BODY_TIMEOUT_S}s): {describe(outcome)}")


@pytest.mark.parametrize("transport", ["jsonrpc", "rest"])
def test_content_length_body_that_stops_after_10_bytes(server, transport):
    """Defect: a head declaring Content-Length: 1000000 followed by 10 bytes
    and silence keeps the connection (and its handler, waiting on the body)
    alive for ever: there is no timeout on reading a body."""
    host = "127.0.0.1:%d" % server.port(transport)
    head = http_head("POST", PATHS[transport], host, {"Content-Type": "application/json"}, 1_000_000)
    socks = stalled(server, transport, head + b'{"jsonrpc"')
    try:
        outcome = wait_closed(socks, BODY_TIMEOUT_S + MARGIN_S)
        assert_all_ended(outcome, f"{transport}: Content-Length 1000000 with 10 bytes sent")
    finally:
        close_all(socks)
    assert_answers(server, [transport], context="after the stalled bodies")


@pytest.mark.parametrize("transport", ["jsonrpc", "rest"])
def test_chunked_body_that_never_ends(server, transport):
    """Defect: a chunked body whose last chunk never comes keeps the connection
    open for ever."""
    host = "127.0.0.1:%d" % server.port(transport)
    head = http_head("POST", PATHS[transport], host,
                     {"Content-Type": "application/json", "Transfer-Encoding": "chunked"})
    socks = stalled(server, transport, head + b'a\r\n{"jsonrpc"\r\n')
    try:
        outcome = wait_closed(socks, BODY_TIMEOUT_S + MARGIN_S)
        assert_all_ended(outcome, f"{transport}: chunked body with no last chunk")
    finally:
        close_all(socks)
    assert_answers(server, [transport], context="after the unending chunked bodies")


def test_body_dripped_slowly_is_cut_at_the_body_timeout(server):
    """Defect: the body timeout bounds the whole body, not the gap between
    bytes: a body of 1000 bytes sent one byte every 100 ms (it would take
    100 s) must be cut about one body timeout after it started."""
    host = "127.0.0.1:%d" % server.port("jsonrpc")
    sock = connect(server.addr("jsonrpc"))
    sock.sendall(http_head("POST", "/aduib_rpc", host, {"Content-Type": "application/json"}, 1000))
    start = time.monotonic()
    ended_after = None
    try:
        while time.monotonic() - start < BODY_TIMEOUT_S + MARGIN_S:
            try:
                sock.sendall(b" ")
            except OSError:
                ended_after = time.monotonic() - start
                break
            closed, data = wait_closed([sock], 0.1)[sock]
            sock.setblocking(True)
            if closed is not None or data:
                ended_after = time.monotonic() - start
                break
        assert ended_after is not None, (
            f"a body dripped one byte per 100 ms was still being read after {time.monotonic() - start:.1f}s "
            f"(body timeout {BODY_TIMEOUT_S}s)")
    finally:
        sock.close()


def test_slow_handler_is_not_cut_by_the_body_timeout(server):
    """Regression guard: the body timeout covers receiving the body only; a
    handler that takes 2.5 s (CaculService.slow) after a body received at once
    still answers."""
    body = jsonrpc_body(SLOW, {"x": 2, "delay_ms": 2500})
    reply = http_post(server.addr("jsonrpc"), "/aduib_rpc", body, timeout=10).json()
    assert reply.get("result", {}).get("result") == {"doubled": 4}, f"slow call under a 1 s body timeout: {reply}"


def partial_thrift_message():
    """A Call whose Request struct stops after its first field."""
    request_start = tb_field(T_STRING, 1, tb_str("2.0")) + tb_field(T_STRING, 2, tb_str("1"))
    return tb_message("Call", tb_field(T_STRUCT, 1, request_start))


@pytest.mark.parametrize("framing", ["buffered", "framed"])
def test_thrift_message_that_stops_midway(server, framing):
    """Defect: a Thrift message that starts and stops midway (buffered: the
    Request struct is cut; framed: a frame of 1000 bytes with 40 sent) keeps
    its connection and task for ever: nothing times out the rest of a message."""
    message = partial_thrift_message()
    first = message if framing == "buffered" else struct.pack(">i", 1000) + message
    socks = stalled(server, "thrift", first)
    try:
        outcome = wait_closed(socks, BODY_TIMEOUT_S + MARGIN_S)
        still = sum(1 for closed, _ in outcome.values() if closed is None)
        assert still == 0, (
            f"thrift {framing}: a message cut after {len(first)} bytes; {BODY_TIMEOUT_S + MARGIN_S:.1f}s later "
            f"(body timeout {BODY_TIMEOUT_S}s): {summarize_closures(outcome)}")
    finally:
        close_all(socks)
    assert_answers(server, ["thrift"], context="after the stalled Thrift messages")


def test_thrift_message_dripped_slowly_is_cut(server):
    """Defect: a Thrift message trickled one byte every 100 ms must be cut
    about one body timeout after it started, however steadily bytes arrive."""
    padding = tb_field(T_STRING, 99, tb_str("p" * 2000))
    message = tb_message("Call", tb_field(T_STRUCT, 1, padding))
    sock = connect(server.addr("thrift"))
    start = time.monotonic()
    ended_after = None
    try:
        for i in range(len(message)):
            if time.monotonic() - start > BODY_TIMEOUT_S + MARGIN_S:
                break
            try:
                sock.sendall(message[i:i + 1])
            except OSError:
                ended_after = time.monotonic() - start
                break
            closed, data = wait_closed([sock], 0.1)[sock]
            sock.setblocking(True)
            if closed is not None or data:
                ended_after = time.monotonic() - start
                break
        assert ended_after is not None, (
            f"a Thrift message dripped one byte per 100 ms was still being read after "
            f"{time.monotonic() - start:.1f}s (body timeout {BODY_TIMEOUT_S}s)")
    finally:
        sock.close()
    assert_answers(server, ["thrift"], context="after the dripped Thrift message")
