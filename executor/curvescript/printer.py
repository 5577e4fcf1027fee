"""Canonical pretty-printer: the one spelling of a CurveScript tree.

``parse(format_program(p)) == p`` for every tree the parser can produce (pinned by a
hypothesis test).  Layout is fixed: blocks separated by one blank line, four-space indent,
positional values before ``name=value`` arguments, integers in plain decimal, no comments.
"""
from __future__ import annotations

from .tree import BOOL, INT, STR, Block, Program, Statement, Value


def format_value(v: Value) -> str:
    if v.kind == INT:
        return str(int(v.value))
    if v.kind == BOOL:
        return "true" if v.value else "false"
    if v.kind == STR:
        return f'"{v.value}"'
    return str(v.value)


def format_statement(st: Statement) -> str:
    parts = [st.keyword]
    parts += [format_value(v) for v in st.positional]
    parts += [f"{a.name}={format_value(a.value)}" for a in st.args]
    return " ".join(parts)


def format_block(b: Block) -> str:
    head = b.kind
    if b.name is not None:
        head += f' "{b.name}"'
    if b.slab_kind is not None:
        head += f" KIND {format_value(b.slab_kind)}"
    lines = [head + " {"]
    lines += ["    " + format_statement(st) for st in b.statements]
    lines.append("}")
    return "\n".join(lines)


def format_program(p: Program) -> str:
    return "\n\n".join(format_block(b) for b in p.blocks) + ("\n" if p.blocks else "")
