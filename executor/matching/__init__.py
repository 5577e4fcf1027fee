"""Matching core (Cython, ``core.pyx``) and its pure-Python reference model (tests only)."""
