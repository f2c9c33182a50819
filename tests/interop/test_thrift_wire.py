"""Our thrift/aduib_rpc_v2.thrift against the peer's own .thrift, both loaded
by the peer's thriftpy2: every struct's and every service method's
`thrift_spec` (field ids, types, names) must be identical."""
from pathlib import Path

import aduib_rpc
import pytest
import thriftpy2

OURS = Path(__file__).parents[2] / "thrift" / "aduib_rpc_v2.thrift"
THEIRS = Path(aduib_rpc.__file__).parent / "proto" / "aduib_rpc_v2.thrift"


def specs(path: Path, module_name: str) -> dict:
    module = thriftpy2.load(str(path), module_name=module_name)
    found = {}
    for name in dir(module):
        item = getattr(module, name)
        if hasattr(item, "thrift_spec"):
            found[name] = normalise(item.thrift_spec)
        if hasattr(item, "thrift_services"):
            for method in item.thrift_services:
                for suffix in ("_args", "_result"):
                    found[f"{name}.{method}{suffix}"] = normalise(getattr(item, method + suffix).thrift_spec)
        if hasattr(item, "_VALUES_TO_NAMES"):
            found[name] = dict(item._VALUES_TO_NAMES)
    return found


def normalise(spec):
    # Nested struct classes differ by module; compare them by name.
    def plain(value):
        if isinstance(value, tuple):
            return tuple(plain(v) for v in value)
        if isinstance(value, type):
            return value.__name__
        return value
    return {k: plain(v) for k, v in spec.items()}


def test_same_wire_as_the_peer():
    ours, theirs = specs(OURS, "ours_thrift"), specs(THEIRS, "theirs_thrift")
    assert sorted(ours) == sorted(theirs)
    for name in theirs:
        assert ours[name] == theirs[name], name
    assert len(theirs) > 40
