"""The real aduib-rpc 2.0.1 peer serving the demo CaculService on one transport.

Run by the interop tests: ``python peer_server.py --transport jsonrpc --port N``.
The service mirrors our demo service (add, mul, sum, echo, countdown, slow,
fail),
so one client exercises both servers the same way.
"""
import argparse
import asyncio
import logging

from aduib_rpc.discover.entities import HealthStatus, ServiceCapabilities, ServiceInstance
from aduib_rpc.discover.service.aduibrpc_service_factory import AduibServiceFactory
from aduib_rpc.server.rpc_execution import set_service_info
from aduib_rpc.server.tasks.task_manager import InMemoryTaskManager
from aduib_rpc.utils.constant import AIProtocols, TransportSchemes

parser = argparse.ArgumentParser()
parser.add_argument("--transport", required=True, choices=["jsonrpc", "http", "grpc", "thrift"])
parser.add_argument("--port", type=int, required=True)
parser.add_argument("--tls-dir", help="serve TLS with server.pem, server.key (and ca.pem) from here")
parser.add_argument("--mtls", action="store_true", help="with --tls-dir: require a client certificate")
args = parser.parse_args()
logging.basicConfig(level=logging.WARNING)

scheme = TransportSchemes(args.transport)
instance = ServiceInstance.create(
    service_name="CaculService",
    host="127.0.0.1",
    port=args.port,
    scheme=scheme,
    protocol=AIProtocols.AduibRpc,
    weight=1,
    health=HealthStatus.HEALTHY,
    capabilities=ServiceCapabilities(streaming=True, bidirectional=True),
)
# The peer's @service decorator needs the instance registered first.
set_service_info(instance)

from aduib_rpc.server.rpc_execution.service_call import function, service  # noqa: E402


@service("CaculService")
class CaculService:
    def add(self, x, y):
        return x + y

    def mul(self, x, y):
        return x * y

    def sum(self, x=0, stream_items=None):
        return x + sum(item.get("x", 0) for item in stream_items or [])

    def echo(self, **data) -> dict:
        return data

    @function(server_stream=True)
    async def countdown(self, start: int, interval_ms: int = 50):
        for n in range(start, -1, -1):
            await asyncio.sleep(interval_ms / 1000)
            yield {"n": n}

    async def slow(self, x: float, delay_ms: int = 500) -> dict:
        await asyncio.sleep(delay_ms / 1000)
        return {"doubled": x * 2}

    def fail(self) -> None:
        raise RuntimeError("Oops!")


def server_tls():
    """The peer's own TLS settings (security/mtls.py), when asked for."""
    if not args.tls_dir:
        return None
    import ssl
    from pathlib import Path

    from aduib_rpc.security.mtls import ServerTlsConfig

    folder = Path(args.tls_dir)
    return ServerTlsConfig(
        server_cert_path=folder / "server.pem",
        server_key_path=folder / "server.key",
        ca_cert_path=folder / "ca.pem",
        client_cert_verification=ssl.CERT_REQUIRED if args.mtls else ssl.CERT_NONE,
    )


async def main() -> None:
    factory = AduibServiceFactory(
        service_instance=instance, task_manager=InMemoryTaskManager(), server_tls=server_tls()
    )
    print(f"serving {args.transport} on 127.0.0.1:{args.port}", flush=True)
    if scheme == TransportSchemes.THRIFT:
        await factory.run_thrift_server()
    else:
        await factory.run_server()


asyncio.run(main())
