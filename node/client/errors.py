"""Typed client errors (STYLE: errors are values with stable codes at the edges).

A node answers a rejected transaction with a stable code (``executor.errors.ErrorCode``) at
admission (``SubmitResult``) or at execution (``Receipt``); the SDK turns both into one
exception type carrying that code, so callers branch on ``err.code`` instead of parsing text.
"""
from __future__ import annotations

from executor.errors import ErrorCode


class ClientError(Exception):
    """Base of every SDK failure; ``str()`` is one line a person can act on."""


class ChainMismatch(ClientError):
    """The node serves another chain than the one this client signs for (DESIGN §4)."""


class ProofError(ClientError):
    """A state read whose Merkle proof does not verify against the returned root."""


class NotFound(ClientError):
    """The node has no such block, batch, hold or slab."""


class NodeUnavailable(ClientError):
    """The node cannot be reached, or the role serving the call is not running there."""


class TxTimeout(ClientError):
    """A transaction was admitted but no executed block carried its receipt in time."""


def code_name(code: int) -> str:
    try:
        return ErrorCode(code).name
    except ValueError:
        return f"CODE_{code}"


class TxRejected(ClientError):
    """A transaction the node refused, at admission (``stage="admission"``) or execution.

    ``code`` is the node's stable code (an ``ErrorCode`` when known, 0 for admission refusals
    without an executor code such as rate limiting); ``name`` is the node's name for it.
    """

    def __init__(self, stage: str, code: int, name: str, message: str, tx_hash: bytes = b"",
                 grpc_status: int = 0):
        self.stage = stage
        self.code = ErrorCode(code) if code in ErrorCode._value2member_map_ else code
        self.name = name or code_name(code)
        self.message = message
        self.tx_hash = tx_hash
        self.grpc_status = grpc_status
        super().__init__(f"{stage} rejected: {self.name} ({int(code)}): {message}")
