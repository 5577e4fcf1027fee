"""The executor role inside the node: decided blocks in, state roots and proven reads out.

DESIGN §1/§3: every node executes every decided block.  The sequencer role hands blocks over
with ``enqueue_decided`` (non-blocking); one task applies them strictly in height order and
tells subscribers (``on_executed``: the sequencer's attestations, the batch poster) the new
``(height, state_root, tx_log_size, tx_log_root)``.

Blocks are applied on the event loop between awaits, so client reads never observe a
half-applied block; a block of 1 000 transactions holds the loop for tens of milliseconds,
which the event-loop-lag metric shows.  Every state read is answered at the latest executed
height with Merkle proofs that ``statetree.verify`` checks against the returned root.
"""
from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import AsyncIterator, Callable, Optional

from prometheus_client import Counter, Gauge, Histogram

from executor.block import BlockError, BlockInput, BlockOutput, Executor
from executor.curvescript import compile_file
from executor.genesis import GenesisError, load_genesis
from executor.manifest import build_manifest
from executor.slabs import local_instrument
from executor.tx import VerifiedSignatures
from executor.curvescript.errors import CurveScriptErrors
from node.roles import RoleContext
from node.tasks import cancel_and_wait
from sequencer.mempool import HookVerdict
from proto.assetl2.v1 import client_pb2, state_pb2

log = logging.getLogger(__name__)

EXAMPLES = Path(__file__).resolve().parent.parent / "executor" / "curvescript" / "examples"
EVENT_QUEUE = 10_000        # per subscriber; a subscriber that falls this far behind is dropped
BLOCK_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)

ExecutedCallback = Callable[[int, bytes, int, bytes], None]


class ExecutorRole:
    """RoleService "executor" (node/roles.py)."""

    name = "executor"

    def __init__(self, ctx: RoleContext):
        self.ctx = ctx
        self.executor: Optional[Executor] = None
        self.queue: asyncio.Queue[BlockInput] = asyncio.Queue()
        self.task: Optional[asyncio.Task] = None
        self.callbacks: list[ExecutedCallback] = []
        self.block_callbacks: list[Callable[[BlockOutput], None]] = []
        self.manifest = None
        # Signatures the sequencer verified at admission; the executor skips them (issue 6).
        self.verified = VerifiedSignatures()
        self.subscribers: set[asyncio.Queue] = set()
        self.halted: Optional[str] = None
        reg = ctx.registry
        self.m_height = Gauge("executor_block_height", "Last executed block height.", registry=reg)
        self.m_block_time = Histogram("executor_block_seconds", "Time to apply one block.",
                                      buckets=BLOCK_BUCKETS, registry=reg)
        self.m_txs = Counter("executor_transactions_total", "Executed transactions by outcome.",
                             ["outcome"], registry=reg)
        self.m_halted = Gauge("executor_halted", "1 when execution stopped on a fault.", registry=reg)
        self.m_admission_refused = Counter(
            "executor_admission_refused_total",
            "Transactions the sequencer's admission refused on the executor's pre-check, by code.",
            ["code"], registry=reg)
        self.m_backlog = Gauge("executor_backlog_blocks", "Decided blocks waiting to execute.", registry=reg)

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        cfg = self.ctx.cfg
        curve = cfg.resolve(cfg.executor.genesis_curve) if cfg.executor.genesis_curve else EXAMPLES / "devnet.curve"
        toml = cfg.resolve(cfg.executor.genesis_toml) if cfg.executor.genesis_toml else EXAMPLES / "devnet-genesis.toml"
        try:
            genesis = load_genesis(curve, toml)
        except (GenesisError, CurveScriptErrors) as exc:
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise RuntimeError(f"genesis does not load: {first}") from None
        except OSError as exc:
            raise RuntimeError(f"genesis file unreadable: {exc}") from None
        if genesis.chain_id != cfg.node.chain_id:
            raise RuntimeError(f"genesis chain id {genesis.chain_id!r} differs from node.chain_id {cfg.node.chain_id!r}")
        self.manifest = build_manifest(compile_file(curve))
        self.executor = Executor(self.ctx.data_dir("executor"), genesis,
                                 governance=frozenset(genesis.governance),
                                 bridge_relayers=frozenset(genesis.bridge_relayers),
                                 manifest=self.manifest, verified=self.verified)
        self.m_height.set(self.executor.height)
        self.task = asyncio.create_task(self._run(), name="executor")
        log.info("executor ready", extra={"height": self.executor.height,
                                          "state_root": self.executor.state_root().hex()})

    async def stop(self) -> None:
        await cancel_and_wait([self.task])
        for q in list(self.subscribers):
            q.put_nowait(None)
        if self.executor is not None:
            self.executor.close()
            self.executor = None

    def ready(self) -> bool:
        return self.executor is not None and self.halted is None

    def fill_status(self, status: client_pb2.NodeStatus) -> None:
        if self.executor is None:
            return
        status.height = self.executor.height
        status.state_root = self.executor.state_root()
        status.epoch = self.executor.meta.epoch

    def grpc_services(self, server) -> list[str]:
        return []

    # ------------------------------------------------------------------ block pipeline

    @property
    def height(self) -> int:
        return self.executor.height if self.executor else 0

    def enqueue_decided(self, decide) -> None:
        """Called by the sequencer for every Decide action (sequencer.consensus.Decide)."""
        for decided in decide.blocks:
            b = decided.block
            self.queue.put_nowait(BlockInput(b.height, b.timestamp_ms, tuple(b.payload), view=b.view,
                                             block_hash=b.hash, parent_hash=b.parent_hash, proposer=b.proposer))
        self.m_backlog.set(self.queue.qsize())

    def admission_check(self, payload: bytes, signer: bytes, tx_hash: bytes, now_ms: int) -> Optional[HookVerdict]:
        """The sequencer's AdmissionHook (sequencer/mempool.py): refuse at arrival what the
        executor would refuse for certain — wrong chain, expired, and the reserve→commit rules
        against the latest executed state (DESIGN §3).  None admits."""
        ex = self.executor
        if ex is None:
            return None
        refused = ex.admission_check(payload, signer, now_ms)
        if refused is None:
            return None
        code, message = refused
        self.m_admission_refused.labels(code.name).inc()
        return HookVerdict(False, code.name, message)

    def on_executed(self, callback: ExecutedCallback) -> None:
        """``callback(height, state_root, tx_log_size, tx_log_root)`` after every block."""
        self.callbacks.append(callback)

    def on_block(self, callback: Callable[[BlockOutput], None]) -> None:
        """``callback(BlockOutput)`` after every block (the batch poster)."""
        self.block_callbacks.append(callback)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            block = await self.queue.get()
            self.m_backlog.set(self.queue.qsize())
            ex = self.executor
            if ex is None or self.halted or block.height <= ex.height:
                continue  # already executed (replayed after a restart)
            t0 = loop.time()
            try:
                out = ex.apply_block(block)
            except BlockError as err:
                self.halted = str(err)
                self.m_halted.set(1)
                log.error("execution halted", extra={"height": block.height, "error": str(err)})
                continue
            self.m_block_time.observe(loop.time() - t0)
            self._published(out)

    def _published(self, out: BlockOutput) -> None:
        self.m_height.set(out.height)
        ok = sum(1 for r in out.receipts if r.ok)
        self.m_txs.labels("ok").inc(ok)
        self.m_txs.labels("rejected").inc(len(out.receipts) - ok)
        for cb in self.callbacks:
            try:
                cb(out.height, out.state_root, out.tx_log_size, out.tx_log_root)
            except Exception:
                log.exception("on_executed callback failed")
        for bcb in self.block_callbacks:
            try:
                bcb(out)
            except Exception:
                log.exception("on_block callback failed")
        info = self.executor.block_info(out.height)
        events = [state_pb2.Event(height=out.height, block=info)] + list(out.events)
        for q in list(self.subscribers):
            for ev in events:
                if q.full():
                    self.subscribers.discard(q)
                    q.put_nowait(None) if not q.full() else None
                    break
                q.put_nowait(ev)

    # ------------------------------------------------------------------ client API reads

    def _height(self, requested: int) -> int:
        """0 means latest; otherwise a retained, executed height (LookupError if not)."""
        ex = self.executor
        if requested == 0:
            return ex.height
        oldest = ex.tree.oldest_version() or 0
        if not oldest <= requested <= ex.height:
            raise LookupError(f"height {requested} is not retained here (have {oldest}..{ex.height})")
        return requested

    def _anchor(self, height: Optional[int] = None) -> state_pb2.StateAnchor:
        h = self.executor.height if height is None else height
        return state_pb2.StateAnchor(height=h, state_root=self.executor.state_root(h))

    def _proven(self, kind: str, key: bytes, height: Optional[int] = None) -> state_pb2.ProvenValue:
        tree = self.executor.tree
        value = tree.get(key, height)
        proof = tree.prove(key, height)
        return state_pb2.ProvenValue(kind=kind, key=key, value=value or b"", present=value is not None,
                                     proof=proof.to_bytes())

    async def get_state_value(self, req: client_pb2.GetStateValueRequest) -> client_pb2.StateValue:
        """A raw tree key at a height, with its (non-)inclusion proof: what auditors check."""
        if len(req.key) != 32:
            raise ValueError(f"key must be 32 bytes, got {len(req.key)}")
        height = self._height(req.height)
        return client_pb2.StateValue(anchor=self._anchor(height), value=self._proven("raw", req.key, height))

    async def get_account(self, req: client_pb2.GetAccountRequest) -> state_pb2.AccountState:
        view, keys = self.executor.router.account_view(req.user)
        view.anchor.CopyFrom(self._anchor())
        view.proofs.extend(self._proven("account", k) for k in keys)
        return view

    async def get_hold(self, req: client_pb2.GetHoldRequest) -> state_pb2.Hold:
        found = self.executor.router.hold_view(req.user, req.route_id)
        if found is None:
            raise LookupError(f"no hold {req.route_id} for this user")
        view, keys = found
        view.anchor.CopyFrom(self._anchor())
        view.proofs.extend(self._proven("hold", k) for k in keys)
        return view

    async def get_block(self, req: client_pb2.GetBlockRequest) -> state_pb2.BlockInfo:
        height = req.height or self.executor.height
        info = self.executor.block_info(height)
        if info is None:
            raise LookupError(f"block {height} is not executed on this node (executed height {self.executor.height})")
        return info

    async def get_order_book(self, req: client_pb2.GetOrderBookRequest) -> state_pb2.OrderBook:
        slab = self.executor.slabs.slabs.get(req.slab_id)
        if slab is None:
            raise LookupError(f"no slab {req.slab_id}")
        local = local_instrument(self.executor.config, req.slab_id, req.instrument_id)
        depth = req.depth or 10
        book = state_pb2.OrderBook(anchor=self._anchor(), slab_id=req.slab_id, instrument_id=req.instrument_id)
        for side, out in ((0, book.bids), (1, book.asks)):
            for level in slab.depth(local, side, depth) if hasattr(slab, "depth") else ():
                out.add(price_e6=level[0], qty_lots=level[1], orders=level[2] if len(level) > 2 else 0)
        return book

    async def stream_events(self, req: client_pb2.StreamEventsRequest) -> AsyncIterator[state_pb2.Event]:
        """Live events, optionally preceded by block events replayed from ``from_height``
        (fills and order updates are not kept, so a replay has block events only).  The live
        queue is subscribed before the replay, so no block falls between the two; blocks the
        replay already sent are skipped.  ``kinds`` and ``user`` filter what is sent."""
        wanted = _kinds(req.kinds)
        q: asyncio.Queue = asyncio.Queue(maxsize=EVENT_QUEUE)
        self.subscribers.add(q)
        sent = 0
        try:
            if req.from_height and self.executor is not None:
                for h in range(req.from_height, self.executor.height + 1):
                    info = self.executor.block_info(h)
                    if info is not None and "block" in wanted:
                        yield state_pb2.Event(height=h, block=info)
                    sent = h
            while True:
                ev = await q.get()
                if ev is None:
                    return
                if ev.height <= sent and ev.WhichOneof("kind") == "block":
                    continue
                if ev.WhichOneof("kind") in wanted and _concerns(ev, req.user):
                    yield ev
        finally:
            self.subscribers.discard(q)


_KIND_NAMES = {client_pb2.EVENT_KIND_BLOCK: "block", client_pb2.EVENT_KIND_FILL: "fill",
               client_pb2.EVENT_KIND_ORDER_UPDATE: "order_update", client_pb2.EVENT_KIND_BATCH: "batch"}


def _kinds(kinds) -> set[str]:
    """The oneof names a StreamEvents request asks for (empty: all)."""
    names = {_KIND_NAMES[k] for k in kinds if k in _KIND_NAMES}
    return names or set(_KIND_NAMES.values())


def _concerns(ev: state_pb2.Event, user: bytes) -> bool:
    """An event concerns ``user`` when it is theirs (fills: maker or taker; order updates: owner).
    Block and batch events concern everybody."""
    if not user:
        return True
    kind = ev.WhichOneof("kind")
    if kind == "fill":
        return user in (ev.fill.maker, ev.fill.taker)
    if kind == "order_update":
        return ev.order_update.owner == user
    return True


def factory(ctx: RoleContext) -> ExecutorRole:
    return ExecutorRole(ctx)
