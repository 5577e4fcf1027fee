"""Transaction signatures bind the chain id and the exact payload bytes (DESIGN §4)."""
from __future__ import annotations

import hashlib

from hypothesis import given, settings
from hypothesis import strategies as st
from nacl.signing import SigningKey

from executor import tx
from proto.assetl2.v1 import tx_pb2

KEY = SigningKey(b"\x07" * 32)


def payload(nonce: int = 1) -> tx_pb2.Payload:
    return tx_pb2.Payload(chain_id="c1", valid_until_ms=10, client_nonce=nonce,
                          cancel_hold=tx_pb2.CancelHold(route_id=9))


def test_signed_envelope_verifies_and_hash_is_sha256_of_payload():
    env = tx.sign_payload(KEY, "c1", payload())
    assert tx.signature_valid(env, "c1")
    assert tx.tx_hash(env.payload) == hashlib.sha256(env.payload).digest()
    assert env.signer == bytes(KEY.verify_key)


def test_signature_is_bound_to_the_chain_id():
    env = tx.sign_payload(KEY, "c1", payload())
    assert not tx.signature_valid(env, "c2")
    assert not tx.signature_valid(env, "c1x")


@settings(max_examples=50, deadline=None)
@given(pos=st.integers(min_value=0), bit=st.integers(0, 7), field=st.sampled_from(["payload", "signature", "signer"]))
def test_any_flipped_bit_invalidates_the_envelope(pos, bit, field):
    env = tx.sign_payload(KEY, "c1", payload())
    raw = bytearray(getattr(env, field))
    raw[pos % len(raw)] ^= 1 << bit
    bad = tx_pb2.Envelope()
    bad.CopyFrom(env)
    setattr(bad, field, bytes(raw))
    assert not tx.signature_valid(bad, "c1")


def test_malformed_key_or_signature_lengths_are_invalid_not_errors():
    env = tx.sign_payload(KEY, "c1", payload())
    for signer, sig in [(b"", env.signature), (env.signer, b""), (env.signer[:31], env.signature),
                        (env.signer, env.signature + b"\x00")]:
        assert not tx.signature_valid(tx_pb2.Envelope(payload=env.payload, signer=signer, signature=sig), "c1")


def test_signing_bytes_frame_chain_id_with_its_length():
    # "ab" + payload "c..." must not collide with "a" + payload "bc...".
    assert tx.signing_bytes("ab", b"c") != tx.signing_bytes("a", b"bc")
