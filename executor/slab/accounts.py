"""The one account read both slab kinds share with the router (EXCHANGE §2, P4).

Book slabs (``executor/slab/program.py``) and the AMM (``executor/amm/program.py``) keep their
accounts as fixed-width records in their arenas, each with its own layout; the router only
needs ``(collateral, cash)`` to keep the escrow mirror exact after every settlement, so this
mixin reads those two words by the layout constants each program declares, and writes them
back through the program's own ``set_collateral`` only when they differ."""
from __future__ import annotations

import struct

from executor.errors import ErrorCode


class CollateralView:
    """Mixin: ``collateral_cash`` over ``_accounts`` (user -> slot), ``_get`` and ``_aoff``;
    ``sync_collateral`` over the program's ``set_collateral``."""

    ACCOUNT_RECORD: struct.Struct
    COLLATERAL_WORD: int
    CASH_WORD: int

    def collateral_cash(self, user: int) -> tuple[int, int] | None:
        """``(collateral, cash)`` of ``user``'s account, or None without one: the router's
        escrow-mirror check, without building the full account view."""
        slot = self._accounts.get(user)
        if slot is None:
            return None
        acct = self._get(self.ACCOUNT_RECORD, self._aoff(slot))
        return acct[self.COLLATERAL_WORD], acct[self.CASH_WORD]

    def sync_collateral(self, user: int, amount_atoms: int, *, now_ms: int) -> ErrorCode:
        """Make the account's ``(collateral, cash)`` exactly ``(amount_atoms, 0)`` — the router
        has settled every cash delta into the escrow (P4) — writing nothing when it already
        is; otherwise ``set_collateral(..., reset_cash=True)``.  Returns its error code."""
        if self.collateral_cash(user) == (amount_atoms, 0):
            return ErrorCode.OK
        return self.set_collateral(user, amount_atoms, now_ms=now_ms, reset_cash=True).code
