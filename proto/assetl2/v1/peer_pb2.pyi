from proto.assetl2.v1 import tx_pb2 as _tx_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class PeerEnvelope(_message.Message):
    __slots__ = ("sender", "message", "signature")
    SENDER_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    sender: int
    message: bytes
    signature: bytes
    def __init__(self, sender: _Optional[int] = ..., message: _Optional[bytes] = ..., signature: _Optional[bytes] = ...) -> None: ...

class PeerMessage(_message.Message):
    __slots__ = ("sender", "session", "sequence", "consensus", "transactions", "attestation")
    SENDER_FIELD_NUMBER: _ClassVar[int]
    SESSION_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    CONSENSUS_FIELD_NUMBER: _ClassVar[int]
    TRANSACTIONS_FIELD_NUMBER: _ClassVar[int]
    ATTESTATION_FIELD_NUMBER: _ClassVar[int]
    sender: int
    session: int
    sequence: int
    consensus: bytes
    transactions: TransactionBatch
    attestation: StateAttestation
    def __init__(self, sender: _Optional[int] = ..., session: _Optional[int] = ..., sequence: _Optional[int] = ..., consensus: _Optional[bytes] = ..., transactions: _Optional[_Union[TransactionBatch, _Mapping]] = ..., attestation: _Optional[_Union[StateAttestation, _Mapping]] = ...) -> None: ...

class PeerAck(_message.Message):
    __slots__ = ("accepted", "rejected", "reason")
    ACCEPTED_FIELD_NUMBER: _ClassVar[int]
    REJECTED_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    accepted: int
    rejected: int
    reason: str
    def __init__(self, accepted: _Optional[int] = ..., rejected: _Optional[int] = ..., reason: _Optional[str] = ...) -> None: ...

class TransactionBatch(_message.Message):
    __slots__ = ("transactions",)
    TRANSACTIONS_FIELD_NUMBER: _ClassVar[int]
    transactions: _containers.RepeatedCompositeFieldContainer[_tx_pb2.Envelope]
    def __init__(self, transactions: _Optional[_Iterable[_Union[_tx_pb2.Envelope, _Mapping]]] = ...) -> None: ...

class StateAttestation(_message.Message):
    __slots__ = ("height", "state_root", "tx_log_root", "tx_log_size", "signer", "signature")
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    STATE_ROOT_FIELD_NUMBER: _ClassVar[int]
    TX_LOG_ROOT_FIELD_NUMBER: _ClassVar[int]
    TX_LOG_SIZE_FIELD_NUMBER: _ClassVar[int]
    SIGNER_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    height: int
    state_root: bytes
    tx_log_root: bytes
    tx_log_size: int
    signer: int
    signature: bytes
    def __init__(self, height: _Optional[int] = ..., state_root: _Optional[bytes] = ..., tx_log_root: _Optional[bytes] = ..., tx_log_size: _Optional[int] = ..., signer: _Optional[int] = ..., signature: _Optional[bytes] = ...) -> None: ...

class StateCertificate(_message.Message):
    __slots__ = ("height", "state_root", "tx_log_root", "tx_log_size", "signer_bitmap", "signatures")
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    STATE_ROOT_FIELD_NUMBER: _ClassVar[int]
    TX_LOG_ROOT_FIELD_NUMBER: _ClassVar[int]
    TX_LOG_SIZE_FIELD_NUMBER: _ClassVar[int]
    SIGNER_BITMAP_FIELD_NUMBER: _ClassVar[int]
    SIGNATURES_FIELD_NUMBER: _ClassVar[int]
    height: int
    state_root: bytes
    tx_log_root: bytes
    tx_log_size: int
    signer_bitmap: bytes
    signatures: _containers.RepeatedScalarFieldContainer[bytes]
    def __init__(self, height: _Optional[int] = ..., state_root: _Optional[bytes] = ..., tx_log_root: _Optional[bytes] = ..., tx_log_size: _Optional[int] = ..., signer_bitmap: _Optional[bytes] = ..., signatures: _Optional[_Iterable[bytes]] = ...) -> None: ...

class FetchBlocksRequest(_message.Message):
    __slots__ = ("from_height", "max_blocks", "requester", "issued_ms", "signature")
    FROM_HEIGHT_FIELD_NUMBER: _ClassVar[int]
    MAX_BLOCKS_FIELD_NUMBER: _ClassVar[int]
    REQUESTER_FIELD_NUMBER: _ClassVar[int]
    ISSUED_MS_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    from_height: int
    max_blocks: int
    requester: int
    issued_ms: int
    signature: bytes
    def __init__(self, from_height: _Optional[int] = ..., max_blocks: _Optional[int] = ..., requester: _Optional[int] = ..., issued_ms: _Optional[int] = ..., signature: _Optional[bytes] = ...) -> None: ...

class DecidedBlock(_message.Message):
    __slots__ = ("height", "block", "qc", "commit_block", "commit_qc")
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    BLOCK_FIELD_NUMBER: _ClassVar[int]
    QC_FIELD_NUMBER: _ClassVar[int]
    COMMIT_BLOCK_FIELD_NUMBER: _ClassVar[int]
    COMMIT_QC_FIELD_NUMBER: _ClassVar[int]
    height: int
    block: bytes
    qc: bytes
    commit_block: bytes
    commit_qc: bytes
    def __init__(self, height: _Optional[int] = ..., block: _Optional[bytes] = ..., qc: _Optional[bytes] = ..., commit_block: _Optional[bytes] = ..., commit_qc: _Optional[bytes] = ...) -> None: ...

class GetStateCertificateRequest(_message.Message):
    __slots__ = ("height",)
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    height: int
    def __init__(self, height: _Optional[int] = ...) -> None: ...
