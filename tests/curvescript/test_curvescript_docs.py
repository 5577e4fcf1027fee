"""README.md documents the schema and the error codes that the code actually has."""
from __future__ import annotations

import re

from executor.curvescript.errors import TITLES
from executor.curvescript.schema import SCHEMA

from cs_helpers import REPO

README = (REPO / "executor" / "curvescript" / "README.md").read_text(encoding="utf-8")


def _section(title_prefix: str) -> str:
    start = README.index(title_prefix)
    nxt = README.find("\n#### ", start + 1)
    end = README.find("\n### ", start + 1)
    return README[start:min(x for x in (nxt, end) if x > 0)]


def test_every_statement_and_argument_is_in_the_reference_with_its_range():
    for kind, specs in SCHEMA.items():
        table = _section(f"#### `{kind}` statements")
        for spec in specs:
            assert f"`{spec.keyword}`" in table, (kind, spec.keyword)
            for arg in spec.positional + spec.args:
                row = next((ln for ln in table.splitlines() if f"`{arg.name}`" in ln or f"`<{arg.name}>`" in ln), None)
                assert row is not None, (kind, spec.keyword, arg.name)
                if arg.lo is not None:
                    assert f"{arg.lo} …" in row, (kind, spec.keyword, arg.name)


def test_every_error_code_is_documented_with_its_title():
    for code, title in TITLES.items():
        assert re.search(rf"\| `{code}` \| `[A-Z_]+` \| {re.escape(title)} \|", README), code
