"""Discovery against a real Nacos (rnacos) and the real Python peer.

The peer's servers register themselves through its own NacosServiceRegistry
(nacos-sdk-python over Nacos gRPC); ours through the HTTP open API. Each side
finds and calls the other.
"""
import math
import signal
import subprocess
import sys
import time

import pytest

from conftest import ADUIB_BIN, HERE, aduib, free_port, json_lines

WEIGHTS = (1, 2, 3)


def peer_instance(nacos: str, weight: int) -> tuple[subprocess.Popen, int]:
    """A peer server registered with `weight`; returns once it is registered."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, str(HERE / "nacos_peer.py"), "serve", "--nacos", nacos, "--port", str(port),
         "--weight", str(weight)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    line = proc.stdout.readline()
    assert line.strip() == f"registered {port}", line
    return proc, port


@pytest.fixture
def peers(rnacos):
    procs = [peer_instance(rnacos, w) for w in WEIGHTS]
    try:
        yield rnacos, procs
    finally:
        for proc, _ in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                proc.wait(timeout=10)


def executions(port: int) -> int:
    """How many `add` calls the peer instance on `port` ran."""
    out = aduib("--no-history", "call", "--transport", "jsonrpc", "--url", f"http://127.0.0.1:{port}",
                "--method", "CaculService.count")
    assert out.returncode == 0, out.stderr
    return json_lines(out.stdout)[0]["result"]


def balanced(nacos: str, strategy: str, calls: int, *extra: str) -> subprocess.CompletedProcess:
    return aduib("--no-history", "call", "--nacos", nacos, "--service", "CaculService",
                 "--method", "CaculService.add", "--data", '{"x": 1, "y": 2}', "--lb", strategy,
                 "--repeat", str(calls), *extra, timeout=180)


def test_the_peers_instances_are_listed_with_their_weights_and_metadata(peers):
    nacos, procs = peers
    out = aduib("registry", "instances", "--nacos", nacos, "--service", "CaculService", "--json")
    assert out.returncode == 0, out.stderr
    listed = {i["port"]: i for i in json_lines(out.stdout)}
    assert sorted(listed) == sorted(port for _, port in procs)
    for (_, port), weight in zip(procs, WEIGHTS):
        instance = listed[port]
        assert instance["weight"] == weight
        assert instance["healthy"] and instance["enabled"]
        assert instance["metadata"]["protocol"] == "AduibRpc"
        assert instance["metadata"]["service_name"] == "CaculService"
        assert instance["aduib"] == {"transport": "jsonrpc", "url": f"http://127.0.0.1:{port}",
                                     "service_name": "CaculService", "version": instance["metadata"]["version"]}


@pytest.mark.parametrize("strategy, weighted, exact", [
    ("weighted_round_robin", True, True),
    ("round_robin", False, True),
    ("weighted_random", True, False),
    ("random", False, False),
    ("least_requests", False, False),
    ("consistent_hash", True, False),
])
def test_600_balanced_calls_land_by_weight_or_evenly(peers, strategy, weighted, exact):
    nacos, procs = peers
    calls = 600
    before = [executions(port) for _, port in procs]
    out = balanced(nacos, strategy, calls)
    assert out.returncode == 0, out.stderr
    assert all(r["result"] == 3 for r in json_lines(out.stdout))
    landed = [executions(port) - b for (_, port), b in zip(procs, before)]
    assert sum(landed) == calls, landed
    total = sum(WEIGHTS)
    for got, weight in zip(landed, WEIGHTS):
        share = weight / total if weighted else 1 / len(WEIGHTS)
        expected = share * calls
        # Round robins are exact; the random ones within 4.5 standard deviations.
        tolerance = 0 if exact else 4.5 * math.sqrt(calls * share * (1 - share))
        assert abs(got - expected) <= tolerance, f"{strategy}: {landed}"


def test_a_killed_instance_costs_no_call_and_nothing_runs_twice(peers):
    nacos, procs = peers
    victim, victim_port = procs[0]
    victim.kill()
    victim.wait(timeout=10)
    live = [port for _, port in procs[1:]]
    before = sum(executions(port) for port in live)
    # Idempotent: retried elsewhere whatever happened.
    out = balanced(nacos, "round_robin", 60, "--idempotent")
    assert out.returncode == 0, out.stderr
    assert len(json_lines(out.stdout)) == 60
    # Not idempotent: a refused connection never reached a server, so it moves on;
    # every call ran exactly once (the live instances' counters prove it).
    out = balanced(nacos, "round_robin", 60)
    assert out.returncode == 0, out.stderr
    assert len(json_lines(out.stdout)) == 60
    assert f":{victim_port}" not in "".join(
        line for line in out.stderr.splitlines() if "answered by" in line)
    assert sum(executions(port) for port in live) - before == 120


def test_the_peers_client_discovers_our_server_and_calls_it(rnacos):
    ours = subprocess.Popen(
        [ADUIB_BIN, "--no-history", "serve", "--jsonrpc", "127.0.0.1:0", "--register", f"nacos://{rnacos}"],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        url = ours.stdout.readline().split()[1]
        port = int(url.rsplit(":", 1)[1])
        out = subprocess.run(
            [sys.executable, str(HERE / "nacos_peer.py"), "call", "--nacos", rnacos, "--service", "CaculService",
             "--transport", "jsonrpc"],
            capture_output=True, text=True, timeout=60,
        )
        assert out.returncode == 0, out.stderr
        answer = json_lines(out.stdout)[0]
        assert answer["result"] == 3
        assert answer["port"] == port
    finally:
        ours.send_signal(signal.SIGTERM)
        assert ours.wait(timeout=10) == 0


def test_an_unreachable_registry_is_a_clear_error_in_time():
    port = free_port()
    started = time.monotonic()
    out = aduib("--no-history", "call", "--nacos", f"127.0.0.1:{port}", "--service", "CaculService",
                "--method", "CaculService.add")
    assert out.returncode == 2
    assert "cannot reach" in out.stderr or "registry" in out.stderr, out.stderr
    assert time.monotonic() - started < 15
