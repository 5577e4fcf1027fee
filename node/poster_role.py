"""The batch-poster role inside the node: executed blocks → batches → Solana (DESIGN §1, §8).

The poster needs the state roots this node executed, so it runs only beside the executor
role.  It feeds ``batchposter.poster.BatchPosterService`` every executed block in height
order, with the block's state certificate: the sequencer's ``2f+1`` certificate when a
sequencer role provides one, otherwise (one-node mode) this node's own attestation.

Start-up does not wait for Solana: with an empty outbox the service must first read the
anchor's on-chain tip, which may take a while (or never happen if the RPC is down), so that
runs in a background task that retries with back-off; until it succeeds the role reports
"waiting for the Solana RPC" in its status and the poster's alarm metrics say why.  Blocks
executed meanwhile are replayed from the executor's block index once the tip is known.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Optional

from solders.keypair import Keypair
from solders.pubkey import Pubkey

from batchposter import program_abi
from batchposter.batcher import BatchPolicy, BlockRecord, StateCertificate
from batchposter.poster import BatchPosterService, PosterConfig
from node import keys as keys_mod
from node.roles import RoleContext
from node.tasks import cancel_and_wait
from proto.assetl2.v1 import client_pb2, state_pb2

log = logging.getLogger(__name__)

START_RETRY_S = (1.0, 2.0, 5.0, 10.0, 30.0)   # back-off between attempts to read the tip
MAX_AWAITED = 4_096   # heights a certificate may lag execution before the poster stops waiting for it
_STATUS = {"pending": state_pb2.BATCH_STATUS_PENDING, "sent": state_pb2.BATCH_STATUS_POSTED,
           "confirmed": state_pb2.BATCH_STATUS_CONFIRMED}


class PosterRole:
    """RoleService "batchposter" (node/roles.py)."""

    name = "batchposter"

    def __init__(self, ctx: RoleContext):
        self.ctx = ctx
        self.executor = None
        self.service: Optional[BatchPosterService] = None
        self.task: Optional[asyncio.Task] = None
        self.fed_height = 0
        self.placed = False
        self.awaiting: dict[int, bytes] = {}   # height -> executed root, certificate not formed yet
        self.waiting_reason = "starting"

    def _keypair(self) -> Keypair:
        cfg = self.ctx.cfg.batchposter
        if not cfg.wallet_key_file:
            return self.ctx.key.keypair()
        try:
            return keys_mod.load(self.ctx.cfg.resolve(cfg.wallet_key_file)).keypair()
        except keys_mod.KeyFileError as exc:
            raise RuntimeError(f"batchposter.wallet_key_file {exc}") from None

    async def start(self) -> None:
        self.executor = self.ctx.started.get("executor")
        if self.executor is None:
            raise RuntimeError("needs the executor role on the same node (add \"executor\" to node.roles)")
        cfg = self.ctx.cfg.batchposter
        try:
            program_id = (Pubkey.from_string(cfg.program_id) if cfg.program_id
                          else program_abi.dev_program_keypair().pubkey())
        except ValueError:
            raise RuntimeError(f"batchposter.program_id {cfg.program_id!r} is not a base58 address") from None
        manifest = self.executor.manifest
        self.service = BatchPosterService(
            PosterConfig(
                rpc_url=cfg.rpc_url, program_id=program_id,
                outbox_path=str(self.ctx.data_dir("batchposter") / "outbox"),
                code_hash=manifest.code_hash, proof_hash=manifest.proof_hash,
                policy=BatchPolicy(max_blocks=cfg.max_blocks, max_age_ms=cfg.max_age_ms,
                                   heartbeat_ms=cfg.heartbeat_ms),
                max_in_flight=cfg.max_in_flight, commitment=cfg.commitment,
            ),
            self._keypair(), registry=self.ctx.registry,
        )
        self.executor.on_block(self._on_block)
        self.task = asyncio.create_task(self._place(), name="batchposter-start")

    async def _place(self) -> None:
        """Read the on-chain tip (retrying), then replay executed blocks the poster still needs."""
        attempt = 0
        while True:
            try:
                self.waiting_reason = f"waiting for the Solana RPC at {self.ctx.cfg.batchposter.rpc_url}"
                await self.service.start(timeout_s=30.0)
                break
            except Exception as exc:  # PosterHalted or RPC errors: keep the node up, retry
                delay = START_RETRY_S[min(attempt, len(START_RETRY_S) - 1)]
                log.warning("batch poster not started yet", extra={"error": str(exc), "retry_s": delay})
                attempt += 1
                await asyncio.sleep(delay)
        self.fed_height = self.service.next_height - 1
        self.placed = True
        self.waiting_reason = ""
        self._catch_up()

    def _catch_up(self) -> None:
        """Feed every executed block after ``fed_height`` from the executor's block index."""
        ex = self.executor
        while self.placed and self.fed_height < ex.height:
            info = ex.executor.block_info(self.fed_height + 1)
            if info is None:
                break
            self._feed(info.header.height, info.header.timestamp_ms, info.state_root,
                       info.tx_log_size, info.tx_log_root)

    def _on_block(self, out) -> None:
        if not self.placed:
            return
        if out.height != self.fed_height + 1:
            self._catch_up()
            return
        self._feed(out.height, out.timestamp_ms, out.state_root, out.tx_log_size, out.tx_log_root)

    def _feed(self, height: int, timestamp_ms: int, root: bytes, log_size: int, log_root: bytes) -> None:
        svc = self.service
        if height >= svc.next_height:
            svc.feed_block(BlockRecord(height, timestamp_ms, root, log_size, log_root))
            if self._committee_certificates():
                self.awaiting[height] = root
            else:
                svc.feed_certificate(StateCertificate.attest(self.ctx.key.keypair(), self.ctx.cfg.node.chain_id,
                                                             height, root))
        self.fed_height = height
        self._collect_certificates()
        svc.tick(timestamp_ms)

    def _committee_certificates(self) -> bool:
        """True when a multi-node sequencer forms 2f+1 state certificates for the poster to carry
        (DESIGN §7/§8); a one-node committee's certificate is this node's own attestation."""
        seq = self.ctx.started.get("sequencer")
        return seq is not None and hasattr(seq, "state_certificate_bytes") and len(self.ctx.cfg.sequencer.committee_keys) > 1

    def _collect_certificates(self) -> None:
        """Feed every awaited certificate that has formed; the batcher holds a sealed batch until
        the certificate of its last height arrives.  Heights the batcher no longer needs age out."""
        if not self.awaiting:
            return
        seq = self.ctx.started["sequencer"]
        for height in sorted(self.awaiting):
            raw = seq.state_certificate_bytes(height)
            if raw is not None:
                self.service.feed_certificate(StateCertificate(height, self.awaiting.pop(height), raw))
            elif height < self.fed_height - MAX_AWAITED:
                self.awaiting.pop(height)

    async def stop(self) -> None:
        await cancel_and_wait([self.task])
        if self.service is not None:
            await self.service.stop()
            self.service = None

    def ready(self) -> bool:
        return self.service is not None and self.service.halted is None

    def fill_status(self, status: client_pb2.NodeStatus) -> None:
        if self.service is None or not self.placed:
            return
        st = self.service.status()
        status.last_confirmed_batch = st["last_confirmed_batch"] or 0
        status.last_posted_batch = st["last_queued_batch"] or 0

    def grpc_services(self, server) -> list[str]:
        return []

    async def get_batch(self, req: client_pb2.GetBatchRequest) -> state_pb2.BatchInfo:
        """A batch from this node's outbox (what it anchored or will anchor)."""
        if self.service is None:
            raise LookupError("the batch poster is not running")
        outbox = self.service.outbox
        entry = outbox.last() if req.latest else outbox.get(req.batch_index)
        if entry is None:
            what = "no batch yet" if req.latest else f"no batch {req.batch_index} in this node's outbox"
            raise LookupError(what)
        h = entry.batch.header
        return state_pb2.BatchInfo(
            batch_index=h.batch_index, first_height=h.first_height, last_height=h.last_height,
            prev_state_root=h.prev_state_root, state_root=h.state_root, tx_log_size=h.tx_log_size,
            tx_log_root=h.tx_log_root, code_hash=h.code_hash, proof_hash=h.proof_hash,
            status=_STATUS[entry.status.value], solana_signature=entry.signature or "",
        )


def factory(ctx: RoleContext) -> PosterRole:
    return PosterRole(ctx)
