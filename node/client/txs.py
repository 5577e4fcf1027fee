"""Keypairs and transaction builders for every body of ``tx.proto`` (DESIGN §4).

A builder returns ``(field_name, body)``; ``Wallet.sign`` wraps it in a ``Payload`` with the
chain id, a validity window on the rollup clock and a random client nonce, and signs it with
``executor.tx.sign_payload`` — the node's own signing rule, so the bytes cannot disagree.
Replay protection is the validity window plus deduplication (no per-account sequence), so
many transactions may be signed and sent at once.
"""
from __future__ import annotations

import hashlib
import secrets
import time
from pathlib import Path
from typing import Iterable

from executor.tx import sign_payload, tx_hash
from node import keys as keys_mod
from node.client.commitment import PendingReveal
from proto.assetl2.v1 import tx_pb2

DEFAULT_VALIDITY_MS = 60_000     # well inside the executor's 600 s maximum window
USDC = 0                         # asset id of the router's collateral

SIDES = {"buy": tx_pb2.SIDE_BUY, "sell": tx_pb2.SIDE_SELL}
TIFS = {"gtc": tx_pb2.TIME_IN_FORCE_GTC, "ioc": tx_pb2.TIME_IN_FORCE_IOC,
        "fok": tx_pb2.TIME_IN_FORCE_FOK, "post-only": tx_pb2.TIME_IN_FORCE_POST_ONLY}
MAKER_CLASSES = {"reg": tx_pb2.MAKER_CLASS_REG, "dlp": tx_pb2.MAKER_CLASS_DLP}

Body = tuple[str, object]


def dev_key(role: str) -> keys_mod.NodeKey:
    """A devnet key: seed sha256("assetl2-devnet-<role>"), e.g. ``dev_key("account-0")``.
    Public by construction: never use outside a local devnet."""
    return keys_mod.NodeKey.from_seed(hashlib.sha256(f"assetl2-devnet-{role}".encode()).digest())


class Wallet:
    """A signing key bound to a chain id."""

    def __init__(self, key: keys_mod.NodeKey, chain_id: str):
        self.key = key
        self.chain_id = chain_id

    @classmethod
    def load(cls, path: str | Path, chain_id: str) -> "Wallet":
        """From a Solana JSON keypair file (``assetl2 keys new``); KeyFileError names the problem."""
        return cls(keys_mod.load(Path(path)), chain_id)

    @classmethod
    def generate(cls, chain_id: str) -> "Wallet":
        return cls(keys_mod.NodeKey.generate(), chain_id)

    @classmethod
    def dev(cls, role: str, chain_id: str = "assetl2-devnet-1") -> "Wallet":
        return cls(dev_key(role), chain_id)

    @property
    def public(self) -> bytes:
        return self.key.public

    @property
    def address(self) -> str:
        return self.key.address

    def sign(self, body: Body, *, valid_for_ms: int = DEFAULT_VALIDITY_MS, now_ms: int | None = None,
             nonce: int | None = None) -> tx_pb2.Envelope:
        name, msg = body
        now_ms = int(time.time() * 1000) if now_ms is None else now_ms
        payload = tx_pb2.Payload(chain_id=self.chain_id, valid_until_ms=now_ms + valid_for_ms,
                                 client_nonce=secrets.randbits(63) if nonce is None else nonce)
        getattr(payload, name).CopyFrom(msg)
        return sign_payload(self.key.signing_key, self.chain_id, payload)


def envelope_hash(env: tx_pb2.Envelope) -> bytes:
    return tx_hash(env.payload)


def body_of(env: tx_pb2.Envelope) -> Body:
    """Decode an envelope back into ``(field_name, body)`` (tests, logs)."""
    p = tx_pb2.Payload.FromString(env.payload)
    name = p.WhichOneof("body")
    return name, getattr(p, name)


# ----------------------------------------------------------------------------- builders

def deposit(user: bytes, amount_atoms: int, *, asset_id: int = USDC, faucet: bool = True,
            l1_ref: bytes = b"") -> Body:
    source = tx_pb2.DEPOSIT_SOURCE_FAUCET if faucet else tx_pb2.DEPOSIT_SOURCE_BRIDGE
    return "deposit", tx_pb2.Deposit(user=user, asset_id=asset_id, amount_atoms=amount_atoms,
                                     l1_ref=l1_ref, source=source)


def withdraw(amount_atoms: int, l1_recipient: bytes, *, asset_id: int = USDC) -> Body:
    return "withdraw", tx_pb2.Withdraw(asset_id=asset_id, amount_atoms=amount_atoms, l1_recipient=l1_recipient)


def place_order(slab_id: int, instrument_id: int, side: int, qty_lots: int, price_e6: int, *,
                tif: int = tx_pb2.TIME_IN_FORCE_GTC, reduce_only: bool = False,
                maker_class: int = tx_pb2.MAKER_CLASS_DLP, stp: int = 0, client_order_id: int = 0) -> Body:
    return "place_order", tx_pb2.PlaceOrder(
        slab_id=slab_id, instrument_id=instrument_id, side=side, qty_lots=qty_lots, price_e6=price_e6,
        time_in_force=tif, reduce_only=reduce_only, maker_class=maker_class,
        self_trade_prevention=stp, client_order_id=client_order_id)


def cancel_order(slab_id: int, instrument_id: int, order_id: int) -> Body:
    return "cancel_order", tx_pb2.CancelOrder(slab_id=slab_id, instrument_id=instrument_id, order_id=order_id)


def modify_order(slab_id: int, instrument_id: int, order_id: int, new_qty_lots: int, new_price_e6: int) -> Body:
    return "modify_order", tx_pb2.ModifyOrder(slab_id=slab_id, instrument_id=instrument_id, order_id=order_id,
                                              new_qty_lots=new_qty_lots, new_price_e6=new_price_e6)


def reserve(pending: PendingReveal, *, ttl_ms: int = 10_000, slab_ids: Iterable[int] = ()) -> Body:
    """The reserve for ``pending`` (``commitment.new_reveal``); only its commitment is sent."""
    return "reserve", tx_pb2.Reserve(
        route_id=pending.route_id, instrument_id=pending.instrument_id, side=pending.side,
        qty_lots=pending.qty_lots, limit_price_e6=pending.limit_price_e6, ttl_ms=ttl_ms,
        commitment=pending.commitment, slab_ids=list(slab_ids))


def commit(pending: PendingReveal) -> Body:
    return "commit", tx_pb2.Commit(route_id=pending.route_id, reveal=pending.reveal())


def cancel_hold(route_id: int) -> Body:
    return "cancel_hold", tx_pb2.CancelHold(route_id=route_id)


def liquidate(user: bytes) -> Body:
    return "liquidate", tx_pb2.Liquidate(user=user)


def oracle_update(oracle_id: int, instrument_id: int, price_e6: int, publish_time_ms: int) -> Body:
    return "oracle_update", tx_pb2.OracleUpdate(oracle_id=oracle_id, instrument_id=instrument_id,
                                                price_e6=price_e6, publish_time_ms=publish_time_ms)


def manifest(code_hash: bytes, config_hash: bytes, proof_hash: bytes) -> tx_pb2.Manifest:
    return tx_pb2.Manifest(code_hash=code_hash, config_hash=config_hash, proof_hash=proof_hash)


def register_slab(slab_id: int, owner: bytes, config: bytes, man: tx_pb2.Manifest) -> Body:
    return "register_slab", tx_pb2.RegisterSlab(slab_id=slab_id, owner=owner, config=config, manifest=man)


def upgrade_slab(slab_id: int, config: bytes, man: tx_pb2.Manifest | None, *, active: bool = True) -> Body:
    msg = tx_pb2.UpgradeSlab(slab_id=slab_id, config=config, active=active)
    if man is not None:
        msg.manifest.CopyFrom(man)
    return "upgrade_slab", msg


def funding_crank(instrument_id: int) -> Body:
    return "funding_crank", tx_pb2.FundingCrank(instrument_id=instrument_id)


def amm_add_liquidity(slab_id: int, instrument_id: int, base_lots: int, quote_atoms: int, min_shares: int = 0) -> Body:
    return "amm_add_liquidity", tx_pb2.AmmAddLiquidity(slab_id=slab_id, instrument_id=instrument_id,
                                                       base_lots=base_lots, quote_atoms=quote_atoms,
                                                       min_shares=min_shares)


def amm_remove_liquidity(slab_id: int, instrument_id: int, shares: int, min_base_lots: int = 0,
                         min_quote_atoms: int = 0) -> Body:
    return "amm_remove_liquidity", tx_pb2.AmmRemoveLiquidity(slab_id=slab_id, instrument_id=instrument_id,
                                                             shares=shares, min_base_lots=min_base_lots,
                                                             min_quote_atoms=min_quote_atoms)
