"""AMM slab (EXCHANGE §3 "AMM slab", seed 002): a constant-product pool behind the book slab's
router-facing interface.  ``curve`` (integer x·y=k math and the reservation rule),
``positions`` (shared position/PnL/funding/ARG functions), ``config`` (compiled CurveScript
``KIND amm`` block and arena layout), ``program`` (``AmmSlab``), ``results``.
"""
