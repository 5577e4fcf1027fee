"""The posting loop: outbox → Solana, bounded in flight, idempotent across restarts (DESIGN §8).

The behaviour DESIGN §8 asks for, after Arbitrum's and Optimism's posters (Arbitrum's, for
instance, bounds its in-flight transactions with `max-mempool-transactions`, replaces stuck
transactions on a fee schedule, and its sequencer inbox refuses a batch whose sequence number
is not the on-chain batch count, `BadSequencerNumber`), and how:

- **resume from the chain**: on start the loop reads the on-chain Config tip; every outbox
  batch at or below it is checked against the anchored account (same content → confirmed,
  other content → `BatchConflict`, halt).  Posting restarts at `tip + 1`, and the program
  refuses anything else, so a re-post after a crash is a no-op and a gap cannot be posted;
- **bounded in flight**: at most `max_in_flight` signed transactions wait for confirmation.
  Batch k+1 is only valid on top of batch k, so they are sent in index order, and a
  sequencing refusal (`BatchIndexGap`, ...) while a lower batch is still in flight means "k
  has not landed yet" — wait, do not halt;
- **fee escalation and fresh blockhashes**: a signing whose blockhash expired unconfirmed is
  re-signed with a fresh blockhash at the next fee step (`FeePolicy`, capped); the step count
  is kept in the outbox so a restart does not drop back to the lowest fee;
- **back-off**: RPC down, slow or erroring → exponential back-off with a cap, then resume;
- **wallet empty**: alarm (`batchposter_wallet_empty`), keep the outbox, poll the balance and
  resume once it covers a batch — never crash;
- **halt on the unexplained**: a program error that is not a known transient, or a batch on
  chain that differs from ours, stops posting (`batchposter_halted` = 1) and keeps the
  outbox: spending more on a chain the node disagrees with helps nobody.

Metrics go on the `CollectorRegistry` the node passes in (DESIGN §9; roles never import
`node`).  `BatchPosterService` wires batcher, outbox and loop together for the node.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections import deque
from dataclasses import dataclass
from typing import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from solana.rpc.async_api import AsyncClient
from solana.rpc.commitment import Confirmed, Finalized
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from batchposter import program_abi as abi
from batchposter import solana_client as sc
from batchposter.batcher import Batcher, BatcherCursor, BatchPolicy, BlockRecord, StateCertificate
from batchposter.outbox import BatchStatus, ClosedBatch, Outbox, OutboxEntry
from batchposter.program_abi import ErrorCode

log = logging.getLogger(__name__)

# Refusals that only mean "the batch below has not landed yet" while one is in flight.
SEQUENCING_CODES = frozenset({
    ErrorCode.BATCH_INDEX_GAP,
    ErrorCode.PREV_STATE_ROOT_MISMATCH,
    ErrorCode.HEIGHT_GAP,
    ErrorCode.TX_LOG_SHRUNK,
    ErrorCode.TX_LOG_ROOT_CHANGED,
})
PRUNE_EVERY_BATCHES = 100  # confirmed batches beyond `keep_confirmed` are deleted this often
LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0)
FAILURE_KINDS = ("rpc", "expired", "wallet", "program", "conflict", "not_initialized", "internal")


@dataclass(frozen=True)
class Backoff:
    """Exponential back-off after consecutive failures, capped (reset by any success)."""

    initial_s: float = 0.5
    factor: float = 2.0
    max_s: float = 30.0

    def delay(self, failures: int) -> float:
        return min(self.max_s, self.initial_s * self.factor ** max(0, failures - 1))


class PosterHalted(Exception):
    """Posting stopped for a reason a retry cannot fix; the outbox is kept."""

    kind = "conflict"  # the outbox and the chain disagree


class PosterMetrics:
    """The poster's Prometheus metrics (names are the operator contract, DESIGN §9)."""

    def __init__(self, registry: CollectorRegistry):
        self.registry = registry
        self.last_posted = Gauge("batchposter_last_posted_batch", "Highest batch index sent to Solana.",
                                 registry=registry)
        self.last_confirmed = Gauge("batchposter_last_confirmed_batch",
                                    "Highest batch index anchored and confirmed on Solana.", registry=registry)
        self.backlog = Gauge("batchposter_backlog_batches", "Closed batches not yet confirmed on Solana.",
                             registry=registry)
        self.in_flight = Gauge("batchposter_in_flight_transactions", "post_batch transactions awaiting confirmation.",
                               registry=registry)
        self.confirm_latency = Histogram("batchposter_confirm_latency_seconds",
                                         "From a batch's first send to its confirmation.", buckets=LATENCY_BUCKETS,
                                         registry=registry)
        self.fees_paid = Counter("batchposter_fees_paid_lamports", "Transaction fees paid for post_batch (lamports).",
                                 registry=registry)
        self.rent_paid = Counter("batchposter_rent_paid_lamports", "Rent locked in Batch accounts (lamports).",
                                 registry=registry)
        self.wallet_balance = Gauge("batchposter_wallet_balance_lamports", "The poster wallet's balance.",
                                    registry=registry)
        self.wallet_empty = Gauge("batchposter_wallet_empty",
                                  "1 while the wallet cannot pay for the next batch (alarm).", registry=registry)
        self.failures = Counter("batchposter_failures", "Posting failures by kind.", ["kind"], registry=registry)
        self.halted = Gauge("batchposter_halted", "1 when posting stopped on an unexplained program error (alarm).",
                            registry=registry)
        self.resigns = Counter("batchposter_resigns", "Signings re-done with a fresh blockhash after expiry.",
                               registry=registry)
        self.priority_fee = Gauge("batchposter_priority_fee_micro_lamports_per_cu",
                                  "Compute-unit price of the latest signing.", registry=registry)
        for kind in FAILURE_KINDS:
            self.failures.labels(kind)


class Poster:
    """Sends the outbox's batches in index order and tracks them to confirmation."""

    def __init__(
        self,
        outbox: Outbox,
        client: sc.SolanaAnchorClient,
        *,
        registry: CollectorRegistry | None = None,
        max_in_flight: int = 4,
        backoff: Backoff = Backoff(),
        poll_interval_s: float = 0.4,
        rebroadcast_interval_s: float = 2.0,
        balance_interval_s: float = 30.0,
        keep_confirmed: int = 10_000,
        prune_every: int = PRUNE_EVERY_BATCHES,
        clock: Callable[[], float] = time.monotonic,
    ):
        if max_in_flight < 1:
            raise ValueError("max_in_flight must be at least 1")
        self.outbox = outbox
        self.client = client
        self.metrics = PosterMetrics(registry if registry is not None else CollectorRegistry())
        self.max_in_flight = max_in_flight
        self.backoff = backoff
        self.poll_interval_s = poll_interval_s
        self.rebroadcast_interval_s = rebroadcast_interval_s
        self.balance_interval_s = balance_interval_s
        self.keep_confirmed = keep_confirmed
        self.prune_every = prune_every
        self._pruned_at = 0
        self._reconciled = 0  # outbox batches up to here have been checked against the chain
        self._waiting_at: int | None = None  # a batch refused as out of order while a lower one is in flight
        self._clock = clock
        self.halted: str | None = None
        self.tip: int | None = None  # last confirmed batch index; None until resumed
        self.chain_config: abi.ConfigAccount | None = None
        self.signings: deque[tuple[int, int, int]] = deque(maxlen=256)  # (index, attempt, µlamports/CU)
        self._in_flight: dict[int, sc.Submission] = {}
        self._last_broadcast: dict[int, float] = {}
        self._first_sent: dict[int, float] = {}
        self._attempts: dict[int, int] = {}
        self._wake = asyncio.Event()
        self._progress = asyncio.Event()
        self._resumed = asyncio.Event()
        self._failures = 0
        self._last_posted = 0
        self._last_balance_at = float("-inf")
        self._rent: int | None = None
        self._task: asyncio.Task | None = None

    # -- control --------------------------------------------------------------------------

    def start(self) -> asyncio.Task:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self.run(), name="batchposter")
        return self._task

    async def stop(self) -> None:
        """Cancel the loop.  Nothing to flush: every outbox write was synchronous, and a signing
        sent but not recorded is found on chain (or re-posted as a no-op) after a restart."""
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass

    def wake(self) -> None:
        """A new batch is in the outbox."""
        self._wake.set()

    async def wait_resumed(self, timeout_s: float) -> None:
        await asyncio.wait_for(self._resumed.wait(), timeout_s)

    async def wait_confirmed(self, batch_index: int, timeout_s: float) -> None:
        """Wait (bounded) until `batch_index` is confirmed; raise PosterHalted if posting halts."""
        deadline = self._clock() + timeout_s
        while self.tip is None or self.tip < batch_index:
            if self.halted is not None:
                raise PosterHalted(self.halted)
            remaining = deadline - self._clock()
            if remaining <= 0:
                raise asyncio.TimeoutError(f"batch {batch_index} not confirmed within {timeout_s}s (tip {self.tip})")
            self._progress.clear()
            try:
                await asyncio.wait_for(self._progress.wait(), min(remaining, 1.0))
            except asyncio.TimeoutError:
                pass

    # -- the loop -------------------------------------------------------------------------

    async def run(self) -> None:
        """Resume from the chain, then post until cancelled or halted (never raises on faults)."""
        while self.tip is None:
            if not await self._guarded(self._resume()):
                if self.halted is not None:
                    return
                await self._sleep_backoff()
        while self.halted is None:
            self._wake.clear()  # a wake() during the step below is kept for _idle
            if await self._guarded(self._step()):
                self._failures = 0
                await self._idle()
            elif self.halted is None:
                await self._sleep_backoff()

    async def _guarded(self, operation) -> bool:
        """Run one step; turn the client's typed failures into back-off, alarm or halt."""
        try:
            await operation
            return True
        except sc.WalletEmpty as exc:
            self._count_failure(exc)
            log.error("poster wallet cannot pay for the next batch: %s", exc)
            self.metrics.wallet_empty.set(1)
            await self._wait_for_funds()
            return False
        except (sc.RpcUnavailable, sc.ConfirmationTimeout) as exc:
            self._count_failure(exc)
            log.warning("poster: %s (%s); backing off", exc, exc.kind)
            return False
        except (sc.AnchorProgramError, sc.BatchConflict, sc.AnchorNotInitialized, PosterHalted) as exc:
            self._failures += 1
            self.metrics.failures.labels(exc.kind).inc()
            self._halt(str(exc))
            return False
        except Exception as exc:  # a bug or a broken outbox: alarm and stop, never spin or die silently
            log.exception("batch poster: unexpected failure")
            self.metrics.failures.labels("internal").inc()
            self._halt(f"internal error: {exc!r}")
            return False

    def _count_failure(self, exc: sc.AnchorClientError) -> None:
        self._failures += 1
        self.metrics.failures.labels(exc.kind).inc()

    def _halt(self, reason: str) -> None:
        self.halted = reason
        self.metrics.halted.set(1)
        self._progress.set()
        log.critical("batch poster halted, outbox kept: %s", reason)

    async def _sleep_backoff(self) -> None:
        await asyncio.sleep(self.backoff.delay(max(1, self._failures)))

    async def _idle(self) -> None:
        timeout = self.poll_interval_s if self._in_flight else max(self.poll_interval_s, 1.0)
        try:
            await asyncio.wait_for(self._wake.wait(), timeout)
        except asyncio.TimeoutError:
            pass

    # -- resume ---------------------------------------------------------------------------

    async def _resume(self) -> None:
        """Reconcile the outbox with the on-chain tip (DESIGN §8 "on start, read the on-chain last batch")."""
        config = await self.client.read_config()
        for entry in self.outbox.unconfirmed():
            if entry.batch_index > config.last_batch_index:
                break
            await self._resolve_anchored(entry)
        outbox_last = self.outbox.last()
        confirmed = self.outbox.last_confirmed_index()
        if confirmed is not None and confirmed > config.last_batch_index:
            raise PosterHalted(f"the outbox has batch {confirmed} confirmed but the chain's tip is "
                               f"{config.last_batch_index}: wrong RPC or program id?")
        nxt = self.outbox.get(config.last_batch_index + 1)
        if nxt is not None:
            problem = abi.predict_post_batch_error(config, nxt.header)
            if problem is not None:
                raise PosterHalted(f"batch {nxt.batch_index} cannot follow the anchored tip: {problem.name}")
        elif outbox_last is not None and outbox_last.batch_index < config.last_batch_index:
            log.warning("the chain (tip %d) is ahead of the outbox (last %d)", config.last_batch_index,
                        outbox_last.batch_index)
        for entry in self.outbox.unconfirmed():
            self._attempts[entry.batch_index] = entry.attempts
        self.chain_config = config
        self._set_tip(config.last_batch_index)
        last = self.outbox.last()
        self._reconciled = config.last_batch_index if last is None else min(config.last_batch_index, last.batch_index)
        self._last_posted = max(self._last_posted, config.last_batch_index)
        self.metrics.last_posted.set(self._last_posted)
        await self._refresh_balance(force=True)
        self._resumed.set()
        log.info("poster resumed at on-chain batch %d; backlog %d", config.last_batch_index, self._backlog())

    async def _resolve_anchored(self, entry: OutboxEntry, fee_lamports: int = 0) -> None:
        """The chain has this index: ours (confirm, no fee) or someone else's (conflict)."""
        anchored = await self.client.read_batch(entry.batch_index)
        if anchored is None:
            config = await self.client.read_config()
            if config.last_batch_index > entry.batch_index:  # closed by the authority (close_batch)
                self._confirm(entry.batch_index, None, None, fee_lamports)
                return
            raise sc.RpcUnavailable(f"batch {entry.batch_index} anchored but not yet visible")
        if anchored.header() != entry.header:
            raise sc.BatchConflict(f"batch {entry.batch_index} on chain has state root {anchored.state_root.hex()}, "
                                   f"the outbox has {entry.header.state_root.hex()}")
        self._confirm(entry.batch_index, None, anchored.slot, fee_lamports)

    # -- one step -------------------------------------------------------------------------

    async def _step(self) -> None:
        await self._poll_in_flight()
        await self._fill()
        await self._refresh_balance()

    async def _poll_in_flight(self) -> None:
        for index in sorted(self._in_flight):
            sub = self._in_flight.get(index)
            if sub is None:
                continue
            status = await self.client.status(sub)
            if status.state == sc.SubmissionState.CONFIRMED:
                self._confirm(index, str(sub.signature), status.slot, self.client.fees.fee_lamports(sub.attempt),
                              rent=True)
            elif status.state == sc.SubmissionState.FAILED:
                self._drop(index)
                self.metrics.fees_paid.inc(self.client.fees.fee_lamports(sub.attempt))
                error = status.error
                if error is not None and error.kind == "already_posted":
                    await self._resolve_anchored(self._entry(index))
                elif status.code in SEQUENCING_CODES and self._lower_in_flight(index):
                    log.info("batch %d landed out of order; re-sending after batch %d", index, min(self._in_flight))
                else:
                    raise error or sc.AnchorProgramError(status.code, "landed with an error")
            elif status.state == sc.SubmissionState.EXPIRED:
                self._drop(index)
                self._attempts[index] = sub.attempt + 1
                self.metrics.resigns.inc()
                self.metrics.failures.labels("expired").inc()
                log.info("batch %d: signing %d expired unconfirmed; re-signing", index, sub.attempt)
            elif status.slot is None and self._clock() - self._last_broadcast[index] >= self.rebroadcast_interval_s:
                await self.client.rebroadcast(sub)
                self._last_broadcast[index] = self._clock()

    async def _fill(self) -> None:
        """Send the next batches in index order, up to `max_in_flight`."""
        await self._reconcile_behind_tip()
        index = self.tip + 1
        while len(self._in_flight) < self.max_in_flight and self.halted is None:
            if index in self._in_flight:
                index += 1
                continue
            entry = self.outbox.get(index)
            if entry is None:
                break
            if entry.status == BatchStatus.CONFIRMED:
                self._set_tip(self.tip)
                index += 1
                continue
            if index == self._waiting_at and self._lower_in_flight(index):
                break  # refused last time; nothing below has landed or expired since
            attempt = self._attempts.get(index, entry.attempts)
            try:
                sub = await self.client.send_post_batch(entry.header, attempt)
            except sc.AnchorProgramError as exc:
                if exc.code in SEQUENCING_CODES and self._lower_in_flight(index):
                    self._waiting_at = index  # a lower batch has not been processed yet
                    break
                raise
            except sc.AnchorClientError as exc:
                if exc.kind != "already_posted":
                    raise
                await self._resolve_anchored(entry)
                index += 1
                continue
            now = self._clock()
            self.outbox.mark_sent(index, str(sub.signature), str(sub.blockhash), sub.last_valid_block_height,
                                  self.client.fees.fee_lamports(attempt), attempt + 1)
            self._in_flight[index] = sub
            self._last_broadcast[index] = now
            self._first_sent.setdefault(index, sub.sent_at)
            self.signings.append((index, attempt, sub.price_micro_lamports))
            self.metrics.priority_fee.set(sub.price_micro_lamports)
            self._last_posted = max(self._last_posted, index)
            self.metrics.last_posted.set(self._last_posted)
            self.metrics.in_flight.set(len(self._in_flight))
            index += 1

    async def _reconcile_behind_tip(self) -> None:
        """Batches queued after start at or below the chain's tip (the chain was ahead of the
        outbox, e.g. a restored outbox): confirm them by content, never post them."""
        while self._reconciled < self.tip:
            entry = self.outbox.get(self._reconciled + 1)
            if entry is None:
                return
            if entry.status != BatchStatus.CONFIRMED:
                await self._resolve_anchored(entry)
            self._reconciled += 1

    def _lower_in_flight(self, index: int) -> bool:
        return any(i < index for i in self._in_flight)

    def _entry(self, index: int) -> OutboxEntry:
        entry = self.outbox.get(index)
        if entry is None:
            raise PosterHalted(f"batch {index} vanished from the outbox")
        return entry

    def _drop(self, index: int) -> None:
        self._waiting_at = None  # something below a refused batch changed: try it again
        self._in_flight.pop(index, None)
        self._last_broadcast.pop(index, None)
        self.metrics.in_flight.set(len(self._in_flight))

    def _confirm(self, index: int, signature: str | None, slot: int | None, fee_lamports: int,
                 rent: bool = False) -> None:
        self.outbox.mark_confirmed(index, signature, slot)
        self._drop(index)
        self._attempts.pop(index, None)
        if fee_lamports:
            self.metrics.fees_paid.inc(fee_lamports)
        if rent and self._rent:
            self.metrics.rent_paid.inc(self._rent)
        sent = self._first_sent.pop(index, None)
        if sent is not None:
            self.metrics.confirm_latency.observe(max(0.0, self._clock() - sent))
        self._set_tip(self.tip or 0)  # a later batch can be seen confirmed before an earlier one
        if self.tip - self._pruned_at >= self.prune_every:
            self._pruned_at = self.tip
            self.outbox.prune_confirmed(self.keep_confirmed)

    def _set_tip(self, tip: int) -> None:
        # Confirmation is in index order on chain; the confirmed prefix is the tip.
        while self.outbox.get(tip + 1) is not None and self.outbox.get(tip + 1).status == BatchStatus.CONFIRMED:
            tip += 1
        self.tip = tip
        self.metrics.last_confirmed.set(tip)
        self.metrics.backlog.set(self._backlog())
        self._progress.set()

    def _backlog(self) -> int:
        last = self.outbox.last()
        return 0 if last is None or self.tip is None else max(0, last.batch_index - self.tip)

    # -- wallet ---------------------------------------------------------------------------

    async def _refresh_balance(self, force: bool = False) -> None:
        if not force and self._clock() - self._last_balance_at < self.balance_interval_s:
            return
        self._last_balance_at = self._clock()
        self.metrics.wallet_balance.set(await self.client.wallet_balance())
        if self._rent is None:
            self._rent = await self.client.batch_cost_lamports() - self.client.fees.fee_lamports(0)

    async def _wait_for_funds(self) -> None:
        """Poll the balance with back-off until it covers one batch; the outbox waits meanwhile."""
        failures = 0
        while True:
            failures += 1
            await asyncio.sleep(self.backoff.delay(failures))
            try:
                balance = await self.client.wallet_balance()
                self.metrics.wallet_balance.set(balance)
                attempt = max(self._attempts.values(), default=0)
                if balance >= await self.client.batch_cost_lamports(attempt):
                    self.metrics.wallet_empty.set(0)
                    log.info("poster wallet funded (%d lamports); resuming", balance)
                    self._failures = 0
                    return
            except sc.RpcUnavailable as exc:
                self.metrics.failures.labels(exc.kind).inc()


# ---------------------------------------------------------------------------------------
# the role as the node wires it
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PosterConfig:
    """What the node's config gives the poster role."""

    rpc_url: str
    program_id: Pubkey
    outbox_path: str
    code_hash: bytes
    proof_hash: bytes
    policy: BatchPolicy = BatchPolicy()
    fees: sc.FeePolicy = sc.FeePolicy()
    max_in_flight: int = 4
    genesis_height: int = 1
    poll_interval_s: float = 0.4
    rebroadcast_interval_s: float = 2.0
    balance_interval_s: float = 30.0
    backoff: Backoff = Backoff()
    keep_confirmed: int = 10_000  # confirmed batches kept in the outbox (the newest one always is)
    commitment: str = "confirmed"  # or "finalized": when a batch counts as anchored
    rpc_timeout_s: float = 10.0  # a slower answer counts as an RPC failure (back-off)

    def __post_init__(self) -> None:
        if self.commitment not in ("confirmed", "finalized"):
            raise ValueError(f"commitment must be confirmed or finalized, not {self.commitment!r}")


class BatchPosterService:
    """Batcher + outbox + posting loop: the batch-poster role (DESIGN §1, §3).

    The node feeds it, in order, every executed block (`feed_block`), the state certificate
    of each height (`feed_certificate`) and the rollup clock while idle (`tick`).  After
    `start()`, `next_height` is the first height it needs; the node replays executed blocks
    from there (blocks it already batched are ignored).
    """

    def __init__(self, config: PosterConfig, keypair: Keypair, registry: CollectorRegistry | None = None,
                 rpc: AsyncClient | None = None):
        self.config = config
        self.rpc = rpc or AsyncClient(config.rpc_url, timeout=config.rpc_timeout_s)
        self._own_rpc = rpc is None
        os.makedirs(config.outbox_path, exist_ok=True)
        self.outbox = Outbox(config.outbox_path)
        commitment = {"confirmed": Confirmed, "finalized": Finalized}[config.commitment]
        self.client = sc.SolanaAnchorClient(self.rpc, config.program_id, keypair, fees=config.fees,
                                            commitment=commitment,
                                            poll_interval_s=config.poll_interval_s,
                                            rebroadcast_interval_s=config.rebroadcast_interval_s)
        self.poster = Poster(self.outbox, self.client, registry=registry, max_in_flight=config.max_in_flight,
                             backoff=config.backoff, poll_interval_s=config.poll_interval_s,
                             rebroadcast_interval_s=config.rebroadcast_interval_s,
                             balance_interval_s=config.balance_interval_s, keep_confirmed=config.keep_confirmed)
        self.batcher: Batcher | None = None

    @property
    def metrics(self) -> PosterMetrics:
        return self.poster.metrics

    @property
    def halted(self) -> str | None:
        return self.poster.halted

    @property
    def next_height(self) -> int:
        return self._require_batcher().next_height

    async def start(self, timeout_s: float = 60.0) -> None:
        """Start the posting loop and place the batcher.

        With batches in the outbox the batcher continues after the last one straight away
        (the outbox is the record of our own batches; boundaries are deterministic, so a
        chain that is ahead holds the same batches and they are confirmed as already posted).
        With an empty outbox it must start at the on-chain tip, so this waits (bounded) until
        the loop has read it.
        """
        self.poster.start()
        last = self.outbox.last()
        if last is not None:
            self.batcher = Batcher(self.config.policy, BatcherCursor.after(last), self.config.code_hash,
                                   self.config.proof_hash)
            return
        resumed = asyncio.ensure_future(self.poster.wait_resumed(timeout_s))
        await asyncio.wait({resumed, self.poster._task}, return_when=asyncio.FIRST_COMPLETED)
        if not resumed.done() or resumed.exception() is not None or self.poster.chain_config is None:
            resumed.cancel()
            raise PosterHalted(self.poster.halted or f"could not read the anchor's tip within {timeout_s}s")
        cursor = BatcherCursor.from_chain(self.poster.chain_config, self.config.genesis_height)
        self.batcher = Batcher(self.config.policy, cursor, self.config.code_hash, self.config.proof_hash)

    async def stop(self) -> None:
        await self.poster.stop()
        if self._own_rpc:
            await self.rpc.close()
        self.outbox.close()

    def set_program(self, code_hash: bytes, proof_hash: bytes) -> None:
        """A newly registered (code hash, proof hash) pair, named from the next batch on (DESIGN §6)."""
        self._require_batcher().set_program(code_hash, proof_hash)

    def status(self) -> dict:
        """For the node's `/status` JSON (DESIGN §9)."""
        last = self.outbox.last()
        return {
            "last_confirmed_batch": self.poster.tip,
            "last_queued_batch": None if last is None else last.batch_index,
            "backlog_batches": self.poster._backlog(),
            "in_flight": len(self.poster._in_flight),
            "next_height": None if self.batcher is None else self.batcher.next_height,
            "open_blocks": None if self.batcher is None else self.batcher.open_blocks,
            "halted": self.poster.halted,
        }

    def feed_block(self, block: BlockRecord) -> list[ClosedBatch]:
        return self._queue(self._require_batcher().add_block(block))

    def feed_certificate(self, certificate: StateCertificate) -> list[ClosedBatch]:
        return self._queue(self._require_batcher().add_certificate(certificate))

    def tick(self, now_ms: int) -> list[ClosedBatch]:
        return self._queue(self._require_batcher().tick(now_ms))

    def _queue(self, batches: list[ClosedBatch]) -> list[ClosedBatch]:
        for batch in batches:
            self.outbox.add(batch)
        if batches:
            self.poster.metrics.backlog.set(self.poster._backlog())
            self.poster.wake()
        return batches

    def _require_batcher(self) -> Batcher:
        if self.batcher is None:
            raise RuntimeError("BatchPosterService.start() first")
        return self.batcher
