"""Shared helpers for the hostile-client suite: `aduib serve` under attack.

Each module starts its own `aduib serve` (all four transports on free ports,
loopback only) with short timeouts through flags, attacks it with raw sockets
and measures the server process from /proc: file descriptors, RSS and its
high-water mark, CPU seconds, CLOSE_WAIT sockets on its ports.

The binary is `$ADUIB_BIN`, else `$CARGO_TARGET_DIR/debug/aduib`, else
`aduib` on PATH.

"""
from __future__ import annotations

import json
import os
import queue
import re
import resource
import selectors
import signal
import socket
import struct
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _find_binary() -> str:
    if os.environ.get("ADUIB_BIN"):
        return os.environ["ADUIB_BIN"]
    target = os.environ.get("CARGO_TARGET_DIR") or str(Path.home() / ".cache/aduib-workbench/target")
    candidate = Path(target) / "debug" / "aduib"
    return str(candidate) if candidate.exists() else "aduib"


ADUIB_BIN = _find_binary()
TRANSPORTS = ("jsonrpc", "rest", "grpc", "thrift")

ADD = "rpc.v2/CaculService/CaculService.add"
ECHO = "rpc.v2/CaculService/CaculService.echo"
COUNTDOWN = "rpc.v2/CaculService/CaculService.countdown"
SLOW = "rpc.v2/CaculService/CaculService.slow"

# HTTP/2 client connection preface (RFC 9113 §3.4) and an empty SETTINGS frame.
H2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
H2_SETTINGS = b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"
H2_SETTINGS_ACK = b"\x00\x00\x00\x04\x01\x00\x00\x00\x00"


# --------------------------------------------------------------------------
# Starting and measuring the server
# --------------------------------------------------------------------------

@dataclass
class Server:
    proc: subprocess.Popen
    urls: dict
    flags: list
    stderr_path: str
    _stderr_file: object = field(repr=False, default=None)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def addr(self, transport: str) -> tuple[str, int]:
        url = self.urls[transport]
        hostport = url.split("://", 1)[-1].rstrip("/")
        host, port = hostport.rsplit(":", 1)
        return host.strip("[]"), int(port)

    def port(self, transport: str) -> int:
        return self.addr(transport)[1]

    def ports(self) -> set[int]:
        return {self.port(t) for t in self.urls}

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stderr_tail(self, n: int = 15) -> str:
        try:
            with open(self.stderr_path, "rb") as f:
                lines = f.read()[-8000:].decode(errors="replace").splitlines()
        except OSError:
            return ""
        return "\n".join(lines[-n:])

    def death(self) -> str:
        """Why the server is gone, for assertion messages."""
        code = self.proc.poll()
        if code is None:
            return "server still running"
        how = f"killed by signal {-code} ({signal.Signals(-code).name})" if code < 0 else f"exit code {code}"
        return f"server process died ({how}); stderr tail:\n{self.stderr_tail()}"

    def assert_alive(self, context: str = "") -> None:
        assert self.alive(), f"{context}: {self.death()}" if context else self.death()

    # /proc readers -------------------------------------------------------
    def status_kb(self, key: str) -> int:
        return proc_status_kb(self.pid, key)

    def rss_mb(self) -> float:
        return self.status_kb("VmRSS") / 1024

    def hwm_mb(self) -> float:
        """Peak RSS (VmHWM); 0 once the process is gone."""
        try:
            return self.status_kb("VmHWM") / 1024
        except (OSError, KeyError):
            return 0.0

    def fd_count(self) -> int:
        return len(os.listdir(f"/proc/{self.pid}/fd"))

    def cpu_seconds(self) -> float:
        return cpu_seconds(self.pid)

    def close_wait(self) -> int:
        return count_tcp_state(self.ports(), "08")

    def close_wait_on(self, transport: str) -> int:
        return count_tcp_state({self.port(transport)}, "08")

    def stop(self, grace: float = 5.0) -> None:
        """SIGTERM, then SIGKILL after `grace` seconds."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        if self._stderr_file:
            self._stderr_file.close()
            self._stderr_file = None
            try:
                os.unlink(self.stderr_path)
            except OSError:
                pass


def proc_status_kb(pid: int, key: str) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise KeyError(key)


def cpu_seconds(pid: int) -> float:
    """utime + stime of the whole process, in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        stat = f.read()
    fields = stat[stat.rindex(")") + 2:].split()
    # fields[0] is field 3 (state); utime and stime are fields 14 and 15.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def count_tcp_state(local_ports: set[int], state_hex: str) -> int:
    """Sockets in `state_hex` (08 = CLOSE_WAIT) whose local port is one of `local_ports`."""
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                next(f)
                for line in f:
                    parts = line.split()
                    local_port = int(parts[1].rsplit(":", 1)[1], 16)
                    if parts[3] == state_hex and local_port in local_ports:
                        count += 1
        except FileNotFoundError:
            pass
    return count


def start_server(*flags: str, env: dict | None = None, nofile: int | None = None,
                 transports=TRANSPORTS, timeout: float = 30.0) -> Server:
    """`aduib serve` with every transport in `transports` on a free loopback port.

    `flags` are extra serve flags. `nofile` sets RLIMIT_NOFILE (soft and
    hard) of the server only.
    """
    cmd = [ADUIB_BIN, "serve"]
    for t in transports:
        cmd += [f"--{t}", "127.0.0.1:0"]
    cmd += list(flags)

    def limit_fds():
        if nofile is not None:
            resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))

    stderr_file = tempfile.NamedTemporaryFile(prefix="aduib-serve-", suffix=".log", delete=False)
    full_env = dict(os.environ)
    full_env.setdefault("RUST_BACKTRACE", "0")
    if env:
        full_env.update(env)
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=stderr_file, text=True,
                            env=full_env, preexec_fn=limit_fds if nofile else None)
    server = Server(proc, {}, list(flags), stderr_file.name, stderr_file)
    lines: queue.Queue = queue.Queue()

    def pump():
        for line in proc.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    deadline = time.monotonic() + timeout
    while len(server.urls) < len(transports):
        try:
            line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            server.stop()
            raise AssertionError(f"aduib serve printed {len(server.urls)} of {len(transports)} "
                                 f"transport lines within {timeout}s: {' '.join(cmd)}")
        if line is None:
            code = proc.wait(timeout=10)
            raise AssertionError(f"aduib serve exited with {code} before printing its addresses "
                                 f"({' '.join(cmd)}): {server.stderr_tail()}")
        parts = line.split()
        if len(parts) == 2 and parts[0] in TRANSPORTS:
            server.urls[parts[0]] = parts[1]
    return server


@pytest.fixture
def server_factory():
    """Starts servers (see start_server) and stops them all at the end of the test."""
    started = []

    def make(*flags, **kwargs):
        server = start_server(*flags, **kwargs)
        started.append(server)
        return server

    yield make
    for server in started:
        server.stop(grace=2.0)


class RssWatchdog:
    """Polls VmRSS while an attack runs and SIGKILLs the server above `kill_mb`
    (so a runaway allocation cannot take the machine down). `peak_mb` is the
    largest RSS seen; read VmHWM for the kernel's own high-water mark."""

    def __init__(self, server: Server, kill_mb: float = 1024):
        self.server, self.kill_mb = server, kill_mb
        self.peak_mb = 0.0
        self.killed = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            try:
                rss = self.server.rss_mb()
            except (OSError, KeyError):
                return
            self.peak_mb = max(self.peak_mb, rss)
            if rss > self.kill_mb:
                self.killed = True
                self.server.proc.kill()
                return
            self._stop.wait(0.01)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=2)


def wait_cpu_settled(server: Server, quiet: float = 0.05, window: float = 0.5, limit: float = 15.0) -> float:
    """Waits until the server uses under `quiet` CPU-seconds per `window`; returns its CPU seconds then."""
    deadline = time.monotonic() + limit
    before = server.cpu_seconds()
    while time.monotonic() < deadline and server.alive():
        time.sleep(window)
        now = server.cpu_seconds()
        if now - before < quiet:
            return now
        before = now
    return server.cpu_seconds() if server.alive() else before


def wait_until(predicate, timeout: float, interval: float = 0.05):
    """Polls `predicate` until it returns a truthy value or `timeout` passes; returns the last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)


# --------------------------------------------------------------------------
# Sockets
# --------------------------------------------------------------------------

def connect(addr: tuple[str, int], timeout: float = 5.0) -> socket.socket:
    sock = socket.create_connection(addr, timeout=timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def wait_closed(socks: list[socket.socket], timeout: float) -> dict:
    """Reads (and discards) from every socket until the server closes it.

    Returns {socket: (seconds until EOF/reset or None if still open, first bytes received)}.
    """
    start = time.monotonic()
    result = {s: [None, b""] for s in socks}
    sel = selectors.DefaultSelector()
    for s in socks:
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ)
    open_count = len(socks)
    try:
        while open_count:
            left = timeout - (time.monotonic() - start)
            if left <= 0:
                break
            for key, _ in sel.select(timeout=min(left, 0.5)):
                s = key.fileobj
                try:
                    data = s.recv(65536)
                except BlockingIOError:
                    continue
                except OSError:
                    data = b""
                if data:
                    if len(result[s][1]) < 256:
                        result[s][1] += data[:256]
                    continue
                result[s][0] = time.monotonic() - start
                sel.unregister(s)
                open_count -= 1
    finally:
        sel.close()
    return {s: tuple(v) for s, v in result.items()}


def close_all(socks) -> None:
    for s in socks:
        try:
            s.close()
        except OSError:
            pass


def summarize_closures(outcome: dict) -> str:
    times = sorted(t for t, _ in outcome.values() if t is not None)
    still = sum(1 for t, _ in outcome.values() if t is None)
    if not times:
        return f"0 of {len(outcome)} closed"
    return (f"{len(times)} of {len(outcome)} closed (first after {times[0]:.2f}s, last after {times[-1]:.2f}s), "
            f"{still} still open")


# --------------------------------------------------------------------------
# HTTP/1.1 by hand
# --------------------------------------------------------------------------

def http_head(method: str, path: str, host: str, headers: dict | None = None, body_len: int | None = None) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}"]
    for k, v in (headers or {}).items():
        lines.append(f"{k}: {v}")
    if body_len is not None:
        lines.append(f"Content-Length: {body_len}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


@dataclass
class HttpResponse:
    status: int
    headers: dict
    body: bytes

    def json(self):
        return json.loads(self.body)


class Incomplete(Exception):
    pass


def read_http_response(sock: socket.socket, timeout: float = 10.0) -> HttpResponse:
    """Reads one HTTP/1.1 response (Content-Length, chunked, or until close)."""
    sock.settimeout(timeout)
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"connection closed before a full response head ({len(buf)} bytes)")
        buf += chunk
    head, rest = buf.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    if "content-length" in headers:
        n = int(headers["content-length"])
        while len(rest) < n:
            chunk = sock.recv(max(65536, n - len(rest)))
            if not chunk:
                raise ConnectionError("connection closed inside the response body")
            rest += chunk
        return HttpResponse(status, headers, rest[:n])
    if "chunked" in headers.get("transfer-encoding", ""):
        body = b""
        while True:
            while b"\r\n" not in rest:
                chunk = sock.recv(65536)
                if not chunk:
                    raise ConnectionError("connection closed inside a chunked body")
                rest += chunk
            size_line, rest = rest.split(b"\r\n", 1)
            size = int(size_line.split(b";")[0], 16)
            while len(rest) < size + 2:
                chunk = sock.recv(65536)
                if not chunk:
                    raise ConnectionError("connection closed inside a chunk")
                rest += chunk
            if size == 0:
                return HttpResponse(status, headers, body)
            body += rest[:size]
            rest = rest[size + 2:]
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return HttpResponse(status, headers, rest)
        rest += chunk


def http_post(addr: tuple[str, int], path: str, body: bytes, headers: dict | None = None,
              timeout: float = 10.0, host: str | None = None) -> HttpResponse:
    """One POST on a fresh connection (Connection: close)."""
    hdrs = {"Content-Type": "application/json", "Connection": "close"}
    hdrs.update(headers or {})
    hdrs = {k: v for k, v in hdrs.items() if v is not None}
    with connect(addr, timeout=timeout) as sock:
        sock.sendall(http_head("POST", path, host or f"{addr[0]}:{addr[1]}", hdrs, len(body)) + body)
        return read_http_response(sock, timeout)


def aduib_request(method: str, data: dict, rid: str = "1") -> dict:
    return {"aduib_rpc": "2.0", "id": rid, "method": method, "data": data}


def jsonrpc_body(method: str, data: dict, rid: int = 1) -> bytes:
    return json.dumps({"jsonrpc": "2.0", "id": rid, "method": method,
                       "params": aduib_request(method, data, str(rid))}).encode()


def jsonrpc_call(server: Server, method: str = ADD, data: dict | None = None, headers: dict | None = None,
                 timeout: float = 10.0, host: str | None = None) -> HttpResponse:
    body = jsonrpc_body(method, {"x": 1, "y": 2} if data is None else data)
    return http_post(server.addr("jsonrpc"), "/aduib_rpc", body, headers, timeout, host)


def rest_call(server: Server, method: str = ADD, data: dict | None = None, headers: dict | None = None,
              timeout: float = 10.0, host: str | None = None) -> HttpResponse:
    body = json.dumps(aduib_request(method, {"x": 1, "y": 2} if data is None else data)).encode()
    return http_post(server.addr("rest"), "/aduib_rpc/v2/rpc", body, headers, timeout, host)


# --------------------------------------------------------------------------
# Thrift (strict binary protocol) by hand, see thrift/aduib_rpc_v2.thrift
# --------------------------------------------------------------------------

T_STOP, T_BOOL, T_BYTE, T_DOUBLE, T_I16, T_I32, T_I64, T_STRING, T_STRUCT, T_MAP, T_SET, T_LIST = \
    0, 2, 3, 4, 6, 8, 10, 11, 12, 13, 14, 15
CALL, REPLY, EXCEPTION, ONEWAY = 1, 2, 3, 4


def tb_str(value) -> bytes:
    data = value.encode() if isinstance(value, str) else value
    return struct.pack(">i", len(data)) + data


def tb_field(ttype: int, fid: int, payload: bytes) -> bytes:
    return struct.pack(">bh", ttype, fid) + payload


def tb_struct(*fields: bytes) -> bytes:
    return b"".join(fields) + b"\x00"


def tb_message(name: str, args_struct: bytes, seq: int = 1, kind: int = CALL) -> bytes:
    return struct.pack(">I", 0x80010000 | kind) + tb_str(name) + struct.pack(">i", seq) + args_struct


def framed(message: bytes) -> bytes:
    return struct.pack(">i", len(message)) + message


def tb_request(method: str, data: dict, rid: str = "1", token: str | None = None) -> bytes:
    """A `Request` struct; `token` goes to metadata.auth (scheme BEARER, credentials)."""
    fields = [
        tb_field(T_STRING, 1, tb_str("2.0")),
        tb_field(T_STRING, 2, tb_str(rid)),
        tb_field(T_STRING, 3, tb_str(method)),
        tb_field(T_STRING, 5, tb_str(json.dumps(data))),
    ]
    if token is not None:
        auth = tb_struct(tb_field(T_I32, 1, struct.pack(">i", 1)), tb_field(T_STRING, 2, tb_str(token)))
        metadata = tb_struct(tb_field(T_I64, 1, struct.pack(">q", int(time.time() * 1000))),
                             tb_field(T_STRUCT, 4, auth))
        fields.append(tb_field(T_STRUCT, 7, metadata))
    return tb_struct(*fields)


def thrift_call_bytes(method: str = ADD, data: dict | None = None, token: str | None = None,
                      service_method: str = "Call", seq: int = 1) -> bytes:
    args = tb_struct(tb_field(T_STRUCT, 1, tb_request(method, {"x": 1, "y": 2} if data is None else data,
                                                      token=token)))
    return tb_message(service_method, args, seq)


class BinaryDecoder:
    """Decodes strict-binary Thrift into Python values: structs as {id: value},
    strings as bytes. Raises Incomplete when the buffer ends early."""

    def __init__(self, buf: bytes):
        self.buf, self.pos = buf, 0

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.buf):
            raise Incomplete()
        out = self.buf[self.pos:self.pos + n]
        self.pos += n
        return out

    def unpack(self, fmt: str):
        return struct.unpack(fmt, self.take(struct.calcsize(fmt)))[0]

    def message(self):
        version = self.unpack(">I")
        if version & 0xffff0000 != 0x80010000:
            raise ValueError(f"not a strict binary message: {version:#x}")
        name = self.take(self.unpack(">i")).decode()
        seq = self.unpack(">i")
        return version & 0xff, name, seq, self.value(T_STRUCT)

    def value(self, ttype: int):
        if ttype == T_BOOL:
            return self.unpack(">b") != 0
        if ttype == T_BYTE:
            return self.unpack(">b")
        if ttype == T_DOUBLE:
            return self.unpack(">d")
        if ttype == T_I16:
            return self.unpack(">h")
        if ttype == T_I32:
            return self.unpack(">i")
        if ttype == T_I64:
            return self.unpack(">q")
        if ttype == T_STRING:
            return self.take(self.unpack(">i"))
        if ttype == T_STRUCT:
            out = {}
            while True:
                ftype = self.unpack(">b")
                if ftype == T_STOP:
                    return out
                fid = self.unpack(">h")
                out[fid] = self.value(ftype)
        if ttype in (T_LIST, T_SET):
            etype, size = self.unpack(">b"), self.unpack(">i")
            return [self.value(etype) for _ in range(size)]
        if ttype == T_MAP:
            ktype, vtype, size = self.unpack(">b"), self.unpack(">b"), self.unpack(">i")
            return [(self.value(ktype), self.value(vtype)) for _ in range(size)]
        raise ValueError(f"unknown thrift type {ttype}")


@dataclass
class ThriftReply:
    kind: int
    name: str
    result: dict  # the result struct, {field id: value}

    @property
    def is_exception(self) -> bool:
        return self.kind == EXCEPTION

    def response(self) -> dict:
        """The `Response` (field 0 of the result struct) of a reply."""
        assert self.kind == REPLY, f"expected a reply, got a TApplicationException: {self.app_error()}"
        return self.result.get(0, {})

    def app_error(self) -> str:
        return (self.result.get(1, b"").decode(errors="replace")) + f" (type {self.result.get(2)})"

    def error_code(self) -> int | None:
        """The Aduib error code of a failed call, from Response.payload.error or a
        TApplicationException carrying the RpcError as JSON."""
        if self.kind == EXCEPTION:
            m = re.search(r'"code"\s*:\s*(\d+)', self.app_error())
            return int(m.group(1)) if m else None
        payload = self.response().get(4, {})
        error = payload.get(2)
        return error.get(1) if error else None

    def result_json(self):
        payload = self.response().get(4, {})
        return json.loads(payload[1]) if 1 in payload else None


def read_thrift_reply(sock: socket.socket, timeout: float = 10.0, is_framed: bool = False) -> ThriftReply:
    sock.settimeout(timeout)
    buf = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"connection closed before a full Thrift reply ({len(buf)} bytes)")
        buf += chunk
        data = buf
        if is_framed:
            if len(buf) < 4 or len(buf) < 4 + struct.unpack(">i", buf[:4])[0]:
                continue
            data = buf[4:]
        try:
            kind, name, _, result = BinaryDecoder(data).message()
            return ThriftReply(kind, name, result)
        except Incomplete:
            continue


def thrift_call(server: Server, method: str = ADD, data: dict | None = None, token: str | None = None,
                timeout: float = 10.0, service_method: str = "Call") -> ThriftReply:
    with connect(server.addr("thrift"), timeout=timeout) as sock:
        sock.sendall(thrift_call_bytes(method, data, token, service_method))
        return read_thrift_reply(sock, timeout)


# --------------------------------------------------------------------------
# Normal calls ("does it still answer?")
# --------------------------------------------------------------------------

def aduib_cli(*args: str, timeout: float = 30) -> subprocess.CompletedProcess:
    return subprocess.run([ADUIB_BIN, *args], capture_output=True, text=True, timeout=timeout)


def cli_call(server: Server, transport: str, method: str = "CaculService.add", data: str = '{"x": 1, "y": 2}',
             headers: tuple = (), timeout_ms: int = 3000) -> subprocess.CompletedProcess:
    args = ["call", "--transport", transport, "--url", server.urls[transport], "--method", method,
            "--data", data, "--timeout-ms", str(timeout_ms)]
    for h in headers:
        args += ["--header", h]
    return aduib_cli(*args, timeout=timeout_ms / 1000 + 10)


def probe(server: Server, transport: str, timeout: float = 3.0) -> tuple[float, str | None]:
    """A normal `CaculService.add(1, 2)` on `transport`: (seconds taken, None when it
    answered 3, else what went wrong). Raw sockets for JSON-RPC, REST and Thrift;
    `aduib call` for gRPC."""
    start = time.monotonic()
    try:
        if transport == "jsonrpc":
            reply = jsonrpc_call(server, timeout=timeout).json()
            ok = reply.get("result", {}).get("result") == 3
            problem = None if ok else f"reply {json.dumps(reply)[:300]}"
        elif transport == "rest":
            reply = rest_call(server, timeout=timeout)
            ok = reply.status == 200 and reply.json().get("result") == 3
            problem = None if ok else f"HTTP {reply.status} {reply.body[:300]!r}"
        elif transport == "thrift":
            reply = thrift_call(server, timeout=timeout)
            ok = reply.kind == REPLY and reply.result_json() == 3
            problem = None if ok else f"reply {reply}"
        else:
            done = cli_call(server, transport, timeout_ms=int(timeout * 1000))
            out = done.stdout.strip()
            ok = done.returncode == 0 and out and json.loads(out.splitlines()[-1]).get("result") == 3
            problem = None if ok else f"aduib call exit {done.returncode}: {out[:200]} {done.stderr.strip()[:300]}"
    except (OSError, ValueError, subprocess.TimeoutExpired) as error:
        problem = f"{type(error).__name__}: {error}"
    return time.monotonic() - start, problem


def assert_answers(server: Server, transports=TRANSPORTS, within: float = 1.0, context: str = "") -> None:
    """Every transport answers a normal call correctly within `within` seconds."""
    server.assert_alive(context)
    for transport in transports:
        elapsed, problem = probe(server, transport, timeout=max(3.0, within * 3))
        where = f" ({context})" if context else ""
        if problem is not None:
            wait_until(lambda: not server.alive(), 0.5)
            if not server.alive():
                problem += f"; {server.death()}"
        assert problem is None, f"normal {transport} call failed{where} after {elapsed:.2f}s: {problem}"
        assert elapsed <= within, f"normal {transport} call took {elapsed:.2f}s{where}, more than {within}s"
