"""Small inputs that cost the server far more than they cost the client.

Each test starts its own server, so the kernel's RSS high-water mark (VmHWM)
measures that one attack. A watchdog SIGKILLs a server whose RSS passes
1 GiB, so a runaway allocation fails the test instead of the machine.
"""
import json
import selectors
import struct
import time

import pytest

from conftest import (ADD, ECHO, EXCEPTION, REPLY, T_BYTE, T_LIST, T_STRUCT, RssWatchdog, assert_answers, connect,
                      framed, http_post, jsonrpc_body, read_thrift_reply, tb_field, tb_message, wait_cpu_settled)

RSS_BOUND_MB = 300
QUICK_S = 5.0


def measured(srv, watchdog, elapsed, extra=""):
    hwm = max(srv.hwm_mb(), watchdog.peak_mb)
    killed = " (killed by the 1 GiB RSS watchdog)" if watchdog.killed else ""
    return f"took {elapsed:.2f}s, peak RSS {hwm:.0f} MB{killed}{extra}"


def assert_rss_bound(srv, watchdog, what, facts):
    assert not watchdog.killed, f"{what}: server RSS passed 1 GiB and it was killed; {facts}"
    srv.assert_alive(what)
    hwm = srv.hwm_mb()
    assert hwm < RSS_BOUND_MB, f"{what}: peak RSS (VmHWM) {hwm:.0f} MB, bound {RSS_BOUND_MB} MB; {facts}"


def test_jsonrpc_batch_of_a_million_ones(server_factory):
    """Defect: a 2 MB body `[1,1,...]` (1,000,000 items) is planned and answered
    item by item: a million error objects built, awaited and serialised (tens
    of MB of reply, hundreds of MB of RSS). It must be refused as a whole with
    one structured JSON-RPC error (--max-batch 1000, --max-json-elements)."""
    srv = server_factory()
    body = b"[" + b",".join([b"1"] * 1_000_000) + b"]"
    with RssWatchdog(srv) as watchdog:
        start = time.monotonic()
        try:
            reply = http_post(srv.addr("jsonrpc"), "/aduib_rpc", body, timeout=60)
            outcome = None
        except (OSError, ConnectionError) as error:
            reply, outcome = None, f"{type(error).__name__}: {error}"
        elapsed = time.monotonic() - start
    facts = measured(srv, watchdog, elapsed,
                     f", reply {len(reply.body) if reply else 0} bytes" + (f", {outcome}" if outcome else ""))
    assert reply is not None, f"batch of 1,000,000 `1`s got no reply: {facts}"
    value = json.loads(reply.body)
    assert isinstance(value, dict), (
        f"batch of 1,000,000 `1`s was answered item by item ({len(value)} replies) instead of refused: {facts}")
    assert isinstance(value.get("error", {}).get("code"), int), f"not a structured JSON-RPC error: {value}; {facts}"
    assert elapsed < QUICK_S, f"refusing the batch was slow: {facts}"
    assert_rss_bound(srv, watchdog, "batch of 1,000,000 `1`s", facts)
    assert_answers(srv, ["jsonrpc"], context="after the huge batch")


def test_jsonrpc_batch_longer_than_max_batch_is_refused(server_factory):
    """Defect: no limit on the length of a JSON-RPC batch. With --max-batch 1000,
    1000 calls are answered one by one and 1001 are refused with one error."""
    srv = server_factory("--max-batch", "1000")
    call = json.loads(jsonrpc_body(ADD, {"x": 1, "y": 2}))
    ok = http_post(srv.addr("jsonrpc"), "/aduib_rpc", json.dumps([call] * 1000).encode(), timeout=30).json()
    assert isinstance(ok, list) and len(ok) == 1000, f"a batch of 1000 (the limit) got {str(ok)[:300]}"
    refused = http_post(srv.addr("jsonrpc"), "/aduib_rpc", json.dumps([call] * 1001).encode(), timeout=30).json()
    assert isinstance(refused, dict) and isinstance(refused.get("error", {}).get("code"), int), (
        f"a batch of 1001 (over --max-batch 1000) got "
        f"{'a list of %d replies' % len(refused) if isinstance(refused, list) else str(refused)[:300]}")


def echo_body(transport, elements):
    numbers = b"[" + b"0," * (elements - 1) + b"0]"
    if transport == "jsonrpc":
        prefix = json.dumps({"jsonrpc": "2.0", "id": 1, "method": ECHO,
                             "params": {"aduib_rpc": "2.0", "id": "1", "method": ECHO, "data": {"v": "X"}}}).encode()
    else:
        prefix = json.dumps({"aduib_rpc": "2.0", "id": "1", "method": ECHO, "data": {"v": "X"}}).encode()
    return prefix.replace(b'"X"', numbers)


@pytest.mark.parametrize("transport", ["jsonrpc", "rest"])
def test_14_mib_echo_of_zeros(server_factory, transport):
    """Defect: a 14 MiB body (under the 16 MiB limit) of `[0,0,...]`, about
    7.3 million values, is parsed into a serde_json tree (32+ bytes a value),
    echoed and serialised back: hundreds of MB for one request. It must be
    refused by --max-json-elements (1,000,000) with a structured error, before
    the tree is built."""
    srv = server_factory()
    elements = (14 * 1024 * 1024) // 2
    body = echo_body(transport, elements)
    path = "/aduib_rpc" if transport == "jsonrpc" else "/aduib_rpc/v2/rpc"
    with RssWatchdog(srv) as watchdog:
        start = time.monotonic()
        try:
            reply, outcome = http_post(srv.addr(transport), path, body, timeout=60), None
        except (OSError, ConnectionError) as error:
            reply, outcome = None, f"{type(error).__name__}: {error}"
        elapsed = time.monotonic() - start
    facts = measured(srv, watchdog, elapsed, f", body {len(body) / 2**20:.1f} MiB with {elements} zeros, "
                     f"reply {len(reply.body) if reply else 0} bytes" + (f", {outcome}" if outcome else ""))
    assert reply is not None, f"{transport} 14 MiB echo got no reply: {facts}"
    value = json.loads(reply.body)
    error = value.get("error") if isinstance(value, dict) else None
    assert isinstance(error, dict) and isinstance(error.get("code"), int), (
        f"{transport} 14 MiB echo was not refused with a structured error (HTTP {reply.status}, "
        f"body starts {reply.body[:150]!r}): {facts}")
    assert_rss_bound(srv, watchdog, f"{transport} 14 MiB echo", facts)
    assert_answers(srv, [transport], context="after the 14 MiB echo")


def test_thrift_client_stream_of_four_million_empty_requests(server_factory):
    """Defect: a 4 MB framed CallClientStream carrying 4,000,000 empty Request
    structs (one byte each on the wire) is decoded into 4 million JSON objects
    and then 4 million envelopes: gigabytes of RSS. --max-stream-items
    (10,000) must refuse it (TApplicationException or a Response with an
    error) with RSS bounded."""
    srv = server_factory()
    count = 4_000_000
    requests = bytes([T_STRUCT]) + struct.pack(">i", count) + b"\x00" * count
    message = framed(tb_message("CallClientStream", tb_field(T_LIST, 1, requests) + b"\x00"))
    with RssWatchdog(srv) as watchdog:
        start = time.monotonic()
        try:
            with connect(srv.addr("thrift"), timeout=30) as sock:
                sock.sendall(message)
                reply, outcome = read_thrift_reply(sock, timeout=30, is_framed=True), None
        except (OSError, ConnectionError) as error:
            reply, outcome = None, f"{type(error).__name__}: {error}"
        elapsed = time.monotonic() - start
    facts = measured(srv, watchdog, elapsed, f", message {len(message) / 2**20:.1f} MiB"
                     + (f", {outcome}" if outcome else ""))
    assert_rss_bound(srv, watchdog, "CallClientStream of 4,000,000 Requests", facts)
    if reply is not None:
        refused = reply.kind == EXCEPTION or (reply.kind == REPLY and reply.error_code() is not None)
        assert refused, f"CallClientStream of 4,000,000 Requests was not refused: {reply}; {facts}"
    assert elapsed < QUICK_S * 2, f"CallClientStream of 4,000,000 Requests: {facts}"
    assert_answers(srv, ["thrift"], context="after the huge client stream")


def test_thrift_list_of_24m_bytes_trickled_in_16k_chunks(server_factory):
    """Defect: an unframed (buffered) message is re-parsed from its first byte
    every time more bytes arrive, so a 24 MB message (an unknown list<byte>
    field of 24,000,000 elements in the Call args) sent in 16 KiB chunks costs
    ~1500 walks over up to 24 MB: quadratic CPU. The message must be refused
    or read with the server spending < 5 CPU-seconds on it (its declared
    length is over the 16 MiB --body-limit, so it can be refused at once)."""
    srv = server_factory()
    elements = 24_000_000
    field = tb_field(T_LIST, 99, bytes([T_BYTE]) + struct.pack(">i", elements))
    message = tb_message("Call", field) + b"\x00" * elements + b"\x00"
    chunk = 16 * 1024
    cpu_before = wait_cpu_settled(srv)
    sent, ended = 0, "all sent"
    start = time.monotonic()
    sock = connect(srv.addr("thrift"))
    sock.setblocking(False)
    sel = selectors.DefaultSelector()
    sel.register(sock, selectors.EVENT_WRITE)
    try:
        while sent < len(message):
            if srv.cpu_seconds() - cpu_before > 5.0:
                ended = "stopped sending: the server passed 5 CPU-seconds"
                break
            if time.monotonic() - start > 20:
                ended = "stopped sending after 20 s"
                break
            if not sel.select(timeout=0.2):
                continue
            try:
                sent += sock.send(message[sent:sent + chunk])
            except BlockingIOError:
                continue
            except OSError as error:
                ended = f"the server closed the connection ({type(error).__name__})"
                break
        # Let the server finish with what it got: a reply, a close, or nothing.
        sock.setblocking(True)
        sock.settimeout(3.0)
        try:
            sock.recv(4096)
        except OSError:
            pass
    finally:
        sel.close()
        sock.close()
    cpu_used = srv.cpu_seconds() - cpu_before if srv.alive() else 0.0
    if cpu_used < 5.0:
        # Within budget so far: count what the server still spends on it.
        cpu_used = wait_cpu_settled(srv) - cpu_before
    facts = (f"{sent / 2**20:.1f} of {len(message) / 2**20:.1f} MiB sent in {time.monotonic() - start:.1f}s "
             f"({ended}); server CPU {cpu_used:.1f}s")
    srv.assert_alive(f"after the trickled 24 MB message ({facts})")
    assert cpu_used < 5.0, f"trickled 24M-element list<byte>: {facts}"
    assert_answers(srv, ["thrift"], context="after the trickled 24 MB message")
