from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Side(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SIDE_UNSPECIFIED: _ClassVar[Side]
    SIDE_BUY: _ClassVar[Side]
    SIDE_SELL: _ClassVar[Side]

class TimeInForce(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TIME_IN_FORCE_UNSPECIFIED: _ClassVar[TimeInForce]
    TIME_IN_FORCE_GTC: _ClassVar[TimeInForce]
    TIME_IN_FORCE_IOC: _ClassVar[TimeInForce]
    TIME_IN_FORCE_FOK: _ClassVar[TimeInForce]
    TIME_IN_FORCE_POST_ONLY: _ClassVar[TimeInForce]

class MakerClass(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MAKER_CLASS_UNSPECIFIED: _ClassVar[MakerClass]
    MAKER_CLASS_REG: _ClassVar[MakerClass]
    MAKER_CLASS_DLP: _ClassVar[MakerClass]

class SelfTradePrevention(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SELF_TRADE_PREVENTION_UNSPECIFIED: _ClassVar[SelfTradePrevention]
    SELF_TRADE_PREVENTION_CANCEL_TAKER: _ClassVar[SelfTradePrevention]
    SELF_TRADE_PREVENTION_CANCEL_MAKER: _ClassVar[SelfTradePrevention]
    SELF_TRADE_PREVENTION_CANCEL_BOTH: _ClassVar[SelfTradePrevention]

class DepositSource(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DEPOSIT_SOURCE_UNSPECIFIED: _ClassVar[DepositSource]
    DEPOSIT_SOURCE_BRIDGE: _ClassVar[DepositSource]
    DEPOSIT_SOURCE_FAUCET: _ClassVar[DepositSource]
SIDE_UNSPECIFIED: Side
SIDE_BUY: Side
SIDE_SELL: Side
TIME_IN_FORCE_UNSPECIFIED: TimeInForce
TIME_IN_FORCE_GTC: TimeInForce
TIME_IN_FORCE_IOC: TimeInForce
TIME_IN_FORCE_FOK: TimeInForce
TIME_IN_FORCE_POST_ONLY: TimeInForce
MAKER_CLASS_UNSPECIFIED: MakerClass
MAKER_CLASS_REG: MakerClass
MAKER_CLASS_DLP: MakerClass
SELF_TRADE_PREVENTION_UNSPECIFIED: SelfTradePrevention
SELF_TRADE_PREVENTION_CANCEL_TAKER: SelfTradePrevention
SELF_TRADE_PREVENTION_CANCEL_MAKER: SelfTradePrevention
SELF_TRADE_PREVENTION_CANCEL_BOTH: SelfTradePrevention
DEPOSIT_SOURCE_UNSPECIFIED: DepositSource
DEPOSIT_SOURCE_BRIDGE: DepositSource
DEPOSIT_SOURCE_FAUCET: DepositSource

class Envelope(_message.Message):
    __slots__ = ("payload", "signer", "signature")
    PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    SIGNER_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    payload: bytes
    signer: bytes
    signature: bytes
    def __init__(self, payload: _Optional[bytes] = ..., signer: _Optional[bytes] = ..., signature: _Optional[bytes] = ...) -> None: ...

class Payload(_message.Message):
    __slots__ = ("chain_id", "valid_until_ms", "client_nonce", "deposit", "withdraw", "place_order", "cancel_order", "modify_order", "reserve", "commit", "cancel_hold", "liquidate", "oracle_update", "register_slab", "upgrade_slab", "funding_crank", "amm_add_liquidity", "amm_remove_liquidity")
    CHAIN_ID_FIELD_NUMBER: _ClassVar[int]
    VALID_UNTIL_MS_FIELD_NUMBER: _ClassVar[int]
    CLIENT_NONCE_FIELD_NUMBER: _ClassVar[int]
    DEPOSIT_FIELD_NUMBER: _ClassVar[int]
    WITHDRAW_FIELD_NUMBER: _ClassVar[int]
    PLACE_ORDER_FIELD_NUMBER: _ClassVar[int]
    CANCEL_ORDER_FIELD_NUMBER: _ClassVar[int]
    MODIFY_ORDER_FIELD_NUMBER: _ClassVar[int]
    RESERVE_FIELD_NUMBER: _ClassVar[int]
    COMMIT_FIELD_NUMBER: _ClassVar[int]
    CANCEL_HOLD_FIELD_NUMBER: _ClassVar[int]
    LIQUIDATE_FIELD_NUMBER: _ClassVar[int]
    ORACLE_UPDATE_FIELD_NUMBER: _ClassVar[int]
    REGISTER_SLAB_FIELD_NUMBER: _ClassVar[int]
    UPGRADE_SLAB_FIELD_NUMBER: _ClassVar[int]
    FUNDING_CRANK_FIELD_NUMBER: _ClassVar[int]
    AMM_ADD_LIQUIDITY_FIELD_NUMBER: _ClassVar[int]
    AMM_REMOVE_LIQUIDITY_FIELD_NUMBER: _ClassVar[int]
    chain_id: str
    valid_until_ms: int
    client_nonce: int
    deposit: Deposit
    withdraw: Withdraw
    place_order: PlaceOrder
    cancel_order: CancelOrder
    modify_order: ModifyOrder
    reserve: Reserve
    commit: Commit
    cancel_hold: CancelHold
    liquidate: Liquidate
    oracle_update: OracleUpdate
    register_slab: RegisterSlab
    upgrade_slab: UpgradeSlab
    funding_crank: FundingCrank
    amm_add_liquidity: AmmAddLiquidity
    amm_remove_liquidity: AmmRemoveLiquidity
    def __init__(self, chain_id: _Optional[str] = ..., valid_until_ms: _Optional[int] = ..., client_nonce: _Optional[int] = ..., deposit: _Optional[_Union[Deposit, _Mapping]] = ..., withdraw: _Optional[_Union[Withdraw, _Mapping]] = ..., place_order: _Optional[_Union[PlaceOrder, _Mapping]] = ..., cancel_order: _Optional[_Union[CancelOrder, _Mapping]] = ..., modify_order: _Optional[_Union[ModifyOrder, _Mapping]] = ..., reserve: _Optional[_Union[Reserve, _Mapping]] = ..., commit: _Optional[_Union[Commit, _Mapping]] = ..., cancel_hold: _Optional[_Union[CancelHold, _Mapping]] = ..., liquidate: _Optional[_Union[Liquidate, _Mapping]] = ..., oracle_update: _Optional[_Union[OracleUpdate, _Mapping]] = ..., register_slab: _Optional[_Union[RegisterSlab, _Mapping]] = ..., upgrade_slab: _Optional[_Union[UpgradeSlab, _Mapping]] = ..., funding_crank: _Optional[_Union[FundingCrank, _Mapping]] = ..., amm_add_liquidity: _Optional[_Union[AmmAddLiquidity, _Mapping]] = ..., amm_remove_liquidity: _Optional[_Union[AmmRemoveLiquidity, _Mapping]] = ...) -> None: ...

class Deposit(_message.Message):
    __slots__ = ("user", "asset_id", "amount_atoms", "l1_ref", "source")
    USER_FIELD_NUMBER: _ClassVar[int]
    ASSET_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_ATOMS_FIELD_NUMBER: _ClassVar[int]
    L1_REF_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    user: bytes
    asset_id: int
    amount_atoms: int
    l1_ref: bytes
    source: DepositSource
    def __init__(self, user: _Optional[bytes] = ..., asset_id: _Optional[int] = ..., amount_atoms: _Optional[int] = ..., l1_ref: _Optional[bytes] = ..., source: _Optional[_Union[DepositSource, str]] = ...) -> None: ...

class Withdraw(_message.Message):
    __slots__ = ("asset_id", "amount_atoms", "l1_recipient")
    ASSET_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_ATOMS_FIELD_NUMBER: _ClassVar[int]
    L1_RECIPIENT_FIELD_NUMBER: _ClassVar[int]
    asset_id: int
    amount_atoms: int
    l1_recipient: bytes
    def __init__(self, asset_id: _Optional[int] = ..., amount_atoms: _Optional[int] = ..., l1_recipient: _Optional[bytes] = ...) -> None: ...

class PlaceOrder(_message.Message):
    __slots__ = ("slab_id", "instrument_id", "side", "qty_lots", "price_e6", "time_in_force", "reduce_only", "maker_class", "self_trade_prevention", "client_order_id")
    SLAB_ID_FIELD_NUMBER: _ClassVar[int]
    INSTRUMENT_ID_FIELD_NUMBER: _ClassVar[int]
    SIDE_FIELD_NUMBER: _ClassVar[int]
    QTY_LOTS_FIELD_NUMBER: _ClassVar[int]
    PRICE_E6_FIELD_NUMBER: _ClassVar[int]
    TIME_IN_FORCE_FIELD_NUMBER: _ClassVar[int]
    REDUCE_ONLY_FIELD_NUMBER: _ClassVar[int]
    MAKER_CLASS_FIELD_NUMBER: _ClassVar[int]
    SELF_TRADE_PREVENTION_FIELD_NUMBER: _ClassVar[int]
    CLIENT_ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    slab_id: int
    instrument_id: int
    side: Side
    qty_lots: int
    price_e6: int
    time_in_force: TimeInForce
    reduce_only: bool
    maker_class: MakerClass
    self_trade_prevention: SelfTradePrevention
    client_order_id: int
    def __init__(self, slab_id: _Optional[int] = ..., instrument_id: _Optional[int] = ..., side: _Optional[_Union[Side, str]] = ..., qty_lots: _Optional[int] = ..., price_e6: _Optional[int] = ..., time_in_force: _Optional[_Union[TimeInForce, str]] = ..., reduce_only: _Optional[bool] = ..., maker_class: _Optional[_Union[MakerClass, str]] = ..., self_trade_prevention: _Optional[_Union[SelfTradePrevention, str]] = ..., client_order_id: _Optional[int] = ...) -> None: ...

class CancelOrder(_message.Message):
    __slots__ = ("slab_id", "instrument_id", "order_id")
    SLAB_ID_FIELD_NUMBER: _ClassVar[int]
    INSTRUMENT_ID_FIELD_NUMBER: _ClassVar[int]
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    slab_id: int
    instrument_id: int
    order_id: int
    def __init__(self, slab_id: _Optional[int] = ..., instrument_id: _Optional[int] = ..., order_id: _Optional[int] = ...) -> None: ...

class ModifyOrder(_message.Message):
    __slots__ = ("slab_id", "instrument_id", "order_id", "new_qty_lots", "new_price_e6")
    SLAB_ID_FIELD_NUMBER: _ClassVar[int]
    INSTRUMENT_ID_FIELD_NUMBER: _ClassVar[int]
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    NEW_QTY_LOTS_FIELD_NUMBER: _ClassVar[int]
    NEW_PRICE_E6_FIELD_NUMBER: _ClassVar[int]
    slab_id: int
    instrument_id: int
    order_id: int
    new_qty_lots: int
    new_price_e6: int
    def __init__(self, slab_id: _Optional[int] = ..., instrument_id: _Optional[int] = ..., order_id: _Optional[int] = ..., new_qty_lots: _Optional[int] = ..., new_price_e6: _Optional[int] = ...) -> None: ...

class Reserve(_message.Message):
    __slots__ = ("route_id", "instrument_id", "side", "qty_lots", "limit_price_e6", "ttl_ms", "commitment", "slab_ids")
    ROUTE_ID_FIELD_NUMBER: _ClassVar[int]
    INSTRUMENT_ID_FIELD_NUMBER: _ClassVar[int]
    SIDE_FIELD_NUMBER: _ClassVar[int]
    QTY_LOTS_FIELD_NUMBER: _ClassVar[int]
    LIMIT_PRICE_E6_FIELD_NUMBER: _ClassVar[int]
    TTL_MS_FIELD_NUMBER: _ClassVar[int]
    COMMITMENT_FIELD_NUMBER: _ClassVar[int]
    SLAB_IDS_FIELD_NUMBER: _ClassVar[int]
    route_id: int
    instrument_id: int
    side: Side
    qty_lots: int
    limit_price_e6: int
    ttl_ms: int
    commitment: bytes
    slab_ids: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, route_id: _Optional[int] = ..., instrument_id: _Optional[int] = ..., side: _Optional[_Union[Side, str]] = ..., qty_lots: _Optional[int] = ..., limit_price_e6: _Optional[int] = ..., ttl_ms: _Optional[int] = ..., commitment: _Optional[bytes] = ..., slab_ids: _Optional[_Iterable[int]] = ...) -> None: ...

class Reveal(_message.Message):
    __slots__ = ("salt", "instrument_id", "side", "qty_lots", "limit_price_e6")
    SALT_FIELD_NUMBER: _ClassVar[int]
    INSTRUMENT_ID_FIELD_NUMBER: _ClassVar[int]
    SIDE_FIELD_NUMBER: _ClassVar[int]
    QTY_LOTS_FIELD_NUMBER: _ClassVar[int]
    LIMIT_PRICE_E6_FIELD_NUMBER: _ClassVar[int]
    salt: bytes
    instrument_id: int
    side: Side
    qty_lots: int
    limit_price_e6: int
    def __init__(self, salt: _Optional[bytes] = ..., instrument_id: _Optional[int] = ..., side: _Optional[_Union[Side, str]] = ..., qty_lots: _Optional[int] = ..., limit_price_e6: _Optional[int] = ...) -> None: ...

class Commit(_message.Message):
    __slots__ = ("route_id", "reveal")
    ROUTE_ID_FIELD_NUMBER: _ClassVar[int]
    REVEAL_FIELD_NUMBER: _ClassVar[int]
    route_id: int
    reveal: Reveal
    def __init__(self, route_id: _Optional[int] = ..., reveal: _Optional[_Union[Reveal, _Mapping]] = ...) -> None: ...

class CancelHold(_message.Message):
    __slots__ = ("route_id",)
    ROUTE_ID_FIELD_NUMBER: _ClassVar[int]
    route_id: int
    def __init__(self, route_id: _Optional[int] = ...) -> None: ...

class Liquidate(_message.Message):
    __slots__ = ("user",)
    USER_FIELD_NUMBER: _ClassVar[int]
    user: bytes
    def __init__(self, user: _Optional[bytes] = ...) -> None: ...

class OracleUpdate(_message.Message):
    __slots__ = ("oracle_id", "instrument_id", "price_e6", "publish_time_ms")
    ORACLE_ID_FIELD_NUMBER: _ClassVar[int]
    INSTRUMENT_ID_FIELD_NUMBER: _ClassVar[int]
    PRICE_E6_FIELD_NUMBER: _ClassVar[int]
    PUBLISH_TIME_MS_FIELD_NUMBER: _ClassVar[int]
    oracle_id: int
    instrument_id: int
    price_e6: int
    publish_time_ms: int
    def __init__(self, oracle_id: _Optional[int] = ..., instrument_id: _Optional[int] = ..., price_e6: _Optional[int] = ..., publish_time_ms: _Optional[int] = ...) -> None: ...

class Manifest(_message.Message):
    __slots__ = ("code_hash", "config_hash", "proof_hash")
    CODE_HASH_FIELD_NUMBER: _ClassVar[int]
    CONFIG_HASH_FIELD_NUMBER: _ClassVar[int]
    PROOF_HASH_FIELD_NUMBER: _ClassVar[int]
    code_hash: bytes
    config_hash: bytes
    proof_hash: bytes
    def __init__(self, code_hash: _Optional[bytes] = ..., config_hash: _Optional[bytes] = ..., proof_hash: _Optional[bytes] = ...) -> None: ...

class RegisterSlab(_message.Message):
    __slots__ = ("slab_id", "owner", "config", "manifest")
    SLAB_ID_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    CONFIG_FIELD_NUMBER: _ClassVar[int]
    MANIFEST_FIELD_NUMBER: _ClassVar[int]
    slab_id: int
    owner: bytes
    config: bytes
    manifest: Manifest
    def __init__(self, slab_id: _Optional[int] = ..., owner: _Optional[bytes] = ..., config: _Optional[bytes] = ..., manifest: _Optional[_Union[Manifest, _Mapping]] = ...) -> None: ...

class UpgradeSlab(_message.Message):
    __slots__ = ("slab_id", "config", "manifest", "active")
    SLAB_ID_FIELD_NUMBER: _ClassVar[int]
    CONFIG_FIELD_NUMBER: _ClassVar[int]
    MANIFEST_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_FIELD_NUMBER: _ClassVar[int]
    slab_id: int
    config: bytes
    manifest: Manifest
    active: bool
    def __init__(self, slab_id: _Optional[int] = ..., config: _Optional[bytes] = ..., manifest: _Optional[_Union[Manifest, _Mapping]] = ..., active: _Optional[bool] = ...) -> None: ...

class FundingCrank(_message.Message):
    __slots__ = ("instrument_id",)
    INSTRUMENT_ID_FIELD_NUMBER: _ClassVar[int]
    instrument_id: int
    def __init__(self, instrument_id: _Optional[int] = ...) -> None: ...

class AmmAddLiquidity(_message.Message):
    __slots__ = ("slab_id", "instrument_id", "base_lots", "quote_atoms", "min_shares")
    SLAB_ID_FIELD_NUMBER: _ClassVar[int]
    INSTRUMENT_ID_FIELD_NUMBER: _ClassVar[int]
    BASE_LOTS_FIELD_NUMBER: _ClassVar[int]
    QUOTE_ATOMS_FIELD_NUMBER: _ClassVar[int]
    MIN_SHARES_FIELD_NUMBER: _ClassVar[int]
    slab_id: int
    instrument_id: int
    base_lots: int
    quote_atoms: int
    min_shares: int
    def __init__(self, slab_id: _Optional[int] = ..., instrument_id: _Optional[int] = ..., base_lots: _Optional[int] = ..., quote_atoms: _Optional[int] = ..., min_shares: _Optional[int] = ...) -> None: ...

class AmmRemoveLiquidity(_message.Message):
    __slots__ = ("slab_id", "instrument_id", "shares", "min_base_lots", "min_quote_atoms")
    SLAB_ID_FIELD_NUMBER: _ClassVar[int]
    INSTRUMENT_ID_FIELD_NUMBER: _ClassVar[int]
    SHARES_FIELD_NUMBER: _ClassVar[int]
    MIN_BASE_LOTS_FIELD_NUMBER: _ClassVar[int]
    MIN_QUOTE_ATOMS_FIELD_NUMBER: _ClassVar[int]
    slab_id: int
    instrument_id: int
    shares: int
    min_base_lots: int
    min_quote_atoms: int
    def __init__(self, slab_id: _Optional[int] = ..., instrument_id: _Optional[int] = ..., shares: _Optional[int] = ..., min_base_lots: _Optional[int] = ..., min_quote_atoms: _Optional[int] = ...) -> None: ...
