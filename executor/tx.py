"""Transaction identity and signatures (DESIGN §4).

The envelope carries the exact payload bytes; the signature covers a domain tag, the chain
id and those bytes, so a transaction signed for one chain is worthless on another and the
payload is decoded only after the signature verifies.  The transaction hash is the
SHA-256 of the payload bytes: it is what deduplication, receipts and the transaction log
use, and it does not depend on the (malleable) signature.
"""
from __future__ import annotations

import hashlib
import struct

from nacl.exceptions import BadSignatureError
from nacl.signing import SigningKey, VerifyKey

from proto.assetl2.v1 import tx_pb2

DOMAIN_TAG = b"assetl2/tx/v1\x00"
PUBKEY_LEN = 32
SIGNATURE_LEN = 64


def tx_hash(payload: bytes) -> bytes:
    """SHA-256 of the exact payload bytes: the transaction's identity."""
    return hashlib.sha256(payload).digest()


def signing_bytes(chain_id: str, payload: bytes) -> bytes:
    """What the signer signs: DOMAIN_TAG || u16be(len(chain_id)) || chain_id || payload."""
    cid = chain_id.encode("utf-8")
    return DOMAIN_TAG + struct.pack(">H", len(cid)) + cid + payload


def sign_payload(key: SigningKey, chain_id: str, payload: tx_pb2.Payload | bytes) -> tx_pb2.Envelope:
    """Serialize (if needed) and sign a payload into an envelope."""
    raw = payload if isinstance(payload, bytes) else payload.SerializeToString(deterministic=True)
    sig = key.sign(signing_bytes(chain_id, raw)).signature
    return tx_pb2.Envelope(payload=raw, signer=bytes(key.verify_key), signature=sig)


def signature_valid(envelope: tx_pb2.Envelope, chain_id: str) -> bool:
    """True when the envelope's signature is a valid ed25519 signature by its signer."""
    if len(envelope.signer) != PUBKEY_LEN or len(envelope.signature) != SIGNATURE_LEN:
        return False
    try:
        VerifyKey(envelope.signer).verify(signing_bytes(chain_id, envelope.payload), envelope.signature)
    except (BadSignatureError, ValueError):
        return False
    return True
