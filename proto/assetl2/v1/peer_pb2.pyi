from proto.assetl2.v1 import tx_pb2 as _tx_pb2
from proto.assetl2.v1 import state_pb2 as _state_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class PeerEnvelope(_message.Message):
    __slots__ = ("sender", "sequence", "message", "signature")
    SENDER_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    sender: int
    sequence: int
    message: PeerMessage
    signature: bytes
    def __init__(self, sender: _Optional[int] = ..., sequence: _Optional[int] = ..., message: _Optional[_Union[PeerMessage, _Mapping]] = ..., signature: _Optional[bytes] = ...) -> None: ...

class PeerMessage(_message.Message):
    __slots__ = ("proposal", "vote", "timeout_vote", "timeout_certificate", "view_sync", "attestation")
    PROPOSAL_FIELD_NUMBER: _ClassVar[int]
    VOTE_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_VOTE_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_CERTIFICATE_FIELD_NUMBER: _ClassVar[int]
    VIEW_SYNC_FIELD_NUMBER: _ClassVar[int]
    ATTESTATION_FIELD_NUMBER: _ClassVar[int]
    proposal: Proposal
    vote: Vote
    timeout_vote: TimeoutVote
    timeout_certificate: TimeoutCertificate
    view_sync: ViewSyncMessage
    attestation: StateAttestation
    def __init__(self, proposal: _Optional[_Union[Proposal, _Mapping]] = ..., vote: _Optional[_Union[Vote, _Mapping]] = ..., timeout_vote: _Optional[_Union[TimeoutVote, _Mapping]] = ..., timeout_certificate: _Optional[_Union[TimeoutCertificate, _Mapping]] = ..., view_sync: _Optional[_Union[ViewSyncMessage, _Mapping]] = ..., attestation: _Optional[_Union[StateAttestation, _Mapping]] = ...) -> None: ...

class PeerAck(_message.Message):
    __slots__ = ("accepted", "rejected", "reason")
    ACCEPTED_FIELD_NUMBER: _ClassVar[int]
    REJECTED_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    accepted: int
    rejected: int
    reason: str
    def __init__(self, accepted: _Optional[int] = ..., rejected: _Optional[int] = ..., reason: _Optional[str] = ...) -> None: ...

class Block(_message.Message):
    __slots__ = ("header", "justify", "transactions")
    HEADER_FIELD_NUMBER: _ClassVar[int]
    JUSTIFY_FIELD_NUMBER: _ClassVar[int]
    TRANSACTIONS_FIELD_NUMBER: _ClassVar[int]
    header: _state_pb2.BlockHeader
    justify: _state_pb2.QuorumCertificate
    transactions: _containers.RepeatedScalarFieldContainer[bytes]
    def __init__(self, header: _Optional[_Union[_state_pb2.BlockHeader, _Mapping]] = ..., justify: _Optional[_Union[_state_pb2.QuorumCertificate, _Mapping]] = ..., transactions: _Optional[_Iterable[bytes]] = ...) -> None: ...

class Proposal(_message.Message):
    __slots__ = ("block", "timeout_certificate", "signature")
    BLOCK_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_CERTIFICATE_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    block: Block
    timeout_certificate: TimeoutCertificate
    signature: bytes
    def __init__(self, block: _Optional[_Union[Block, _Mapping]] = ..., timeout_certificate: _Optional[_Union[TimeoutCertificate, _Mapping]] = ..., signature: _Optional[bytes] = ...) -> None: ...

class Vote(_message.Message):
    __slots__ = ("view", "height", "block_hash", "voter", "signature")
    VIEW_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    BLOCK_HASH_FIELD_NUMBER: _ClassVar[int]
    VOTER_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    view: int
    height: int
    block_hash: bytes
    voter: int
    signature: bytes
    def __init__(self, view: _Optional[int] = ..., height: _Optional[int] = ..., block_hash: _Optional[bytes] = ..., voter: _Optional[int] = ..., signature: _Optional[bytes] = ...) -> None: ...

class TimeoutVote(_message.Message):
    __slots__ = ("view", "high_qc", "voter", "signature")
    VIEW_FIELD_NUMBER: _ClassVar[int]
    HIGH_QC_FIELD_NUMBER: _ClassVar[int]
    VOTER_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    view: int
    high_qc: _state_pb2.QuorumCertificate
    voter: int
    signature: bytes
    def __init__(self, view: _Optional[int] = ..., high_qc: _Optional[_Union[_state_pb2.QuorumCertificate, _Mapping]] = ..., voter: _Optional[int] = ..., signature: _Optional[bytes] = ...) -> None: ...

class TimeoutCertificate(_message.Message):
    __slots__ = ("view", "signer_bitmap", "signatures", "high_qc_views", "high_qc")
    VIEW_FIELD_NUMBER: _ClassVar[int]
    SIGNER_BITMAP_FIELD_NUMBER: _ClassVar[int]
    SIGNATURES_FIELD_NUMBER: _ClassVar[int]
    HIGH_QC_VIEWS_FIELD_NUMBER: _ClassVar[int]
    HIGH_QC_FIELD_NUMBER: _ClassVar[int]
    view: int
    signer_bitmap: bytes
    signatures: _containers.RepeatedScalarFieldContainer[bytes]
    high_qc_views: _containers.RepeatedScalarFieldContainer[int]
    high_qc: _state_pb2.QuorumCertificate
    def __init__(self, view: _Optional[int] = ..., signer_bitmap: _Optional[bytes] = ..., signatures: _Optional[_Iterable[bytes]] = ..., high_qc_views: _Optional[_Iterable[int]] = ..., high_qc: _Optional[_Union[_state_pb2.QuorumCertificate, _Mapping]] = ...) -> None: ...

class ViewSyncMessage(_message.Message):
    __slots__ = ("view", "phase", "sender", "certificate", "signature")
    VIEW_FIELD_NUMBER: _ClassVar[int]
    PHASE_FIELD_NUMBER: _ClassVar[int]
    SENDER_FIELD_NUMBER: _ClassVar[int]
    CERTIFICATE_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    view: int
    phase: int
    sender: int
    certificate: bytes
    signature: bytes
    def __init__(self, view: _Optional[int] = ..., phase: _Optional[int] = ..., sender: _Optional[int] = ..., certificate: _Optional[bytes] = ..., signature: _Optional[bytes] = ...) -> None: ...

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

class TransactionBatch(_message.Message):
    __slots__ = ("transactions", "sender", "signature")
    TRANSACTIONS_FIELD_NUMBER: _ClassVar[int]
    SENDER_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    transactions: _containers.RepeatedCompositeFieldContainer[_tx_pb2.Envelope]
    sender: int
    signature: bytes
    def __init__(self, transactions: _Optional[_Iterable[_Union[_tx_pb2.Envelope, _Mapping]]] = ..., sender: _Optional[int] = ..., signature: _Optional[bytes] = ...) -> None: ...

class FetchBlocksRequest(_message.Message):
    __slots__ = ("from_height", "max_blocks")
    FROM_HEIGHT_FIELD_NUMBER: _ClassVar[int]
    MAX_BLOCKS_FIELD_NUMBER: _ClassVar[int]
    from_height: int
    max_blocks: int
    def __init__(self, from_height: _Optional[int] = ..., max_blocks: _Optional[int] = ...) -> None: ...

class DecidedBlock(_message.Message):
    __slots__ = ("block", "commit_qc", "state_certificate")
    BLOCK_FIELD_NUMBER: _ClassVar[int]
    COMMIT_QC_FIELD_NUMBER: _ClassVar[int]
    STATE_CERTIFICATE_FIELD_NUMBER: _ClassVar[int]
    block: Block
    commit_qc: _state_pb2.QuorumCertificate
    state_certificate: StateCertificate
    def __init__(self, block: _Optional[_Union[Block, _Mapping]] = ..., commit_qc: _Optional[_Union[_state_pb2.QuorumCertificate, _Mapping]] = ..., state_certificate: _Optional[_Union[StateCertificate, _Mapping]] = ...) -> None: ...

class GetStateCertificateRequest(_message.Message):
    __slots__ = ("height",)
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    height: int
    def __init__(self, height: _Optional[int] = ...) -> None: ...
