"""The one account read both slab kinds share with the router (EXCHANGE §2, P4).

Book slabs (``executor/slab/program.py``) and the AMM (``executor/amm/program.py``) keep their
accounts as fixed-width records in their arenas, each with its own layout; the router only
needs ``(collateral, cash)`` to keep the escrow mirror exact after every settlement, so this
mixin reads those two words by the layout constants each program declares."""
from __future__ import annotations

import struct


class CollateralView:
    """Mixin: ``collateral_cash`` over ``_accounts`` (user -> slot), ``_get`` and ``_aoff``."""

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
