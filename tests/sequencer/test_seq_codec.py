"""Canonical encoding, strict decoding, domain-separated signing, committee and certificates."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from seqkit import CHAIN, Cluster, config

from sequencer.certificates import verify_qc, verify_tc
from sequencer.codec import (
    CodecLimits,
    DecodeError,
    decode_block,
    decode_message,
    encode_block,
    encode_message,
)
from sequencer.crypto import Verifier
from sequencer.types import (
    BlockRequest,
    BlockResponse,
    Committee,
    QuorumCertificate,
    ViewSync,
    bitmap_from_indices,
    epoch_of,
    indices_from_bitmap,
    timeout_signing_bytes,
    view_sync_signing_bytes,
    vote_signing_bytes,
)

C = Cluster(4, config())


def _chain():
    b1 = C.block(1, C.genesis, C.gqc, payload=[b"a", b"bb"])
    q1 = C.qc(b1)
    b2 = C.block(2, b1, q1, payload=[b"c" * 100])
    q2 = C.qc(b2, [1, 2, 3])
    return b1, q1, b2, q2


def all_messages():
    b1, q1, b2, q2 = _chain()
    tc = C.tc(3, {0: q1, 1: q2, 2: q2})
    b4 = C.block(4, b2, q2)
    sync_sig = C.signers[1].sign(view_sync_signing_bytes(CHAIN, 1, 4, q2.view, tc.view))
    return [
        C.proposal(b1),
        C.proposal(b4, tc),
        C.vote(2, 1, b1.hash),
        C.timeout(3, 3, q2),
        ViewSync(1, 4, q2, tc, sync_sig),
        ViewSync(1, 4, q2, None, sync_sig),
        BlockRequest(0, b2.hash, 32),
        BlockResponse(1, (b2, b1)),
        BlockResponse(1, ()),
    ]


@pytest.mark.parametrize("message", all_messages(), ids=lambda m: type(m).__name__)
def test_every_message_roundtrips_to_an_equal_value(message):
    frame = encode_message(message)
    assert decode_message(frame) == message
    assert encode_message(decode_message(frame)) == frame


def test_every_strict_prefix_of_a_frame_is_rejected_as_malformed():
    for message in all_messages():
        frame = encode_message(message)
        for cut in range(len(frame)):
            with pytest.raises(DecodeError) as e:
                decode_message(frame[:cut])
            assert e.value.reason == "malformed"


def test_trailing_bytes_bad_magic_version_and_kind_are_rejected():
    frame = encode_message(all_messages()[2])
    for bad in (frame + b"\x00", b"XXXX" + frame[4:], frame[:4] + b"\x09" + frame[5:], frame[:5] + b"\x63" + frame[6:]):
        with pytest.raises(DecodeError, match="malformed"):
            decode_message(bad)


def test_oversized_frames_and_counts_are_rejected_before_allocation():
    proposal = C.proposal(C.block(1, C.genesis, C.gqc, payload=[b"x" * 50] * 5))
    frame = encode_message(proposal)
    with pytest.raises(DecodeError, match="oversized"):
        decode_message(frame, CodecLimits(max_message_bytes=len(frame) - 1))
    with pytest.raises(DecodeError, match="oversized"):
        decode_message(frame, CodecLimits(max_block_txs=4))
    with pytest.raises(DecodeError, match="oversized"):
        decode_message(frame, CodecLimits(max_tx_bytes=49))
    assert decode_message(frame, CodecLimits(max_message_bytes=len(frame), max_block_txs=5, max_tx_bytes=50)) == proposal


def test_a_bitmap_naming_more_signers_than_signatures_is_malformed():
    b1, q1, _, _ = _chain()
    lying = QuorumCertificate(q1.view, q1.block_hash, bitmap_from_indices([0, 1, 2, 3], 4), q1.signatures)
    with pytest.raises(DecodeError, match="malformed"):
        decode_message(encode_message(C.proposal(C.block(2, b1, lying))))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=400))
def test_arbitrary_bytes_decode_or_fail_with_decode_error_only(data):
    try:
        decode_message(data)
    except DecodeError:
        pass


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(range(len(all_messages()))), st.integers(0, 10_000), st.integers(1, 255))
def test_any_single_byte_corruption_decodes_or_fails_cleanly(which, pos, delta):
    frame = bytearray(encode_message(all_messages()[which]))
    frame[pos % len(frame)] = (frame[pos % len(frame)] + delta) % 256
    try:
        decode_message(bytes(frame))
    except DecodeError:
        pass


def test_block_hash_ignores_which_quorum_signed_the_justify_but_not_its_target():
    b1, _, _, _ = _chain()
    by_012 = C.block(2, b1, C.qc(b1, [0, 1, 2]), ts=5)
    by_123 = C.block(2, b1, C.qc(b1, [1, 2, 3]), ts=5)
    assert by_012.hash == by_123.hash
    assert C.block(2, b1, C.qc(b1), ts=6).hash != by_012.hash
    assert C.block(2, b1, C.qc(b1), ts=5, payload=[b"x"]).hash != by_012.hash
    other_chain = Cluster(4, config(chain_id=b"other"))
    assert other_chain.block(2, b1, C.qc(b1), ts=5).hash != by_012.hash


def test_block_encoding_roundtrips_and_is_canonical():
    _, _, b2, _ = _chain()
    assert decode_block(encode_block(b2)) == b2
    assert decode_block(encode_block(b2)).hash == b2.hash


def test_signatures_are_domain_separated_by_kind_and_chain():
    v = Verifier()
    key = C.signers[0].public_key
    sig = C.signers[0].sign(vote_signing_bytes(CHAIN, 5, b"\x01" * 32))
    assert v.verify(key, vote_signing_bytes(CHAIN, 5, b"\x01" * 32), sig)
    assert not v.verify(key, vote_signing_bytes(b"other-chain", 5, b"\x01" * 32), sig)
    assert not v.verify(key, vote_signing_bytes(CHAIN, 6, b"\x01" * 32), sig)
    assert not v.verify(key, timeout_signing_bytes(CHAIN, 5, 0), sig)


def test_verifier_checks_each_good_signature_once():
    v = Verifier()
    key = C.signers[0].public_key
    m = vote_signing_bytes(CHAIN, 1, b"\x02" * 32)
    sig = C.signers[0].sign(m)
    assert v.verify(key, m, sig) and v.verify(key, m, sig)
    assert v.checks == 1
    assert not v.verify(key, m, bytes(64)) and not v.verify(key, m, bytes(64))
    assert v.checks == 3


@pytest.mark.parametrize("n,f,quorum", [(1, 0, 1), (2, 0, 2), (3, 0, 2), (4, 1, 3), (5, 1, 4), (7, 2, 5), (10, 3, 7)])
def test_committee_quorum_is_two_f_plus_one_for_3f_plus_1_and_intersects_in_f_plus_1(n, f, quorum):
    com = Cluster(n, config()).committee
    assert (com.f, com.quorum) == (f, quorum)
    assert 2 * com.quorum - n >= com.f + 1
    assert com.quorum <= n - com.f or n < 3 * f + 1


def test_leader_rotates_through_every_member():
    com = C.committee
    assert [com.leader(v) for v in range(8)] == [0, 1, 2, 3, 0, 1, 2, 3]


def test_committee_rejects_duplicate_or_malformed_keys():
    key = C.signers[0].public_key
    with pytest.raises(ValueError):
        Committee((key, key))
    with pytest.raises(ValueError):
        Committee((b"short",))
    with pytest.raises(ValueError):
        Committee(())


def test_bitmap_roundtrip():
    assert indices_from_bitmap(bitmap_from_indices([0, 3, 9], 10)) == (0, 3, 9)
    with pytest.raises(ValueError):
        bitmap_from_indices([10], 10)


def test_epoch_is_timestamp_floor_divided_by_batch_window():
    assert [epoch_of(t, 50) for t in (0, 49, 50, 99, 100)] == [0, 0, 1, 1, 2]


def _verify_qc(qc):
    return verify_qc(qc, C.committee, CHAIN, Verifier(), C.genesis.hash)


def test_qc_verification_accepts_a_quorum_and_rejects_forgeries():
    b1, q1, _, _ = _chain()
    assert _verify_qc(q1) and _verify_qc(C.gqc)
    assert not _verify_qc(C.qc(b1, [0, 1]))  # below quorum
    wrong_width = QuorumCertificate(q1.view, q1.block_hash, q1.signer_bitmap + b"\x00", q1.signatures)
    assert not _verify_qc(wrong_width)
    swapped = QuorumCertificate(q1.view, q1.block_hash, q1.signer_bitmap, (q1.signatures[1], q1.signatures[0], q1.signatures[2]))
    assert not _verify_qc(swapped)
    other_view = QuorumCertificate(q1.view + 1, q1.block_hash, q1.signer_bitmap, q1.signatures)
    assert not _verify_qc(other_view)
    assert not _verify_qc(QuorumCertificate(0, b"\x07" * 32, b"", ()))  # fake genesis


def test_tc_verification_requires_honest_high_qc_reports():
    _, q1, _, q2 = _chain()
    tc = C.tc(3, {0: q1, 1: q2, 2: q2})
    assert verify_tc(tc, C.committee, CHAIN, Verifier(), C.genesis.hash)
    understated = type(tc)(tc.view, tc.signer_bitmap, tc.high_qc_views, tc.signatures, q1)
    assert not verify_tc(understated, C.committee, CHAIN, Verifier(), C.genesis.hash)
    lied_views = type(tc)(tc.view, tc.signer_bitmap, (1, 1, 2), tc.signatures, q2)
    assert not verify_tc(lied_views, C.committee, CHAIN, Verifier(), C.genesis.hash)
    not_below = C.tc(2, {0: q1, 1: q2, 2: q2})
    assert not verify_tc(not_below, C.committee, CHAIN, Verifier(), C.genesis.hash)


_u64 = st.integers(0, 2**64 - 1)
_hash = st.binary(min_size=32, max_size=32)
_sig = st.binary(min_size=64, max_size=64)


@st.composite
def _qcs(draw):
    signers = sorted(draw(st.sets(st.integers(0, 9), max_size=10)))
    return QuorumCertificate(
        draw(_u64), draw(_hash), bitmap_from_indices(signers, 10), tuple(draw(_sig) for _ in signers)
    )


@st.composite
def _blocks(draw):
    from sequencer.types import Block

    return Block(
        chain_id=draw(st.binary(max_size=64)),
        height=draw(_u64),
        view=draw(_u64),
        parent_hash=draw(_hash),
        justify=draw(_qcs()),
        timestamp_ms=draw(_u64),
        proposer=draw(st.integers(0, 0xFFFF)),
        payload=tuple(draw(st.lists(st.binary(max_size=40), max_size=8))),
    )


@settings(max_examples=120, deadline=None)
@given(_blocks(), st.one_of(st.none(), _qcs()), _sig)
def test_any_well_formed_proposal_roundtrips_exactly(block, tc_qc, sig):
    from sequencer.types import Proposal, TimeoutCertificate

    tc = None
    if tc_qc is not None:
        tc = TimeoutCertificate(tc_qc.view, tc_qc.signer_bitmap, tuple(range(len(tc_qc.signatures))), tc_qc.signatures, tc_qc)
    p = Proposal(block, tc, sig)
    frame = encode_message(p)
    back = decode_message(frame)
    assert back == p and back.block.hash == block.hash and encode_message(back) == frame
