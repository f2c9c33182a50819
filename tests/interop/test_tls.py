"""Our client calls the real peer over TLS and mutual TLS.

The peer serves TLS itself (its `ServerTlsConfig`: uvicorn for JSON-RPC and
REST, grpcio's secure port for gRPC), with certificates made for the test: a
CA, a server certificate for `localhost`, and a client certificate.
"""
import pytest
from tls_peer import running_tls_peer, write_pki

from conftest import aduib, json_lines

ADD = ["--method", "CaculService.add", "--data", '{"x": 1, "y": 2}', "--timeout-ms", "10000"]


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return write_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module", params=[("jsonrpc", "jsonrpc"), ("rest", "http"), ("grpc", "grpc")],
                ids=["jsonrpc", "rest", "grpc"])
def peer_mtls(request, pki):
    """The peer on one transport, requiring a client certificate from the CA;
    yields (our transport name, URL by the name on its certificate)."""
    ours, theirs = request.param
    with running_tls_peer(theirs, pki) as port:
        yield ours, (f"localhost:{port}" if ours == "grpc" else f"https://localhost:{port}")


def test_our_client_calls_the_peer_over_mutual_tls(peer_mtls, pki):
    transport, url = peer_mtls
    out = aduib("call", "--transport", transport, "--url", url, *ADD,
                "--cacert", str(pki / "ca.pem"),
                "--cert", str(pki / "client.pem"), "--key", str(pki / "client.key"))
    assert out.returncode == 0, out.stderr
    assert json_lines(out.stdout)[0]["result"] == 3


def test_without_the_client_certificate_the_peer_refuses_and_we_say_so(peer_mtls, pki):
    transport, url = peer_mtls
    out = aduib("call", "--transport", transport, "--url", url, *ADD,
                "--cacert", str(pki / "ca.pem"))
    assert out.returncode == 2, out
    assert out.stderr.strip(), "a one-line cause"


def test_a_server_certificate_from_an_unknown_ca_is_refused_unless_insecure(peer_mtls, pki):
    transport, url = peer_mtls
    client = ["--cert", str(pki / "client.pem"), "--key", str(pki / "client.key")]
    out = aduib("call", "--transport", transport, "--url", url, *ADD, "--tls", *client)
    assert out.returncode == 2, out
    assert "certificate" in out.stderr.lower(), out.stderr
    out = aduib("call", "--transport", transport, "--url", url, *ADD, "--insecure", *client)
    assert out.returncode == 0, out.stderr
    assert json_lines(out.stdout)[0]["result"] == 3
