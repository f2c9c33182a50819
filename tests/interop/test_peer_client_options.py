"""Every request option of the real Python peer client (aduib-rpc 2.0.1) against our `aduib serve`.

The peer's client writes the envelope with `model_dump(mode="json", exclude_none=True)`; `qos`
is a dataclass inside an `Any` field, so it goes out whole, nulls included, e.g.
`"retry": {..., "jitter": 0.1, "retryable_codes": null, ...}`. Each case below builds its
request with the peer's own models, exactly as a user of the peer would, and checks that our
server runs the call (JSON-RPC and REST read the JSON; gRPC and Thrift go through the peer's
proto/Thrift converters).
"""
import asyncio
import uuid

import pytest
from aduib_rpc.client.auth.credentials import InMemoryCredentialsProvider
from aduib_rpc.client.auth.interceptor import AuthInterceptor
from aduib_rpc.client.client_factory import AduibRpcClientFactory
from aduib_rpc.client.midwares import ClientContext
from aduib_rpc.protocol.v2 import (
    AduibRpcRequest,
    AuthContext,
    AuthScheme,
    Priority,
    QosConfig,
    RequestMetadata,
    TraceContext,
)
from aduib_rpc.resilience import RetryPolicy
from aduib_rpc.resilience.retry_policy import RetryStrategy
from aduib_rpc.utils.constant import SecuritySchemes, TransportSchemes

# Our transport name → the peer's scheme ("http" is the peer's name for REST).
SCHEMES = {
    "jsonrpc": TransportSchemes.JSONRPC,
    "rest": TransportSchemes.HTTP,
    "grpc": TransportSchemes.GRPC,
    "thrift": TransportSchemes.THRIFT,
}
ADD = "rpc.v2/CaculService/CaculService.add"
SLOW = "rpc.v2/CaculService/CaculService.slow"
# Fixed ids (the peer validates the hex form); the trace id is not a real trace.
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
SPAN_ID = "00f067aa0ba902b7"
PARENT_SPAN_ID = "b7ad6b7169203331"


def metadata(**fields) -> RequestMetadata:
    return RequestMetadata(timestamp_ms=1_700_000_000_000, **fields)


# name → the keyword arguments of AduibRpcRequest that carry the option.
OPTIONS = {
    # qos: the peer's QosConfig dataclass, as its `@client` path and its users build it.
    "qos_defaults": {"qos": QosConfig()},
    "qos_retry_defaults": {"qos": QosConfig(retry=RetryPolicy())},
    "qos_retry_no_jitter": {"qos": QosConfig(retry=RetryPolicy(jitter=0.0))},
    "qos_retry_every_field": {
        "qos": QosConfig(
            enabled=True,
            priority=Priority.HIGH,
            timeout_ms=5000,
            idempotency_ttl_s=60,
            retry=RetryPolicy(
                max_attempts=5,
                strategy=RetryStrategy.LINEAR,
                initial_delay_ms=10,
                max_delay_ms=50,
                backoff_multiplier=1.5,
                jitter=0.25,
                retryable_codes={5000, 5002},
                respect_circuit_breaker=False,
            ),
            idempotency_key=str(uuid.uuid4()),
        )
    },
    "qos_retry_fixed": {"qos": QosConfig(retry=RetryPolicy(strategy=RetryStrategy.FIXED, jitter=1.0))},
    # What the peer's `@client` path builds (service_call.py): timeout and key may be None.
    "qos_like_client_decorator": {"qos": QosConfig(timeout_ms=None, idempotency_key=None, retry=RetryPolicy())},
    "qos_priority_low": {"qos": QosConfig(priority=Priority.LOW)},
    "qos_priority_normal": {"qos": QosConfig(priority=Priority.NORMAL)},
    "qos_priority_high": {"qos": QosConfig(priority=Priority.HIGH)},
    "qos_priority_critical": {"qos": QosConfig(priority=Priority.CRITICAL)},
    "qos_timeout": {"qos": QosConfig(timeout_ms=5000)},
    "qos_idempotency_key": {"qos": QosConfig(idempotency_key="idem-" + str(uuid.uuid4()), idempotency_ttl_s=30)},
    "qos_enabled": {"qos": QosConfig(enabled=True)},
    # metadata: the peer's RequestMetadata (it always writes "long_task": false).
    "metadata_minimal": {"metadata": metadata()},
    "metadata_create": {"metadata": RequestMetadata.create("tenant-a", "client-a")},
    "metadata_tenant": {"metadata": metadata(tenant_id="tenant-a")},
    "metadata_client": {"metadata": metadata(client_id="client-a", client_version="2.0.0")},
    "metadata_headers": {"metadata": metadata(headers={"x-request-source": "interop", "x-empty": ""})},
    "metadata_long_task_fields": {
        "metadata": metadata(long_task=False, long_task_method="task/submit", long_task_timeout=600)
    },
    "metadata_auth_bearer": {
        "metadata": metadata(
            auth=AuthContext.create(
                AuthScheme.BEARER, "test-token", principal="alice", principal_type="user", roles=["admin", "ops"]
            )
        )
    },
    "metadata_auth_api_key": {"metadata": metadata(auth=AuthContext.create(AuthScheme.API_KEY, "test-key"))},
    "metadata_auth_mtls": {"metadata": metadata(auth=AuthContext(scheme=AuthScheme.MTLS, principal="CN=client"))},
    "metadata_auth_basic": {"metadata": metadata(auth=AuthContext.create(AuthScheme.BASIC, "dGVzdDp0ZXN0"))},
    "metadata_auth_unspecified": {"metadata": metadata(auth=AuthContext(scheme=AuthScheme.UNSPECIFIED))},
    # trace_context: the peer's TraceContext.
    "trace_created": {"trace_context": TraceContext.create(baggage={"tenant": "tenant-a"})},
    "trace_every_field": {
        "trace_context": TraceContext(
            trace_id=TRACE_ID, span_id=SPAN_ID, parent_span_id=PARENT_SPAN_ID, sampled=False, baggage={"k": "v"}
        )
    },
    "trace_no_baggage": {"trace_context": TraceContext(trace_id=TRACE_ID, span_id=SPAN_ID)},
    # meta: free-form client hints; the client reads timeout_ms/timeout_s/headers itself.
    "meta_timeout_ms": {"meta": {"timeout_ms": 5000}},
    "meta_timeout_s": {"meta": {"timeout_s": 5}},
    "meta_headers": {"meta": {"headers": {"X-Tenant-ID": "tenant-a", "X-Request-Source": "interop"}}},
    "meta_free_form": {"meta": {"model": "m1", "lb_key": "k", "n": 1}},
    # The other envelope fields the peer's request has.
    "name": {"name": "CaculService"},
    "supported_versions": {"supported_versions": ["2.0"]},
    # Everything at once, as a fully configured peer client would send it.
    "all_together": {
        "name": "CaculService",
        "supported_versions": ["2.0"],
        "trace_context": TraceContext(trace_id=TRACE_ID, span_id=SPAN_ID, baggage={"k": "v"}),
        "metadata": RequestMetadata.create(
            "tenant-a",
            "client-a",
            auth=AuthContext.create(AuthScheme.BEARER, "test-token", principal="alice", roles=["admin"]),
            headers={"x-request-source": "interop"},
            long_task_timeout=600,
        ),
        "qos": QosConfig(
            enabled=True,
            priority=Priority.CRITICAL,
            timeout_ms=5000,
            retry=RetryPolicy(retryable_codes={5002}),
            idempotency_key=str(uuid.uuid4()),
        ),
        "meta": {"timeout_ms": 5000, "headers": {"X-Tenant-ID": "tenant-a"}},
    },
}

# The peer's proto/Thrift converters only handle the QosConfig dataclass; a plain
# dict is a JSON-only way of writing `qos` (its `qos` field is `Any`).
JSON_ONLY_OPTIONS = {
    "qos_as_dict": {"qos": {"priority": 3, "timeout_ms": 5000, "retry": {"max_attempts": 2, "jitter": 0.5}}},
    "qos_as_dict_nulls": {"qos": {"enabled": None, "priority": None, "timeout_ms": None, "retry": None}},
}


def run(our_server, transport, scenario, interceptors=None):
    async def go():
        url = our_server[transport]
        if transport == "thrift":
            url = f"thrift://{url}"
        client = AduibRpcClientFactory.create_client(
            url, server_preferred=SCHEMES[transport], interceptors=interceptors
        )
        try:
            return await scenario(client)
        finally:
            if hasattr(client, "close"):
                await client.close()

    return asyncio.run(go())


def call(our_server, transport, method, data, **options):
    async def scenario(client):
        return await client.call(AduibRpcRequest(id=str(uuid.uuid4()), method=method, data=data, **options))

    return run(our_server, transport, scenario)


def assert_added(response):
    assert response.status == "success", response.error
    assert response.result == 3


@pytest.mark.parametrize("transport", SCHEMES)
@pytest.mark.parametrize("option", OPTIONS)
def test_call_with_option(our_server, transport, option):
    assert_added(call(our_server, transport, ADD, {"x": 1, "y": 2}, **OPTIONS[option]))


@pytest.mark.parametrize("transport", ["jsonrpc", "rest"])
@pytest.mark.parametrize("option", JSON_ONLY_OPTIONS)
def test_call_with_json_only_option(our_server, transport, option):
    assert_added(call(our_server, transport, ADD, {"x": 1, "y": 2}, **JSON_ONLY_OPTIONS[option]))


@pytest.mark.parametrize("transport", ["jsonrpc", "rest"])
@pytest.mark.parametrize("option", ["qos_retry_defaults", "metadata_auth_bearer", "trace_every_field", "all_together"])
def test_server_stream_with_option(our_server, transport, option):
    async def scenario(client):
        request = AduibRpcRequest(
            id=str(uuid.uuid4()),
            method="rpc.v2/CaculService/CaculService.countdown",
            data={"start": 1},
            **OPTIONS[option],
        )
        return [r.result async for r in client.call_server_stream(request)]

    assert run(our_server, transport, scenario) == [{"n": 1}, {"n": 0}]


@pytest.mark.parametrize("transport", SCHEMES)
def test_qos_timeout_is_enforced(our_server, transport):
    # A slow call outruns its 50 ms QoS timeout: error 5003 (the REST client raises on 504).
    options = {"qos": QosConfig(timeout_ms=50, retry=RetryPolicy())}
    if transport == "rest":
        async def scenario(client):
            with pytest.raises(Exception) as raised:
                await client.call(
                    AduibRpcRequest(id=str(uuid.uuid4()), method=SLOW, data={"x": 1, "delay_ms": 2000}, **options)
                )
            return raised.value

        assert "504" in str(run(our_server, transport, scenario))
        return
    response = call(our_server, transport, SLOW, {"x": 1, "delay_ms": 2000}, **options)
    assert response.status == "error"
    assert response.error.code == 5003


@pytest.mark.parametrize("transport", SCHEMES)
def test_qos_timeout_that_is_long_enough(our_server, transport):
    response = call(our_server, transport, SLOW, {"x": 21, "delay_ms": 50}, qos=QosConfig(timeout_ms=5000))
    assert response.status == "success", response.error
    assert response.result == {"doubled": 42}


@pytest.mark.parametrize("transport", ["jsonrpc", "rest"])
@pytest.mark.parametrize("schema", [None, "APIKey", "OAuth2"])
def test_auth_interceptor_headers(our_server, transport, schema):
    # The peer's AuthInterceptor adds X-API-Key (default) or Authorization: Bearer; it
    # runs on the JSON-RPC and REST transports only.
    provider = InMemoryCredentialsProvider()
    provider.set_credentials(SecuritySchemes.APIKey, "test-key", "session-1")
    provider.set_credentials(SecuritySchemes.OAuth2, "test-token", "session-1")
    meta = {"security_schema": schema} if schema else None

    async def scenario(client):
        request = AduibRpcRequest(id=str(uuid.uuid4()), method=ADD, data={"x": 1, "y": 2}, meta=meta)
        return await client.call(request, context=ClientContext(state={"session_id": "session-1"}))

    assert_added(run(our_server, transport, scenario, interceptors=[AuthInterceptor(provider)]))
