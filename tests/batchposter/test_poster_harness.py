"""Shared set-up of the poster tests: a dev RPC on 127.0.0.1 with the real program, a slot clock
the test can pause, and a chain of batches.  (No tests here; the other test_poster_* files import it.)"""

from __future__ import annotations

import asyncio
import contextlib
import time

from anchor_harness import CODE_HASH, CONFIG_HASH, GENESIS_ROOT, PROOF_HASH, SOL, h
from prometheus_client import CollectorRegistry
from solana.rpc.async_api import AsyncClient
from solders.keypair import Keypair

from batchposter import devrpc
from batchposter import program_abi as abi
from batchposter import solana_client as sc
from batchposter.outbox import ClosedBatch, Outbox
from batchposter.poster import Backoff, Poster

SLOT_S = 0.01  # 150-slot blockhash validity = 1.5 s
FINALITY_DEPTH = 4
FAST_BACKOFF = Backoff(initial_s=0.05, factor=2.0, max_s=0.2)


def chain_of_batches(count: int, blocks_per_batch: int = 5, code_hash: bytes = CODE_HASH) -> list[ClosedBatch]:
    """A valid chain 1..count after GENESIS_ROOT: contiguous heights, a growing log."""
    out, prev = [], GENESIS_ROOT
    for i in range(1, count + 1):
        first = (i - 1) * blocks_per_batch + 1
        header = abi.BatchHeader(i, first, first + blocks_per_batch - 1, prev, h(f"root-{i}"), 3 * i, h(f"log-{i}"),
                                 code_hash, PROOF_HASH)
        out.append(ClosedBatch(header, b"cert-%d" % i, 1_000 * i))
        prev = header.state_root
    return out


class PosterEnv:
    """One dev chain for one test; slots advance on a pausable task."""

    def __init__(self, program_elf: bytes, tmp_path, lamports: int = 10 * SOL, genesis_root: bytes = GENESIS_ROOT):
        self.poster_key = Keypair()
        self.ledger = devrpc.DevLedger(program_elf, finality_depth=FINALITY_DEPTH)
        airdrops = {self.poster_key.pubkey(): lamports} if lamports else {}
        devrpc.apply_setup(self.ledger, devrpc.DevSetup(poster=self.poster_key.pubkey(), genesis_state_root=genesis_root,
                                                        programs=[(CODE_HASH, PROOF_HASH, CONFIG_HASH)],
                                                        airdrops=airdrops))
        self.rpc = devrpc.DevRpc(self.ledger, slot_ms=0)
        self.outbox_path = str(tmp_path / "outbox")
        self.slots_running = asyncio.Event()
        self.slots_running.set()
        self._ticker: asyncio.Task | None = None
        self._clients: list[AsyncClient] = []
        self.posters: list[Poster] = []

    async def start(self) -> "PosterEnv":
        await self.rpc.start("127.0.0.1", 0)
        self._ticker = asyncio.create_task(self._tick())
        return self

    async def _tick(self) -> None:
        while True:
            await self.slots_running.wait()
            self.ledger.advance_slot()
            await asyncio.sleep(SLOT_S)

    async def close(self) -> None:
        for poster in self.posters:
            await poster.stop()
            poster.outbox.close()
        for client in self._clients:
            await client.close()
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
        await self.rpc.stop()

    def anchor_client(self, fees: sc.FeePolicy = sc.FeePolicy()) -> sc.SolanaAnchorClient:
        rpc = AsyncClient(self.rpc.url, timeout=2)
        self._clients.append(rpc)
        return sc.SolanaAnchorClient(rpc, self.ledger.program_id, self.poster_key, fees=fees)

    def poster(self, max_in_flight: int = 4, fees: sc.FeePolicy = sc.FeePolicy(), **kwargs) -> Poster:
        kwargs.setdefault("poll_interval_s", 0.02)
        kwargs.setdefault("rebroadcast_interval_s", 3600)
        kwargs.setdefault("balance_interval_s", 0.2)
        kwargs.setdefault("backoff", FAST_BACKOFF)
        kwargs.setdefault("registry", CollectorRegistry())
        poster = Poster(Outbox(self.outbox_path), self.anchor_client(fees), max_in_flight=max_in_flight, **kwargs)
        self.posters.append(poster)
        return poster

    async def drop(self, poster: Poster) -> None:
        """Stop a poster and close its outbox (a clean shutdown)."""
        await poster.stop()
        poster.outbox.close()
        self.posters.remove(poster)

    def fill_outbox(self, batches: list[ClosedBatch]) -> None:
        with Outbox(self.outbox_path) as outbox:
            for batch in batches:
                outbox.add(batch)

    # -- what is on chain ---------------------------------------------------------------

    def config(self) -> abi.ConfigAccount:
        return abi.ConfigAccount.decode(bytes(self.ledger.svm.get_account(abi.config_address(self.ledger.program_id)[0]).data))

    def batch_account(self, index: int) -> abi.BatchAccount | None:
        account = self.ledger.svm.get_account(abi.batch_address(self.ledger.program_id, index))
        if account is None or not account.data:
            return None
        return abi.BatchAccount.decode(bytes(account.data))

    def anchored_indices(self, upto: int) -> list[int]:
        return [i for i in range(1, upto + 1) if self.batch_account(i) is not None]

    def posted_events(self) -> list[int]:
        """Batch indices of every landed, successful post_batch (its BatchPosted event), in landing order."""
        return [event.batch_index for record in self.ledger.records.values() if record.err is None
                for event in abi.batch_posted_events(record.logs)]


async def wait_for(predicate, timeout_s: float, interval_s: float = 0.01) -> None:
    """Poll a condition, bounded in time."""
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout_s}s")
        await asyncio.sleep(interval_s)


def sample(poster: Poster, name: str, **labels) -> float | None:
    return poster.metrics.registry.get_sample_value(name, labels)
