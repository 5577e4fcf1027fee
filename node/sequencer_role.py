"""The sequencer role inside the node: client transactions in, decided blocks out (DESIGN §3, §7).

Wiring, in data-flow order (issue 6):

    client SubmitTransaction/SubmitStream ─► admission (size, decode, chain id, expiry,
    per-signer rate limit, signature — batched in worker threads, once per tx per node)
    ─► mempool (dedup, executor pre-checks via the AdmissionHook) ─► Replica/ReplicaDriver
    ─► Decide ─► LevelDB safety store ─► executor.enqueue_decided ─► on_executed
    ─► signed attestation ─► state certificate (2f+1) for the batch poster

- Admitted transactions are gossiped to every member (batched every `gossip_flush_ms`), so
  whichever member leads next can propose them; gossip from an authenticated member is size-
  checked and deduplicated but neither decoded, rate limited nor signature-checked again (the
  entry node did those checks; this node's executor verifies those signatures when it applies the block,
  while client transactions verified here at admission are marked in `executor.verified` and
  not checked again — every signature is verified once per node, issue 6).
- On start the role first catches up decided history from peers (`sequencer/catchup.py`),
  replays to the executor whatever storage holds beyond the executor's height, then builds the
  replica from storage — so a restarted node never re-decides or double-votes.
- With no executor role on this node, decided blocks are only stored and no attestations are
  produced; `/status` says so in `sequencer_detail`.
- One node (empty committee lists) runs exactly this code with a committee of one.
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import hashlib
import logging
import time
from collections import OrderedDict
from pathlib import Path
from typing import Optional

import grpc
from prometheus_client import Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from solders.pubkey import Pubkey

from executor.errors import ErrorCode
from executor.tx import signature_valid
from node import committee as committee_dir
from node.roles import RoleContext
from node.tasks import cancel_and_wait
from proto.assetl2.v1 import client_pb2, tx_pb2
from sequencer import mempool as mp
from sequencer.attest import Attestor
from sequencer.catchup import CatchUp, serve_fetch
from sequencer.codec import CodecLimits
from sequencer.consensus import CaughtUp, ConsensusConfig, Decide, RecoveredState, Replica
from sequencer.crypto import Signer, Verifier
from sequencer.latency import LatencyHistogram
from sequencer.driver import ReplicaDriver, SystemClock
from sequencer.mempool import HookVerdict, Mempool, MempoolConfig, TokenBucket
from sequencer.pacemaker import PacemakerConfig
from sequencer.safety import SafetyState
from sequencer.storage import LevelDBSafetyStore
from sequencer.transport import PeerTransport, TransportConfig
from sequencer.types import Committee, genesis_block, genesis_qc

log = logging.getLogger(__name__)

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.25, 0.35, 0.5, 0.75, 1.0, 2.5, 5.0, 10.0)
TRACK_LATENCY_TXS = 200_000
VERIFY_CHUNK = 256
CATCHUP_LAG_BLOCKS = 8       # behind by more than this (a verified proposal's height): catch up live
CATCHUP_CHECK_S = 0.25
LIVE_CATCHUP_ROUNDS = 64     # FetchBlocks rounds per live catch-up (256 blocks each at most)
SIG_THREADS = 2
INLINE_VERIFY = 4

OK = grpc.StatusCode.OK.value[0]
INVALID = grpc.StatusCode.INVALID_ARGUMENT.value[0]
EXHAUSTED = grpc.StatusCode.RESOURCE_EXHAUSTED.value[0]
ALREADY = grpc.StatusCode.ALREADY_EXISTS.value[0]
FAILED_PRECONDITION = grpc.StatusCode.FAILED_PRECONDITION.value[0]
UNAVAILABLE = grpc.StatusCode.UNAVAILABLE.value[0]

# mempool admission code -> (grpc status, executor error code, error name)
MEMPOOL_CODES = {
    mp.DUPLICATE: (ALREADY, ErrorCode.TX_DUPLICATE, "TX_DUPLICATE"),
    mp.ALREADY_DECIDED: (ALREADY, ErrorCode.TX_DUPLICATE, "TX_DUPLICATE"),
    mp.TOO_LARGE: (INVALID, ErrorCode.TX_TOO_LARGE, "TX_TOO_LARGE"),
    mp.POOL_FULL: (EXHAUSTED, 0, "POOL_FULL"),
    mp.RATE_LIMITED: (EXHAUSTED, 0, "RATE_LIMITED"),
}


def payload_hash(raw_envelope: bytes) -> bytes:
    """The transaction id clients see (executor/tx.py): sha256 of the payload bytes."""
    try:
        return hashlib.sha256(tx_pb2.Envelope.FromString(raw_envelope).payload).digest()
    except Exception:  # noqa: BLE001 - a byzantine leader's garbage still needs an id
        return hashlib.sha256(raw_envelope).digest()


def parse_committee(keys: list[str], peers: list[str], own_key: bytes, own_listen: str) -> tuple[Committee, tuple[str, ...]]:
    """The committee from config (or this node alone); RuntimeError names the problem."""
    if not keys and not peers:
        return Committee((own_key,)), (own_listen,)
    if len(keys) != len(peers):
        raise RuntimeError(f"sequencer.committee_keys has {len(keys)} entries but committee_peers has {len(peers)}")
    members = []
    for i, k in enumerate(keys):
        try:
            members.append(bytes(Pubkey.from_string(k)))
        except Exception:  # noqa: BLE001 - solders raises ValueError subclasses
            raise RuntimeError(f"sequencer.committee_keys[{i}]: not a base58 ed25519 public key: {k!r}") from None
    try:
        committee = Committee(tuple(members))
    except ValueError as exc:
        raise RuntimeError(f"sequencer.committee_keys: {exc}") from None
    if committee.index_of(own_key) is None:
        raise RuntimeError("this node's key is not in sequencer.committee_keys")
    return committee, tuple(peers)


class _Answer:
    """Where the verdicts of one client call go (a unary submit, one SubmitBatch, or one read-ahead
    chunk of a SubmitStream): a single future, resolved with the results in envelope order once
    every envelope has one. One future per call instead of one per transaction (issue 6)."""

    __slots__ = ("results", "left", "future")

    def __init__(self, n: int, future: asyncio.Future):
        self.results: list = [None] * n
        self.left = n
        self.future = future

    def put(self, index: int, result: client_pb2.SubmitResult) -> None:
        if self.results[index] is None:
            self.results[index] = result
            self.left -= 1
            if self.left == 0 and not self.future.done():
                self.future.set_result(self.results)


class _Pending:
    __slots__ = ("env", "raw", "answer", "index", "hash", "client")

    def __init__(self, env, answer: Optional[_Answer], index: int, client: bool):
        self.env = env
        self.raw = b""
        self.answer = answer
        self.index = index
        self.hash = b""
        self.client = client


class _ConsensusCollector:
    """Exports the replica's HotShot-named metrics and rejection counts at scrape time."""

    def __init__(self, role: "SequencerRole"):
        self.role = role

    def describe(self):
        return []

    def collect(self):
        r = self.role.replica
        if r is None:
            return
        for name, value in r.metrics.items():
            fam = GaugeMetricFamily(name, f"Sequencer replica metric {name} (sequencer/README.md).")
            fam.add_metric([], value)
            yield fam
        rej = CounterMetricFamily("consensus_rejected_messages", "Consensus input dropped by the replica, by reason.", labels=["reason"])
        for reason, n in sorted(r.rejections.items()):
            rej.add_metric([reason], n)
        yield rej
        yield self.role.m_latency.family()
        size = GaugeMetricFamily("sequencer_mempool_size", "Transactions pending in the mempool.")
        size.add_metric([], len(r.mempool))
        yield size


class SequencerRole:
    """RoleService "sequencer" (node/roles.py)."""

    name = "sequencer"

    def __init__(self, ctx: RoleContext):
        self.ctx = ctx
        cfg = ctx.cfg
        self.sc = cfg.sequencer
        self.chain_id = cfg.node.chain_id
        self.chain_bytes = self.chain_id.encode()
        self.store: Optional[LevelDBSafetyStore] = None
        self.replica: Optional[Replica] = None
        self.driver: Optional[ReplicaDriver] = None
        self.transport: Optional[PeerTransport] = None
        self.committee_size = 0
        self.attestor: Optional[Attestor] = None
        self.executor = None
        self.catchup: Optional[CatchUp] = None
        self.clock = SystemClock()
        self.verifier = Verifier()
        self.pool = concurrent.futures.ThreadPoolExecutor(max_workers=SIG_THREADS, thread_name_prefix="sigcheck")
        self._queue: list[_Pending] = []
        self._wake = asyncio.Event()
        self._gossip: list[tx_pb2.Envelope] = []
        self._gossip_in: list = []
        self._tasks: list[asyncio.Task] = []
        self._buckets: OrderedDict[bytes, TokenBucket] = OrderedDict()
        self._admitted_at: OrderedDict[bytes, float] = OrderedDict()
        self.decided_hash = b""
        self.detail = "starting"
        reg = ctx.registry
        self.m_rejected = Counter("sequencer_admission_rejected", "Client transactions refused at admission, by code.", ["code"], registry=reg)
        self.m_admitted = Counter("sequencer_admission_accepted", "Transactions admitted to the mempool, by source.", ["source"], registry=reg)
        self.m_latency = LatencyHistogram("consensus_decide_latency_seconds",
                                          "Admission (at this node) to decide, per transaction.", LATENCY_BUCKETS)
        self.m_block_latency = Histogram("consensus_block_decide_latency_seconds", "Block timestamp to decide at this node.",
                                         buckets=LATENCY_BUCKETS, registry=reg)
        reg.register(_ConsensusCollector(self))

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        cfg, sc, key = self.ctx.cfg, self.sc, self.ctx.key
        keys, peer_list = await self._committee_lists()
        committee, peers = parse_committee(keys, peer_list, key.public, cfg.peer.listen)
        self.committee_size = committee.size
        signer = Signer.from_seed(key.seed)
        consensus = ConsensusConfig(
            chain_id=self.chain_bytes,
            genesis_timestamp_ms=sc.genesis_timestamp_ms,
            reservation_batch_ms=sc.reservation_batch_ms,
            max_clock_skew_ms=sc.max_clock_skew_ms,
            empty_block_delay_ms=sc.empty_block_delay_ms,
            max_block_txs=sc.max_block_txs,
            max_block_bytes=sc.max_block_bytes,
            pacemaker=PacemakerConfig(base_timeout_ms=sc.base_timeout_ms, max_timeout_ms=sc.max_timeout_ms),
            codec_limits=CodecLimits(max_message_bytes=sc.peer_max_message_bytes,
                                     max_block_txs=max(sc.max_block_txs, 1), max_tx_bytes=sc.max_tx_bytes),
        )
        data = self.ctx.data_dir("sequencer")
        try:
            self.store = LevelDBSafetyStore(str(data / "consensus"))
        except Exception as exc:  # noqa: BLE001 - plyvel IOError (locked, corrupt)
            raise RuntimeError(f"cannot open {data / 'consensus'}: {exc}") from None
        self.executor = self.ctx.started.get("executor")
        tls_cert = tls_key = None
        if cfg.peer.tls_cert:
            tls_cert = cfg.resolve(cfg.peer.tls_cert).read_bytes() if hasattr(cfg, "resolve") else Path(cfg.peer.tls_cert).read_bytes()
            tls_key = cfg.resolve(cfg.peer.tls_key).read_bytes() if hasattr(cfg, "resolve") else Path(cfg.peer.tls_key).read_bytes()
        self.transport = PeerTransport(
            TransportConfig(listen=cfg.peer.listen, peers=peers, max_message_bytes=sc.peer_max_message_bytes + 4096,
                            queue_limit=sc.peer_queue_limit, tls_cert=tls_cert, tls_key=tls_key,
                            fetch_rate_per_s=float(sc.fetch_rate_per_s), fetch_burst=float(sc.fetch_burst)),
            self.chain_bytes, committee, signer,
            on_consensus=self._on_consensus,
            on_transactions=self._on_gossip,
            on_attestation=self._on_attestation,
            fetch_blocks=lambda req: serve_fetch(self.store, req),
            state_certificate=self.get_state_certificate,
            registry=self.ctx.registry,
            verifier=self.verifier,
        )
        await self.transport.start()
        if self.executor is not None:
            self.attestor = Attestor(chain_id=self.chain_bytes, committee=committee, signer=signer, verifier=self.verifier,
                                     path=data / "attestations", broadcast=self.transport.broadcast_attestation,
                                     registry=self.ctx.registry)
            self.executor.on_executed(self._on_executed)
        genesis = genesis_block(self.chain_bytes, sc.genesis_timestamp_ms)
        self.catchup = CatchUp(
            chain_id=self.chain_bytes, committee=committee, index=self.transport.index, verifier=self.verifier,
            genesis=genesis, batch_ms=sc.reservation_batch_ms, store=self.store, deliver=self._to_executor,
            channel=self.transport.channel, registry=self.ctx.registry, timeout_ms=sc.catchup_timeout_ms,
            sign=self.transport.sign_fetch,
        )
        self._replay_to_executor()
        if committee.size > 1:
            self.detail = "catching up"
            result = await self.catchup.run(max_rounds=10_000)
            log.info("sequencer catch-up done", extra={"delivered": result.delivered, "height": result.height})
        recovered = self.store.load()
        if recovered is None and self.store.decided_height > 0:
            tip = self.store.decided_block(self.store.decided_height)
            recovered = RecoveredState(SafetyState.initial(genesis_qc(genesis)), None, None, None, (), tip)
        hook = self._admission_hook if getattr(self.executor, "admission_check", None) else None
        mempool = Mempool(
            MempoolConfig(max_pool_txs=sc.mempool_max_txs, max_tx_bytes=sc.max_tx_bytes),
            self.clock, admit=hook,
        )  # mempool ids = sha256(envelope bytes), the ids block hashes already compute (each tx is
        # hashed once per node); payload-level dedup is the executor's (TX_DUPLICATE receipts)
        self.replica = Replica(consensus, committee, signer, self.clock, mempool, verifier=self.verifier,
                               recovered=recovered, archive=self.store.block_by_hash)
        tip = self.replica.decided_tip.block
        self.decided_hash = tip.hash
        self.driver = ReplicaDriver(self.replica, self.store, self.transport, sink=self)
        self.driver.start()
        loop = asyncio.get_running_loop()
        self._tasks.append(loop.create_task(self._admission_loop(), name="sequencer-admission"))
        self._tasks.append(loop.create_task(self._gossip_loop(), name="sequencer-gossip"))
        if committee.size > 1:
            self.catchup.tip_source = lambda: self.replica.decided_tip.block
            self.catchup.durable = False
            self.catchup.deliver = lambda decide: self.driver.deliver_event(CaughtUp(decide))
            self._tasks.append(loop.create_task(self._live_catchup_loop(), name="sequencer-catchup"))
        self.detail = self._detail()
        log.info("sequencer started", extra={
            "committee": committee.size, "index": self.transport.index, "decided_height": tip.height,
            "view": self.replica.view, "executor": self.executor is not None,
        })

    async def _committee_lists(self) -> tuple[list[str], list[str]]:
        """The committee from config, or — with ``committee_dir`` and no listed keys — gathered
        from the members' published public keys (node/committee.py)."""
        cfg, sc = self.ctx.cfg, self.sc
        if sc.committee_keys or sc.committee_peers or not sc.committee_dir:
            return list(sc.committee_keys), list(sc.committee_peers)
        if not sc.advertise_peer:
            raise RuntimeError("sequencer.committee_dir needs sequencer.advertise_peer (this node's host:port as the others reach it)")
        me = committee_dir.Member(self.ctx.key.address, sc.advertise_peer)
        return await committee_dir.gather(cfg.resolve(sc.committee_dir), me, sc.committee_size,
                                          timeout_s=sc.committee_wait_s)

    async def stop(self) -> None:
        await cancel_and_wait(self._tasks, swallow_errors=True)
        self._tasks.clear()
        if self.driver is not None:
            await self.driver.stop()
            self.driver = None
        if self.transport is not None:
            await self.transport.stop()
        for p in self._queue:
            if p.answer is not None:
                p.answer.put(p.index, self._result(p, UNAVAILABLE, 0, "SHUTTING_DOWN", "node is stopping; resubmit"))
        self._queue.clear()
        self.pool.shutdown(wait=True, cancel_futures=True)
        if self.attestor is not None:
            self.attestor.close()
            self.attestor = None
        if self.store is not None:
            self.store.close()
            self.store = None

    def ready(self) -> bool:
        return self.driver is not None

    def grpc_services(self, server) -> list[str]:
        return []

    def _detail(self) -> str:
        parts = [f"decided height {self.replica.decided_height if self.replica else 0}"]
        if self.transport is not None and self.committee_size:
            parts.append(f"member {self.transport.index} of a committee of {self.committee_size}")
        if self.executor is None:
            parts.append("no executor role on this node: decided blocks are stored only, no state attestations")
        elif self.attestor is not None and self.attestor.diverged:
            parts.append(f"STATE DIVERGENCE at height {self.attestor.diverged_at}: attestations stopped")
        else:
            parts.append(f"attesting; state certificates up to height {self.attestor.last_certified if self.attestor else 0}")
        if self.catchup is not None and self.catchup.progress:
            parts.append(self.catchup.progress)
        return "; ".join(parts)

    def fill_status(self, status: client_pb2.NodeStatus) -> None:
        r = self.replica
        if r is None:
            status.sequencer_detail = self.detail
            return
        if self.executor is None:
            status.height = r.decided_height
            status.epoch = r.decided_tip.epoch
        status.view = r.view
        status.last_decided_view = r.decided_tip.block.view
        status.mempool_size = len(r.mempool)
        status.peers_connected = self.transport.peers_connected if self.transport else 0
        status.decided_block_hash = self.decided_hash
        status.state_divergence = bool(self.attestor and self.attestor.diverged)
        status.sequencer_detail = self._detail()

    # ------------------------------------------------------------------ decided blocks

    def on_decided(self, decide: Decide) -> None:
        """driver.DecidedSink: after the decision is durable (the driver stored it)."""
        now = time.time()
        lat = self._admitted_at
        for d in decide.blocks:
            self.m_block_latency.observe(max(0.0, now - d.block.timestamp_ms / 1000))
            if lat and self.replica is not None:
                pop = lat.pop
                self.m_latency.observe_many(now - t0 for h in self.replica._tx_hashes(d.block)
                                            if (t0 := pop(h, None)) is not None)
        self.decided_hash = decide.blocks[-1].block.hash
        self._to_executor(decide)

    def _to_executor(self, decide: Decide) -> None:
        if self.executor is not None:
            self.executor.enqueue_decided(decide)

    def _replay_to_executor(self) -> None:
        """Blocks stored as decided but not yet executed (a crash between the two) go first."""
        if self.executor is None or self.store is None:
            return
        start = getattr(self.executor, "height", 0) + 1
        top = self.store.decided_height
        batch = []
        for h in range(start, top + 1):
            d = self.store.decided_block(h)
            if d is None:
                break
            batch.append(d)
            if len(batch) == 256 or h == top:
                commit = self.store.tip_commit_qc() if h == top else batch[-1].qc
                self.executor.enqueue_decided(Decide(tuple(batch), commit))
                batch = []

    def decided_blocks(self, from_height: int, limit: int = 256):
        """Stored decided blocks from `from_height` (for the executor or tools)."""
        out = []
        for h in range(max(1, from_height), min(self.store.decided_height, from_height + limit - 1) + 1):
            d = self.store.decided_block(h)
            if d is None:
                break
            out.append(d)
        return out

    # ------------------------------------------------------------------ attestations

    def _on_executed(self, height: int, state_root: bytes, tx_log_size: int, tx_log_root: bytes) -> None:
        if self.attestor is not None:
            self.attestor.on_executed(height, state_root, tx_log_size, tx_log_root)

    def _on_attestation(self, sender: int, att) -> None:
        if self.attestor is not None:
            self.attestor.on_attestation(sender, att)

    def get_state_certificate(self, height: int):
        """The state certificate (2f+1 attestations) for `height` as `peer_pb2.StateCertificate`,
        or None if it has not formed here (yet)."""
        return self.attestor.get_state_certificate(height) if self.attestor is not None else None

    def state_certificate_bytes(self, height: int) -> bytes | None:
        """The certificate's wire encoding (serialized `peer_pb2.StateCertificate`: height, roots,
        signer bitmap, signatures in signer order), or None. Not yet consumed by the batch poster
        (node/poster_role.py probes `state_certificate`, and posting this encoding instead of the
        96-byte self-attestation stalls its anchoring test — left to the poster's owner)."""
        cert = self.get_state_certificate(height)
        return cert.SerializeToString() if cert is not None else None

    # ------------------------------------------------------------------ peer input

    def _on_consensus(self, sender: int, frame: bytes) -> None:
        if self.driver is not None:
            self.driver.deliver_bytes(sender, frame)

    def _on_gossip(self, sender: int, envelopes) -> None:
        """A member's batch of transactions it admitted; pooled in the next admission round."""
        if self.driver is None:
            return
        self._gossip_in.append(envelopes)
        self._wake.set()

    def _admit_gossip(self, batches: list) -> None:
        """Gossip fast path (issue 6 profile: every member handles every transaction). The
        entry node checked shape, chain id, expiry, rate and signature; here only the size
        bound and the mempool's dedup/limits/hook run, without per-transaction answers. The
        executor stays authoritative: it verifies these signatures (they were never marked)
        and rejects expired or wrong-chain ones with receipts."""
        if self.replica is None:
            return
        max_bytes = self.sc.max_tx_bytes
        raws = [raw for envs in batches for env in envs if len(raw := env.SerializeToString()) <= max_bytes]
        if not raws:
            return
        results = self.replica.mempool.submit_many(raws, "")
        accepted = sum(1 for r in results if r.code == mp.ACCEPTED)
        if accepted:
            self.m_admitted.labels("peer").inc(accepted)
            self.driver.submit((), "")

    # ------------------------------------------------------------------ client admission

    async def submit(self, envelope: tx_pb2.Envelope) -> client_pb2.SubmitResult:
        """ClientBackend.submit: admit one envelope or say why not (stable codes)."""
        return (await self.submit_batch((envelope,)))[0]

    async def submit_batch(self, envelopes) -> list[client_pb2.SubmitResult]:
        """ClientBackend.submit_batch: admit many envelopes in one admission round; one result
        per envelope, in order, `seq` = position in the batch (client.proto SubmitBatch). The
        caller bounds the batch (node/api.py)."""
        n = len(envelopes)
        if n == 0:
            return []
        answer = _Answer(n, asyncio.get_running_loop().create_future())
        self._queue.extend(_Pending(env, answer, i, client=True) for i, env in enumerate(envelopes))
        self._wake.set()
        results = await answer.future
        for i, r in enumerate(results):
            r.seq = i
        return results

    @staticmethod
    def _result(p: _Pending, status: int, code: int, name: str, message: str) -> client_pb2.SubmitResult:
        if not p.hash:
            p.hash = hashlib.sha256(p.env.payload).digest()
        return client_pb2.SubmitResult(tx_hash=p.hash, accepted=status == OK, grpc_status=status,
                                       error_code=int(code), error_name=name, message=message)

    def _refuse(self, p: _Pending, status: int, code: int, name: str, message: str) -> None:
        if p.client:
            self.m_rejected.labels(name).inc()
        if p.answer is not None:
            p.answer.put(p.index, self._result(p, status, code, name, message))

    def _cheap_checks(self, batch: list[_Pending], now_ms: int) -> list[_Pending]:
        """Size, envelope shape, payload decode, chain id, expiry, per-signer rate limit; the
        survivors, in order. One loop with its lookups hoisted: this runs once per transaction
        on the event loop (issue 6 profile)."""
        max_bytes, chain = self.sc.max_tx_bytes, self.chain_id
        rate, burst = self.sc.rate_per_s, self.sc.rate_burst
        buckets = self._buckets
        sha256, decode = hashlib.sha256, tx_pb2.Payload.FromString
        refuse = self._refuse
        out = []
        for p in batch:
            env = p.env
            raw = p.raw = env.SerializeToString()
            p.hash = sha256(env.payload).digest()
            if len(raw) > max_bytes:
                refuse(p, INVALID, ErrorCode.TX_TOO_LARGE, "TX_TOO_LARGE", f"{len(raw)} bytes > limit {max_bytes}")
                continue
            if len(env.signer) != 32 or len(env.signature) != 64:
                refuse(p, INVALID, ErrorCode.TX_MALFORMED, "TX_MALFORMED", "signer must be 32 bytes and signature 64 bytes")
                continue
            try:
                payload = decode(env.payload)
            except Exception:  # noqa: BLE001 - protobuf DecodeError
                refuse(p, INVALID, ErrorCode.TX_MALFORMED, "TX_MALFORMED", "payload does not decode as assetl2.v1.Payload")
                continue
            if payload.chain_id != chain:
                refuse(p, INVALID, ErrorCode.WRONG_CHAIN, "WRONG_CHAIN", f"chain id {payload.chain_id!r}, this node runs {chain!r}")
                continue
            until = payload.valid_until_ms
            if until and until < now_ms:
                refuse(p, FAILED_PRECONDITION, ErrorCode.TX_EXPIRED, "TX_EXPIRED", f"valid_until_ms {until} is in the past (now {now_ms})")
                continue
            if p.client:
                signer = env.signer
                bucket = buckets.get(signer)
                if bucket is None:
                    bucket = buckets[signer] = TokenBucket(burst, now_ms)
                    if len(buckets) > 100_000:
                        buckets.popitem(last=False)
                if not bucket.take(rate, burst, now_ms):
                    refuse(p, EXHAUSTED, 0, "RATE_LIMITED", f"signer over {rate} tx/s; slow down")
                    continue
            out.append(p)
        return out

    def _verify_chunk(self, batch: list[_Pending]) -> list[bool]:
        """Client signatures are checked here, once, at the node the client chose. Gossip from
        an authenticated committee member is not checked again: the executor verifies every
        signature when it applies the block (authoritative, DESIGN §3), a forged transaction
        changes nothing, and the peer that forwarded it is identified by its envelope signature."""
        chain = self.chain_id
        return [signature_valid(p.env, chain) if p.client else True for p in batch]

    async def _admission_loop(self) -> None:
        """Takes everything queued since the last round (all streams and batches together) and
        admits it as one batch. A failing round answers its transactions INTERNAL and the loop
        goes on: bad input must never stop admission (issue 6)."""
        while True:
            await self._wake.wait()
            self._wake.clear()
            batch, self._queue = self._queue, []
            gossip, self._gossip_in = self._gossip_in, []
            try:
                if gossip and self.driver is not None:
                    self._admit_gossip(gossip)
            except Exception:  # noqa: BLE001 - a member's bad batch must not stop admission
                log.exception("gossip admission failed")
            if not batch:
                continue
            try:
                await self._admit_round(batch)
            except asyncio.CancelledError:
                for p in batch:
                    self._refuse(p, UNAVAILABLE, 0, "SHUTTING_DOWN", "node is stopping; resubmit")
                raise
            except Exception:  # noqa: BLE001 - a bug here must not silence every later client
                log.exception("admission round failed")
                for p in batch:
                    self._refuse(p, UNAVAILABLE, ErrorCode.INTERNAL, "INTERNAL", "sequencer could not admit the batch; retry")

    async def _admit_round(self, batch: list[_Pending]) -> None:
        """Cheap checks on the loop, signatures in worker threads (one slice per worker, so a
        round costs one thread hop per core), then one mempool submission for the batch."""
        if self.driver is None or self.replica is None:
            for p in batch:
                self._refuse(p, UNAVAILABLE, 0, "NOT_READY", "sequencer is not running; retry")
            return
        batch = self._cheap_checks(batch, self.clock.now_ms())
        if not batch:
            return
        if len(batch) <= INLINE_VERIFY or not any(p.client for p in batch):
            oks = self._verify_chunk(batch)  # a thread hop costs more than a few checks
        else:
            step = max(VERIFY_CHUNK, -(-len(batch) // SIG_THREADS))
            loop = asyncio.get_running_loop()
            parts = await asyncio.gather(*(loop.run_in_executor(self.pool, self._verify_chunk, batch[i:i + step])
                                           for i in range(0, len(batch), step)))
            oks = [ok for part in parts for ok in part]
        good = []
        for p, ok in zip(batch, oks):
            if ok:
                good.append(p)
            else:
                self._refuse(p, INVALID, ErrorCode.BAD_SIGNATURE, "BAD_SIGNATURE", "signature does not verify for this signer and chain id")
        if not good or self.driver is None or self.replica is None:
            return
        # The mempool is a plain structure owned by the replica; between two `handle` calls
        # (same thread) the role may fill it directly, then poke the replica to propose. This
        # answers clients without waiting behind the driver's synced writes.
        results = self.replica.mempool.submit_many([p.raw for p in good], "")
        self._admitted(good, results)
        if any(r.accepted for r in results):
            self.driver.submit((), "")

    def _admitted(self, batch: list[_Pending], results) -> None:
        """Answer the batch from the mempool's verdicts; accepted client transactions are marked
        verified for the executor, queued for gossip and timed for the decide latency. Counters
        are bumped once per batch, not per transaction (issue 6 profile)."""
        if results is None:
            for p in batch:
                self._refuse(p, UNAVAILABLE, ErrorCode.INTERNAL, "INTERNAL", "sequencer could not admit the batch; retry")
            return
        now = time.time()
        verified = self._verified_set()
        mark = verified.mark if verified is not None else None
        gossip, admitted_at = self._gossip, self._admitted_at
        accepted_result = client_pb2.SubmitResult
        clients = peers = 0
        for p, adm in zip(batch, results):
            if adm.code == mp.ACCEPTED:
                if p.client:
                    clients += 1
                    if mark is not None:
                        mark(p.hash, p.env)
                    gossip.append(p.env)
                    admitted_at[adm.tx_hash] = now
                    if p.answer is not None:
                        p.answer.put(p.index, accepted_result(tx_hash=p.hash, accepted=True))
                else:
                    peers += 1
            elif p.client:
                status, code, name = MEMPOOL_CODES.get(adm.code, (FAILED_PRECONDITION, 0, adm.code.upper()))
                if adm.code not in MEMPOOL_CODES and adm.code in ErrorCode.__members__:
                    code = ErrorCode[adm.code]
                self._refuse(p, status, code, name, adm.message)
        while len(admitted_at) > TRACK_LATENCY_TXS:
            admitted_at.popitem(last=False)
        if clients:
            self.m_admitted.labels("client").inc(clients)
        if peers:
            self.m_admitted.labels("peer").inc(peers)

    def _verified_set(self):
        """The executor's record of signatures this node already checked (issue 6: "never verify
        a signature twice on a node"), or None without an executor role on this node. Only client
        transactions are marked: their signature was verified here at admission; gossiped ones
        were not, so the executor verifies them itself."""
        return getattr(self.executor, "verified", None) if self.executor is not None else None

    def _admission_hook(self, raw: bytes, h: bytes, now_ms: int) -> HookVerdict | None:
        """Mempool AdmissionHook: the executor's commit-reveal / hold pre-checks (DESIGN §3)."""
        try:
            env = tx_pb2.Envelope.FromString(raw)
            verdict = self.executor.admission_check(env.payload, env.signer, h, now_ms)
        except Exception:  # noqa: BLE001 - the hook must not raise (mempool contract)
            log.exception("executor admission_check failed")
            return None
        return verdict

    async def _live_catchup_loop(self) -> None:
        """Catch-up while running (issue 6): when a verified proposal shows the cluster more than
        CATCHUP_LAG_BLOCKS above our decided tip, fetch the decided blocks from peers
        (sequencer/catchup.py, verified against the committee) and hand them to the replica as
        `CaughtUp` events; consensus keeps running meanwhile. Short gaps are left to the
        in-protocol BlockRequest."""
        while True:
            await asyncio.sleep(CATCHUP_CHECK_S)
            r = self.replica
            if r is None or self.driver is None or r.highest_seen_height - r.decided_height <= CATCHUP_LAG_BLOCKS:
                continue
            behind = r.highest_seen_height - r.decided_height
            try:
                result = await self.catchup.run(max_rounds=LIVE_CATCHUP_ROUNDS)
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - a failed round is retried at the next check
                log.exception("live catch-up failed")
                continue
            log.info("sequencer live catch-up", extra={"behind": behind, "delivered": result.delivered, "height": result.height})

    async def _gossip_loop(self) -> None:
        """Forward admitted client transactions to every member, batched."""
        period = self.sc.gossip_flush_ms / 1000
        while True:
            await asyncio.sleep(period)
            if self._gossip and self.transport is not None:
                batch, self._gossip = self._gossip, []
                for i in range(0, len(batch), 2_000):
                    self.transport.broadcast_transactions(batch[i:i + 2_000])


def factory(ctx: RoleContext) -> SequencerRole:
    return SequencerRole(ctx)
