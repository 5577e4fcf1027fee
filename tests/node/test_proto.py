"""Protocol definitions: every body round-trips, generated code has not drifted, and the
wire schema stays compatible with the committed lock (issue 2, docs/protocol.md)."""
from __future__ import annotations

import json

from google.protobuf.descriptor import FieldDescriptor as FD
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from proto import generate
from proto.assetl2.v1 import tx_pb2

# DESIGN §4 / EXCHANGE: every body the exchange accepts.
REQUIRED_BODIES = {
    "deposit", "withdraw", "place_order", "cancel_order", "modify_order", "reserve", "commit",
    "cancel_hold", "liquidate", "oracle_update", "register_slab", "upgrade_slab", "funding_crank",
    "amm_add_liquidity", "amm_remove_liquidity",
}
BODY_FIELDS = [f for f in tx_pb2.Payload.DESCRIPTOR.oneofs_by_name["body"].fields]

SCALARS = {
    FD.TYPE_UINT64: st.integers(0, 2**64 - 1),
    FD.TYPE_UINT32: st.integers(0, 2**32 - 1),
    FD.TYPE_INT64: st.integers(-(2**63), 2**63 - 1),
    FD.TYPE_SINT64: st.integers(-(2**63), 2**63 - 1),
    FD.TYPE_INT32: st.integers(-(2**31), 2**31 - 1),
    FD.TYPE_BOOL: st.booleans(),
    FD.TYPE_BYTES: st.binary(max_size=48),
    FD.TYPE_STRING: st.text(max_size=24),
}


def message_strategy(desc, depth: int = 0):
    """A strategy filling every field of a message type from its descriptor."""
    def field_strategy(f):
        if f.type == FD.TYPE_MESSAGE:
            base = message_strategy(f.message_type, depth + 1) if depth < 3 else st.none()
        elif f.type == FD.TYPE_ENUM:
            base = st.sampled_from([v.number for v in f.enum_type.values])
        else:
            base = SCALARS[f.type]
        return st.lists(base, max_size=3) if f.is_repeated else base

    fields = {f.name: field_strategy(f) for f in desc.fields}

    def build(values):
        msg = tx_pb2.__dict__.get(desc.name) or _message_class(desc)
        out = msg()
        for name, value in values.items():
            if value is None:
                continue
            target = getattr(out, name) if desc.fields_by_name[name].type == FD.TYPE_MESSAGE else None
            if desc.fields_by_name[name].is_repeated:
                if target is not None:
                    for v in value:
                        getattr(out, name).add().CopyFrom(v)
                else:
                    getattr(out, name).extend(value)
            elif target is not None:
                target.CopyFrom(value)
            else:
                setattr(out, name, value)
        return out

    return st.fixed_dictionaries(fields).map(build)


def _message_class(desc):
    from google.protobuf import message_factory
    return message_factory.GetMessageClass(desc)


def test_payload_has_every_required_body():
    assert {f.name for f in BODY_FIELDS} == REQUIRED_BODIES


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_every_body_round_trips_through_payload_and_envelope(data):
    for f in BODY_FIELDS:
        body = data.draw(message_strategy(f.message_type), label=f.name)
        payload = tx_pb2.Payload(chain_id="assetl2-test", valid_until_ms=7, client_nonce=3)
        getattr(payload, f.name).CopyFrom(body)
        raw = payload.SerializeToString(deterministic=True)
        env = tx_pb2.Envelope(payload=raw, signer=b"\x01" * 32, signature=b"\x02" * 64)
        back = tx_pb2.Payload.FromString(tx_pb2.Envelope.FromString(env.SerializeToString()).payload)
        assert back.WhichOneof("body") == f.name
        assert getattr(back, f.name) == body
        assert back.SerializeToString(deterministic=True) == raw


def test_generated_modules_match_the_proto_sources(tmp_path):
    fresh = generate.generate(tmp_path)
    assert fresh, "generator produced nothing"
    committed_dir = generate.ROOT / "proto" / "assetl2" / "v1"
    for path in fresh:
        committed = committed_dir / path.name
        assert committed.exists(), f"{path.name} not committed"
        assert committed.read_bytes() == path.read_bytes(), f"{path.name} drifted: run python -m proto.generate"
    assert sorted(p.name for p in committed_dir.glob("*_pb2*.py*")) == sorted(p.name for p in fresh)


def test_wire_schema_is_compatible_with_the_lock():
    locked = json.loads(generate.LOCK_FILE.read_text())
    current = generate.wire_schema()
    for msg, fields in locked.items():
        assert msg in current, f"{msg} was removed; keep it (or reserve it) — see docs/protocol.md"
        for name, spec in fields.items():
            assert name in current[msg], f"{msg}.{name} removed: mark it reserved instead"
            assert current[msg][name] == spec, f"{msg}.{name} changed number/type/label {spec} -> {current[msg][name]}"
        numbers = [spec[0] for spec in current[msg].values()]
        assert len(numbers) == len(set(numbers)), f"{msg} reuses a number"
