from proto.assetl2.v1 import tx_pb2 as _tx_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class HoldStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    HOLD_STATUS_UNSPECIFIED: _ClassVar[HoldStatus]
    HOLD_STATUS_RESERVED: _ClassVar[HoldStatus]
    HOLD_STATUS_COMMITTED: _ClassVar[HoldStatus]
    HOLD_STATUS_CANCELLED: _ClassVar[HoldStatus]
    HOLD_STATUS_EXPIRED: _ClassVar[HoldStatus]

class BatchStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    BATCH_STATUS_UNSPECIFIED: _ClassVar[BatchStatus]
    BATCH_STATUS_PENDING: _ClassVar[BatchStatus]
    BATCH_STATUS_POSTED: _ClassVar[BatchStatus]
    BATCH_STATUS_CONFIRMED: _ClassVar[BatchStatus]

class OrderState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ORDER_STATE_UNSPECIFIED: _ClassVar[OrderState]
    ORDER_STATE_PENDING: _ClassVar[OrderState]
    ORDER_STATE_LIVE: _ClassVar[OrderState]
    ORDER_STATE_FILLED: _ClassVar[OrderState]
    ORDER_STATE_CANCELLED: _ClassVar[OrderState]
HOLD_STATUS_UNSPECIFIED: HoldStatus
HOLD_STATUS_RESERVED: HoldStatus
HOLD_STATUS_COMMITTED: HoldStatus
HOLD_STATUS_CANCELLED: HoldStatus
HOLD_STATUS_EXPIRED: HoldStatus
BATCH_STATUS_UNSPECIFIED: BatchStatus
BATCH_STATUS_PENDING: BatchStatus
BATCH_STATUS_POSTED: BatchStatus
BATCH_STATUS_CONFIRMED: BatchStatus
ORDER_STATE_UNSPECIFIED: OrderState
ORDER_STATE_PENDING: OrderState
ORDER_STATE_LIVE: OrderState
ORDER_STATE_FILLED: OrderState
ORDER_STATE_CANCELLED: OrderState

class ProvenValue(_message.Message):
    __slots__ = ("kind", "key", "value", "present", "proof")
    KIND_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    PRESENT_FIELD_NUMBER: _ClassVar[int]
    PROOF_FIELD_NUMBER: _ClassVar[int]
    kind: str
    key: bytes
    value: bytes
    present: bool
    proof: bytes
    def __init__(self, kind: _Optional[str] = ..., key: _Optional[bytes] = ..., value: _Optional[bytes] = ..., present: _Optional[bool] = ..., proof: _Optional[bytes] = ...) -> None: ...

class StateAnchor(_message.Message):
    __slots__ = ("height", "state_root")
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    STATE_ROOT_FIELD_NUMBER: _ClassVar[int]
    height: int
    state_root: bytes
    def __init__(self, height: _Optional[int] = ..., state_root: _Optional[bytes] = ...) -> None: ...

class VaultBalance(_message.Message):
    __slots__ = ("asset_id", "amount_atoms")
    ASSET_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_ATOMS_FIELD_NUMBER: _ClassVar[int]
    asset_id: int
    amount_atoms: int
    def __init__(self, asset_id: _Optional[int] = ..., amount_atoms: _Optional[int] = ...) -> None: ...

class EscrowBalance(_message.Message):
    __slots__ = ("slab_id", "asset_id", "amount_atoms", "nonce")
    SLAB_ID_FIELD_NUMBER: _ClassVar[int]
    ASSET_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_ATOMS_FIELD_NUMBER: _ClassVar[int]
    NONCE_FIELD_NUMBER: _ClassVar[int]
    slab_id: int
    asset_id: int
    amount_atoms: int
    nonce: int
    def __init__(self, slab_id: _Optional[int] = ..., asset_id: _Optional[int] = ..., amount_atoms: _Optional[int] = ..., nonce: _Optional[int] = ...) -> None: ...

class Position(_message.Message):
    __slots__ = ("slab_id", "instrument_id", "qty_lots", "entry_price_e6", "realized_pnl_atoms")
    SLAB_ID_FIELD_NUMBER: _ClassVar[int]
    INSTRUMENT_ID_FIELD_NUMBER: _ClassVar[int]
    QTY_LOTS_FIELD_NUMBER: _ClassVar[int]
    ENTRY_PRICE_E6_FIELD_NUMBER: _ClassVar[int]
    REALIZED_PNL_ATOMS_FIELD_NUMBER: _ClassVar[int]
    slab_id: int
    instrument_id: int
    qty_lots: int
    entry_price_e6: int
    realized_pnl_atoms: int
    def __init__(self, slab_id: _Optional[int] = ..., instrument_id: _Optional[int] = ..., qty_lots: _Optional[int] = ..., entry_price_e6: _Optional[int] = ..., realized_pnl_atoms: _Optional[int] = ...) -> None: ...

class AccountState(_message.Message):
    __slots__ = ("anchor", "user", "vaults", "escrows", "positions", "equity_atoms", "initial_margin_atoms", "maintenance_margin_atoms", "proofs")
    ANCHOR_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    VAULTS_FIELD_NUMBER: _ClassVar[int]
    ESCROWS_FIELD_NUMBER: _ClassVar[int]
    POSITIONS_FIELD_NUMBER: _ClassVar[int]
    EQUITY_ATOMS_FIELD_NUMBER: _ClassVar[int]
    INITIAL_MARGIN_ATOMS_FIELD_NUMBER: _ClassVar[int]
    MAINTENANCE_MARGIN_ATOMS_FIELD_NUMBER: _ClassVar[int]
    PROOFS_FIELD_NUMBER: _ClassVar[int]
    anchor: StateAnchor
    user: bytes
    vaults: _containers.RepeatedCompositeFieldContainer[VaultBalance]
    escrows: _containers.RepeatedCompositeFieldContainer[EscrowBalance]
    positions: _containers.RepeatedCompositeFieldContainer[Position]
    equity_atoms: int
    initial_margin_atoms: int
    maintenance_margin_atoms: int
    proofs: _containers.RepeatedCompositeFieldContainer[ProvenValue]
    def __init__(self, anchor: _Optional[_Union[StateAnchor, _Mapping]] = ..., user: _Optional[bytes] = ..., vaults: _Optional[_Iterable[_Union[VaultBalance, _Mapping]]] = ..., escrows: _Optional[_Iterable[_Union[EscrowBalance, _Mapping]]] = ..., positions: _Optional[_Iterable[_Union[Position, _Mapping]]] = ..., equity_atoms: _Optional[int] = ..., initial_margin_atoms: _Optional[int] = ..., maintenance_margin_atoms: _Optional[int] = ..., proofs: _Optional[_Iterable[_Union[ProvenValue, _Mapping]]] = ...) -> None: ...

class BookLevel(_message.Message):
    __slots__ = ("price_e6", "qty_lots", "orders")
    PRICE_E6_FIELD_NUMBER: _ClassVar[int]
    QTY_LOTS_FIELD_NUMBER: _ClassVar[int]
    ORDERS_FIELD_NUMBER: _ClassVar[int]
    price_e6: int
    qty_lots: int
    orders: int
    def __init__(self, price_e6: _Optional[int] = ..., qty_lots: _Optional[int] = ..., orders: _Optional[int] = ...) -> None: ...

class OrderBook(_message.Message):
    __slots__ = ("anchor", "slab_id", "instrument_id", "bids", "asks", "proofs")
    ANCHOR_FIELD_NUMBER: _ClassVar[int]
    SLAB_ID_FIELD_NUMBER: _ClassVar[int]
    INSTRUMENT_ID_FIELD_NUMBER: _ClassVar[int]
    BIDS_FIELD_NUMBER: _ClassVar[int]
    ASKS_FIELD_NUMBER: _ClassVar[int]
    PROOFS_FIELD_NUMBER: _ClassVar[int]
    anchor: StateAnchor
    slab_id: int
    instrument_id: int
    bids: _containers.RepeatedCompositeFieldContainer[BookLevel]
    asks: _containers.RepeatedCompositeFieldContainer[BookLevel]
    proofs: _containers.RepeatedCompositeFieldContainer[ProvenValue]
    def __init__(self, anchor: _Optional[_Union[StateAnchor, _Mapping]] = ..., slab_id: _Optional[int] = ..., instrument_id: _Optional[int] = ..., bids: _Optional[_Iterable[_Union[BookLevel, _Mapping]]] = ..., asks: _Optional[_Iterable[_Union[BookLevel, _Mapping]]] = ..., proofs: _Optional[_Iterable[_Union[ProvenValue, _Mapping]]] = ...) -> None: ...

class HoldSlab(_message.Message):
    __slots__ = ("slab_id", "qty_lots", "vwap_price_e6", "worst_price_e6", "max_charge_atoms")
    SLAB_ID_FIELD_NUMBER: _ClassVar[int]
    QTY_LOTS_FIELD_NUMBER: _ClassVar[int]
    VWAP_PRICE_E6_FIELD_NUMBER: _ClassVar[int]
    WORST_PRICE_E6_FIELD_NUMBER: _ClassVar[int]
    MAX_CHARGE_ATOMS_FIELD_NUMBER: _ClassVar[int]
    slab_id: int
    qty_lots: int
    vwap_price_e6: int
    worst_price_e6: int
    max_charge_atoms: int
    def __init__(self, slab_id: _Optional[int] = ..., qty_lots: _Optional[int] = ..., vwap_price_e6: _Optional[int] = ..., worst_price_e6: _Optional[int] = ..., max_charge_atoms: _Optional[int] = ...) -> None: ...

class Hold(_message.Message):
    __slots__ = ("anchor", "user", "route_id", "status", "instrument_id", "side", "qty_lots", "reserve_epoch", "expiry_ms", "commitment", "slabs", "proofs")
    ANCHOR_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    ROUTE_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    INSTRUMENT_ID_FIELD_NUMBER: _ClassVar[int]
    SIDE_FIELD_NUMBER: _ClassVar[int]
    QTY_LOTS_FIELD_NUMBER: _ClassVar[int]
    RESERVE_EPOCH_FIELD_NUMBER: _ClassVar[int]
    EXPIRY_MS_FIELD_NUMBER: _ClassVar[int]
    COMMITMENT_FIELD_NUMBER: _ClassVar[int]
    SLABS_FIELD_NUMBER: _ClassVar[int]
    PROOFS_FIELD_NUMBER: _ClassVar[int]
    anchor: StateAnchor
    user: bytes
    route_id: int
    status: HoldStatus
    instrument_id: int
    side: _tx_pb2.Side
    qty_lots: int
    reserve_epoch: int
    expiry_ms: int
    commitment: bytes
    slabs: _containers.RepeatedCompositeFieldContainer[HoldSlab]
    proofs: _containers.RepeatedCompositeFieldContainer[ProvenValue]
    def __init__(self, anchor: _Optional[_Union[StateAnchor, _Mapping]] = ..., user: _Optional[bytes] = ..., route_id: _Optional[int] = ..., status: _Optional[_Union[HoldStatus, str]] = ..., instrument_id: _Optional[int] = ..., side: _Optional[_Union[_tx_pb2.Side, str]] = ..., qty_lots: _Optional[int] = ..., reserve_epoch: _Optional[int] = ..., expiry_ms: _Optional[int] = ..., commitment: _Optional[bytes] = ..., slabs: _Optional[_Iterable[_Union[HoldSlab, _Mapping]]] = ..., proofs: _Optional[_Iterable[_Union[ProvenValue, _Mapping]]] = ...) -> None: ...

class Receipt(_message.Message):
    __slots__ = ("tx_hash", "ok", "error_code", "error_name", "message")
    TX_HASH_FIELD_NUMBER: _ClassVar[int]
    OK_FIELD_NUMBER: _ClassVar[int]
    ERROR_CODE_FIELD_NUMBER: _ClassVar[int]
    ERROR_NAME_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    tx_hash: bytes
    ok: bool
    error_code: int
    error_name: str
    message: str
    def __init__(self, tx_hash: _Optional[bytes] = ..., ok: _Optional[bool] = ..., error_code: _Optional[int] = ..., error_name: _Optional[str] = ..., message: _Optional[str] = ...) -> None: ...

class QuorumCertificate(_message.Message):
    __slots__ = ("view", "height", "block_hash", "signer_bitmap", "signatures")
    VIEW_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    BLOCK_HASH_FIELD_NUMBER: _ClassVar[int]
    SIGNER_BITMAP_FIELD_NUMBER: _ClassVar[int]
    SIGNATURES_FIELD_NUMBER: _ClassVar[int]
    view: int
    height: int
    block_hash: bytes
    signer_bitmap: bytes
    signatures: _containers.RepeatedScalarFieldContainer[bytes]
    def __init__(self, view: _Optional[int] = ..., height: _Optional[int] = ..., block_hash: _Optional[bytes] = ..., signer_bitmap: _Optional[bytes] = ..., signatures: _Optional[_Iterable[bytes]] = ...) -> None: ...

class BlockHeader(_message.Message):
    __slots__ = ("height", "view", "parent_hash", "timestamp_ms", "payload_hash", "proposer")
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    VIEW_FIELD_NUMBER: _ClassVar[int]
    PARENT_HASH_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_MS_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_HASH_FIELD_NUMBER: _ClassVar[int]
    PROPOSER_FIELD_NUMBER: _ClassVar[int]
    height: int
    view: int
    parent_hash: bytes
    timestamp_ms: int
    payload_hash: bytes
    proposer: int
    def __init__(self, height: _Optional[int] = ..., view: _Optional[int] = ..., parent_hash: _Optional[bytes] = ..., timestamp_ms: _Optional[int] = ..., payload_hash: _Optional[bytes] = ..., proposer: _Optional[int] = ...) -> None: ...

class BlockInfo(_message.Message):
    __slots__ = ("header", "block_hash", "epoch", "tx_hashes", "receipts", "state_root", "tx_log_size", "tx_log_root", "decide_qc")
    HEADER_FIELD_NUMBER: _ClassVar[int]
    BLOCK_HASH_FIELD_NUMBER: _ClassVar[int]
    EPOCH_FIELD_NUMBER: _ClassVar[int]
    TX_HASHES_FIELD_NUMBER: _ClassVar[int]
    RECEIPTS_FIELD_NUMBER: _ClassVar[int]
    STATE_ROOT_FIELD_NUMBER: _ClassVar[int]
    TX_LOG_SIZE_FIELD_NUMBER: _ClassVar[int]
    TX_LOG_ROOT_FIELD_NUMBER: _ClassVar[int]
    DECIDE_QC_FIELD_NUMBER: _ClassVar[int]
    header: BlockHeader
    block_hash: bytes
    epoch: int
    tx_hashes: _containers.RepeatedScalarFieldContainer[bytes]
    receipts: _containers.RepeatedCompositeFieldContainer[Receipt]
    state_root: bytes
    tx_log_size: int
    tx_log_root: bytes
    decide_qc: QuorumCertificate
    def __init__(self, header: _Optional[_Union[BlockHeader, _Mapping]] = ..., block_hash: _Optional[bytes] = ..., epoch: _Optional[int] = ..., tx_hashes: _Optional[_Iterable[bytes]] = ..., receipts: _Optional[_Iterable[_Union[Receipt, _Mapping]]] = ..., state_root: _Optional[bytes] = ..., tx_log_size: _Optional[int] = ..., tx_log_root: _Optional[bytes] = ..., decide_qc: _Optional[_Union[QuorumCertificate, _Mapping]] = ...) -> None: ...

class BatchInfo(_message.Message):
    __slots__ = ("batch_index", "first_height", "last_height", "prev_state_root", "state_root", "tx_log_size", "tx_log_root", "code_hash", "proof_hash", "status", "solana_signature")
    BATCH_INDEX_FIELD_NUMBER: _ClassVar[int]
    FIRST_HEIGHT_FIELD_NUMBER: _ClassVar[int]
    LAST_HEIGHT_FIELD_NUMBER: _ClassVar[int]
    PREV_STATE_ROOT_FIELD_NUMBER: _ClassVar[int]
    STATE_ROOT_FIELD_NUMBER: _ClassVar[int]
    TX_LOG_SIZE_FIELD_NUMBER: _ClassVar[int]
    TX_LOG_ROOT_FIELD_NUMBER: _ClassVar[int]
    CODE_HASH_FIELD_NUMBER: _ClassVar[int]
    PROOF_HASH_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    SOLANA_SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    batch_index: int
    first_height: int
    last_height: int
    prev_state_root: bytes
    state_root: bytes
    tx_log_size: int
    tx_log_root: bytes
    code_hash: bytes
    proof_hash: bytes
    status: BatchStatus
    solana_signature: str
    def __init__(self, batch_index: _Optional[int] = ..., first_height: _Optional[int] = ..., last_height: _Optional[int] = ..., prev_state_root: _Optional[bytes] = ..., state_root: _Optional[bytes] = ..., tx_log_size: _Optional[int] = ..., tx_log_root: _Optional[bytes] = ..., code_hash: _Optional[bytes] = ..., proof_hash: _Optional[bytes] = ..., status: _Optional[_Union[BatchStatus, str]] = ..., solana_signature: _Optional[str] = ...) -> None: ...

class Fill(_message.Message):
    __slots__ = ("slab_id", "instrument_id", "maker_order_id", "maker", "taker", "taker_side", "qty_lots", "price_e6", "maker_fee_atoms", "taker_fee_atoms")
    SLAB_ID_FIELD_NUMBER: _ClassVar[int]
    INSTRUMENT_ID_FIELD_NUMBER: _ClassVar[int]
    MAKER_ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    MAKER_FIELD_NUMBER: _ClassVar[int]
    TAKER_FIELD_NUMBER: _ClassVar[int]
    TAKER_SIDE_FIELD_NUMBER: _ClassVar[int]
    QTY_LOTS_FIELD_NUMBER: _ClassVar[int]
    PRICE_E6_FIELD_NUMBER: _ClassVar[int]
    MAKER_FEE_ATOMS_FIELD_NUMBER: _ClassVar[int]
    TAKER_FEE_ATOMS_FIELD_NUMBER: _ClassVar[int]
    slab_id: int
    instrument_id: int
    maker_order_id: int
    maker: bytes
    taker: bytes
    taker_side: _tx_pb2.Side
    qty_lots: int
    price_e6: int
    maker_fee_atoms: int
    taker_fee_atoms: int
    def __init__(self, slab_id: _Optional[int] = ..., instrument_id: _Optional[int] = ..., maker_order_id: _Optional[int] = ..., maker: _Optional[bytes] = ..., taker: _Optional[bytes] = ..., taker_side: _Optional[_Union[_tx_pb2.Side, str]] = ..., qty_lots: _Optional[int] = ..., price_e6: _Optional[int] = ..., maker_fee_atoms: _Optional[int] = ..., taker_fee_atoms: _Optional[int] = ...) -> None: ...

class OrderUpdate(_message.Message):
    __slots__ = ("slab_id", "instrument_id", "order_id", "owner", "state", "remaining_lots", "reserved_lots")
    SLAB_ID_FIELD_NUMBER: _ClassVar[int]
    INSTRUMENT_ID_FIELD_NUMBER: _ClassVar[int]
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    REMAINING_LOTS_FIELD_NUMBER: _ClassVar[int]
    RESERVED_LOTS_FIELD_NUMBER: _ClassVar[int]
    slab_id: int
    instrument_id: int
    order_id: int
    owner: bytes
    state: OrderState
    remaining_lots: int
    reserved_lots: int
    def __init__(self, slab_id: _Optional[int] = ..., instrument_id: _Optional[int] = ..., order_id: _Optional[int] = ..., owner: _Optional[bytes] = ..., state: _Optional[_Union[OrderState, str]] = ..., remaining_lots: _Optional[int] = ..., reserved_lots: _Optional[int] = ...) -> None: ...

class Event(_message.Message):
    __slots__ = ("height", "block", "fill", "order_update", "batch")
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    BLOCK_FIELD_NUMBER: _ClassVar[int]
    FILL_FIELD_NUMBER: _ClassVar[int]
    ORDER_UPDATE_FIELD_NUMBER: _ClassVar[int]
    BATCH_FIELD_NUMBER: _ClassVar[int]
    height: int
    block: BlockInfo
    fill: Fill
    order_update: OrderUpdate
    batch: BatchInfo
    def __init__(self, height: _Optional[int] = ..., block: _Optional[_Union[BlockInfo, _Mapping]] = ..., fill: _Optional[_Union[Fill, _Mapping]] = ..., order_update: _Optional[_Union[OrderUpdate, _Mapping]] = ..., batch: _Optional[_Union[BatchInfo, _Mapping]] = ...) -> None: ...
