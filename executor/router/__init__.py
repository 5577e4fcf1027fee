"""The router program (EXCHANGE §2): the only path by which collateral moves.

``Router`` is a deterministic state machine over ``ExecState`` records (``records.py``) and the
slab objects.  The block executor calls ``apply_genesis`` once, ``on_epoch`` before the first
transaction of every new epoch, and ``apply_tx`` per transaction; a rejection raises
``ExecutorError`` and the executor rolls the records back.  Slabs are not journaled, so every
handler here is *check-then-apply*: all router checks and the slabs' side-effect-free previews
(``quote``, ``check_commit``) run first, and a slab is mutated only once the whole transaction is
known to succeed; a single-slab order goes to ``place_funded``, which is itself all-or-nothing
(it checks everything against the pledged collateral before it writes), as the router's last step
that can fail.

Collateral and settlement model (see README.md beside this file for the full statement):

* vault ``(user)``: free collateral.  escrow ``(user, slab)``: collateral pledged to one slab;
  between transactions the slab's account has ``collateral = escrow`` and ``cash = 0`` (the
  router settles every cash delta into the escrow at once), so the slab's equity
  ``collateral + cash + uPnL`` is ``escrow + uPnL`` (P4: only the router writes it).
* A slab result's cash deltas are settled at once: credits go to the escrow (minus a haircut
  while the slab has an uncovered deficit), debits leave it through ``safe_debit`` (the route's
  cap for a commit's taker, a one-shot settlement cap otherwise), shortfalls go down the
  waterfall (insurance fund, then the slab's deficit); the fee-pool delta goes to the fee pool;
  the AMM pool account's delta goes to ``SlabCash.pool_atoms``; ``SlabCash.clearing_atoms``
  takes the opposite of the sum.  Hence, exactly and after every transaction (EXCHANGE §4)::

      Σ vaults + Σ escrows + Σ slab cash (clearing + pool) + insurance + fee pool
          = deposits − withdrawals
"""
from __future__ import annotations

from typing import Mapping

from executor.commitment import COMMITMENT_BYTES, reveal_matches
from executor.errors import ErrorCode as E
from executor.errors import ExecutorError
from executor.manifest import Manifest, manifest_matches
from executor.router.debit import burn, mint_cap, safe_debit
from executor.router.margin import InstrumentRisk, portfolio_requirement
from executor.router.records import (
    ASSET, HOLD_CANCELLED, HOLD_COMMITTED, HOLD_EXPIRED, HOLD_RESERVED, T_CAP, T_COUNTERS,
    T_DEPOSIT_REF, T_ESCROW, T_EXPIRY, T_FEE_POOL, T_HOLD, T_INSTRUMENT, T_INSURANCE,
    T_LIQUIDATION, T_OPEN_ROUTES, T_PORTFOLIO, T_REGISTRY, T_SLAB_CASH, T_USER_KEY, T_USER_NO, T_VAULT, Cap,
    Counters, DepositRef, Escrow, ExpiryEntry, ExpiryIndex, Exposure, Fund, InstrumentState, Leg,
    LiquidationState, OpenRoutes, Portfolio, RegistryEntry, RouteHold, SlabCash, UserKey, UserNo, Vault)
from executor.units import I64_MAX, bps_of, ceil_div, notional
from proto.assetl2.v1 import state_pb2, tx_pb2

__all__ = ["Router", "check_reveal", "safe_debit", "SIDE_BUY", "SIDE_SELL"]

SIDE_BUY, SIDE_SELL = 1, 2          # wire values (tx.proto Side)
_SLAB_SIDE = {SIDE_BUY: 0, SIDE_SELL: 1}
_TIF = {0: 0, 1: 0, 2: 1, 3: 2, 4: 3}   # proto TimeInForce -> slab GTC/IOC/FOK/POST_ONLY
_MAKER_CLASS = {0: 0, 1: 0, 2: 1}     # proto MakerClass -> slab REG/DLP
MAX_PRICE_E6 = 1 << 56
POOL_USER = 0
_COUNTERS_KEY = ("router",)


def _expiry_key(bucket: int) -> tuple:
    """Parts of the expiry-index record of one expiry epoch (records.ExpiryIndex)."""
    return (f"hold-expiry/{bucket}",)


def _fail(code: E, detail: str = "") -> ExecutorError:
    return ExecutorError(code, detail)


def _ensure(cond: bool, code: E, detail: str = "", *args) -> None:
    """One way to reject (STYLE: ethereum/execution-specs ``ensure``).  ``detail % args`` is
    formatted only for a rejection: the checks run on every transaction, the message rarely."""
    if not cond:
        raise ExecutorError(code, detail % args if args else detail)


def check_reveal(h: RouteHold | None, c, *, epoch: int, now_ms: int) -> None:
    """The reserve→commit rules of one commit ``c`` against its route ``h`` (DESIGN §3,
    EXCHANGE §2 flow 2): the route exists and is open, the reveal opens its commitment and
    repeats the reserved fields, the commit lands in a later epoch than the reserve and before
    the hold expires.  Pure: the executor applies it to the block's epoch and time, the
    sequencer's admission to its clock (``Router.admission_check``)."""
    _ensure(h is not None, E.UNKNOWN_HOLD, "route %s", c.route_id)
    _ensure(h.status != HOLD_COMMITTED, E.HOLD_ALREADY_COMMITTED)
    _ensure(h.status == HOLD_RESERVED, E.HOLD_CLOSED)
    rv = c.reveal
    _ensure((rv.instrument_id, rv.side, rv.qty_lots, rv.limit_price_e6)
            == (h.instrument_id, h.side, h.qty_lots, h.limit_px_e6)
            and reveal_matches(h.commitment, c.route_id, rv.instrument_id, rv.side,
                               rv.qty_lots, rv.limit_price_e6, bytes(rv.salt)),
            E.REVEAL_MISMATCH)
    _ensure(epoch > h.reserve_epoch, E.COMMIT_SAME_EPOCH, "reserve epoch %s", h.reserve_epoch)
    _ensure(now_ms <= h.expiry_ms, E.HOLD_EXPIRED)


class Router:
    """EXCHANGE §2 router over ``ExecState`` and the slab objects (see module docstring)."""

    def __init__(self, state, config, slabs: Mapping[int, object], *,
                 governance: frozenset[bytes], bridge_relayers: frozenset[bytes],
                 faucet_enabled: bool, running_manifests: Mapping[int, Manifest] | None = None):
        self.state = state
        self.config = config
        self.slabs = dict(slabs)
        self.slab_ids = tuple(sorted(self.slabs))
        self.governance = frozenset(governance)
        self.bridge_relayers = frozenset(bridge_relayers)
        self.faucet_enabled = bool(faucet_enabled)
        self.running_manifests = dict(running_manifests or {})
        self._keys: dict[tuple, bytes] = {}
        self._manifest_verdicts: dict[tuple, bool] = {}
        r = config.router
        self.batch_ms = r.batch_ms
        self.cap_ttl_ms = min(r.cap_ttl_ms, 120_000)
        # static id maps (1-based indices into the sorted config tuples)
        self.instr_cfg = {i + 1: ins for i, ins in enumerate(config.instruments)}
        self.instr_id = {ins.symbol: i for i, ins in self.instr_cfg.items()}
        self.oracle_cfg = {i + 1: o for i, o in enumerate(config.oracles)}
        self.oracle_id = {o.oracle_id: i for i, o in self.oracle_cfg.items()}
        self.slab_cfg = {i + 1: s for i, s in enumerate(config.slabs)}
        self.local: dict[tuple[int, int], int] = {}
        self.instr_slabs: dict[int, tuple[int, ...]] = {}
        for sid in self.slab_ids:
            scfg = self.slab_cfg.get(sid)
            if scfg is None:
                raise ValueError(f"slab {sid} is not in the configuration")
            for j, sym in enumerate(scfg.instruments):
                iid = self.instr_id[sym]
                self.local[(sid, iid)] = j
                self.instr_slabs[iid] = self.instr_slabs.get(iid, ()) + (sid,)
        pm = r.portfolio_margin
        self.correlations = tuple(
            (self.instr_id[c.a], self.instr_id[c.b], c.offset_bps) for c in pm.correlations
            if c.a in self.instr_id and c.b in self.instr_id) if pm.model == "cross_alpha" else ()

    # ================================================================== record helpers
    def _key(self, table, parts: tuple) -> bytes:
        """Derived tree keys, memoised (key derivation is a SHA-256 per lookup)."""
        ck = (table.namespace, parts)
        k = self._keys.get(ck)
        if k is None:
            if len(self._keys) > 1_000_000:
                self._keys.clear()
            k = self._keys[ck] = table.key(*parts)
        return k

    def _get(self, table, *parts, default=None):
        k = self._keys.get((table.namespace, parts))      # _key, inlined: every read asks
        v = self.state.get_by_key(table, self._key(table, parts) if k is None else k)
        return default if v is None else v

    def _put(self, table, parts: tuple, value) -> None:
        k = self._keys.get((table.namespace, parts))
        self.state.put_by_key(table, self._key(table, parts) if k is None else k, value)

    def _counters(self) -> Counters:
        return self._get(T_COUNTERS, *_COUNTERS_KEY, default=Counters())

    def _vault(self, user: bytes) -> int:
        return self._get(T_VAULT, user, ASSET, default=Vault()).balance_atoms

    def _set_vault(self, user: bytes, amount: int) -> None:
        _ensure(0 <= amount <= I64_MAX, E.OVERFLOW, "vault balance")
        self._put(T_VAULT, (user, ASSET), Vault(amount))

    def _escrow(self, user: bytes, slab: int) -> Escrow:
        return self._get(T_ESCROW, user, slab, ASSET, default=Escrow())

    def _credit_escrow(self, user: bytes, slab: int, amount: int) -> None:
        """Credits need no capability (only debits do, P6)."""
        e = self._escrow(user, slab)
        _ensure(e.balance_atoms + amount <= I64_MAX, E.OVERFLOW, "escrow balance")
        self._put(T_ESCROW, (user, slab, ASSET), Escrow(e.balance_atoms + amount, e.nonce + 1))

    def _fund(self, table) -> int:
        return self._get(table, ASSET, default=Fund()).balance_atoms

    def _add_fund(self, table, delta: int) -> None:
        if delta:
            self._put(table, (ASSET,), Fund(self._fund(table) + delta))

    def _slab_cash(self, slab: int) -> SlabCash:
        return self._get(T_SLAB_CASH, slab, default=SlabCash())

    def _instr_state(self, iid: int) -> InstrumentState:
        return self._get(T_INSTRUMENT, iid, default=InstrumentState())

    def _next_nonce(self) -> int:
        c = self._counters()
        self._put(T_COUNTERS, _COUNTERS_KEY, c.evolve(next_cap_nonce=c.next_cap_nonce + 1))
        return c.next_cap_nonce

    # ------------------------------------------------------------------ users
    def user_no(self, user: bytes) -> int | None:
        rec = self._get(T_USER_NO, user)
        return None if rec is None else rec.user_no

    def _user_no_or_assign(self, user: bytes) -> int:
        """Deterministic numbering on first touch: 1, 2, … in transaction order."""
        _ensure(isinstance(user, bytes) and len(user) == 32, E.BAD_ARGUMENT, "user must be 32 bytes")
        n = self.user_no(user)
        if n is not None:
            return n
        c = self._counters()
        n = c.next_user_no
        self._put(T_COUNTERS, _COUNTERS_KEY, c.evolve(next_user_no=n + 1))
        self._put(T_USER_NO, (user,), UserNo(n))
        self._put(T_USER_KEY, (n,), UserKey(user))
        return n

    def user_key(self, n: int) -> bytes:
        if n == POOL_USER:
            return b""
        rec = self._get(T_USER_KEY, n)
        if rec is None:
            raise ExecutorError(E.INTERNAL, f"slab user {n} has no public key")
        return rec.pubkey

    def users(self) -> list[bytes]:
        """Every user that ever touched the router, in numbering order."""
        return [self.user_key(n) for n in range(1, self._counters().next_user_no)]

    # ------------------------------------------------------------------ registry (P10/P11)
    def _registry(self, slab: int) -> RegistryEntry | None:
        return self._get(T_REGISTRY, slab)

    def _eligible(self, slab: int) -> E:
        """OK when routing to ``slab`` is allowed: registered, active, manifest matches."""
        entry = self._registry(slab)
        if entry is None or slab not in self.slabs:
            return E.UNKNOWN_SLAB
        if not entry.active:
            return E.SLAB_INACTIVE
        running = self.running_manifests.get(slab)
        if running is not None and not self._manifest_ok(slab, entry, running):
            return E.SLAB_MANIFEST_MISMATCH
        return E.OK

    def _manifest_ok(self, slab: int, entry: RegistryEntry, running: Manifest) -> bool:
        """``manifest_matches`` of a registry entry and the running code, remembered per
        (slab, entry): it hashes the verification transcript, and every route and order asks
        (a pure function of the three hashes and the running manifest, which is fixed)."""
        key = (slab, entry.code_hash, entry.config_hash, entry.proof_hash)
        ok = self._manifest_verdicts.get(key)
        if ok is None:
            if len(self._manifest_verdicts) > 4096:
                self._manifest_verdicts.clear()
            registered = Manifest(entry.code_hash, entry.config_hash, entry.proof_hash,
                                  running.transcript)
            ok = self._manifest_verdicts[key] = bool(manifest_matches(registered, running))
        return ok

    def _require_slab(self, slab: int):
        code = self._eligible(slab)
        _ensure(code == E.OK, code, "slab %s", slab)
        return self.slabs[slab]

    def _is_amm(self, slab: int) -> bool:
        return self.slab_cfg[slab].kind == "amm"

    def _fee_caps(self, slab: int) -> tuple[int, int]:
        e = self._registry(slab)
        return e.maker_fee_cap_bps, e.taker_fee_cap_bps

    def _require_instrument(self, iid: int) -> None:
        _ensure(iid in self.instr_cfg, E.UNKNOWN_INSTRUMENT, "instrument %s", iid)

    def _local(self, slab: int, iid: int) -> int:
        self._require_instrument(iid)
        j = self.local.get((slab, iid))
        _ensure(j is not None, E.INSTRUMENT_NOT_ON_SLAB, "instrument %s on slab %s", iid, slab)
        return j

    # ================================================================== genesis
    def apply_genesis(self, genesis, *, now_ms: int) -> None:
        """Registry from the configuration, oracle prices, funded vaults (DESIGN §6)."""
        sp = self.state.savepoint()
        try:
            self._genesis(genesis, now_ms)
        except BaseException:
            self.state.rollback(sp)
            raise
        self.state.release(sp)     # at the outermost level: the journal is dropped

    def _genesis(self, genesis, now_ms: int) -> None:
        c = self._counters()
        _ensure(not c.genesis_done, E.BAD_ARGUMENT, "genesis already applied")
        fee_cap = self.config.router.fee_cap
        for sid in self.slab_ids:
            s = self.slab_cfg[sid]
            m = self.running_manifests.get(sid)
            zero = bytes(32)
            self._put(T_REGISTRY, (sid,), RegistryEntry(
                slab=sid, kind=1 if s.kind == "amm" else 0, owner=zero,
                code_hash=m.code_hash if m else zero,
                config_hash=m.config_fingerprint if m else zero,
                proof_hash=m.proof_hash if m else zero,
                oracle_id=self.oracle_id[s.oracle], imr_bps=s.risk.imr_bps,
                mmr_bps=s.risk.mmr_bps,
                maker_fee_cap_bps=min(s.fee_cap.maker_bps, fee_cap.maker_bps),
                taker_fee_cap_bps=min(s.fee_cap.taker_bps, fee_cap.taker_bps),
                latency_sla_ms=s.registry.latency_sla_ms, e_max_atoms=s.registry.e_max_atoms,
                active=s.registry.active))
        for p in genesis.prices:
            iid = self.instr_id[p.instrument]
            self._put(T_INSTRUMENT, (iid,), InstrumentState(price_e6=p.price_e6,
                                                            publish_ms=now_ms, updated_ms=now_ms))
            for sid in self.instr_slabs.get(iid, ()):
                r = self.slabs[sid].update_oracle(self.local[(sid, iid)], p.price_e6, now_ms=now_ms)
                _ensure(r.ok, r.code, "genesis oracle on slab %s", sid)
        total = 0
        for a in genesis.accounts:
            self._user_no_or_assign(a.pubkey)
            self._set_vault(a.pubkey, self._vault(a.pubkey) + a.amount_atoms)
            total += a.amount_atoms
        c = self._counters()
        self._put(T_COUNTERS, _COUNTERS_KEY, c.evolve(deposits_atoms=c.deposits_atoms + total,
                                                     genesis_done=True))

    # ================================================================== dispatch
    def apply_tx(self, signer: bytes, payload, *, now_ms: int, epoch: int) -> list:
        body = payload.WhichOneof("body")
        _ensure(body is not None, E.EMPTY_TRANSACTION)
        handler = getattr(self, f"_tx_{body}")
        return handler(signer, getattr(payload, body), now_ms, epoch)

    # ================================================================== margin
    def _risk(self) -> dict[int, InstrumentRisk]:
        return {iid: InstrumentRisk(ins.contract_size, self._instr_state(iid).price_e6)
                for iid, ins in self.instr_cfg.items()}

    def _exposures(self, user: bytes) -> dict[tuple[int, int], int]:
        pf = self._get(T_PORTFOLIO, user, default=Portfolio())
        return {(e.slab, e.instrument_id): e.qty_lots for e in pf.exposures}

    def _im(self, exposures: dict) -> int:
        """IM_router alone (what the commit check needs), priced for the exposed instruments."""
        risk = {iid: InstrumentRisk(self.instr_cfg[iid].contract_size, self._instr_state(iid).price_e6)
                for iid in {k[1] for k in exposures}}
        imr = {s: self._registry(s).imr_bps for s in {k[0] for k in exposures}}
        return portfolio_requirement(exposures, risk, imr, self.correlations)[0]

    def _requirements(self, exposures: dict) -> tuple[int, int, int, int]:
        """(IM_router, MM_router, Σ IM_slab, Σ MM_slab) of an exposure map."""
        risk = self._risk()
        imr = {s: self._registry(s).imr_bps for s in {k[0] for k in exposures}}
        mmr = {s: self._registry(s).mmr_bps for s in {k[0] for k in exposures}}
        im, im_slab = portfolio_requirement(exposures, risk, imr, self.correlations)
        mm, mm_slab = portfolio_requirement(exposures, risk, mmr, self.correlations)
        return im, mm, im_slab, mm_slab

    def equity(self, user: bytes) -> int:
        """``vault + Σ_s (escrow + uPnL_s − unsettled funding_s)`` (P9).  The slab reports
        ``collateral + cash + uPnL − funding``; the unrealised part is read as the difference
        (``collateral + cash = escrow`` between transactions)."""
        eq = self._vault(user)
        n = self.user_no(user)
        for sid in self.slab_ids:
            esc = self._escrow(user, sid).balance_atoms
            eq += esc
            if n is None:
                continue
            cc = self.slabs[sid].collateral_cash(n)
            if cc is not None:
                eq += self.slabs[sid].margin(n)[0] - cc[0] - cc[1]
        return eq

    def margin(self, user: bytes) -> tuple[int, int, int]:
        """(equity, IM_router, MM_router) of ``user``."""
        im, mm, _a, _b = self._requirements(self._exposures(user))
        return self.equity(user), im, mm

    # ================================================================== settlement
    def _settle(self, slab: int, result, now_ms: int, *, taker: bytes | None = None,
                cap_key: tuple | None = None) -> None:
        """Apply a slab result's cash deltas to escrows / pool / funds (module docstring).

        Debits: the route cap first (``cap_key``, for the commit's taker), then a one-shot
        settlement cap, both through ``safe_debit``; what the escrow cannot pay is covered by
        the insurance fund, the rest becomes the slab's deficit.  Credits: haircut while the
        slab has a deficit (positive PnL only, never principal).  A result that moves nothing
        (an order that only rests) rewrites nothing once the slab's cash record exists (the
        first settlement on a slab creates it, as it always has: the state root depends on it)."""
        if not result.cash_deltas and not result.fee_pool_delta_atoms \
                and self._get(T_SLAB_CASH, slab) is not None:
            return
        sc = self._slab_cash(slab)
        clearing, pool, deficit, haircut = (sc.clearing_atoms, sc.pool_atoms, sc.deficit_atoms,
                                            sc.haircut_atoms)
        moved = 0
        touched = []
        for cd in result.cash_deltas:
            d = cd.amount_atoms
            if cd.user == POOL_USER:
                pool += d
                moved += d
                continue
            user = self.user_key(cd.user)
            touched.append((cd.user, user))
            if d > 0:
                h = min(d, deficit)
                deficit -= h
                haircut += h
                self._credit_escrow(user, slab, d - h)
                moved += d - h
            elif d < 0:
                owed = -d
                if taker is not None and user == taker and cap_key is not None:
                    cap = self._get(T_CAP, *cap_key)
                    esc = self._escrow(user, slab)
                    take = min(owed, cap.remaining, esc.balance_atoms)
                    cap, esc = safe_debit(cap, esc, user=user, slab=slab, asset=ASSET,
                                          amount=take, now_ms=now_ms)
                    self._put(T_CAP, cap_key, cap)
                    self._put(T_ESCROW, (user, slab, ASSET), esc)
                    owed -= take
                    moved -= take
                if owed:
                    esc = self._escrow(user, slab)
                    take = min(owed, esc.balance_atoms)
                    one_shot = mint_cap(user=user, slab=slab, asset=ASSET, amount=take,
                                        now_ms=now_ms, ttl_ms=0, nonce=0)
                    _cap, esc = safe_debit(one_shot, esc, user=user, slab=slab, asset=ASSET,
                                           amount=take, now_ms=now_ms)
                    self._put(T_ESCROW, (user, slab, ASSET), esc)
                    owed -= take
                    moved -= take
                if owed:
                    ins = self._fund(T_INSURANCE)
                    cover = min(owed, max(ins, 0))
                    self._add_fund(T_INSURANCE, -cover)
                    moved -= cover
                    deficit += owed - cover
        fee = result.fee_pool_delta_atoms
        self._add_fund(T_FEE_POOL, fee)
        moved += fee
        # the balancing entry: what left the slab's books went into escrows, pool, funds
        self._put(T_SLAB_CASH, (slab,), SlabCash(clearing - moved, pool, deficit, haircut))
        for n, user in sorted(set(touched)):
            self._sync_collateral(user, n, slab, now_ms)

    def _sync_collateral(self, user: bytes, n: int, slab: int, now_ms: int) -> None:
        """Keep the slab's view exact: ``collateral = escrow`` and ``cash = 0`` — the router
        has settled every cash delta into the escrow already (P4: the slab only reads it)."""
        code = self.slabs[slab].sync_collateral(n, self._escrow(user, slab).balance_atoms,
                                                now_ms=now_ms)
        _ensure(code == E.OK, E.INTERNAL, "set_collateral slab %s: %d", slab, code)

    def _slab_shortfall(self, n: int, slab: int) -> int:
        """How far the user's existing account on ``slab`` is below the slab's own IM.

        The router refunds unused escrow after every route (the portfolio margin governs
        withdrawals), but each slab still checks its own IM on an IM-increasing fill (RM1–RM3),
        so a new pledge tops the account back up to it first."""
        s = self.slabs[slab]
        if s.collateral_cash(n) is None:
            return 0
        equity, im, _mm = s.margin(n)
        return max(0, im - equity)

    def _collateral_after(self, user: bytes, n: int, slab: int, escrow_after: int) -> int:
        """The collateral a preview must assume once the escrow is ``escrow_after`` (the
        slab's cash is 0 between transactions, see ``_sync_collateral``)."""
        cc = self.slabs[slab].collateral_cash(n)
        cash = cc[1] if cc is not None else 0
        return min(max(0, escrow_after - cash), I64_MAX)

    def _add_exposure(self, user: bytes, slab: int, iid: int, dq: int) -> None:
        if not dq or not user:
            return
        ex = self._exposures(user)
        ex[(slab, iid)] = ex.get((slab, iid), 0) + dq
        self._put(T_PORTFOLIO, (user,), Portfolio(tuple(
            Exposure(s, i, q) for (s, i), q in sorted(ex.items()) if q)))

    def _apply_fills(self, slab: int, iid: int, side_wire: int, fills) -> list:
        """Portfolio exposure of taker and makers, and the Fill events."""
        events = []
        sign = 1 if side_wire == SIDE_BUY else -1
        for f in fills:
            taker = self.user_key(f.taker_user)
            maker = self.user_key(f.maker_user)
            self._add_exposure(taker, slab, iid, sign * f.qty_lots)
            self._add_exposure(maker, slab, iid, -sign * f.qty_lots)
            events.append(state_pb2.Event(fill=state_pb2.Fill(
                slab_id=slab, instrument_id=iid, maker_order_id=f.maker_order_id, maker=maker,
                taker=taker, taker_side=side_wire, qty_lots=f.qty_lots, price_e6=f.price_e6,
                maker_fee_atoms=f.maker_fee_atoms, taker_fee_atoms=f.taker_fee_atoms)))
        return events

    # ================================================================== deposit / withdraw
    def _tx_deposit(self, signer: bytes, d, now_ms: int, epoch: int) -> list:
        """Credit a vault from the L1 bridge (authorised relayers) or the dev faucet."""
        _ensure(d.asset_id == ASSET, E.UNKNOWN_ASSET, "asset %s", d.asset_id)
        _ensure(0 < d.amount_atoms <= I64_MAX, E.BAD_AMOUNT)
        _ensure(len(d.user) == 32, E.BAD_ARGUMENT, "user must be a 32-byte public key")
        if d.source == tx_pb2.DEPOSIT_SOURCE_BRIDGE:
            _ensure(signer in self.bridge_relayers, E.NOT_BRIDGE_RELAYER)
            _ensure(0 < len(d.l1_ref) <= 64, E.BAD_ARGUMENT, "bridge deposits need an l1_ref")
            _ensure(self._get(T_DEPOSIT_REF, d.l1_ref) is None, E.DEPOSIT_REPLAYED)
            self._put(T_DEPOSIT_REF, (d.l1_ref,), DepositRef(d.amount_atoms))
        elif d.source == tx_pb2.DEPOSIT_SOURCE_FAUCET:
            _ensure(self.faucet_enabled, E.FAUCET_DISABLED)
        else:
            raise _fail(E.BAD_ARGUMENT, "deposit source must be BRIDGE or FAUCET")
        c = self._counters()
        outstanding = c.deposits_atoms - c.withdrawals_atoms + d.amount_atoms
        _ensure(outstanding <= self.config.router.collateral.vault_cap_atoms, E.VAULT_CAP_EXCEEDED)
        self._user_no_or_assign(d.user)
        self._set_vault(d.user, self._vault(d.user) + d.amount_atoms)
        c = self._counters()
        self._put(T_COUNTERS, _COUNTERS_KEY, c.evolve(deposits_atoms=c.deposits_atoms + d.amount_atoms))
        return []

    def _pledged_open(self, user: bytes, slab: int, exclude: int = 0) -> int:
        """Escrow still backing open routes on ``slab`` (not withdrawable)."""
        total = 0
        for hold_id in self._get(T_OPEN_ROUTES, user, default=OpenRoutes()).hold_ids:
            if hold_id != exclude:
                cap = self._get(T_CAP, hold_id, slab)
                if cap is not None and not cap.burned:
                    total += cap.remaining
        return total

    def _order_margin(self, n: int, slab: int) -> int:
        """What ``n``'s resting and pending orders on a book slab add to that slab's IM as if
        they filled on the worse side (``margin_with_orders`` − positions' IM): the collateral
        the slab accepted them against (RM1–RM3).  0 on the AMM and without an account."""
        s = self.slabs[slab]
        if self._is_amm(slab) or s.collateral_cash(n) is None:
            return 0
        return max(0, s.margin_with_orders(n)[1] - s.margin(n)[1])

    def _tx_withdraw(self, signer: bytes, w, now_ms: int, epoch: int) -> list:
        """Debit the vault, then free escrow (re-pledging it back, L1), only if the portfolio
        stays at or above IM afterwards (EXCHANGE §2 Vault).

        Positions are margined by the portfolio (cross-slab hedges net, RM5), but a resting
        order was accepted by its slab against collateral on that slab: escrow backing open
        routes or what the account's orders add to the slab's IM (``_order_margin``) cannot
        leave, and the portfolio check counts those order margins on top of IM_router."""
        _ensure(w.asset_id == ASSET, E.UNKNOWN_ASSET)
        _ensure(0 < w.amount_atoms <= I64_MAX, E.BAD_AMOUNT)
        _ensure(len(w.l1_recipient) == 32, E.BAD_ARGUMENT, "l1_recipient must be 32 bytes")
        n = self.user_no(signer)
        _ensure(n is not None, E.INSUFFICIENT_FUNDS)
        amount = w.amount_atoms
        vault = self._vault(signer)
        plan = []
        left = amount - min(amount, vault)
        orders_im = 0
        for sid in self.slab_ids:
            order_im = self._order_margin(n, sid)
            orders_im += order_im
            if not left:
                continue
            free = (self._escrow(signer, sid).balance_atoms - self._pledged_open(signer, sid)
                    - order_im)
            take = min(left, max(free, 0))
            if take:
                plan.append((sid, take))
                left -= take
        _ensure(left == 0, E.INSUFFICIENT_FUNDS,
                "short by %s; escrow backing open routes and resting orders stays pledged", left)
        equity, im, _mm = self.margin(signer)
        _ensure(equity - amount >= im + orders_im, E.WITHDRAW_BELOW_IM,
                "equity %s - %s < IM %s + resting orders' margin %s", equity, amount, im, orders_im)
        # apply
        self._set_vault(signer, vault - min(amount, vault))
        for sid, take in plan:
            one_shot = mint_cap(user=signer, slab=sid, asset=ASSET, amount=take, now_ms=now_ms,
                                ttl_ms=0, nonce=self._next_nonce())
            _cap, esc = safe_debit(one_shot, self._escrow(signer, sid), user=signer, slab=sid,
                                   asset=ASSET, amount=take, now_ms=now_ms)
            self._put(T_ESCROW, (signer, sid, ASSET), esc)
            self._sync_collateral(signer, n, sid, now_ms)
        c = self._counters()
        self._put(T_COUNTERS, _COUNTERS_KEY, c.evolve(withdrawals_atoms=c.withdrawals_atoms + amount))
        return []

    # ================================================================== orders
    def _tx_place_order(self, signer: bytes, p, now_ms: int, epoch: int) -> list:
        """Route a limit order to one book slab, pledging its margin from the vault first.

        Pledge = IM + taker fee + ARG bound on ``notional(qty, price)`` (capped by the vault);
        the slab checks the order against ``collateral = escrow + pledge − cash`` in a preview
        before anything is written."""
        slab = self._require_slab(p.slab_id)
        _ensure(not self._is_amm(p.slab_id), E.BAD_ARGUMENT,
                "AMM slabs take reserves, not orders")
        j = self._local(p.slab_id, p.instrument_id)
        _ensure(p.side in _SLAB_SIDE, E.BAD_SIDE)
        _ensure(p.time_in_force in _TIF, E.BAD_TIME_IN_FORCE)
        _ensure(p.maker_class in _MAKER_CLASS, E.BAD_ARGUMENT, "maker class")
        _ensure(p.qty_lots > 0, E.QTY_NOT_POSITIVE)
        _ensure(p.price_e6 > 0, E.PRICE_NOT_POSITIVE)
        _ensure(p.qty_lots <= I64_MAX and p.price_e6 <= MAX_PRICE_E6, E.OVERFLOW)
        n = self._user_no_or_assign(signer)
        cfg = slab.config
        cs = self.instr_cfg[p.instrument_id].contract_size
        # the slab margins a resting order as if filled at the oracle: price the pledge at
        # the worse of the two
        mark = self._instr_state(p.instrument_id).price_e6
        n_up = notional(p.qty_lots, max(p.price_e6, mark), cs, round_up=True)
        need = (bps_of(n_up, cfg.imr_bps + cfg.taker_fee_bps + cfg.arg_tax_bps, round_up=True)
                + self._slab_shortfall(n, p.slab_id))
        vault = self._vault(signer)
        pledge = min(vault, need)
        esc_after = self._escrow(signer, p.slab_id).balance_atoms + pledge
        coll = self._collateral_after(signer, n, p.slab_id, esc_after)
        _ensure(esc_after <= I64_MAX, E.OVERFLOW, "escrow balance")
        side, tif, mclass = _SLAB_SIDE[p.side], _TIF[p.time_in_force], _MAKER_CLASS[p.maker_class]
        _mcap, tcap = self._fee_caps(p.slab_id)
        # the last check and the first write: the slab funds the account and places the order
        # only if every one of its checks passes against the pledged collateral
        res = slab.place_funded(n, j, side, p.price_e6, p.qty_lots, tif=tif, now_ms=now_ms,
                                reduce_only=p.reduce_only, fee_cap_taker_bps=tcap,
                                collateral_atoms=coll, maker_class=mclass)
        _ensure(res.ok, res.code, "slab %s", p.slab_id)
        self._set_vault(signer, vault - pledge)
        if pledge:
            self._credit_escrow(signer, p.slab_id, pledge)
        self._settle(p.slab_id, res, now_ms)
        self._sync_collateral(signer, n, p.slab_id, now_ms)
        events = self._apply_fills(p.slab_id, p.instrument_id, p.side, res.fills)
        events.append(self._order_event(p.slab_id, p.instrument_id, res.order_id, signer))
        return events

    def _order_event(self, slab_id: int, iid: int, order_id: int, owner: bytes):
        # core.order(): (id, account, instr, side, price, qty, reserved, flags, created_ms);
        # flags bit 1 = PENDING, bit 2 = CANCELLED (held part only)
        o = self.slabs[slab_id].order(order_id) if order_id else None
        if o is None:
            st, rem, resv = state_pb2.ORDER_STATE_FILLED, 0, 0
        else:
            st = (state_pb2.ORDER_STATE_CANCELLED if o[7] & 2 else
                  state_pb2.ORDER_STATE_PENDING if o[7] & 1 else state_pb2.ORDER_STATE_LIVE)
            rem, resv = o[5], o[6]
        return state_pb2.Event(order_update=state_pb2.OrderUpdate(
            slab_id=slab_id, instrument_id=iid, order_id=order_id, owner=owner, state=st,
            remaining_lots=max(rem, 0), reserved_lots=max(resv, 0)))

    def _tx_cancel_order(self, signer: bytes, c, now_ms: int, epoch: int) -> list:
        """Cancel a resting order.  Allowed on a registered slab that is inactive or whose
        manifest no longer matches (cancel-only): nothing can trade there, and the order's
        margin stays pledged until it is cancelled (withdrawals keep it)."""
        _ensure(self._registry(c.slab_id) is not None and c.slab_id in self.slabs, E.UNKNOWN_SLAB,
                "slab %s", c.slab_id)
        slab = self.slabs[c.slab_id]
        _ensure(not self._is_amm(c.slab_id), E.BAD_ARGUMENT, "AMM slabs have no orders")
        self._local(c.slab_id, c.instrument_id)
        n = self.user_no(signer)
        _ensure(n is not None, E.UNKNOWN_ORDER)
        r = slab.cancel_order(n, c.order_id, now_ms=now_ms)
        _ensure(r.ok, r.code)
        # the order's pledge is no longer needed: what the slab keeps for the account's
        # positions, other orders and open routes stays, the rest returns to the vault
        free = self._escrow(signer, c.slab_id).balance_atoms - self._escrow_kept(signer, n, c.slab_id)
        if free > 0:
            self._escrow_to_vault(signer, c.slab_id, free, now_ms)
            self._sync_collateral(signer, n, c.slab_id, now_ms)
        return [state_pb2.Event(order_update=state_pb2.OrderUpdate(
            slab_id=c.slab_id, instrument_id=c.instrument_id, order_id=c.order_id, owner=signer,
            state=state_pb2.ORDER_STATE_CANCELLED))]

    def _tx_modify_order(self, signer: bytes, m, now_ms: int, epoch: int) -> list:
        """Uses the collateral already pledged to the slab (no new pledge)."""
        slab = self._require_slab(m.slab_id)
        _ensure(not self._is_amm(m.slab_id), E.BAD_ARGUMENT, "AMM slabs have no orders")
        self._local(m.slab_id, m.instrument_id)
        n = self.user_no(signer)
        _ensure(n is not None, E.UNKNOWN_ORDER)
        _ensure(m.new_qty_lots <= I64_MAX and m.new_price_e6 <= MAX_PRICE_E6, E.OVERFLOW)
        r = slab.modify_order(n, m.order_id, m.new_price_e6, m.new_qty_lots, now_ms=now_ms)
        _ensure(r.ok, r.code)
        return [self._order_event(m.slab_id, m.instrument_id, m.order_id, signer)]

    # ================================================================== reserve (flow 1)
    def _quote(self, sid: int, n: int, j: int, side: int, qty: int, limit: int, now_ms: int,
               ttl_ms: int):
        slab = self.slabs[sid]
        if self._is_amm(sid):
            if slab.collateral_cash(n) is None and slab.accounts_free() <= 0:
                return None
            q = slab.quote(j, side, qty, limit, now_ms=now_ms)
            if not q.ok:
                return None
            return ((q.vwap_px_e6, q.qty_lots),), q
        q = slab.quote(n, j, side, qty, limit, now_ms=now_ms, ttl_ms=ttl_ms)
        if not q.ok:
            return None
        levels: dict[int, int] = {}
        for _m, lq, px in q.slices:
            levels[px] = levels.get(px, 0) + lq
        return tuple(sorted(levels.items())), q

    def _plan_route(self, candidates: list[int], n: int, iid: int, side: int, qty: int,
                    limit: int, now_ms: int, ttl_ms: int, quotes: dict) -> list[tuple[int, int, int]]:
        """Smart order routing: merge every eligible slab's holdable levels, take the
        cheapest first (ties by slab id), drop slabs whose share is below their minimum
        size and re-plan; returns [(slab, qty, worst_px)] or raises ROUTE_UNFILLABLE.
        ``quotes`` receives each slab's whole-quantity quote of the final round."""
        buy = side == 0
        active = list(candidates)
        while True:
            levels = []
            quotes.clear()
            for sid in active:
                qt = self._quote(sid, n, self.local[(sid, iid)], side, qty, limit, now_ms, ttl_ms)
                if qt is None:
                    continue
                quotes[sid] = qt[1]
                for px, lq in qt[0]:
                    levels.append((px if buy else -px, sid, lq))
            levels.sort()
            alloc: dict[int, list[int]] = {}
            left = qty
            for key, sid, lq in levels:
                if not left:
                    break
                take = min(lq, left)
                if self._is_amm(sid) and take < lq:
                    lot = self.instr_cfg[iid].lot_size
                    take -= take % lot
                if take <= 0:
                    continue
                a = alloc.setdefault(sid, [0, 0])
                a[0] += take
                a[1] = key if buy else -key
                left -= take
            _ensure(left == 0, E.ROUTE_UNFILLABLE, "%s of %s lots holdable", qty - left, qty)
            small = [sid for sid, (q, _p) in alloc.items()
                     if q < self.instr_cfg[iid].min_size or self._over_e_max(sid, n, iid, side, q)]
            if not small:
                return [(sid, q, px) for sid, (q, px) in sorted(alloc.items())]
            active = [s for s in active if s not in small]

    def _over_e_max(self, sid: int, n: int, iid: int, side: int, q: int) -> bool:
        """Exposure ceiling (registry ``E_max``, seed 000 §5.9): a leg that would take the
        user's position notional on this slab above it is not routed there."""
        pos = self.slabs[sid].position(n, self.local[(sid, iid)])["qty_lots"]
        after = pos + (q if side == 0 else -q)
        mark = self._instr_state(iid).price_e6
        return notional(abs(after), mark, self.instr_cfg[iid].contract_size,
                        round_up=True) > self._registry(sid).e_max_atoms

    def _tx_reserve(self, signer: bytes, r, now_ms: int, epoch: int) -> list:
        """EXCHANGE §2 flow 1: all-or-nothing multi-slab reservation with one cap per slab."""
        _ensure(self._get(T_HOLD, signer, r.route_id) is None, E.ROUTE_EXISTS)
        _ensure(len(r.commitment) == COMMITMENT_BYTES, E.BAD_COMMITMENT)
        _ensure(r.side in _SLAB_SIDE, E.BAD_SIDE)
        self._require_instrument(r.instrument_id)
        _ensure(0 < r.qty_lots <= I64_MAX, E.QTY_NOT_POSITIVE)
        _ensure(0 < r.limit_price_e6 <= MAX_PRICE_E6, E.PRICE_NOT_POSITIVE)
        _ensure(0 < r.ttl_ms <= self.cap_ttl_ms, E.BAD_TTL, "1..%s", self.cap_ttl_ms)
        iid = r.instrument_id
        if r.slab_ids:
            candidates = sorted(set(r.slab_ids))
            for sid in candidates:
                self._require_slab(sid)
                self._local(sid, iid)
        else:
            candidates = [s for s in self.instr_slabs.get(iid, ()) if self._eligible(s) == E.OK]
        n = self._user_no_or_assign(signer)
        side = _SLAB_SIDE[r.side]
        quotes: dict = {}
        plan = self._plan_route(candidates, n, iid, side, r.qty_lots, r.limit_price_e6, now_ms,
                                r.ttl_ms, quotes)
        # exact max_charge of each leg (a re-quote of exactly its share), then the pledges
        legs = []
        for sid, q, worst in plan:
            amm = self._is_amm(sid)
            lim = r.limit_price_e6 if amm else worst
            whole = quotes[sid]
            if q == r.qty_lots and (whole.qty_lots if amm else whole.held_qty) == q:
                qt = (None, whole)   # the leg is the whole quote: a re-quote returns the same holds
            else:
                qt = self._quote(sid, n, self.local[(sid, iid)], side, q, lim, now_ms, r.ttl_ms)
            _ensure(qt is not None and (qt[1].qty_lots if amm else qt[1].held_qty) == q,
                    E.ROUTE_UNFILLABLE, "slab %s re-quote", sid)
            # the slab's max_charge (fees + ARG + IM at the captured prices) plus the loss
            # against the mark when the captured prices are worse than it, so the slab's own
            # post-fill margin check (RM1-RM3) is met by the pledge alone
            mark = self._instr_state(iid).price_e6
            gap = (qt[1].vwap_px_e6 - mark) if side == 0 else (mark - qt[1].vwap_px_e6)
            adverse = notional(q, gap, self.instr_cfg[iid].contract_size, round_up=True) \
                if gap > 0 else 0
            legs.append((sid, q, lim, qt[1].max_charge_atoms + adverse
                         + self._slab_shortfall(n, sid)))
        total = sum(mc for *_x, mc in legs)
        vault = self._vault(signer)
        _ensure(total <= vault, E.INSUFFICIENT_FUNDS, "pledge %s > vault %s", total, vault)
        # apply: pledge, reserve, mint caps
        c = self._counters()
        hold_id = c.next_hold_id
        self._put(T_COUNTERS, _COUNTERS_KEY, c.evolve(next_hold_id=hold_id + 1))
        self._set_vault(signer, vault - total)
        out_legs = []
        for sid, q, lim, mc in legs:
            esc_after = self._escrow(signer, sid).balance_atoms + mc
            self._credit_escrow(signer, sid, mc)
            coll = self._collateral_after(signer, n, sid, esc_after)
            s = self.slabs[sid]
            sr = s.set_collateral(n, coll, now_ms=now_ms)
            _ensure(sr.ok, E.INTERNAL, "set_collateral slab %s: %d", sid, sr.code)
            self._sync_collateral(signer, n, sid, now_ms)
            res = s.reserve(n, self.local[(sid, iid)], side, q, lim, now_ms=now_ms, ttl_ms=r.ttl_ms)
            _ensure(res.ok and res.held_qty == q, E.INTERNAL,
                    "reserve diverged from quote on slab %s: %d", sid, res.code)
            self._put(T_CAP, (hold_id, sid), mint_cap(
                user=signer, slab=sid, asset=ASSET, amount=mc, now_ms=now_ms, ttl_ms=r.ttl_ms,
                nonce=self._next_nonce()))
            out_legs.append(Leg(sid, res.hold_id, q, res.vwap_px_e6, res.worst_px_e6,
                                res.max_charge_atoms, mc))
        expiry = now_ms + r.ttl_ms
        self._put(T_HOLD, (signer, r.route_id), RouteHold(
            hold_id=hold_id, user=signer, route_id=r.route_id, instrument_id=iid, side=r.side,
            qty_lots=r.qty_lots, limit_px_e6=r.limit_price_e6, commitment=bytes(r.commitment),
            reserve_epoch=epoch, expiry_ms=expiry, status=HOLD_RESERVED, legs=tuple(out_legs)))
        self._index_open_route(signer, hold_id, r.route_id, expiry)
        return []

    def _index_open_route(self, user: bytes, hold_id: int, route_id: int, expiry_ms: int) -> None:
        """Add a new route to its expiry epoch's index and to the user's open routes."""
        bucket = expiry_ms // self.batch_ms
        idx = self._get(T_EXPIRY, *_expiry_key(bucket), default=ExpiryIndex())
        self._put(T_EXPIRY, _expiry_key(bucket), ExpiryIndex(idx.entries + (
            ExpiryEntry(expiry_ms, hold_id, user, route_id),)))
        c = self._counters()
        if bucket > c.expiry_last_epoch:
            self._put(T_COUNTERS, _COUNTERS_KEY, c.evolve(expiry_last_epoch=bucket))
        mine = self._get(T_OPEN_ROUTES, user, default=OpenRoutes())
        self._put(T_OPEN_ROUTES, (user,), mine.with_route(hold_id, route_id))

    # ================================================================== commit (flow 2)
    def _tx_commit(self, signer: bytes, c, now_ms: int, epoch: int) -> list:
        """Reveal and fill every leg at its captured prices, atomically across slabs."""
        h = self.hold(signer, c.route_id)
        check_reveal(h, c, epoch=epoch, now_ms=now_ms)
        n = self.user_no(signer)
        # check every leg before touching any slab
        previews = []
        sign = 1 if h.side == SIDE_BUY else -1
        mark = self._instr_state(h.instrument_id).price_e6
        cs = self.instr_cfg[h.instrument_id].contract_size
        eq_delta = 0
        exposures = self._exposures(signer)
        for leg in h.legs:
            code = self._eligible(leg.slab)
            _ensure(code == E.OK, code, "slab %s", leg.slab)
            cap = self._get(T_CAP, h.hold_id, leg.slab)
            _ensure(cap is not None and not cap.burned, E.CAP_BURNED)
            _ensure(now_ms <= cap.expiry_ms, E.CAP_EXPIRED)
            mcap, tcap = self._fee_caps(leg.slab)
            pre = self.slabs[leg.slab].check_commit(leg.slab_hold_id, now_ms=now_ms,
                                                    fee_cap_maker_bps=mcap,
                                                    fee_cap_taker_bps=tcap)
            _ensure(pre.ok, pre.code, "slab %s", leg.slab)
            debit = -sum(d.amount_atoms for d in pre.cash_deltas if d.user == n and d.amount_atoms < 0)
            limit = min(cap.remaining, self._escrow(signer, leg.slab).balance_atoms)
            _ensure(debit <= limit, E.CAP_EXCEEDED, "slab %s: %s > %s", leg.slab, debit, limit)
            for f in pre.fills:
                eq_delta += notional(sign * f.qty_lots, mark - f.price_e6, cs) - f.taker_fee_atoms
            eq_delta -= pre.arg_tax_atoms
            key = (leg.slab, h.instrument_id)
            exposures[key] = exposures.get(key, 0) + sign * pre.filled_qty
            previews.append((leg, pre))
        # a commit that does not raise IM passes; one that does needs equity_after >= IM_after
        # (IM first: it is the cheaper side, and equity reads every slab)
        im_after = self._im(exposures)
        if im_after > self._im(self._exposures(signer)):
            equity_after = self.equity(signer) + eq_delta
            _ensure(equity_after >= im_after, E.ROUTER_MARGIN_INSUFFICIENT,
                    "equity %s < IM %s", equity_after, im_after)
        # apply: commit every leg, settle through the caps, refund, burn
        events = []
        for leg, _pre in previews:
            mcap, tcap = self._fee_caps(leg.slab)
            res = self.slabs[leg.slab].commit(leg.slab_hold_id, now_ms=now_ms,
                                              fee_cap_maker_bps=mcap, fee_cap_taker_bps=tcap)
            _ensure(res.ok, E.INTERNAL, "commit diverged from check on slab %s: %d", leg.slab, res.code)
            self._settle(leg.slab, res, now_ms, taker=signer, cap_key=(h.hold_id, leg.slab))
            events += self._apply_fills(leg.slab, h.instrument_id, h.side, res.fills)
            self._close_leg(signer, n, h.hold_id, leg.slab, now_ms)
        self._close_route(h, HOLD_COMMITTED)
        return events

    def hold(self, user: bytes, route_id: int) -> RouteHold | None:
        return self._get(T_HOLD, user, route_id)

    def admission_check(self, signer: bytes, payload, now_ms: int) -> None:
        """Sequencer admission pre-check (DESIGN §3, issue 6): a commit whose route this node
        has executed must pass ``check_reveal`` at the admission clock's epoch and time, so
        a wrong reveal, a same-epoch commit or one for a closed or expired hold is refused
        before it is sequenced.  A route not yet executed here (its reserve may be in flight)
        is left to the executor.  Reads only; raises ``ExecutorError`` to refuse."""
        if payload.WhichOneof("body") != "commit":
            return
        c = payload.commit
        h = self.hold(signer, c.route_id)
        if h is not None:
            check_reveal(h, c, epoch=now_ms // self.batch_ms, now_ms=now_ms)

    def _close_leg(self, user: bytes, n: int, hold_id: int, slab: int, now_ms: int) -> None:
        """Return the cap's unused amount from escrow to the vault and burn the cap.

        "Unused" is what neither the user's other open routes on this slab nor the slab's own
        IM for the positions it now holds need (RM1–RM3 stay met on every slab); the router's
        portfolio margin decides whether that kept escrow may leave later (withdraw)."""
        cap = self._get(T_CAP, hold_id, slab)
        if cap is None or cap.burned:
            return
        esc = self._escrow(user, slab)
        keep = self._escrow_kept(user, n, slab, exclude=hold_id, with_orders=False)
        refund = min(cap.remaining, max(0, esc.balance_atoms - keep))
        if refund and now_ms <= cap.expiry_ms:
            cap, esc = safe_debit(cap, esc, user=user, slab=slab, asset=ASSET, amount=refund,
                                  now_ms=now_ms)
            self._put(T_ESCROW, (user, slab, ASSET), esc)
            self._set_vault(user, self._vault(user) + refund)
        elif refund:
            # an expired cap debits nothing (F1): the refund uses a fresh one-shot cap
            self._escrow_to_vault(user, slab, refund, now_ms)
        self._put(T_CAP, (hold_id, slab), burn(cap))
        self._sync_collateral(user, n, slab, now_ms)

    def _escrow_kept(self, user: bytes, n: int, slab: int, *, exclude: int = 0,
                     with_orders: bool = True) -> int:
        """Escrow that stays pledged to ``slab`` when some is refunded: what the user's other
        open routes there may still debit, plus what the slab needs beyond the account's other
        equity for its positions and (``with_orders``) its resting orders as if they filled
        (the basis the slab accepted them on, RM1–RM3).  A route's leg refunds at most that
        route's own unused pledge, so it leaves the orders' pledges in place without counting
        them (counting walks the slab's books).  Withdrawals do not use this: the portfolio
        margin decides those (cross-slab hedges net)."""
        keep = self._pledged_open(user, slab, exclude=exclude)
        s = self.slabs[slab]
        if s.collateral_cash(n) is not None:
            eq, im = s.margin_with_orders(n) if with_orders else s.margin(n)[:2]
            keep += max(0, im - (eq - self._escrow(user, slab).balance_atoms))
        return keep

    def _escrow_to_vault(self, user: bytes, slab: int, amount: int, now_ms: int) -> None:
        """Move ``amount`` of escrow back to the vault through a one-shot cap (P6: every debit
        goes through ``safe_debit``)."""
        one_shot = mint_cap(user=user, slab=slab, asset=ASSET, amount=amount, now_ms=now_ms,
                            ttl_ms=0, nonce=0)
        _c, esc = safe_debit(one_shot, self._escrow(user, slab), user=user, slab=slab,
                             asset=ASSET, amount=amount, now_ms=now_ms)
        self._put(T_ESCROW, (user, slab, ASSET), esc)
        self._set_vault(user, self._vault(user) + amount)

    def _close_route(self, h: RouteHold, status: int) -> None:
        """Mark the route closed and drop it from the user's open routes (its expiry-index
        entry stays until its epoch is swept; ``on_epoch`` skips closed routes)."""
        self._put(T_HOLD, (h.user, h.route_id), h.evolve(status=status))
        left = self._get(T_OPEN_ROUTES, h.user, default=OpenRoutes()).without(h.hold_id)
        self._put(T_OPEN_ROUTES, (h.user,), left if left.pairs else None)

    # ================================================================== cancel / expiry
    def _release_route(self, h: RouteHold, status: int, now_ms: int) -> None:
        n = self.user_no(h.user)
        for leg in h.legs:
            rr = self.slabs[leg.slab].release(leg.slab_hold_id, now_ms=now_ms)
            _ensure(rr.ok, E.INTERNAL, "release on slab %s: %d", leg.slab, rr.code)
            self._close_leg(h.user, n, h.hold_id, leg.slab, now_ms)
        self._close_route(h, status)

    def _tx_cancel_hold(self, signer: bytes, c, now_ms: int, epoch: int) -> list:
        """Idempotent (R8, F2): a second cancel, one of an expired or committed route, or one
        of a route id never reserved (nothing to cancel) is a successful no-op."""
        h = self._get(T_HOLD, signer, c.route_id)
        if h is not None and h.status == HOLD_RESERVED:
            self._release_route(h, HOLD_CANCELLED, now_ms)
        return []

    def on_epoch(self, *, now_ms: int, epoch: int) -> list:
        """Epoch boundary (DESIGN §3): ``batch_open`` on every slab in id order, then every
        route past its TTL is expired in hold-id order from the persisted index (F1)."""
        for sid in self.slab_ids:
            self.slabs[sid].batch_open(now_ms=now_ms)
        for _hid, user, route_id in self._sweep_expiry_index(now_ms):
            h = self._get(T_HOLD, user, route_id)
            if h is not None and h.status == HOLD_RESERVED:
                self._release_route(h, HOLD_EXPIRED, now_ms)
        return []

    def _sweep_expiry_index(self, now_ms: int) -> list[tuple[int, bytes, int]]:
        """Take every index entry with ``now > expiry`` out of the per-epoch records, sorted by
        hold id.  Buckets before the current epoch empty completely; the current one keeps
        what is not yet due.  Visits only buckets between the last sweep and the highest
        bucket ever written, so an idle chain costs nothing extra."""
        c = self._counters()
        now_bucket = now_ms // self.batch_ms
        due = []
        for bucket in range(c.expiry_next_epoch, min(now_bucket, c.expiry_last_epoch) + 1):
            idx = self._get(T_EXPIRY, *_expiry_key(bucket))
            if idx is None:
                continue
            keep = tuple(e for e in idx.entries if now_ms <= e.expiry_ms)
            due += [(e.hold_id, e.user, e.route_id) for e in idx.entries if now_ms > e.expiry_ms]
            self._put(T_EXPIRY, _expiry_key(bucket), ExpiryIndex(keep) if keep else None)
        if now_bucket > c.expiry_next_epoch:
            self._put(T_COUNTERS, _COUNTERS_KEY, self._counters().evolve(expiry_next_epoch=now_bucket))
        return sorted(due)

    # ================================================================== oracle
    def _tx_oracle_update(self, signer: bytes, o, now_ms: int, epoch: int) -> list:
        """Authorised feeders only; freshness and bounded-move gates fail closed (seed 001 T1);
        the accepted price is propagated to every slab listing the instrument."""
        ocfg = self.oracle_cfg.get(o.oracle_id)
        _ensure(ocfg is not None, E.ORACLE_UNKNOWN, "oracle %s", o.oracle_id)
        _ensure(signer in ocfg.feeders, E.ORACLE_UNAUTHORISED)
        icfg = self.instr_cfg.get(o.instrument_id)
        _ensure(icfg is not None, E.UNKNOWN_INSTRUMENT)
        _ensure(icfg.oracle == ocfg.oracle_id, E.ORACLE_INSTRUMENT_MISMATCH)
        _ensure(0 < o.price_e6 <= MAX_PRICE_E6 and o.price_e6 % icfg.tick_e6 == 0,
                E.ORACLE_PRICE_INVALID)
        _ensure(o.publish_time_ms <= now_ms and now_ms - o.publish_time_ms <= ocfg.max_age_ms,
                E.ORACLE_UPDATE_STALE, "published %s, now %s", o.publish_time_ms, now_ms)
        st = self._instr_state(o.instrument_id)
        _ensure(o.publish_time_ms > st.publish_ms, E.ORACLE_NOT_MONOTONE)
        if st.price_e6:
            _ensure(abs(o.price_e6 - st.price_e6) * 10_000 <= ocfg.max_move_bps * st.price_e6,
                    E.ORACLE_MOVE_TOO_LARGE, "%s -> %s", st.price_e6, o.price_e6)
        self._put(T_INSTRUMENT, (o.instrument_id,), st.evolve(
            price_e6=o.price_e6, publish_ms=o.publish_time_ms, updated_ms=now_ms))
        for sid in self.instr_slabs.get(o.instrument_id, ()):
            r = self.slabs[sid].update_oracle(self.local[(sid, o.instrument_id)], o.price_e6,
                                              now_ms=now_ms)
            _ensure(r.ok, E.INTERNAL if sid != self.instr_slabs[o.instrument_id][0] else r.code,
                    "update_oracle slab %s", sid)
        return []

    # ================================================================== funding (RM6, RM7)
    def _premium_mid(self, iid: int) -> int | None:
        mids = []
        for sid in self.instr_slabs.get(iid, ()):
            if self._eligible(sid) != E.OK:
                continue
            s, j = self.slabs[sid], self.local[(sid, iid)]
            if self._is_amm(sid):
                p = s.pool()
                cs = self.instr_cfg[iid].contract_size
                if p.base_reserve_lots:
                    mids.append(p.quote_reserve_atoms * 1_000_000 // (p.base_reserve_lots * cs))
                continue
            bid, ask = s.best_bid(j), s.best_ask(j)
            bid = bid[0] if isinstance(bid, tuple) else bid
            ask = ask[0] if isinstance(ask, tuple) else ask
            if bid and ask and bid > 0 and ask > 0:
                mids.append((bid + ask) // 2)
        if not mids:
            return None
        return sum(mids) // len(mids)

    def _tx_funding_crank(self, signer: bytes, f, now_ms: int, epoch: int) -> list:
        """Once per interval (RM6): rate = clamp((mid − oracle) / oracle, ±funding_cap_bps) in
        ppm, conventional sign (mark above index: longs pay shorts); every slab listing the
        instrument advances its cumulative index, so longs and shorts net to zero (RM7)."""
        iid = f.instrument_id
        self._require_instrument(iid)
        icfg = self.instr_cfg[iid]
        st = self._instr_state(iid)
        _ensure(st.last_funding_ms == 0 or now_ms >= st.last_funding_ms + icfg.funding_interval_ms,
                E.FUNDING_NOT_DUE)
        ocfg = self.oracle_cfg[self.oracle_id[icfg.oracle]]
        _ensure(st.price_e6 > 0, E.ORACLE_MISSING)
        _ensure(now_ms - st.updated_ms <= ocfg.max_age_ms, E.ORACLE_STALE)
        mid = self._premium_mid(iid)
        if mid is None:
            premium_bps = 0
        else:
            diff = mid - st.price_e6
            premium_bps = (diff * 10_000) // st.price_e6 if diff >= 0 else -((-diff * 10_000) // st.price_e6)
        cap = icfg.funding_cap_bps
        rate_ppm = max(-cap, min(cap, premium_bps)) * 100
        slabs = self.instr_slabs.get(iid, ())
        for k, sid in enumerate(slabs):
            r = self.slabs[sid].apply_funding(self.local[(sid, iid)], rate_ppm, now_ms=now_ms)
            _ensure(r.ok, r.code if k == 0 else E.INTERNAL, "apply_funding slab %s: %d", sid, r.code)
        self._put(T_INSTRUMENT, (iid,), st.evolve(last_funding_ms=now_ms, last_rate_ppm=rate_ppm,
                                                cumulative_rate_ppm=st.cumulative_rate_ppm + rate_ppm))
        return []

    # ================================================================== governance (P10)
    def _check_manifest(self, m) -> tuple[bytes, bytes, bytes]:
        hashes = (bytes(m.code_hash), bytes(m.config_hash), bytes(m.proof_hash))
        _ensure(all(len(x) == 32 for x in hashes), E.BAD_MANIFEST)
        return hashes

    def _tx_register_slab(self, signer: bytes, r, now_ms: int, epoch: int) -> list:
        _ensure(signer in self.governance, E.NOT_GOVERNANCE)
        _ensure(r.slab_id in self.slabs, E.UNKNOWN_SLAB, "no slab program with this id runs here")
        _ensure(self._registry(r.slab_id) is None, E.SLAB_ALREADY_REGISTERED)
        _ensure(len(r.owner) == 32, E.BAD_ARGUMENT, "owner must be 32 bytes")
        code, conf, proof = self._check_manifest(r.manifest)
        s = self.slab_cfg[r.slab_id]
        fc = self.config.router.fee_cap
        self._put(T_REGISTRY, (r.slab_id,), RegistryEntry(
            slab=r.slab_id, kind=1 if s.kind == "amm" else 0, owner=bytes(r.owner),
            code_hash=code, config_hash=conf, proof_hash=proof, oracle_id=self.oracle_id[s.oracle],
            imr_bps=s.risk.imr_bps, mmr_bps=s.risk.mmr_bps,
            maker_fee_cap_bps=min(s.fee_cap.maker_bps, fc.maker_bps),
            taker_fee_cap_bps=min(s.fee_cap.taker_bps, fc.taker_bps),
            latency_sla_ms=s.registry.latency_sla_ms, e_max_atoms=s.registry.e_max_atoms,
            active=True))
        return []

    def _tx_upgrade_slab(self, signer: bytes, u, now_ms: int, epoch: int) -> list:
        _ensure(signer in self.governance, E.NOT_GOVERNANCE)
        e = self._registry(u.slab_id)
        _ensure(e is not None, E.UNKNOWN_SLAB)
        if u.HasField("manifest"):
            code, conf, proof = self._check_manifest(u.manifest)
            e = e.evolve(code_hash=code, config_hash=conf, proof_hash=proof)
        self._put(T_REGISTRY, (u.slab_id,), e.evolve(active=bool(u.active)))
        return []

    # ================================================================== liquidation (L1–L3)
    def _tx_liquidate(self, signer: bytes, l, now_ms: int, epoch: int) -> list:
        """Any keeper may call it.  Below MM: first a grace window (L1: the router re-pledges
        free vault collateral to slabs below their own IM, the owner may top up; exposure is
        already netted across slabs by the portfolio margin, so only the net is at risk),
        then a router-only sweep of LIVE depth within ``band_bps`` of the mark on each slab
        with a reduce-only IOC (L3), every debit through ``safe_debit`` (L2), a penalty to the
        insurance fund, and residual loss down the waterfall in ``_settle``."""
        user = bytes(l.user)
        n = self.user_no(user)
        _ensure(n is not None, E.UNKNOWN_USER)
        equity, _im, mm = self.margin(user)
        grace = self._get(T_LIQUIDATION, user)
        if equity >= mm:
            # L1: the owner restored solvency during the grace window: the router stands down
            _ensure(grace is not None, E.NOT_LIQUIDATABLE, "equity %s >= MM %s", equity, mm)
            self._put(T_LIQUIDATION, (user,), None)
            return []
        lc = self.config.router.liquidation
        if grace is None:
            self._put(T_LIQUIDATION, (user,), LiquidationState(now_ms))
            self._repledge(user, n, now_ms)
            return []
        _ensure(now_ms >= grace.grace_start_ms + lc.grace_ms, E.LIQUIDATION_GRACE)
        exposures = [(k, q) for k, q in sorted(self._exposures(user).items())
                     if q and self._eligible(k[0]) == E.OK]
        orders = {sid: self.slabs[sid].open_orders(n) for sid in self.slab_ids
                  if not self._is_amm(sid)}
        routes = self._get(T_OPEN_ROUTES, user, default=OpenRoutes()).hold_ids
        # decided before any slab is touched (slabs are not journaled): a call that could
        # neither cancel, release nor close anything is refused and changes nothing
        _ensure(routes or any(orders.values())
                or any(self._sweepable(user, n, sid, iid, q, now_ms, lc.band_bps)
                       for (sid, iid), q in exposures),
                E.LIQUIDATION_NO_DEPTH, "no depth inside the band and nothing to cancel")
        events = self._cancel_everything(user, n, orders, now_ms)
        for (sid, iid), q in exposures:
            events += self._sweep(user, n, sid, iid, q, now_ms, lc.band_bps, lc.penalty_bps)
        equity, _im, mm = self.margin(user)
        if equity >= mm or not any(self._exposures(user).values()):
            self._put(T_LIQUIDATION, (user,), None)   # back above MM: the episode is over
        return events

    def _cancel_everything(self, user: bytes, n: int, orders: dict, now_ms: int) -> list:
        """Liquidation first removes what the account still offers: every resting or pending
        order on every book slab (slab then order id order) and every open route (released as
        a cancel would, hold-id order), so nothing it left behind fills while it is swept."""
        events = []
        for sid, ids in sorted(orders.items()):
            for oid in ids:
                o = self.slabs[sid].order(oid)
                r = self.slabs[sid].cancel_order(n, oid, now_ms=now_ms)
                _ensure(r.ok, E.INTERNAL, "liquidation cancel slab %s order %s: %d", sid, oid, r.code)
                events.append(state_pb2.Event(order_update=state_pb2.OrderUpdate(
                    slab_id=sid, instrument_id=self._wire_instrument(sid, o[2]), order_id=oid,
                    owner=user, state=state_pb2.ORDER_STATE_CANCELLED)))
        for _hold_id, route_id in sorted(self._get(T_OPEN_ROUTES, user, default=OpenRoutes()).routes()):
            h = self.hold(user, route_id)
            if h is not None and h.status == HOLD_RESERVED:
                self._release_route(h, HOLD_CANCELLED, now_ms)
        return events

    def _wire_instrument(self, sid: int, local: int) -> int:
        """Router instrument id of a slab's local instrument index."""
        for (s, iid), j in self.local.items():
            if s == sid and j == local:
                return iid
        raise ExecutorError(E.INTERNAL, f"slab {sid} has no instrument {local}")

    def _sweepable(self, user: bytes, n: int, sid: int, iid: int, q: int, now_ms: int,
                   band_bps: int) -> bool:
        """Whether ``_sweep`` would close any of the position now (a side-effect-free quote)."""
        s, j = self.slabs[sid], self.local[(sid, iid)]
        lo, hi = self.band_limits(iid, band_bps)
        side = _SLAB_SIDE[SIDE_SELL if q > 0 else SIDE_BUY]
        px = lo if q > 0 else hi
        if self._is_amm(sid):
            return s.quote(j, side, abs(q), px, now_ms=now_ms).ok
        coll = self._collateral_after(user, n, sid, self._escrow(user, sid).balance_atoms)
        pre = s.preview_place(n, j, side, px, abs(q), tif=1, now_ms=now_ms, reduce_only=True,
                              collateral_atoms=coll)
        return pre.ok and pre.filled_qty > 0

    def _repledge(self, user: bytes, n: int, now_ms: int) -> None:
        """L1, router-first remediation: move free vault collateral into every slab account
        that is below its own IM, in slab-id order, so no slab sees a shortfall the portfolio
        can cover (the router's equity is unchanged: vault and escrow both count)."""
        for sid in self.slab_ids:
            vault = self._vault(user)
            if not vault:
                return
            top_up = min(vault, self._slab_shortfall(n, sid))
            if top_up:
                self._set_vault(user, vault - top_up)
                self._credit_escrow(user, sid, top_up)
                self._sync_collateral(user, n, sid, now_ms)

    def band_limits(self, iid: int, band_bps: int) -> tuple[int, int]:
        """(lowest sell price, highest buy price) of a liquidation sweep (L3), tick-aligned
        inward so every fill is inside the band around the mark."""
        mark = self._instr_state(iid).price_e6
        tick = self.instr_cfg[iid].tick_e6
        lo = ceil_div(mark * (10_000 - band_bps), 10_000)
        hi = mark * (10_000 + band_bps) // 10_000
        lo = ceil_div(lo, tick) * tick
        hi = hi // tick * tick
        return lo, hi

    def _sweep(self, user: bytes, n: int, sid: int, iid: int, q: int, now_ms: int,
               band_bps: int, penalty_bps: int) -> list:
        s, j = self.slabs[sid], self.local[(sid, iid)]
        lo, hi = self.band_limits(iid, band_bps)
        side_wire = SIDE_SELL if q > 0 else SIDE_BUY
        side = _SLAB_SIDE[side_wire]
        px = lo if q > 0 else hi
        if self._is_amm(sid):
            qt = s.quote(j, side, abs(q), px, now_ms=now_ms)
            if not qt.ok:
                return []
            rr = s.reserve(n, j, side, qt.qty_lots, px, now_ms=now_ms, ttl_ms=1)
            if not rr.ok:
                return []
            res = s.check_commit(rr.hold_id, now_ms=now_ms)
            if not res.ok:
                s.release(rr.hold_id, now_ms=now_ms)
                return []
            res = s.commit(rr.hold_id, now_ms=now_ms)
        else:
            coll = self._collateral_after(user, n, sid, self._escrow(user, sid).balance_atoms)
            res = s.place_funded(n, j, side, px, abs(q), tif=1, now_ms=now_ms, reduce_only=True,
                                 collateral_atoms=coll)
            if not res.ok:
                return []
        self._settle(sid, res, now_ms)
        events = self._apply_fills(sid, iid, side_wire, res.fills)
        closed = sum(f.qty_lots for f in res.fills)
        if closed and penalty_bps:
            mark = self._instr_state(iid).price_e6
            pen = bps_of(notional(closed, mark, self.instr_cfg[iid].contract_size, round_up=True),
                         penalty_bps, round_up=True)
            esc = self._escrow(user, sid)
            pen = min(pen, esc.balance_atoms)
            if pen:
                one_shot = mint_cap(user=user, slab=sid, asset=ASSET, amount=pen, now_ms=now_ms,
                                    ttl_ms=0, nonce=0)
                _c, esc = safe_debit(one_shot, esc, user=user, slab=sid, asset=ASSET, amount=pen,
                                     now_ms=now_ms)
                self._put(T_ESCROW, (user, sid, ASSET), esc)
                self._add_fund(T_INSURANCE, pen)
                self._sync_collateral(user, n, sid, now_ms)
        return events

    # ================================================================== AMM liquidity
    def _tx_amm_add_liquidity(self, signer: bytes, a, now_ms: int, epoch: int) -> list:
        """Moves ``quote_atoms`` from the LP's vault into the pool account (``base_lots`` is
        not used: the pool deepens both reserves from one quote deposit, executor/amm)."""
        slab = self._require_slab(a.slab_id)
        _ensure(self._is_amm(a.slab_id), E.NOT_AMM_SLAB)
        self._local(a.slab_id, a.instrument_id)
        _ensure(0 < a.quote_atoms <= I64_MAX and a.min_shares <= I64_MAX, E.BAD_AMOUNT)
        vault = self._vault(signer)
        _ensure(a.quote_atoms <= vault, E.INSUFFICIENT_FUNDS)
        n = self._user_no_or_assign(signer)
        res = slab.add_liquidity(n, a.quote_atoms, min_shares=a.min_shares, now_ms=now_ms)
        _ensure(res.ok, res.code)
        self._set_vault(signer, vault - a.quote_atoms)
        sc = self._slab_cash(a.slab_id)
        self._put(T_SLAB_CASH, (a.slab_id,), sc.evolve(pool_atoms=sc.pool_atoms + res.amount_atoms))
        return []

    def _tx_amm_remove_liquidity(self, signer: bytes, a, now_ms: int, epoch: int) -> list:
        slab = self._require_slab(a.slab_id)
        _ensure(self._is_amm(a.slab_id), E.NOT_AMM_SLAB)
        self._local(a.slab_id, a.instrument_id)
        n = self.user_no(signer)
        _ensure(n is not None, E.AMM_INSUFFICIENT_SHARES)
        _ensure(0 < a.shares <= I64_MAX and a.min_quote_atoms <= I64_MAX, E.BAD_AMOUNT)
        res = slab.remove_liquidity(n, a.shares, min_amount_atoms=a.min_quote_atoms, now_ms=now_ms)
        _ensure(res.ok, res.code)
        sc = self._slab_cash(a.slab_id)
        self._put(T_SLAB_CASH, (a.slab_id,), sc.evolve(pool_atoms=sc.pool_atoms - res.amount_atoms))
        self._set_vault(signer, self._vault(signer) + res.amount_atoms)
        return []

    # ================================================================== reads
    def conservation(self) -> tuple[int, int]:
        """(Σ vaults + Σ escrows + Σ slab cash + insurance + fee pool, deposits − withdrawals)
        — equal after every transaction (EXCHANGE §4)."""
        total = self._fund(T_INSURANCE) + self._fund(T_FEE_POOL)
        for sid in self.slab_ids:
            sc = self._slab_cash(sid)
            total += sc.clearing_atoms + sc.pool_atoms
        for user in self.users():
            total += self._vault(user)
            for sid in self.slab_ids:
                total += self._escrow(user, sid).balance_atoms
        c = self._counters()
        return total, c.deposits_atoms - c.withdrawals_atoms

    def account_view(self, user: bytes):
        keys = [T_VAULT.key(user, ASSET), T_PORTFOLIO.key(user), T_USER_NO.key(user)]
        st = state_pb2.AccountState(user=user)
        st.vaults.add(asset_id=ASSET, amount_atoms=self._vault(user))
        n = self.user_no(user)
        for sid in self.slab_ids:
            e = self._escrow(user, sid)
            keys.append(T_ESCROW.key(user, sid, ASSET))
            if e.balance_atoms or e.nonce:
                st.escrows.add(slab_id=sid, asset_id=ASSET, amount_atoms=e.balance_atoms,
                               nonce=e.nonce)
        for (sid, iid), q in sorted(self._exposures(user).items()):
            pos = self.slabs[sid].position(n, self.local[(sid, iid)]) if n is not None else {}
            st.positions.add(slab_id=sid, instrument_id=iid, qty_lots=q,
                             entry_price_e6=max(pos.get("entry_px_e6", 0), 0),
                             realized_pnl_atoms=pos.get("realised_pnl_atoms", 0))
        equity, im, mm = self.margin(user)
        st.equity_atoms, st.initial_margin_atoms, st.maintenance_margin_atoms = equity, im, mm
        return st, keys

    def hold_view(self, user: bytes, route_id: int):
        h = self._get(T_HOLD, user, route_id)
        if h is None:
            return None
        msg = state_pb2.Hold(user=user, route_id=route_id, status=h.status,
                             instrument_id=h.instrument_id, side=h.side, qty_lots=h.qty_lots,
                             reserve_epoch=h.reserve_epoch, expiry_ms=h.expiry_ms,
                             commitment=h.commitment)
        keys = [T_HOLD.key(user, route_id)]
        for leg in h.legs:
            msg.slabs.add(slab_id=leg.slab, qty_lots=leg.qty_lots, vwap_price_e6=leg.vwap_px_e6,
                          worst_price_e6=leg.worst_px_e6, max_charge_atoms=leg.max_charge_atoms)
            keys.append(T_CAP.key(h.hold_id, leg.slab))
        return msg, keys
