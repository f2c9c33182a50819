"""Slowloris: many connections that start a request head and never finish it.

The server runs with --header-timeout-ms 1000: every connection whose request
head (HTTP/1 head, HTTP/2 preface + first request, a Thrift message's start)
is not complete after one second must be closed, and normal calls must keep
answering within a second while the attack goes on.
"""
import threading
import time

import pytest

from conftest import (H2_PREFACE, TRANSPORTS, assert_answers, close_all, connect, probe, start_server,
                      summarize_closures, wait_closed)

HEADER_TIMEOUT_S = 1.0
MARGIN_S = 2.0
PER_LISTENER = 100

# What each listener gets before the attacker goes silent.
PARTIAL = {
    "jsonrpc": b"POST /aduib_rpc HTTP/1.1\r\nHost: 127.0.0.1\r\n",
    "rest": b"POST /aduib_rpc/v2/rpc HTTP/1.1\r\nHost: 127.0.0.1\r\n",
    "grpc": H2_PREFACE[: len(H2_PREFACE) // 2],
    "thrift": b"\x80\x01\x00",
}


@pytest.fixture(scope="module")
def server():
    srv = start_server("--header-timeout-ms", str(int(HEADER_TIMEOUT_S * 1000)))
    yield srv
    srv.stop()


def open_partial(server, transport, count):
    socks = []
    for _ in range(count):
        sock = connect(server.addr(transport))
        sock.sendall(PARTIAL[transport])
        socks.append(sock)
    return socks


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_partial_heads_are_closed_after_the_header_timeout(server, transport):
    """Defect: a connection that sends part of a request head and then nothing
    holds a socket, a task and a file descriptor for ever (no header timeout on
    HTTP/1 and HTTP/2 heads, none before a Thrift message is complete)."""
    socks = open_partial(server, transport, PER_LISTENER)
    try:
        outcome = wait_closed(socks, HEADER_TIMEOUT_S + MARGIN_S)
        still_open = sum(1 for t, _ in outcome.values() if t is None)
        assert still_open == 0, (
            f"{transport}: {PER_LISTENER} connections sent a partial head {PARTIAL[transport]!r}; "
            f"{HEADER_TIMEOUT_S + MARGIN_S:.1f}s later (header timeout {HEADER_TIMEOUT_S}s): "
            f"{summarize_closures(outcome)}")
    finally:
        close_all(socks)
    assert_answers(server, [transport], context=f"after the {transport} slowloris connections")


def test_partial_head_dripped_byte_by_byte_is_closed(server):
    """Defect: the header timeout must bound the time to receive the whole
    head, not the silence between bytes: an HTTP/1 head sent one byte every
    200 ms must still be cut off about one header timeout after it started."""
    sock = connect(server.addr("jsonrpc"))
    head = b"POST /aduib_rpc HTTP/1.1\r\nHost: 127.0.0.1\r\n" + b"X-Pad: " + b"a" * 200
    start = time.monotonic()
    closed_after = None
    try:
        for byte in head:
            try:
                sock.sendall(bytes([byte]))
            except OSError:
                closed_after = time.monotonic() - start
                break
            outcome = wait_closed([sock], 0.2)
            if outcome[sock][0] is not None:
                closed_after = time.monotonic() - start
                break
            sock.setblocking(True)
            if time.monotonic() - start > HEADER_TIMEOUT_S + MARGIN_S:
                break
        assert closed_after is not None, (
            f"an HTTP/1 head dripped one byte per 200 ms was still open after "
            f"{time.monotonic() - start:.1f}s (header timeout {HEADER_TIMEOUT_S}s)")
        assert closed_after <= HEADER_TIMEOUT_S + MARGIN_S, (
            f"dripped head closed only after {closed_after:.2f}s (header timeout {HEADER_TIMEOUT_S}s)")
    finally:
        sock.close()


class Attacker(threading.Thread):
    """Keeps PER_LISTENER partial-head connections open on every listener,
    reopening each one the server closes, until stopped."""

    def __init__(self, server):
        super().__init__(daemon=True)
        self.server = server
        self.stop_event = threading.Event()
        self.opened = 0
        self.errors = 0

    def run(self):
        socks = {t: [] for t in TRANSPORTS}
        try:
            while not self.stop_event.is_set():
                for transport, live in socks.items():
                    if live:
                        outcome = wait_closed(live, 0.01)
                        closed = [s for s, (t, _) in outcome.items() if t is not None]
                        for s in closed:
                            live.remove(s)
                            s.close()
                    while len(live) < PER_LISTENER and not self.stop_event.is_set():
                        try:
                            live.extend(open_partial(self.server, transport, 1))
                            self.opened += 1
                        except OSError:
                            self.errors += 1
                            break
                self.stop_event.wait(0.05)
        finally:
            for live in socks.values():
                close_all(live)


def test_normal_calls_answer_during_and_after_the_attack(server):
    """Defect: slowloris connections must not starve the server: while 100
    partial-head connections per listener are held open (and reopened as the
    server drops them), a normal call on each transport answers within 1 s,
    and so it does after the attack ends."""
    attacker = Attacker(server)
    attacker.start()
    try:
        deadline = time.monotonic() + 3.0
        # Let the attacker reach full strength first.
        while attacker.opened < PER_LISTENER * len(TRANSPORTS) and time.monotonic() < deadline:
            time.sleep(0.05)
        worst = {}
        while time.monotonic() < deadline:
            for transport in TRANSPORTS:
                elapsed, problem = probe(server, transport, timeout=3.0)
                assert problem is None, (
                    f"normal {transport} call during the slowloris attack failed after {elapsed:.2f}s: {problem}")
                worst[transport] = max(worst.get(transport, 0.0), elapsed)
        slow = {t: round(s, 2) for t, s in worst.items() if s > 1.0}
        assert not slow, f"normal calls during the attack took longer than 1 s (worst seconds per transport): {slow}"
    finally:
        attacker.stop_event.set()
        attacker.join(timeout=10)
    assert_answers(server, context="after the slowloris attack")
