"""Stopping background tasks at shutdown (node roles and the node process, DESIGN §9).

Every long-running loop of the node is an asyncio task; stopping one means cancelling it and
then waiting until it has really finished, so nothing it owns (stores, channels) is closed
under it."""
from __future__ import annotations

import asyncio
from typing import Iterable, Optional


async def cancel_and_wait(tasks: Iterable[Optional[asyncio.Task]], *, swallow_errors: bool = False) -> None:
    """Cancel every task (None entries are skipped), then await each.  Cancellation is the
    expected end; with ``swallow_errors`` a task that had already failed does not raise here
    either (its failure was logged where it happened)."""
    live = [t for t in tasks if t is not None]
    for t in live:
        t.cancel()
    for t in live:
        try:
            await t
        except asyncio.CancelledError:
            pass
        except Exception:  # noqa: BLE001 - see swallow_errors
            if not swallow_errors:
                raise
