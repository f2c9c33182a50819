"""Our client calls the real peer over TLS and mutual TLS.

The peer serves TLS itself (its `ServerTlsConfig`: uvicorn for JSON-RPC and
REST, grpcio's secure port for gRPC), with certificates made for the test: a
CA, a server certificate for `localhost`, and a client certificate.
"""
import datetime
import subprocess
import sys

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from conftest import HERE, aduib, free_port, json_lines, wait_for_port

ADD = ["--method", "CaculService.add", "--data", '{"x": 1, "y": 2}', "--timeout-ms", "10000"]


def _certificate(subject, issuer_name, issuer_key, public_key, *, ca=False, dns=None):
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .issuer_name(issuer_name)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if dns:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(dns)]), critical=False
        )
    return builder.sign(issuer_key, hashes.SHA256())


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    """ca.pem, server.pem/key (localhost) and client.pem/key in one folder."""
    folder = tmp_path_factory.mktemp("pki")
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "aduib test CA")])
    ca = _certificate("aduib test CA", ca_name, ca_key, ca_key.public_key(), ca=True)
    (folder / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    for name, dns in (("server", "localhost"), ("client", None)):
        key = ec.generate_private_key(ec.SECP256R1())
        cert = _certificate(name, ca_name, ca_key, key.public_key(), dns=dns)
        (folder / f"{name}.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        (folder / f"{name}.key").write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
    return folder


@pytest.fixture(scope="module", params=[("jsonrpc", "jsonrpc"), ("rest", "http"), ("grpc", "grpc")],
                ids=["jsonrpc", "rest", "grpc"])
def peer_mtls(request, pki):
    """The peer on one transport, requiring a client certificate from the CA;
    yields (our transport name, URL by the name on its certificate)."""
    ours, theirs = request.param
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, str(HERE / "peer_server.py"), "--transport", theirs, "--port", str(port),
         "--tls-dir", str(pki), "--mtls"],
        stdout=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, proc)
        url = f"localhost:{port}" if ours == "grpc" else f"https://localhost:{port}"
        yield ours, url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


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
