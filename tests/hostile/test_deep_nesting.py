"""Deeply nested values: Thrift containers and JSON arrays 100,000 levels deep.

Every test starts its own server (the Thrift ones with --body-timeout-ms 2000,
so a message the server waits on cannot hold the connection long). The server must survive:
the process stays up, a normal call answers within a second, and the
offending Thrift connection gets a TApplicationException or is closed; a
deep JSON body gets a structured error.
"""
import json
import struct

import pytest

from conftest import (ADD, T_BYTE, T_I32, T_LIST, T_MAP, assert_answers, close_all, connect, framed, http_post,
                      tb_field, tb_message, wait_closed)

DEPTH = 100_000
FLAGS = ("--body-timeout-ms", "2000")
REPLY_WAIT_S = 5.0


def varint(n: int) -> bytes:
    out = b""
    while True:
        byte = n & 0x7F
        n >>= 7
        if not n:
            return out + bytes([byte])
        out += bytes([byte | 0x80])


def compact_message(name: str, args: bytes, seq: int = 0) -> bytes:
    return b"\x82\x21" + varint(seq) + varint(len(name)) + name.encode() + args


def deep_value(kind: str, protocol: str, depth: int) -> bytes:
    """Field 99 of the Call args struct (unknown to the IDL, so skipped):
    list<list<...list<byte>>> or map<i32, map<i32, ...map<i32,i32>>>, `depth` deep, one element a level."""
    if protocol == "binary":
        if kind == "list":
            levels = (bytes([T_LIST]) + struct.pack(">i", 1)) * (depth - 1) + bytes([T_BYTE]) + struct.pack(">i", 0)
            return tb_field(T_LIST, 99, levels) + b"\x00"
        levels = (bytes([T_I32, T_MAP]) + struct.pack(">ii", 1, 0)) * (depth - 1) + \
            bytes([T_I32, T_I32]) + struct.pack(">i", 0)
        return tb_field(T_MAP, 99, levels) + b"\x00"
    field_99 = varint(99 * 2)  # zigzag(99)
    if kind == "list":
        # 0x19: one element of type list; 0x03: no elements of type byte.
        return b"\x09" + field_99 + b"\x19" * (depth - 1) + b"\x03" + b"\x00"
    # size 1, key i32 (5) / value map (11), key 0; innermost map empty.
    return b"\x0b" + field_99 + b"\x01\x5b\x00" * (depth - 1) + b"\x00" + b"\x00"


def reply_kind(data: bytes, protocol: str, is_framed: bool):
    """The message type of the first reply bytes (3 = TApplicationException)."""
    if is_framed:
        data = data[4:]
    if protocol == "binary" and len(data) >= 4 and data[:2] == b"\x80\x01":
        return data[3]
    if protocol == "compact" and len(data) >= 2 and data[0] == 0x82:
        return data[1] >> 5
    return None


def send_and_judge(srv, message: bytes, protocol: str, is_framed: bool, what: str):
    sock = connect(srv.addr("thrift"))
    try:
        try:
            sock.sendall(framed(message) if is_framed else message)
        except OSError:
            pass  # closed while sending: that is a close
        closed, data = wait_closed([sock], REPLY_WAIT_S)[sock]
    finally:
        close_all([sock])
    assert_answers(srv, ["thrift", "jsonrpc"], context=f"after {what}")
    if data:
        kind = reply_kind(data, protocol, is_framed)
        assert kind == 3, f"{what}: expected a TApplicationException or a close, got message type {kind}: {data[:80]!r}"
    else:
        assert closed is not None, f"{what}: neither a reply nor a close within {REPLY_WAIT_S}s"


CASES = [(kind, protocol, framing) for kind in ("list", "map") for protocol in ("binary", "compact")
         for framing in ("buffered", "framed")]


@pytest.mark.parametrize("kind,protocol,framing", CASES, ids=["-".join(c) for c in CASES])
def test_thrift_containers_nested_100000_deep(server_factory, kind, protocol, framing):
    """Defect: skipping an unknown field recurses once per nesting level of a
    list or map with no depth limit (the limit counts structs only), so a
    container nested 100,000 deep overflows the stack and aborts the whole
    server, every connection with it (buffered: while the reader walks the
    message to find its end; framed: while decoding the args)."""
    srv = server_factory(*FLAGS)
    build = tb_message if protocol == "binary" else compact_message
    message = build("Call", deep_value(kind, protocol, DEPTH))
    send_and_judge(srv, message, protocol, framing == "framed",
                   f"{kind} nested {DEPTH} deep, {protocol} {framing} ({len(message)} bytes)")


def test_compact_call_of_50000_nested_list_headers(server_factory):
    """Defect: the compact message `82 21 00 00` (a call with an empty name)
    followed by 50,000 `19` bytes (field 1: a list of one list of one list...)
    is never complete, and walking it to find its end recurses 50,000 deep:
    stack overflow, the server aborts."""
    srv = server_factory(*FLAGS)
    message = bytes.fromhex("82210000") + b"\x19" * 50_000
    send_and_judge(srv, message, "compact", False, "compact 82 21 00 00 + 50,000 x 19")


def nested_json(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


@pytest.mark.parametrize("transport", ["jsonrpc", "rest"])
@pytest.mark.parametrize("where", ["body", "data"])
def test_json_nested_100000_deep(server_factory, transport, where):
    """Defect guard: JSON arrays nested 100,000 deep (the whole body, or one
    argument inside `data`) must get a structured error (the default
    --max-json-depth is 128), not a stack overflow, and the server serves on."""
    srv = server_factory()
    deep = nested_json(DEPTH)
    if where == "body":
        body = deep
    elif transport == "jsonrpc":
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": ADD, "params": {
            "aduib_rpc": "2.0", "id": "1", "method": ADD, "data": {"x": "X", "y": 2}}}).encode().replace(b'"X"', deep)
    else:
        body = json.dumps({"aduib_rpc": "2.0", "id": "1", "method": ADD,
                           "data": {"x": "X", "y": 2}}).encode().replace(b'"X"', deep)
    path = "/aduib_rpc" if transport == "jsonrpc" else "/aduib_rpc/v2/rpc"
    what = f"{transport}: JSON nested {DEPTH} deep in the {where}"
    try:
        reply = http_post(srv.addr(transport), path, body, timeout=10)
    except (OSError, ConnectionError) as error:
        assert_answers(srv, [transport], context=what)
        raise AssertionError(f"{what}: no reply ({type(error).__name__}: {error})")
    assert_answers(srv, [transport], context=what)
    value = json.loads(reply.body)
    error = value.get("error") if isinstance(value, dict) else None
    assert isinstance(error, dict) and isinstance(error.get("code"), int), (
        f"{what}: expected a structured error, got HTTP {reply.status} {reply.body[:200]!r}")
