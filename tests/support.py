"""Small helpers shared by tests of every role (importable as ``support``)."""
from __future__ import annotations

import socket
import time


def signed_orders(n: int, chain: str, key=None, nonce0: int = 0) -> list:
    """``n`` signed (empty) place-order envelopes for ``chain``: cheap to make, each with a
    distinct id (``client_nonce = nonce0 + i``); a fresh key unless ``key`` is given."""
    from nacl.signing import SigningKey

    from executor.tx import sign_payload
    from proto.assetl2.v1 import tx_pb2
    key = key or SigningKey.generate()
    until = int(time.time() * 1000) + 600_000
    out = []
    for i in range(n):
        p = tx_pb2.Payload(chain_id=chain, valid_until_ms=until, client_nonce=nonce0 + i)
        p.place_order.SetInParent()
        out.append(sign_payload(key, chain, p))
    return out


def free_port() -> int:
    """A loopback port that was free a moment ago (tests bind only to 127.0.0.1)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
