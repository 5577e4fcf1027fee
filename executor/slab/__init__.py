"""Slab programs (EXCHANGE §3): one liquidity provider's isolated venue in a fixed arena.

Import the program from ``executor.slab.program``; ``executor.slab.layout`` is pure Python and
importable without the compiled matching core.
"""
