"""Stable error codes for the executor (DESIGN §4: "every rejection has a stable error code and
a message a person can act on; a rejected transaction changes nothing").

Ranges, so that codes never collide as new programs land:

* ``1``–``999``     generic executor / transaction decoding,
* ``1000``–``1999`` slab programs and the matching core (this issue),
* ``2000``–``2999`` router (reserved; the router engineer owns this range),
* ``3000``–``3999`` AMM slab (reserved),
* ``4000``–``4999`` oracle (reserved).

A code's number never changes once released; retired codes are left as gaps.  The matching core
(``executor/matching/core.pxd``) returns the same numbers as negative integers, so the Cython
hot path never builds a Python exception.
"""
from __future__ import annotations

from enum import IntEnum

__all__ = ["ErrorCode", "ExecutorError", "message_for"]


class ErrorCode(IntEnum):
    """Stable numeric codes.  See ``message_for`` for the human-actionable text."""

    OK = 0
    # -- generic (1..999) ------------------------------------------------------------------
    INTERNAL = 1
    BAD_ARGUMENT = 2
    OVERFLOW = 3
    # transaction envelope and replay protection (DESIGN §4), checked by the block executor
    TX_TOO_LARGE = 10
    TX_MALFORMED = 11
    BAD_SIGNATURE = 12
    WRONG_CHAIN = 13
    TX_EXPIRED = 14
    TX_VALIDITY_TOO_LONG = 15
    TX_DUPLICATE = 16

    # -- slab and matching core (1000..1999) -----------------------------------------------
    UNKNOWN_INSTRUMENT = 1001
    PRICE_NOT_TICK_ALIGNED = 1002
    QTY_NOT_LOT_ALIGNED = 1003
    QTY_NOT_POSITIVE = 1004
    PRICE_NOT_POSITIVE = 1005
    BELOW_MIN_SIZE = 1006
    PRICE_OUT_OF_BAND = 1007
    UNKNOWN_ORDER = 1008
    UNKNOWN_RESERVATION = 1009
    RESERVATION_CLOSED = 1010
    SELF_TRADE = 1011
    FOK_UNFILLABLE = 1012
    POST_ONLY_WOULD_CROSS = 1013
    ORACLE_MISSING = 1014
    ORACLE_STALE = 1015
    POOL_FULL_ORDERS = 1016
    POOL_FULL_RESERVATIONS = 1017
    POOL_FULL_SLICES = 1018
    POOL_FULL_ACCOUNTS = 1019
    POOL_FULL_POSITIONS = 1020
    POOL_FULL_LEVELS = 1021
    NO_LIQUIDITY = 1022
    MODIFY_BELOW_RESERVED = 1023
    ORDER_RESERVED = 1024
    KILL_BAND = 1025
    FEE_CAP_EXCEEDED = 1026
    MARGIN_INSUFFICIENT = 1027
    REDUCE_ONLY_WOULD_INCREASE = 1028
    RESERVATION_EXPIRED = 1029
    NOT_OWNER = 1030
    FUNDING_NOT_DUE = 1031
    UNKNOWN_ACCOUNT = 1032
    ARENA_TOO_LARGE = 1033
    ARENA_MISMATCH = 1034
    TOO_MANY_INSTRUMENTS = 1035
    BAD_SIDE = 1036
    BAD_TIME_IN_FORCE = 1037
    BAD_CONFIG = 1038
    TIME_WENT_BACKWARDS = 1039
    MAKER_ALLOWANCE_EXCEEDED = 1040

    # -- AMM slab (3000..3999) ---------------------------------------------------------------
    AMM_POOL_INSOLVENT = 3001
    AMM_ZERO_SHARES = 3002
    AMM_MIN_OUT = 3003
    AMM_INSUFFICIENT_SHARES = 3004
    AMM_POOL_CASH_SHORT = 3005
    AMM_LIQUIDITY_LOCKED = 3006

    # -- router (2000..2999) and oracle (4000..4999), EXCHANGE §2 ----------------------------
    UNKNOWN_SLAB = 2001
    SLAB_INACTIVE = 2002
    SLAB_MANIFEST_MISMATCH = 2003
    UNKNOWN_HOLD = 2004
    HOLD_ALREADY_COMMITTED = 2005
    HOLD_CLOSED = 2006
    REVEAL_MISMATCH = 2007
    COMMIT_SAME_EPOCH = 2008
    HOLD_EXPIRED = 2009
    CAP_EXCEEDED = 2010
    CAP_EXPIRED = 2011
    CAP_BURNED = 2012
    CAP_SCOPE_MISMATCH = 2013
    INSUFFICIENT_FUNDS = 2014
    WITHDRAW_BELOW_IM = 2015
    NOT_GOVERNANCE = 2016
    NOT_BRIDGE_RELAYER = 2017
    FAUCET_DISABLED = 2018
    UNKNOWN_ASSET = 2019
    ROUTE_UNFILLABLE = 2020
    ROUTE_EXISTS = 2021
    BAD_COMMITMENT = 2022
    BAD_TTL = 2023
    ROUTER_MARGIN_INSUFFICIENT = 2024
    NOT_LIQUIDATABLE = 2025
    SLAB_ALREADY_REGISTERED = 2026
    UNKNOWN_USER = 2027
    VAULT_CAP_EXCEEDED = 2028
    EMPTY_TRANSACTION = 2029
    NOT_AMM_SLAB = 2030
    DEPOSIT_REPLAYED = 2031
    INSTRUMENT_NOT_ON_SLAB = 2032
    BAD_AMOUNT = 2033
    LIQUIDATION_GRACE = 2034
    BAD_MANIFEST = 2035
    LIQUIDATION_NO_DEPTH = 2036
    ORACLE_UNAUTHORISED = 4001
    ORACLE_UNKNOWN = 4002
    ORACLE_UPDATE_STALE = 4003
    ORACLE_NOT_MONOTONE = 4004
    ORACLE_MOVE_TOO_LARGE = 4005
    ORACLE_INSTRUMENT_MISMATCH = 4006
    ORACLE_PRICE_INVALID = 4007


_MESSAGES: dict[ErrorCode, str] = {
    ErrorCode.OK: "ok",
    ErrorCode.INTERNAL: "internal invariant violated; report this with the block height",
    ErrorCode.BAD_ARGUMENT: "an argument is malformed; check the transaction fields",
    ErrorCode.OVERFLOW: "an amount is outside the 64/128-bit bounds of EXCHANGE §1; use smaller sizes",
    ErrorCode.TX_TOO_LARGE: "the signed transaction is larger than the node accepts; split it or send less data",
    ErrorCode.TX_MALFORMED: "the transaction does not decode as an Envelope/Payload with a body; rebuild it with the SDK",
    ErrorCode.BAD_SIGNATURE: "the signature does not verify for the signer over this chain id and payload; re-sign it",
    ErrorCode.WRONG_CHAIN: "the transaction was signed for another chain id; sign it for this chain",
    ErrorCode.TX_EXPIRED: "valid_until_ms is before the block time; re-sign with a later expiry",
    ErrorCode.TX_VALIDITY_TOO_LONG: "valid_until_ms is more than 10 minutes ahead of the block time; choose a nearer expiry",
    ErrorCode.TX_DUPLICATE: "this exact transaction was already executed; change client_nonce to send it again",
    ErrorCode.UNKNOWN_INSTRUMENT: "no such instrument on this slab; list the slab's instruments",
    ErrorCode.PRICE_NOT_TICK_ALIGNED: "price is not a multiple of the instrument tick; round it to the tick",
    ErrorCode.QTY_NOT_LOT_ALIGNED: "quantity is not a multiple of the instrument lot; round it to the lot",
    ErrorCode.QTY_NOT_POSITIVE: "quantity must be a positive number of lots",
    ErrorCode.PRICE_NOT_POSITIVE: "price must be positive",
    ErrorCode.BELOW_MIN_SIZE: "quantity is below the instrument minimum size; increase it",
    ErrorCode.PRICE_OUT_OF_BAND: "price is outside the band around the oracle; quote closer to the oracle",
    ErrorCode.UNKNOWN_ORDER: "no such order id was ever issued here (or it is not open); check the id",
    ErrorCode.UNKNOWN_RESERVATION: "no such reservation id was ever issued by this slab; check the hold id",
    ErrorCode.RESERVATION_CLOSED: "this reservation was already committed or released; commit happens at most once",
    ErrorCode.SELF_TRADE: "the order would trade against your own resting order; cancel it first",
    ErrorCode.FOK_UNFILLABLE: "fill-or-kill order cannot be filled completely at this limit; reduce size or widen limit",
    ErrorCode.POST_ONLY_WOULD_CROSS: "post-only order would cross the book; move the price away from the touch",
    ErrorCode.ORACLE_MISSING: "no oracle price for this instrument yet; wait for a feeder update",
    ErrorCode.ORACLE_STALE: "oracle price is older than its heartbeat; wait for a fresh update",
    ErrorCode.POOL_FULL_ORDERS: "the slab's order pool is full; cancel orders or retry later",
    ErrorCode.POOL_FULL_RESERVATIONS: "the slab's reservation pool is full; retry after holds expire",
    ErrorCode.POOL_FULL_SLICES: "the slab's slice pool is full; reserve a smaller size or retry later",
    ErrorCode.POOL_FULL_ACCOUNTS: "the slab's account pool is full; this slab accepts no new accounts",
    ErrorCode.POOL_FULL_POSITIONS: "the slab's position pool is full; this slab accepts no new positions",
    ErrorCode.POOL_FULL_LEVELS: "the slab's price-level pool is full; cancel orders or retry later",
    ErrorCode.NO_LIQUIDITY: "no unreserved contra liquidity within the limit price; widen the limit",
    ErrorCode.MODIFY_BELOW_RESERVED: "new size is below the reserved (held) part of the order; choose a larger size",
    ErrorCode.ORDER_RESERVED: "order has reserved quantity; only size-down is allowed until holds resolve",
    ErrorCode.KILL_BAND: "oracle moved more than the kill band since reserve; reserve again",
    ErrorCode.FEE_CAP_EXCEEDED: "slab fees exceed the registry fee cap; the slab must lower its fees",
    ErrorCode.MARGIN_INSUFFICIENT: "the fill would leave the account below initial margin; add collateral or reduce size",
    ErrorCode.REDUCE_ONLY_WOULD_INCREASE: "reduce-only order would increase or flip the position; reduce its size",
    ErrorCode.RESERVATION_EXPIRED: "the reservation's TTL has passed; reserve again",
    ErrorCode.NOT_OWNER: "the order belongs to another account",
    ErrorCode.MAKER_ALLOWANCE_EXCEEDED: "the account's open orders on this slab would exceed its maker class's allowance (MAKER_CLASS allowance); cancel or shrink orders first",
    ErrorCode.FUNDING_NOT_DUE: "funding interval has not elapsed since the last funding; wait for the next interval",
    ErrorCode.UNKNOWN_ACCOUNT: "this account has no state on this slab",
    ErrorCode.ARENA_TOO_LARGE: "configured pool capacities exceed the 10 MB slab arena; lower capacities",
    ErrorCode.ARENA_MISMATCH: "persisted arena does not match this configuration (size or layout); use the matching config",
    ErrorCode.TOO_MANY_INSTRUMENTS: "a slab holds at most 32 instruments",
    ErrorCode.BAD_SIDE: "side must be BUY (0) or SELL (1)",
    ErrorCode.BAD_TIME_IN_FORCE: "time-in-force must be GTC, IOC, FOK or POST_ONLY",
    ErrorCode.BAD_CONFIG: "slab configuration is invalid; see the message detail",
    ErrorCode.TIME_WENT_BACKWARDS: "now_ms is earlier than the slab's last timestamp; block timestamps must increase",
    ErrorCode.AMM_POOL_INSOLVENT: "the AMM pool's net asset value is not positive; LP shares cannot be priced until it is recapitalised",
    ErrorCode.AMM_ZERO_SHARES: "the deposit is too small to mint one LP share; deposit more",
    ErrorCode.AMM_MIN_OUT: "the liquidity operation yields less than the requested minimum; lower the minimum or retry",
    ErrorCode.AMM_INSUFFICIENT_SHARES: "the account holds fewer LP shares than it tries to remove; remove fewer",
    ErrorCode.AMM_POOL_CASH_SHORT: "the pool's cash balance cannot pay this withdrawal now (part of its value is unrealised); remove fewer shares or retry later",
    ErrorCode.AMM_LIQUIDITY_LOCKED: "removing this liquidity would leave too little depth for the pool's open holds; retry after they resolve",
    ErrorCode.UNKNOWN_SLAB: "no slab with this id is registered; list the registry",
    ErrorCode.SLAB_INACTIVE: "the slab is deactivated by governance; route to another slab",
    ErrorCode.SLAB_MANIFEST_MISMATCH: "the slab's registered manifest does not match the running code; governance must upgrade it",
    ErrorCode.UNKNOWN_HOLD: "no route with this id exists for the signer; reserve first",
    ErrorCode.HOLD_ALREADY_COMMITTED: "this route was already committed; a commit happens at most once",
    ErrorCode.HOLD_CLOSED: "this route was cancelled or expired; reserve again",
    ErrorCode.REVEAL_MISMATCH: "the reveal does not open the commitment recorded at reserve; send the exact salt and fields",
    ErrorCode.COMMIT_SAME_EPOCH: "a commit must land in a later epoch than its reserve; resend in the next epoch",
    ErrorCode.HOLD_EXPIRED: "the route's TTL has passed; reserve again",
    ErrorCode.CAP_EXCEEDED: "the debit exceeds min(cap.remaining, escrow balance); reserve a smaller size or add collateral",
    ErrorCode.CAP_EXPIRED: "the capability has expired and can debit nothing",
    ErrorCode.CAP_BURNED: "the capability was already burned",
    ErrorCode.CAP_SCOPE_MISMATCH: "the capability is scoped to another (user, slab, asset)",
    ErrorCode.INSUFFICIENT_FUNDS: "the vault holds less free collateral than needed; deposit or reduce size",
    ErrorCode.WITHDRAW_BELOW_IM: "the withdrawal would leave the portfolio below initial margin; withdraw less",
    ErrorCode.NOT_GOVERNANCE: "only a governance key may change the slab registry",
    ErrorCode.NOT_BRIDGE_RELAYER: "bridge deposits must be signed by an authorised bridge relayer",
    ErrorCode.FAUCET_DISABLED: "the dev faucet is disabled on this chain; deposit through the bridge",
    ErrorCode.UNKNOWN_ASSET: "unknown asset id; the router has one collateral asset, id 0",
    ErrorCode.ROUTE_UNFILLABLE: "no set of eligible slabs can hold the whole quantity within the limit; widen the limit or reduce size",
    ErrorCode.ROUTE_EXISTS: "this route id is already used by the signer; pick a new route id",
    ErrorCode.BAD_COMMITMENT: "the commitment must be 32 bytes (sha256 of the reveal)",
    ErrorCode.BAD_TTL: "ttl_ms must be between 1 and CAP_TTL",
    ErrorCode.ROUTER_MARGIN_INSUFFICIENT: "the trade would leave the portfolio below initial margin; add collateral or reduce size",
    ErrorCode.NOT_LIQUIDATABLE: "the account's equity is at or above maintenance margin; nothing to liquidate",
    ErrorCode.SLAB_ALREADY_REGISTERED: "this slab id is already registered; use UpgradeSlab",
    ErrorCode.UNKNOWN_USER: "this account has never touched the router",
    ErrorCode.VAULT_CAP_EXCEEDED: "the deposit would exceed the router's COLLATERAL vault_cap_atoms",
    ErrorCode.EMPTY_TRANSACTION: "the payload has no body",
    ErrorCode.NOT_AMM_SLAB: "this slab is not an AMM slab",
    ErrorCode.DEPOSIT_REPLAYED: "this bridge deposit reference was already credited",
    ErrorCode.INSTRUMENT_NOT_ON_SLAB: "the slab does not list this instrument",
    ErrorCode.BAD_AMOUNT: "the amount must be positive and below 2^63",
    ErrorCode.LIQUIDATION_GRACE: "the account is in its liquidation grace window; retry after it ends",
    ErrorCode.BAD_MANIFEST: "the manifest must carry three 32-byte hashes",
    ErrorCode.LIQUIDATION_NO_DEPTH: "the account is liquidatable but there is no depth inside the band and nothing to cancel; retry when liquidity returns",
    ErrorCode.ORACLE_UNAUTHORISED: "the signer is not an authorised FEEDER of this oracle",
    ErrorCode.ORACLE_UNKNOWN: "no such oracle id",
    ErrorCode.ORACLE_UPDATE_STALE: "publish_time_ms is older than the oracle's max age or in the future; send a fresh price",
    ErrorCode.ORACLE_NOT_MONOTONE: "publish_time_ms is not later than the last accepted update",
    ErrorCode.ORACLE_MOVE_TOO_LARGE: "the price moved more than MAX_MOVE bps since the last update; the gate fails closed",
    ErrorCode.ORACLE_INSTRUMENT_MISMATCH: "the instrument is not priced by this oracle",
    ErrorCode.ORACLE_PRICE_INVALID: "the price must be positive and a multiple of the instrument tick",
}


def message_for(code: int) -> str:
    """The stable human-actionable message for ``code`` (unknown codes get a generic text)."""
    try:
        return _MESSAGES[ErrorCode(code)]
    except (ValueError, KeyError):
        return f"unknown error code {code}"


class ExecutorError(Exception):
    """Raised inside the executor; converted to ``(code, message)`` at the edges (STYLE.md)."""

    def __init__(self, code: int, detail: str = "") -> None:
        self.code = ErrorCode(code)
        self.message = message_for(code) + (f" ({detail})" if detail else "")
        super().__init__(f"{self.code.name} [{int(self.code)}]: {self.message}")
