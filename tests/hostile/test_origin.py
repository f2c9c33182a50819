"""Browsers and DNS rebinding, and the server token.

A web page can make a browser POST to a loopback server: a "simple" request
(text/plain, no preflight) with a foreign Origin, or, after DNS rebinding, a
request whose Host is the attacker's name. The HTTP listeners must refuse
both unless the name or origin is allowed by --allow-host / --allow-origin.
With --auth-token-env the server requires that token on all four transports:
missing → Aduib error 3000, wrong → 3001, right → the call runs.
"""
import json
import secrets

import pytest

from conftest import REPLY, cli_call, jsonrpc_call, rest_call, start_server, thrift_call

EVIL_ORIGIN = "http://evil.example"
EVIL_HOST = "evil.example"
HTTP = ["jsonrpc", "rest"]


@pytest.fixture(scope="module")
def server():
    srv = start_server()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def permissive():
    srv = start_server("--allow-host", EVIL_HOST, "--allow-origin", EVIL_ORIGIN)
    yield srv
    srv.stop()


def call(server, transport, headers=None, host=None):
    fn = jsonrpc_call if transport == "jsonrpc" else rest_call
    return fn(server, headers=headers, host=host)


def result_of(transport, reply):
    """The call's result (3 for add(1, 2)) or None."""
    try:
        value = reply.json()
    except ValueError:
        return None
    if transport == "jsonrpc":
        return (value.get("result") or {}).get("result") if isinstance(value, dict) else None
    return value.get("result") if reply.status == 200 and isinstance(value, dict) else None


def has_aduib_error(reply):
    try:
        value = reply.json()
    except ValueError:
        return False
    return isinstance(value, dict) and isinstance((value.get("error") or {}).get("code"), int)


@pytest.mark.parametrize("transport", HTTP)
def test_cross_origin_text_plain_post_is_refused(server, transport):
    """Defect: a cross-origin `text/plain` POST (which a browser sends without a
    CORS preflight) from http://evil.example runs the call: the body is parsed
    as JSON whatever its Content-Type and the Origin is not checked."""
    reply = call(server, transport, {"Content-Type": "text/plain", "Origin": EVIL_ORIGIN})
    assert reply.status in (403, 415), (
        f"{transport}: text/plain POST with Origin {EVIL_ORIGIN} answered HTTP {reply.status} "
        f"(result {result_of(transport, reply)!r}), expected 403 or 415")
    if reply.status == 403:
        assert has_aduib_error(reply), f"{transport}: 403 without an Aduib error body: {reply.body[:200]!r}"


@pytest.mark.parametrize("transport", HTTP)
def test_foreign_origin_is_refused_even_with_a_json_content_type(server, transport):
    """Defect: an Origin outside the allow-list is not checked at all; a page
    on http://evil.example that gets past CORS (or a non-browser client that
    forwards its Origin) is served. It must get 403 with an Aduib error."""
    reply = call(server, transport, {"Origin": EVIL_ORIGIN})
    assert reply.status == 403 and has_aduib_error(reply), (
        f"{transport}: application/json POST with Origin {EVIL_ORIGIN} answered HTTP {reply.status}: "
        f"{reply.body[:200]!r}")


@pytest.mark.parametrize("transport", HTTP)
def test_foreign_host_is_refused(server, transport):
    """Defect: DNS rebinding: a request whose Host is evil.example (the
    attacker's name, now resolving to 127.0.0.1) is served."""
    reply = call(server, transport, host=EVIL_HOST)
    assert reply.status in (403, 421), (
        f"{transport}: POST with Host {EVIL_HOST} answered HTTP {reply.status} "
        f"(result {result_of(transport, reply)!r}), expected 403 or 421")


@pytest.mark.parametrize("transport", HTTP)
def test_allow_flags_let_the_named_host_and_origin_in(permissive, transport):
    """--allow-host evil.example and --allow-origin http://evil.example admit
    exactly what they name."""
    by_host = call(permissive, transport, host=f"{EVIL_HOST}:{permissive.port(transport)}")
    assert result_of(transport, by_host) == 3, (
        f"{transport}: Host {EVIL_HOST} with --allow-host {EVIL_HOST}: HTTP {by_host.status} {by_host.body[:200]!r}")
    by_origin = call(permissive, transport, {"Origin": EVIL_ORIGIN})
    assert result_of(transport, by_origin) == 3, (
        f"{transport}: Origin {EVIL_ORIGIN} with --allow-origin: HTTP {by_origin.status} {by_origin.body[:200]!r}")
    other = call(permissive, transport, {"Origin": "http://other.example"})
    assert other.status == 403, (
        f"{transport}: Origin http://other.example (not allowed) answered HTTP {other.status}")


@pytest.mark.parametrize("transport", HTTP)
@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::1]"])
def test_loopback_calls_still_work(server, transport, host):
    """Regression guard: a normal loopback call (Content-Type: application/json,
    Host a loopback name or address with the port, no Origin) is served."""
    reply = call(server, transport, host=f"{host}:{server.port(transport)}")
    assert result_of(transport, reply) == 3, (
        f"{transport}: Host {host} answered HTTP {reply.status}: {reply.body[:200]!r}")


# ---------------------------------------------------------------------------
# --auth-token-env
# ---------------------------------------------------------------------------

TOKEN_ENV = "ADUIB_TEST_TOKEN"


@pytest.fixture(scope="module")
def token():
    return secrets.token_hex(16)


@pytest.fixture(scope="module")
def guarded(token):
    srv = start_server("--auth-token-env", TOKEN_ENV, env={TOKEN_ENV: token})
    yield srv
    srv.stop()


def http_outcome(transport, reply):
    """('ok', result) or ('error', code) of a JSON-RPC or REST reply."""
    try:
        value = reply.json()
    except ValueError:
        return ("http", reply.status)
    if transport == "jsonrpc":
        if "error" in value:
            return ("error", value["error"].get("code"))
        inner = value.get("result") or {}
        if inner.get("status") == "error":
            return ("error", (inner.get("error") or {}).get("code"))
        return ("ok", inner.get("result"))
    if isinstance(value.get("error"), dict):
        return ("error", value["error"].get("code"))
    return ("ok", value.get("result"))


def outcome(server, transport, credential):
    """Calls add(1, 2) with `credential` (None: no token) and reports
    ('ok', result) or ('error', Aduib code)."""
    if transport in HTTP:
        headers = {"Authorization": f"Bearer {credential}"} if credential is not None else None
        return http_outcome(transport, call(server, transport, headers))
    if transport == "grpc":
        headers = (f"authorization: Bearer {credential}",) if credential is not None else ()
        done = cli_call(server, "grpc", headers=headers)
        text = done.stdout.strip() + " " + done.stderr.strip()
        if done.stdout.strip():
            value = json.loads(done.stdout.strip().splitlines()[-1])
            if value.get("status") == "success":
                return ("ok", value.get("result"))
            if isinstance(value.get("error"), dict):
                return ("error", value["error"].get("code"))
        for code, name in ((3000, "UNAUTHENTICATED"), (3001, "INVALID_TOKEN")):
            if str(code) in text or name in text:
                return ("error", code)
        return ("failed", text[:300])
    reply = thrift_call(server, token=credential)
    if reply.kind == REPLY and reply.error_code() is None:
        return ("ok", reply.result_json())
    return ("error", reply.error_code())


@pytest.mark.parametrize("transport", ["jsonrpc", "rest", "grpc", "thrift"])
def test_server_token_is_required(guarded, token, transport):
    """Defect: there is no way to require a token: anyone who can reach the
    port (any local user, any page that gets past the origin checks) can call.
    With --auth-token-env the token is checked on every transport (HTTP
    `Authorization: Bearer`, gRPC metadata `authorization`, Thrift
    metadata.auth.credentials): missing → 3000, wrong → 3001, right → success."""
    wrong = secrets.token_hex(16)
    seen = {
        "missing": outcome(guarded, transport, None),
        "wrong": outcome(guarded, transport, wrong),
        "right": outcome(guarded, transport, token),
    }
    expected = {"missing": ("error", 3000), "wrong": ("error", 3001), "right": ("ok", 3)}
    assert seen == expected, f"{transport} with --auth-token-env: got {seen}, expected {expected}"
