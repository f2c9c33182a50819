"""The real Python peer serving TLS (its own `ServerTlsConfig`), and the
certificates for it: a CA, a server certificate for `localhost` and a client
certificate, as PEM files in one folder. For the interop and e2e suites."""
from __future__ import annotations

import contextlib
import datetime
import subprocess
import sys
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from net import free_port, wait_for_port

PEER_SERVER = Path(__file__).resolve().parents[1] / "interop" / "peer_server.py"


def _certificate(subject: str, issuer_name, issuer_key, public_key, *, ca=False, dns=None):
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
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(dns)]), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def write_pki(folder: Path) -> Path:
    """ca.pem, server.pem/.key (for localhost) and client.pem/.key in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
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
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
    return folder


@contextlib.contextmanager
def running_tls_peer(transport: str, pki: Path, mtls: bool = True):
    """The peer on `transport` (its names: jsonrpc, http, grpc) over TLS,
    requiring a client certificate when `mtls`; yields its port."""
    port = free_port()
    args = [sys.executable, str(PEER_SERVER), "--transport", transport, "--port", str(port), "--tls-dir", str(pki)]
    proc = subprocess.Popen(args + (["--mtls"] if mtls else []), stdout=subprocess.DEVNULL)
    try:
        wait_for_port(port, proc, what="the TLS peer")
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
