"""asyncio driver: runs one `Replica` against real storage, a transport and the executor.

This is the only place where consensus touches I/O, and it does so through three narrow
interfaces the node plugs in (STYLE: HotShot's long-lived tasks over typed events; relab's
network backend behind an interface):

- `Transport.send(to, message)` / `Transport.broadcast(message)` — non-blocking, best effort,
  messages already authenticated by the replica's signatures; the gRPC peer transport
  implements it and feeds inbound messages back with `ReplicaDriver.deliver(sender, message)`
  (or `deliver_bytes` for undecoded frames), `sender` being the committee index its
  authentication established;
- `SafetyStore` (`storage.py`) — `persist()` and `decide()` are synced LevelDB batches;
- `DecidedSink.on_decided(decide)` — the executor's intake, called in height order after the
  decision is durable.

The action contract is applied literally: actions run in order, and `Persist`/`Decide` are
awaited (in a worker thread, so the event loop keeps serving) before any later action of the
same list — so no vote, timeout vote or proposal leaves before the state it depends on is on
disk (DESIGN §7). Events are handled one at a time from a single queue: the replica is never
re-entered.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Callable, Protocol

from .consensus import (
    Action,
    Broadcast,
    Decide,
    Event,
    MessageReceived,
    NewTransactions,
    Persist,
    RawMessageReceived,
    Replica,
    Send,
    SetTimer,
    Start,
    TimerFired,
    TxsAdmitted,
)
from .mempool import Admission
from .pacemaker import Clock
from .storage import SafetyStore
from .types import Message

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Submission:
    event: NewTransactions
    on_admitted: Callable[[tuple[Admission, ...] | None], None]


class SystemClock:
    """Unix-epoch milliseconds: the rollup clock must be comparable across nodes (skew check),
    so it is wall time; the replica only ever sees it through `Clock`."""

    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000


class Transport(Protocol):
    def send(self, to: int, message: Message) -> None: ...

    def broadcast(self, message: Message) -> None: ...


class DecidedSink(Protocol):
    def on_decided(self, decide: Decide) -> None: ...


class ReplicaDriver:
    """Feeds events to a replica and carries out its actions under the persist-then-send rule."""

    def __init__(
        self,
        replica: Replica,
        store: SafetyStore,
        transport: Transport,
        sink: DecidedSink | None = None,
        clock: Clock | None = None,
        offload_storage: bool = True,
    ) -> None:
        self.replica = replica
        self.store = store
        self.transport = transport
        self.sink = sink
        self.clock = clock or replica.clock
        self.offload_storage = offload_storage
        self._queue: asyncio.Queue[Event | None] = asyncio.Queue()
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._admissions: asyncio.Queue[TxsAdmitted] | None = None
        self._task: asyncio.Task | None = None

    # -- inputs --------------------------------------------------------------------------------

    def deliver(self, sender: int, message: Message) -> None:
        self._queue.put_nowait(MessageReceived(sender, message))

    def deliver_bytes(self, sender: int, data: bytes) -> None:
        self._queue.put_nowait(RawMessageReceived(sender, data))

    def deliver_event(self, event: Event) -> None:
        """Any other replica event (e.g. `CaughtUp` from the live catch-up), in arrival order."""
        self._queue.put_nowait(event)

    def submit(
        self,
        txs: tuple[bytes, ...],
        client_id: str = "",
        on_admitted: Callable[[tuple[Admission, ...] | None], None] | None = None,
    ) -> None:
        """Queue transactions for admission; `on_admitted` receives the mempool's verdicts (in
        order) once the replica has handled them, or None if the replica dropped the event."""
        event = NewTransactions(tuple(txs), client_id)
        self._queue.put_nowait(event if on_admitted is None else _Submission(event, on_admitted))

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> asyncio.Task:
        self._queue.put_nowait(Start())
        self._task = asyncio.get_running_loop().create_task(self.run(), name=f"replica-{self.replica.index}")
        return self._task

    async def stop(self) -> None:
        self._queue.put_nowait(None)
        for handle in self._timers.values():
            handle.cancel()
        self._timers.clear()
        if self._task is not None:
            await self._task

    async def run(self) -> None:
        while True:
            event = await self._queue.get()
            if event is None:
                return
            if isinstance(event, _Submission):
                actions = self.replica.handle(event.event)
                admitted = next((a.results for a in actions if isinstance(a, TxsAdmitted)), None)
                try:
                    event.on_admitted(admitted)
                except Exception:  # noqa: BLE001 - a client callback must not stop consensus
                    log.exception("admission callback failed")
            else:
                actions = self.replica.handle(event)
            await self.apply(actions)

    # -- the action contract -------------------------------------------------------------------

    async def _durable(self, fn, arg) -> None:
        if self.offload_storage:
            await asyncio.get_running_loop().run_in_executor(None, fn, arg)
        else:
            fn(arg)

    async def apply(self, actions: list[Action]) -> None:
        for a in actions:
            if isinstance(a, Persist):
                await self._durable(self.store.persist, a)
            elif isinstance(a, Decide):
                await self._durable(self.store.decide, a)
                if self.sink is not None:
                    self.sink.on_decided(a)
            elif isinstance(a, Send):
                self.transport.send(a.to, a.message)
            elif isinstance(a, Broadcast):
                self.transport.broadcast(a.message)
            elif isinstance(a, SetTimer):
                self._arm(a)
            elif isinstance(a, TxsAdmitted):
                pass  # the node answers clients from its own admission path
            else:
                log.error("unknown action %r", a)

    def _arm(self, a: SetTimer) -> None:
        old = self._timers.pop(a.kind, None)
        if old is not None:
            old.cancel()
        delay_s = max(0, a.at_ms - self.clock.now_ms()) / 1000.0
        loop = asyncio.get_running_loop()
        self._timers[a.kind] = loop.call_later(delay_s, self._queue.put_nowait, TimerFired(a.kind))
