"""Every rejection has a stable code and changes nothing (DESIGN §4, issue 5 "Bad input"):
records of ``ExecState`` and every slab arena are byte-identical before and after."""
from __future__ import annotations

import dataclasses

import pytest

from executor.errors import ErrorCode as E
from executor.router.records import T_HOLD
from proto.assetl2.v1 import tx_pb2
from router_support import (AMM_ETH, BTC, BTC_A, BTC_B, BTC_PX, BUY, ETH, ETH_A, GOV, LP,
                            MAKER_A, MAKER_B, SALT, SELL, TAKER, TAKER2, Rejected, World, book_px,
                            make_config)


def two_books(w: World) -> None:
    w.place(MAKER_A, BTC_A, BTC, SELL, 5, book_px(59900))
    w.place(MAKER_B, BTC_B, BTC, SELL, 5, book_px(59950))


def rejected(w: World, code: E, fn, *args, **kw) -> None:
    snap = w.snapshot()
    with pytest.raises(Rejected) as r:
        fn(*args, **kw)
    assert r.value.code == code, (r.value.code, code)
    assert w.snapshot() == snap, "a rejected transaction must change nothing"
    assert w.conserved()


@pytest.fixture
def reserved():
    w = World()
    two_books(w)
    w.reserve(TAKER, 1, BTC, BUY, 10, book_px(60000))
    return w


def test_commit_with_wrong_salt_is_reveal_mismatch(reserved):
    reserved.next_epoch()
    rejected(reserved, E.REVEAL_MISMATCH, reserved.commit, TAKER, 1, BTC, BUY, 10,
             book_px(60000), salt=b"x" * 16)


def test_commit_with_other_fields_is_reveal_mismatch(reserved):
    reserved.next_epoch()
    rejected(reserved, E.REVEAL_MISMATCH, reserved.commit, TAKER, 1, BTC, BUY, 9, book_px(60000))


def test_commit_with_short_salt_is_reveal_mismatch(reserved):
    reserved.next_epoch()
    rejected(reserved, E.REVEAL_MISMATCH, reserved.commit, TAKER, 1, BTC, BUY, 10,
             book_px(60000), salt=SALT[:15])


def test_commit_in_the_reserve_epoch_is_rejected(reserved):
    rejected(reserved, E.COMMIT_SAME_EPOCH, reserved.commit, TAKER, 1, BTC, BUY, 10, book_px(60000))


def test_commit_after_ttl_is_rejected_and_debits_nothing():
    w = World()
    two_books(w)
    w.reserve(TAKER, 1, BTC, BUY, 10, book_px(60000), ttl=60)
    w.now += 61           # past the TTL but within the same epoch window: no expiry sweep yet
    w.epoch += 1
    rejected(w, E.HOLD_EXPIRED, w.commit, TAKER, 1, BTC, BUY, 10, book_px(60000))


def test_commit_of_unknown_route_is_unknown_hold():
    w = World()
    rejected(w, E.UNKNOWN_HOLD, w.commit, TAKER, 99, BTC, BUY, 10, book_px(60000))


def test_commit_by_another_signer_is_unknown_hold(reserved):
    reserved.next_epoch()
    rejected(reserved, E.UNKNOWN_HOLD, reserved.commit, TAKER2, 1, BTC, BUY, 10, book_px(60000))


def test_reserve_reusing_a_route_id_is_rejected(reserved):
    rejected(reserved, E.ROUTE_EXISTS, reserved.reserve, TAKER, 1, BTC, BUY, 1, book_px(60000))


def test_reserve_that_cannot_fill_is_all_or_nothing():
    w = World()
    two_books(w)
    rejected(w, E.ROUTE_UNFILLABLE, w.reserve, TAKER, 1, BTC, BUY, 11, book_px(60000))
    rejected(w, E.ROUTE_UNFILLABLE, w.reserve, TAKER, 2, BTC, BUY, 10, book_px(59940))


def test_reserve_on_unknown_slab_or_instrument_is_rejected():
    w = World()
    two_books(w)
    rejected(w, E.UNKNOWN_SLAB, w.reserve, TAKER, 1, BTC, BUY, 1, book_px(60000), slabs=(9,))
    rejected(w, E.INSTRUMENT_NOT_ON_SLAB, w.reserve, TAKER, 1, BTC, BUY, 1, book_px(60000),
             slabs=(ETH_A,))
    rejected(w, E.UNKNOWN_INSTRUMENT, w.reserve, TAKER, 1, 7, BUY, 1, book_px(60000))


def test_reserve_with_bad_ttl_or_commitment_is_rejected():
    w = World()
    two_books(w)
    rejected(w, E.BAD_TTL, w.reserve, TAKER, 1, BTC, BUY, 1, book_px(60000), ttl=120_001)
    rejected(w, E.BAD_COMMITMENT, w.apply, TAKER, reserve=tx_pb2.Reserve(
        route_id=1, instrument_id=BTC, side=BUY, qty_lots=1, limit_price_e6=book_px(60000),
        ttl_ms=100, commitment=b"short"))


def test_reserve_beyond_the_vault_is_insufficient_funds():
    w = World(accounts={TAKER: 1_000, MAKER_A: 10**13, MAKER_B: 10**13})
    two_books(w)
    rejected(w, E.INSUFFICIENT_FUNDS, w.reserve, TAKER, 1, BTC, BUY, 10, book_px(60000))


def test_withdrawal_above_funds_or_below_im_is_rejected(reserved):
    w = reserved
    w.next_epoch()
    w.commit(TAKER, 1, BTC, BUY, 10, book_px(60000))
    equity, im, _mm = w.router.margin(TAKER)
    rejected(w, E.WITHDRAW_BELOW_IM, w.withdraw, TAKER, equity - im + 1)
    rejected(w, E.INSUFFICIENT_FUNDS, w.withdraw, TAKER2, 10**15)


def test_unauthorised_oracle_update_is_rejected():
    w = World()
    rejected(w, E.ORACLE_UNAUTHORISED, w.oracle, BTC, BTC_PX, signer=TAKER)


def test_oracle_gates_fail_closed():
    w = World(max_age_ms=2_000)
    w.advance(10)
    rejected(w, E.ORACLE_UPDATE_STALE, w.oracle, BTC, BTC_PX, publish=w.now - 2_001)
    rejected(w, E.ORACLE_UPDATE_STALE, w.oracle, BTC, BTC_PX, publish=w.now + 1)
    rejected(w, E.ORACLE_MOVE_TOO_LARGE, w.oracle, BTC, BTC_PX * 10_301 // 10_000 // 100_000 * 100_000)
    rejected(w, E.ORACLE_PRICE_INVALID, w.oracle, BTC, BTC_PX + 1)
    w.oracle(BTC, BTC_PX + 100_000)
    rejected(w, E.ORACLE_NOT_MONOTONE, w.oracle, BTC, BTC_PX)
    rejected(w, E.ORACLE_UNKNOWN, w.apply, TAKER, oracle_update=tx_pb2.OracleUpdate(
        oracle_id=5, instrument_id=BTC, price_e6=BTC_PX, publish_time_ms=w.now))


def test_governance_actions_need_a_governance_key():
    w = World()
    m = tx_pb2.Manifest(code_hash=b"\x01" * 32, config_hash=b"\x02" * 32, proof_hash=b"\x03" * 32)
    rejected(w, E.NOT_GOVERNANCE, w.apply, TAKER, upgrade_slab=tx_pb2.UpgradeSlab(
        slab_id=BTC_A, manifest=m, active=False))
    rejected(w, E.NOT_GOVERNANCE, w.apply, TAKER, register_slab=tx_pb2.RegisterSlab(
        slab_id=BTC_A, owner=TAKER, manifest=m))
    rejected(w, E.SLAB_ALREADY_REGISTERED, w.apply, GOV, register_slab=tx_pb2.RegisterSlab(
        slab_id=BTC_A, owner=TAKER, manifest=m))
    rejected(w, E.UNKNOWN_SLAB, w.apply, GOV, upgrade_slab=tx_pb2.UpgradeSlab(
        slab_id=42, manifest=m, active=True))


def test_inactive_slab_is_skipped_by_routing_and_refused_explicitly():
    w = World()
    two_books(w)
    w.apply(GOV, upgrade_slab=tx_pb2.UpgradeSlab(slab_id=BTC_B, active=False))
    rejected(w, E.ROUTE_UNFILLABLE, w.reserve, TAKER, 1, BTC, BUY, 10, book_px(60000))
    rejected(w, E.SLAB_INACTIVE, w.reserve, TAKER, 1, BTC, BUY, 5, book_px(60000),
             slabs=(BTC_B,))
    w.reserve(TAKER, 2, BTC, BUY, 5, book_px(60000))          # slab A alone still routes
    assert [s.slab_id for s in w.router.hold_view(TAKER, 2)[0].slabs] == [BTC_A]


def test_commit_on_a_deactivated_slab_is_rejected_without_partial_fill(reserved):
    w = reserved
    w.apply(GOV, upgrade_slab=tx_pb2.UpgradeSlab(slab_id=BTC_B, active=False))
    w.next_epoch()
    rejected(w, E.SLAB_INACTIVE, w.commit, TAKER, 1, BTC, BUY, 10, book_px(60000))


def test_one_slab_failing_its_commit_rolls_back_every_slab_and_account():
    """E2E1: slab B's kill band is tighter; an oracle move trips it and not slab A's."""
    cfg = make_config()
    slabs = tuple(dataclasses.replace(s, anti_toxicity=dataclasses.replace(
        s.anti_toxicity, kill_band_bps=10)) if s.slab_id == "book:BTC-B" else s
        for s in cfg.slabs)
    w = World(cfg=dataclasses.replace(cfg, slabs=slabs))
    two_books(w)
    w.reserve(TAKER, 1, BTC, BUY, 10, book_px(60000))
    w.next_epoch()
    w.oracle(BTC, BTC_PX + 90_000_000)       # 15 bps: beyond B's 10, inside A's 75
    route = w.state.get(T_HOLD, TAKER, 1)
    leg_a, leg_b = route.legs
    assert w.slabs[BTC_A].check_commit(leg_a.slab_hold_id, now_ms=w.now).ok
    rejected(w, E.KILL_BAND, w.commit, TAKER, 1, BTC, BUY, 10, book_px(60000))
    # both holds are still open: nothing was filled anywhere
    assert w.slabs[BTC_A].hold(leg_a.slab_hold_id) is not None
    assert w.slabs[BTC_B].hold(leg_b.slab_hold_id) is not None


def test_place_order_rejections_change_nothing():
    w = World()
    rejected(w, E.UNKNOWN_SLAB, w.place, TAKER, 9, BTC, BUY, 1, book_px(60000))
    rejected(w, E.INSTRUMENT_NOT_ON_SLAB, w.place, TAKER, BTC_A, ETH, BUY, 1, 3_000_000_000)
    rejected(w, E.BAD_ARGUMENT, w.place, TAKER, AMM_ETH, ETH, BUY, 1, 3_000_000_000)
    rejected(w, E.PRICE_NOT_TICK_ALIGNED, w.place, TAKER, BTC_A, BTC, BUY, 1, book_px(60000) + 1)
    rejected(w, E.PRICE_OUT_OF_BAND, w.place, TAKER, BTC_A, BTC, BUY, 1, book_px(40000))
    poor = World(accounts={TAKER: 10, MAKER_A: 10**13})
    rejected(poor, E.MARGIN_INSUFFICIENT, poor.place, TAKER, BTC_A, BTC, BUY, 100, book_px(60000))


def test_cancel_of_someone_elses_order_is_rejected():
    w = World()
    w.place(MAKER_A, BTC_A, BTC, SELL, 5, book_px(59900))
    order_id = (1 << 24) | 0            # ids are (seq << 24) | slot: the first order
    rejected(w, E.NOT_OWNER, w.apply, MAKER_B, cancel_order=tx_pb2.CancelOrder(
        slab_id=BTC_A, instrument_id=BTC, order_id=order_id))


def test_deposit_and_amm_rejections():
    w = World()
    rejected(w, E.UNKNOWN_ASSET, w.apply, LP, deposit=tx_pb2.Deposit(
        user=LP, asset_id=3, amount_atoms=1, source=2))
    rejected(w, E.BAD_AMOUNT, w.deposit, LP, 0)
    rejected(w, E.VAULT_CAP_EXCEEDED, w.deposit, LP, 10**18)
    rejected(w, E.NOT_AMM_SLAB, w.apply, LP, amm_add_liquidity=tx_pb2.AmmAddLiquidity(
        slab_id=BTC_A, instrument_id=BTC, quote_atoms=1_000))
    rejected(w, E.INSUFFICIENT_FUNDS, w.apply, LP, amm_add_liquidity=tx_pb2.AmmAddLiquidity(
        slab_id=AMM_ETH, instrument_id=ETH, quote_atoms=10**15))
    rejected(w, E.UNKNOWN_ACCOUNT, w.apply, LP, amm_remove_liquidity=tx_pb2.AmmRemoveLiquidity(
        slab_id=AMM_ETH, instrument_id=ETH, shares=5))


def test_liquidation_of_a_healthy_account_is_rejected(reserved):
    rejected(reserved, E.NOT_LIQUIDATABLE, reserved.apply, TAKER2,
             liquidate=tx_pb2.Liquidate(user=TAKER))
    rejected(reserved, E.UNKNOWN_USER, reserved.apply, TAKER2,
             liquidate=tx_pb2.Liquidate(user=b"\x99" * 32))


def test_funding_before_the_interval_is_rejected():
    w = World()
    w.apply(TAKER, funding_crank=tx_pb2.FundingCrank(instrument_id=BTC))
    w.advance(1_000)
    rejected(w, E.FUNDING_NOT_DUE, w.apply, TAKER, funding_crank=tx_pb2.FundingCrank(instrument_id=BTC))


def test_commit_whose_debit_exceeds_the_cap_is_rejected():
    """P7/ADV1: a taker debit above min(cap.remaining, escrow) is refused before any slab
    commits.  Pledges are sized so an honest route never hits it; here the cap is shrunk as if
    it had been partly spent, and the commit (whose fees exceed what is left) is refused."""
    from dataclasses import replace as _replace

    from executor.router.records import T_CAP
    w = World()
    two_books(w)
    w.reserve(TAKER, 1, BTC, BUY, 10, book_px(60000))
    route = w.state.get(T_HOLD, TAKER, 1)
    cap = w.state.get(T_CAP, route.hold_id, BTC_B)
    w.state.put(T_CAP, (route.hold_id, BTC_B), _replace(cap, remaining=1))
    w.state.release(0)
    w.next_epoch()
    rejected(w, E.CAP_EXCEEDED, w.commit, TAKER, 1, BTC, BUY, 10, book_px(60000))


def test_closing_a_losing_position_is_funded_by_the_pledge():
    """The reserve tops the slab account up to its IM first, so the realised loss of a close
    fits the route's cap."""
    w = World()
    w.place(MAKER_A, BTC_A, BTC, SELL, 5, book_px(60000))
    w.reserve(TAKER, 1, BTC, BUY, 5, book_px(60000), slabs=(BTC_A,))
    w.next_epoch()
    w.commit(TAKER, 1, BTC, BUY, 5, book_px(60000))
    px = BTC_PX
    for _ in range(3):
        px = px * 9_710 // 10_000 // 100_000 * 100_000
        w.advance(1)
        w.oracle(BTC, px)
    w.place(MAKER_B, BTC_A, BTC, BUY, 5, px)
    w.reserve(TAKER, 2, BTC, SELL, 5, px, slabs=(BTC_A,))
    w.next_epoch()
    w.commit(TAKER, 2, BTC, SELL, 5, px)
    assert w.router._exposures(TAKER) == {}
    assert w.conserved()


def _manifest(tag: bytes):
    from executor.manifest import Manifest, proof_hash
    transcript = "assetl2 verification transcript v1\nconfig-fingerprint " + ("ab" * 32) + "\nend\n"
    return Manifest(tag * 32, bytes.fromhex("ab" * 32), proof_hash(transcript), transcript)


def test_routing_skips_slabs_whose_registered_manifest_does_not_match():
    """P10/P11: governance registered a different code hash for slab B than what runs."""
    running = {sid: _manifest(b"\x01") for sid in (1, 2, 3, 4)}
    w = World(manifests=running)
    two_books(w)
    w.apply(GOV, upgrade_slab=tx_pb2.UpgradeSlab(slab_id=BTC_B, active=True, manifest=tx_pb2.Manifest(
        code_hash=b"\x02" * 32, config_hash=bytes.fromhex("ab" * 32),
        proof_hash=running[BTC_B].proof_hash)))
    rejected(w, E.ROUTE_UNFILLABLE, w.reserve, TAKER, 1, BTC, BUY, 10, book_px(60000))
    rejected(w, E.SLAB_MANIFEST_MISMATCH, w.reserve, TAKER, 1, BTC, BUY, 5, book_px(60000),
             slabs=(BTC_B,))
    rejected(w, E.SLAB_MANIFEST_MISMATCH, w.place, TAKER, BTC_B, BTC, BUY, 1, book_px(59000))
    w.reserve(TAKER, 2, BTC, BUY, 5, book_px(60000))           # slab A still matches


def test_escrow_backing_resting_orders_cannot_be_withdrawn():
    """A resting order was accepted by its slab against the escrow there: that margin stays
    pledged until the order is cancelled (or fills), whatever the portfolio margin says."""
    w = World(accounts={MAKER_A: 10_000_000_000, MAKER_B: 10**13, TAKER: 10**13})
    events = w.place(MAKER_A, BTC_A, BTC, SELL, 5, book_px(60100))
    oid = events[-1].order_update.order_id
    n = w.router.user_no(MAKER_A)
    order_im = w.router._order_margin(n, BTC_A)
    esc = w.router._escrow(MAKER_A, BTC_A).balance_atoms
    assert 0 < order_im <= esc
    free = w.router._vault(MAKER_A) + esc - order_im
    rejected(w, E.INSUFFICIENT_FUNDS, w.withdraw, MAKER_A, free + 1)
    w.withdraw(MAKER_A, free)
    assert w.router._escrow(MAKER_A, BTC_A).balance_atoms >= order_im
    eq, im = w.slabs[BTC_A].margin_with_orders(n)
    assert eq >= im                      # the slab's own acceptance basis still holds
    # cancelled, its pledge goes back to the vault and may leave
    w.apply(MAKER_A, cancel_order=tx_pb2.CancelOrder(slab_id=BTC_A, instrument_id=BTC, order_id=oid))
    assert w.router._order_margin(n, BTC_A) == 0
    w.withdraw(MAKER_A, w.router._vault(MAKER_A))
    assert w.conserved()


def test_resting_orders_margin_is_counted_on_top_of_the_portfolio_im():
    """A position's IM may not be backed by the collateral already pledged to a resting order
    elsewhere: with a small BTC position on slab B and a large ETH order resting on slab A, a
    withdrawal of everything the escrows allow still fails the portfolio check."""
    w = World(accounts={TAKER: 50_000_000_000, MAKER_A: 10**13, MAKER_B: 10**13})
    w.place(MAKER_B, BTC_B, BTC, SELL, 1, book_px(60000))
    w.reserve(TAKER, 1, BTC, BUY, 1, book_px(60000), slabs=(BTC_B,))
    w.next_epoch()
    w.commit(TAKER, 1, BTC, BUY, 1, book_px(60000))
    w.place(TAKER, ETH_A, ETH, BUY, 50, 2_900_000_000)           # rests, far below the market
    n = w.router.user_no(TAKER)
    order_im = w.router._order_margin(n, ETH_A)
    equity, im, _mm = w.router.margin(TAKER)
    assert im > 0 and order_im > im                               # the order margin alone would cover IM
    # everything the escrow-side rule lets go: vault, plus escrow beyond routes and order margins
    allowed = w.router._vault(TAKER) + sum(
        max(0, w.router._escrow(TAKER, s).balance_atoms - w.router._pledged_open(TAKER, s)
            - w.router._order_margin(n, s)) for s in (AMM_ETH, BTC_A, BTC_B, ETH_A))
    assert equity - allowed < im + order_im                       # ... but the portfolio says no
    rejected(w, E.WITHDRAW_BELOW_IM, w.withdraw, TAKER, allowed)
    w.withdraw(TAKER, equity - im - order_im)
    assert w.conserved()


def test_orders_on_an_inactive_slab_can_be_cancelled_and_their_margin_withdrawn():
    """Cancel-only: once governance deactivates a slab nothing trades there, but its resting
    orders can still be cancelled, so their pledged margin does not stay locked."""
    w = World(accounts={MAKER_A: 10_000_000_000, MAKER_B: 10**13, TAKER: 10**13})
    oid = w.place(MAKER_A, BTC_A, BTC, SELL, 5, book_px(60100))[-1].order_update.order_id
    w.apply(GOV, upgrade_slab=tx_pb2.UpgradeSlab(slab_id=BTC_A, active=False))
    rejected(w, E.SLAB_INACTIVE, w.place, MAKER_A, BTC_A, BTC, SELL, 1, book_px(60100))
    w.apply(MAKER_A, cancel_order=tx_pb2.CancelOrder(slab_id=BTC_A, instrument_id=BTC, order_id=oid))
    total = w.router._vault(MAKER_A) + w.router._escrow(MAKER_A, BTC_A).balance_atoms
    w.withdraw(MAKER_A, total)
    assert w.router._vault(MAKER_A) == 0 and w.conserved()
    rejected(w, E.UNKNOWN_SLAB, w.apply, MAKER_A,
             cancel_order=tx_pb2.CancelOrder(slab_id=99, instrument_id=BTC, order_id=oid))
