"""The real aduib-rpc 2.0.1 peer, registered in and discovered through Nacos.

    python nacos_peer.py serve --nacos 127.0.0.1:8848 --port P --weight W [--transport jsonrpc|http|grpc]
    python nacos_peer.py call  --nacos 127.0.0.1:8848 --service CaculService [--transport T]
                               [--method add] [--data '{"x": 1, "y": 2}'] [--wait 10] [--policy wrr|random]

`serve` hosts CaculService (add, whoami -> its port, count -> how many adds this
process ran), registers itself through the peer's NacosServiceRegistry, prints
`registered <port>` and serves until SIGTERM (exit 0). `call` finds the service
through NacosServiceRegistry + RegistryServiceResolver and prints one JSON line
{"result": ..., "host": ..., "port": ..., "scheme": ...}.

Both need Nacos's gRPC port at HTTP port + 1000 (nacos-sdk-python hard-codes it).
The group is always DEFAULT_GROUP (the peer ignores any other on register).
"""
import argparse
import asyncio
import atexit
import json
import logging
import os
import shutil
import signal
import socket
import sys
import tempfile
import uuid

# nacos-sdk-python answers discovery from a disk cache under ~/nacos/cache (it
# can list dead instances from an earlier run) and logs under ~/logs: give every
# process its own fresh HOME, before anything reads it.
_home = tempfile.mkdtemp(prefix="nacos-peer-")
os.environ["HOME"] = _home
atexit.register(shutil.rmtree, _home, True)

from aduib_rpc.discover.entities import HealthStatus, ServiceInstance  # noqa: E402
from aduib_rpc.discover.registry.nacos.nacos import NacosServiceRegistry  # noqa: E402
from aduib_rpc.utils.constant import AIProtocols, LoadBalancePolicy, TransportSchemes  # noqa: E402


def serve(args) -> None:
    from aduib_rpc.discover.service.aduibrpc_service_factory import AduibServiceFactory
    from aduib_rpc.server.rpc_execution import set_service_info
    from aduib_rpc.server.tasks.task_manager import InMemoryTaskManager

    instance = ServiceInstance.create(
        service_name=args.service, host="127.0.0.1", port=args.port, scheme=TransportSchemes(args.transport),
        protocol=AIProtocols.AduibRpc, weight=args.weight, health=HealthStatus.HEALTHY,
    )
    # The peer's @service decorator needs the instance set first.
    set_service_info(instance)
    from aduib_rpc.server.rpc_execution.service_call import service

    hits = 0

    @service("CaculService")
    class CaculService:
        def add(self, x, y):
            nonlocal hits
            hits += 1
            return x + y

        def whoami(self):
            return args.port

        def count(self):
            return hits

    async def main() -> None:
        factory = AduibServiceFactory(service_instance=instance, task_manager=InMemoryTaskManager())
        server = asyncio.create_task(factory.run_server())
        # Register only once the port accepts connections, so that a client
        # started on `registered` can call at once.
        while True:
            if server.done():
                await server  # raises the server's startup error
                sys.exit(f"server on {args.port} stopped before registering")
            try:
                socket.create_connection(("127.0.0.1", args.port), timeout=0.2).close()
                break
            except OSError:
                await asyncio.sleep(0.05)
        # uvicorn logs each request to stdout, which is for our `registered` line.
        logging.getLogger("uvicorn.access").disabled = True
        registry = NacosServiceRegistry(server_addresses=args.nacos, namespace=args.namespace)
        await registry.register_service(instance)
        print(f"registered {args.port}", flush=True)
        try:
            await server
        finally:
            # The SDK's ephemeral instance goes when its gRPC link drops anyway;
            # deregistering makes that immediate.
            try:
                await asyncio.wait_for(registry.unregister_service(instance), 3)
            except Exception:
                pass

    # uvicorn takes SIGTERM while serving and, once shut down, raises it again
    # with the previous handler: make that one a no-op so we exit cleanly (0).
    signal.signal(signal.SIGTERM, lambda *_: None)
    asyncio.run(main())


def client_url(inst: ServiceInstance) -> str:
    # The peer's own ResolvedService.url is `jsonrpc://host:port` for JSON-RPC
    # instances, which its client rejects ("unsupported protocol"): build it.
    if inst.scheme == TransportSchemes.GRPC:
        return f"{inst.host}:{inst.port}"
    if inst.scheme == TransportSchemes.THRIFT:
        return f"thrift://{inst.host}:{inst.port}"
    return f"http://{inst.host}:{inst.port}"


async def call(args) -> dict:
    from aduib_rpc.client.client_factory import AduibRpcClientFactory
    from aduib_rpc.client.service_resolver import RegistryServiceResolver
    from aduib_rpc.discover.load_balance import LoadBalancerFactory
    from aduib_rpc.protocol.v2 import AduibRpcRequest

    policy = {"wrr": LoadBalancePolicy.WeightedRoundRobin, "random": LoadBalancePolicy.Random}[args.policy]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + args.wait
    while True:
        # A new registry per try: the peer caches a service's first answer
        # (even an empty one) forever in its registry object.
        registry = NacosServiceRegistry(server_addresses=args.nacos, namespace=args.namespace, policy=policy)
        resolver = RegistryServiceResolver([registry], policy=policy)
        # The resolver does `policy or WeightedRoundRobin`, and Random == 0 is
        # falsy, so it silently uses WRR: set the balancer ourselves.
        resolver._lb = LoadBalancerFactory.get_load_balancer(policy)
        resolved = await resolver.resolve(args.service, None)
        if resolved or loop.time() >= deadline:
            break
        await asyncio.sleep(0.5)
    if resolved is None:
        sys.exit(f"no usable instance of {args.service} in Nacos {args.nacos}")
    inst = resolved.instance
    if args.transport and inst.scheme != TransportSchemes(args.transport):
        sys.exit(f"{args.service} resolved to a {inst.scheme.value} instance, not {args.transport}")
    client = AduibRpcClientFactory.create_client(client_url(inst), server_preferred=inst.scheme)
    try:
        # The method names the @service name, not the Nacos name (routing).
        request = AduibRpcRequest(id=str(uuid.uuid4()), method=f"rpc.v2/CaculService/CaculService.{args.method}",
                                  data=json.loads(args.data))
        response = await client.call(request)
    finally:
        if hasattr(client, "close"):
            await client.close()
    if response.status != "success":
        sys.exit(f"call failed: {response.error}")
    return {"result": response.result, "host": inst.host, "port": inst.port, "scheme": inst.scheme.value}


def main() -> None:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("serve", "call"):
        p = sub.add_parser(name)
        p.add_argument("--nacos", required=True, help="Nacos HTTP host:port (gRPC must be on port + 1000)")
        p.add_argument("--namespace", default="public")
        p.add_argument("--service", default="CaculService")
    s = sub.choices["serve"]
    s.add_argument("--port", type=int, required=True)
    s.add_argument("--weight", type=int, default=1)
    s.add_argument("--transport", default="jsonrpc", choices=["jsonrpc", "http", "grpc"])
    c = sub.choices["call"]
    c.add_argument("--transport", choices=["jsonrpc", "http", "grpc", "thrift"],
                   help="fail unless the chosen instance uses this scheme")
    c.add_argument("--method", default="add")
    c.add_argument("--data", default='{"x": 1, "y": 2}')
    c.add_argument("--wait", type=float, default=10, help="seconds to keep looking for an instance")
    c.add_argument("--policy", default="wrr", choices=["wrr", "random"],
                   help="the peer's WRR always picks the first listed instance")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    if args.command == "serve":
        serve(args)
    else:
        print(json.dumps(asyncio.run(call(args))), flush=True)


if __name__ == "__main__":
    main()
