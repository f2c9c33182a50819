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


# --- Long-running tasks (aduib task) against the peer -----------------------
# The peer's tasks work over REST and JSON-RPC; its gRPC Submit always fails
# and its Thrift tasks end canceled (aduib-protocol.md §7). Ours must get the
# result where the peer works, and a clear answer, never a hang, where not.

@pytest.mark.parametrize("transport", ["jsonrpc", "rest"])
def test_task_submit_watch_result_against_the_peer(peer_servers, transport, tmp_path):
    env = {"ADUIB_DATA_DIR": str(tmp_path)}
    out = aduib("task", "submit", "--transport", transport, "--url", peer_servers[transport],
                "--method", "CaculService.slow", "--data", '{"x": 21, "delay_ms": 300}',
                "--watch", env=env)
    assert out.returncode == 0, out.stderr
    events = json_lines(out.stdout)
    assert events[0]["event"] == "submitted"
    assert events[-1]["status"] == "succeeded", events
    assert events[-1]["result"] == {"doubled": 42}
    task_id = events[-1]["task_id"]
    out = aduib("task", "result", task_id, env=env)
    assert out.returncode == 0, out.stderr
    assert json_lines(out.stdout) == [{"doubled": 42}]
    # The peer cannot cancel (always `canceled: false`): said so, exit 1.
    out = aduib("task", "cancel", task_id, env=env)
    assert out.returncode == 1, out.stderr
    assert json_lines(out.stdout)[0]["canceled"] is False


@pytest.mark.parametrize("transport", ["jsonrpc", "rest"])
def test_task_unknown_id_against_the_peer(peer_servers, transport, tmp_path):
    out = aduib("task", "status", "no-such-task", "--transport", transport,
                "--url", peer_servers[transport], env={"ADUIB_DATA_DIR": str(tmp_path)})
    assert out.returncode in (1, 2), out.stderr
    assert "no-such-task" in out.stderr or "4000" in out.stderr, out.stderr


def test_task_submit_over_the_peers_broken_grpc_is_a_clear_error(peer_servers, tmp_path):
    out = aduib("task", "submit", "--transport", "grpc", "--url", peer_servers["grpc"],
                "--method", "CaculService.slow", "--data", '{"x": 1, "delay_ms": 10}',
                env={"ADUIB_DATA_DIR": str(tmp_path)}, timeout=20)
    # The peer's own defect, passed on as its answer: exit 1, its message.
    assert out.returncode == 1, out.stderr
    assert "2001" in out.stderr and "timeout_ms" in out.stderr, out.stderr


def test_task_over_the_peers_thrift_ends_and_never_hangs(peer_servers, tmp_path):
    out = aduib("task", "submit", "--transport", "thrift", "--url", peer_servers["thrift"],
                "--method", "CaculService.slow", "--data", '{"x": 1, "delay_ms": 10}',
                "--watch", env={"ADUIB_DATA_DIR": str(tmp_path)}, timeout=30)
    # The peer ends its Thrift tasks as canceled: reported, exit 1.
    assert out.returncode == 1, out.stderr
    events = json_lines(out.stdout)
    assert events[-1]["status"] == "canceled", events
    assert events[-1]["error"]["code"] == 499
