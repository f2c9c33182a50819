"""Our client (the `aduib` CLI) against the real Python peer server."""
import pytest

from conftest import aduib, json_lines

TRANSPORTS = ["jsonrpc", "rest", "grpc", "thrift"]


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


@pytest.mark.parametrize("transport", ["grpc", "thrift"])
def test_client_stream(peer_servers, transport):
    # The peer folds later messages into `stream_items` of the first.
    out = aduib("client-stream", "--transport", transport, "--url", peer_servers[transport],
                "--method", "CaculService.sum", stdin='{"x": 1}\n{"x": 2}\n{"x": 4}\n')
    assert out.returncode == 0, out.stderr
    [response] = json_lines(out.stdout)
    assert response["result"] == 7


def test_bidi_over_grpc(peer_servers):
    out = aduib("bidi", "--transport", "grpc", "--url", peer_servers["grpc"],
                "--method", "CaculService.countdown", stdin='{"start": 1}\n')
    assert out.returncode == 0, out.stderr
    assert [r["result"] for r in json_lines(out.stdout)] == [{"n": 1}, {"n": 0}]


def test_grpc_list_uses_v1alpha_reflection_of_the_peer(peer_servers):
    out = aduib("grpc", "list", peer_servers["grpc"])
    assert out.returncode == 0, out.stderr
    services = out.stdout.split()
    for name in ("aduib.rpc.v2.AduibRpcService", "aduib.rpc.v2.HealthService", "aduib.rpc.v2.TaskService"):
        assert name in services


def test_grpc_call_any_method_of_the_peer_by_reflection(peer_servers):
    out = aduib("grpc", "call", peer_servers["grpc"], "aduib.rpc.v2.HealthService/Check",
                "--data", '{"service": "CaculService"}')
    assert out.returncode == 0, out.stderr
    [reply] = json_lines(out.stdout)
    assert reply["status"] == "HEALTH_STATUS_HEALTHY"
