from proto.assetl2.v1 import tx_pb2 as _tx_pb2
from proto.assetl2.v1 import state_pb2 as _state_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class EventKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    EVENT_KIND_UNSPECIFIED: _ClassVar[EventKind]
    EVENT_KIND_BLOCK: _ClassVar[EventKind]
    EVENT_KIND_FILL: _ClassVar[EventKind]
    EVENT_KIND_ORDER_UPDATE: _ClassVar[EventKind]
    EVENT_KIND_BATCH: _ClassVar[EventKind]
EVENT_KIND_UNSPECIFIED: EventKind
EVENT_KIND_BLOCK: EventKind
EVENT_KIND_FILL: EventKind
EVENT_KIND_ORDER_UPDATE: EventKind
EVENT_KIND_BATCH: EventKind

class SubmitResult(_message.Message):
    __slots__ = ("seq", "tx_hash", "accepted", "grpc_status", "error_code", "error_name", "message")
    SEQ_FIELD_NUMBER: _ClassVar[int]
    TX_HASH_FIELD_NUMBER: _ClassVar[int]
    ACCEPTED_FIELD_NUMBER: _ClassVar[int]
    GRPC_STATUS_FIELD_NUMBER: _ClassVar[int]
    ERROR_CODE_FIELD_NUMBER: _ClassVar[int]
    ERROR_NAME_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    seq: int
    tx_hash: bytes
    accepted: bool
    grpc_status: int
    error_code: int
    error_name: str
    message: str
    def __init__(self, seq: _Optional[int] = ..., tx_hash: _Optional[bytes] = ..., accepted: _Optional[bool] = ..., grpc_status: _Optional[int] = ..., error_code: _Optional[int] = ..., error_name: _Optional[str] = ..., message: _Optional[str] = ...) -> None: ...

class EnvelopeBatch(_message.Message):
    __slots__ = ("envelopes",)
    ENVELOPES_FIELD_NUMBER: _ClassVar[int]
    envelopes: _containers.RepeatedCompositeFieldContainer[_tx_pb2.Envelope]
    def __init__(self, envelopes: _Optional[_Iterable[_Union[_tx_pb2.Envelope, _Mapping]]] = ...) -> None: ...

class SubmitResults(_message.Message):
    __slots__ = ("results",)
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[SubmitResult]
    def __init__(self, results: _Optional[_Iterable[_Union[SubmitResult, _Mapping]]] = ...) -> None: ...

class GetAccountRequest(_message.Message):
    __slots__ = ("user", "height")
    USER_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    user: bytes
    height: int
    def __init__(self, user: _Optional[bytes] = ..., height: _Optional[int] = ...) -> None: ...

class GetOrderBookRequest(_message.Message):
    __slots__ = ("slab_id", "instrument_id", "depth", "height")
    SLAB_ID_FIELD_NUMBER: _ClassVar[int]
    INSTRUMENT_ID_FIELD_NUMBER: _ClassVar[int]
    DEPTH_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    slab_id: int
    instrument_id: int
    depth: int
    height: int
    def __init__(self, slab_id: _Optional[int] = ..., instrument_id: _Optional[int] = ..., depth: _Optional[int] = ..., height: _Optional[int] = ...) -> None: ...

class GetHoldRequest(_message.Message):
    __slots__ = ("user", "route_id", "height")
    USER_FIELD_NUMBER: _ClassVar[int]
    ROUTE_ID_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    user: bytes
    route_id: int
    height: int
    def __init__(self, user: _Optional[bytes] = ..., route_id: _Optional[int] = ..., height: _Optional[int] = ...) -> None: ...

class GetStateValueRequest(_message.Message):
    __slots__ = ("key", "height")
    KEY_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    key: bytes
    height: int
    def __init__(self, key: _Optional[bytes] = ..., height: _Optional[int] = ...) -> None: ...

class StateValue(_message.Message):
    __slots__ = ("anchor", "value")
    ANCHOR_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    anchor: _state_pb2.StateAnchor
    value: _state_pb2.ProvenValue
    def __init__(self, anchor: _Optional[_Union[_state_pb2.StateAnchor, _Mapping]] = ..., value: _Optional[_Union[_state_pb2.ProvenValue, _Mapping]] = ...) -> None: ...

class GetBlockRequest(_message.Message):
    __slots__ = ("height",)
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    height: int
    def __init__(self, height: _Optional[int] = ...) -> None: ...

class GetBatchRequest(_message.Message):
    __slots__ = ("batch_index", "latest")
    BATCH_INDEX_FIELD_NUMBER: _ClassVar[int]
    LATEST_FIELD_NUMBER: _ClassVar[int]
    batch_index: int
    latest: bool
    def __init__(self, batch_index: _Optional[int] = ..., latest: _Optional[bool] = ...) -> None: ...

class StreamEventsRequest(_message.Message):
    __slots__ = ("from_height", "kinds", "user")
    FROM_HEIGHT_FIELD_NUMBER: _ClassVar[int]
    KINDS_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    from_height: int
    kinds: _containers.RepeatedScalarFieldContainer[EventKind]
    user: bytes
    def __init__(self, from_height: _Optional[int] = ..., kinds: _Optional[_Iterable[_Union[EventKind, str]]] = ..., user: _Optional[bytes] = ...) -> None: ...

class GetStatusRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class RoleStatus(_message.Message):
    __slots__ = ("role", "enabled", "implemented", "ready", "detail")
    ROLE_FIELD_NUMBER: _ClassVar[int]
    ENABLED_FIELD_NUMBER: _ClassVar[int]
    IMPLEMENTED_FIELD_NUMBER: _ClassVar[int]
    READY_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    role: str
    enabled: bool
    implemented: bool
    ready: bool
    detail: str
    def __init__(self, role: _Optional[str] = ..., enabled: _Optional[bool] = ..., implemented: _Optional[bool] = ..., ready: _Optional[bool] = ..., detail: _Optional[str] = ...) -> None: ...

class NodeStatus(_message.Message):
    __slots__ = ("node_id", "chain_id", "version", "roles", "height", "view", "epoch", "state_root", "last_decided_view", "peers_connected", "mempool_size", "last_posted_batch", "last_confirmed_batch", "ready", "decided_block_hash", "sequencer_detail", "state_divergence")
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    CHAIN_ID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    ROLES_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    VIEW_FIELD_NUMBER: _ClassVar[int]
    EPOCH_FIELD_NUMBER: _ClassVar[int]
    STATE_ROOT_FIELD_NUMBER: _ClassVar[int]
    LAST_DECIDED_VIEW_FIELD_NUMBER: _ClassVar[int]
    PEERS_CONNECTED_FIELD_NUMBER: _ClassVar[int]
    MEMPOOL_SIZE_FIELD_NUMBER: _ClassVar[int]
    LAST_POSTED_BATCH_FIELD_NUMBER: _ClassVar[int]
    LAST_CONFIRMED_BATCH_FIELD_NUMBER: _ClassVar[int]
    READY_FIELD_NUMBER: _ClassVar[int]
    DECIDED_BLOCK_HASH_FIELD_NUMBER: _ClassVar[int]
    SEQUENCER_DETAIL_FIELD_NUMBER: _ClassVar[int]
    STATE_DIVERGENCE_FIELD_NUMBER: _ClassVar[int]
    node_id: str
    chain_id: str
    version: str
    roles: _containers.RepeatedCompositeFieldContainer[RoleStatus]
    height: int
    view: int
    epoch: int
    state_root: bytes
    last_decided_view: int
    peers_connected: int
    mempool_size: int
    last_posted_batch: int
    last_confirmed_batch: int
    ready: bool
    decided_block_hash: bytes
    sequencer_detail: str
    state_divergence: bool
    def __init__(self, node_id: _Optional[str] = ..., chain_id: _Optional[str] = ..., version: _Optional[str] = ..., roles: _Optional[_Iterable[_Union[RoleStatus, _Mapping]]] = ..., height: _Optional[int] = ..., view: _Optional[int] = ..., epoch: _Optional[int] = ..., state_root: _Optional[bytes] = ..., last_decided_view: _Optional[int] = ..., peers_connected: _Optional[int] = ..., mempool_size: _Optional[int] = ..., last_posted_batch: _Optional[int] = ..., last_confirmed_batch: _Optional[int] = ..., ready: _Optional[bool] = ..., decided_block_hash: _Optional[bytes] = ..., sequencer_detail: _Optional[str] = ..., state_divergence: _Optional[bool] = ...) -> None: ...
