"""Our client (the `aduib` CLI) against the real Python peer server."""
import pytest

from conftest import aduib, json_lines

TRANSPORTS = ["jsonrpc", "rest"]


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_add(peer_servers, transport):
    out = aduib("call", "--transport", transport, "--url", peer_servers[transport],
                "--method", "rpc.v2/CaculService/CaculService.add", "--data", '{"x": 1, "y": 2}',
                "--id", "a1")
    assert out.returncode == 0, out.stderr
    [response] = json_lines(out.stdout)
    assert response["status"] == "success"
    assert response["result"] == 3
    assert response["id"] == "a1"


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_countdown_stream(peer_servers, transport):
    out = aduib("stream", "--transport", transport, "--url", peer_servers[transport],
                "--method", "CaculService.countdown", "--data", '{"start": 3}')
    assert out.returncode == 0, out.stderr
    responses = json_lines(out.stdout)
    assert [r["result"] for r in responses] == [{"n": 3}, {"n": 2}, {"n": 1}, {"n": 0}]
    assert all(r["status"] == "success" for r in responses)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_fail_is_an_error_response(peer_servers, transport):
    # The peer sends this as a JSON-RPC `error` (JSON-RPC) or HTTP 500 with an
    # Aduib body (REST); both must read as one error response, exit code 1.
    out = aduib("call", "--transport", transport, "--url", peer_servers[transport],
                "--method", "CaculService.fail")
    assert out.returncode == 1, out.stderr
    [response] = json_lines(out.stdout)
    assert response["status"] == "error"
    assert response["error"]["code"] == 5000
    assert response["error"]["name"] == "INTERNAL_ERROR"


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_health(peer_servers, transport):
    out = aduib("health", "--transport", transport, "--url", peer_servers[transport],
                "--service", "CaculService")
    assert out.returncode == 0, out.stderr
    [response] = json_lines(out.stdout)
    assert response["result"]["status"] == "healthy"
    assert response["result"]["services"] == {"CaculService": "healthy"}


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_unknown_function_is_an_error_response(peer_servers, transport):
    out = aduib("call", "--transport", transport, "--url", peer_servers[transport],
                "--method", "CaculService.nope")
    assert out.returncode == 1, out.stderr
    [response] = json_lines(out.stdout)
    assert response["status"] == "error"
