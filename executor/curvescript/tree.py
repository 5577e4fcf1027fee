"""Syntax tree of a CurveScript source (seed 000 §1).

The tree keeps what was written, not what it means: values remember whether they were an
integer, a quoted string, a boolean or a bare identifier, so the canonical printer can
reproduce them and ``parse(format_program(p)) == p`` holds.  Source positions are carried
for error messages but excluded from equality, so two sources that differ only in layout
and comments parse to equal trees.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Union

INT = "int"
STR = "str"
BOOL = "bool"
IDENT = "ident"

BLOCK_KINDS = ("ROUTER", "INSTRUMENT", "ORACLE", "SLAB")


@dataclass(frozen=True)
class Pos:
    """1-based line and column of the first character of a token."""

    line: int
    col: int


NOPOS = Pos(0, 0)


@dataclass(frozen=True)
class Value:
    """A literal: ``kind`` is one of ``int``, ``str``, ``bool``, ``ident``."""

    kind: str
    value: Union[int, str, bool]
    pos: Pos = field(default=NOPOS, compare=False)


@dataclass(frozen=True)
class Arg:
    """``name=value`` inside a statement."""

    name: str
    value: Value
    pos: Pos = field(default=NOPOS, compare=False)


@dataclass(frozen=True)
class Statement:
    """``KEYWORD positional... name=value...`` on one line."""

    keyword: str
    positional: tuple[Value, ...] = ()
    args: tuple[Arg, ...] = ()
    pos: Pos = field(default=NOPOS, compare=False)


@dataclass(frozen=True)
class Block:
    """``ROUTER {…}``, ``INSTRUMENT "sym" {…}``, ``ORACLE "id" {…}``, ``SLAB "id" [KIND k] {…}``."""

    kind: str
    name: str | None = None
    slab_kind: Value | None = None
    statements: tuple[Statement, ...] = ()
    pos: Pos = field(default=NOPOS, compare=False)
    name_pos: Pos = field(default=NOPOS, compare=False)


@dataclass(frozen=True)
class Program:
    blocks: tuple[Block, ...] = ()
