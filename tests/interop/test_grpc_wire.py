"""Our proto/aduib_rpc_v2.proto against the peer's own .proto: every message,
enum and service must describe identically (names, field numbers, types)."""
from pathlib import Path

import aduib_rpc
import pytest

from conftest import aduib

OURS = Path(__file__).parents[2] / "proto" / "aduib_rpc_v2.proto"
THEIRS = Path(aduib_rpc.__file__).parent / "proto" / "aduib_rpc_v2.proto"

SYMBOLS = [
    "Request", "Response", "ResponseStatus", "RpcError", "ErrorDetail", "DebugInfo", "TraceContext",
    "RequestMetadata", "ResponseMetadata", "AuthContext", "AuthScheme", "QosConfig", "Priority",
    "RetryConfig", "HealthStatus", "TaskRecord", "TaskStatus", "TaskProgress", "TaskSubmitRequest",
    "TaskSubmitResponse", "TaskQueryRequest", "TaskQueryResponse", "TaskCancelRequest",
    "TaskCancelResponse", "TaskSubscribeRequest", "TaskEvent", "HealthCheckRequest",
    "HealthCheckResponse", "AduibRpcService", "TaskService", "HealthService",
]


def describe(proto: Path, symbol: str) -> str:
    # The address is not contacted: the schema comes from the file.
    out = aduib("grpc", "describe", "127.0.0.1:9", f"aduib.rpc.v2.{symbol}", "--proto", str(proto))
    assert out.returncode == 0, out.stderr
    return out.stdout


@pytest.mark.parametrize("symbol", SYMBOLS)
def test_same_wire_as_the_peer(symbol):
    assert describe(OURS, symbol) == describe(THEIRS, symbol)
