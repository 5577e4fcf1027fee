"""Recursive-descent parser for CurveScript (seed 000 §1; grammar in README.md).

Hand-written so every error carries an exact ``line:column`` and so parsing continues after
an error: a bad statement is skipped to the end of its line, a bad block header to the
block's closing brace.  The parser checks only shape; what a keyword means and which
arguments it takes is the checker's job (``checker.py``), driven by ``schema.py``.
"""
from __future__ import annotations

from . import errors as E
from . import lexer as L
from .errors import CurveScriptError, CurveScriptErrors
from .tree import BLOCK_KINDS, BOOL, IDENT, INT, STR, Arg, Block, Pos, Program, Statement, Value


def _describe(tok: L.Token) -> str:
    if tok.kind == L.NEWLINE:
        return "end of line"
    if tok.kind == L.EOF:
        return "end of file"
    return repr(tok.text)


class _Parser:
    def __init__(self, tokens: list[L.Token]):
        self.toks = tokens
        self.i = 0
        self.errors: list[CurveScriptError] = []

    # -- token helpers ---------------------------------------------------------------
    @property
    def tok(self) -> L.Token:
        return self.toks[self.i]

    def advance(self) -> L.Token:
        t = self.toks[self.i]
        if t.kind != L.EOF:
            self.i += 1
        return t

    def error(self, tok: L.Token, code: str, message: str) -> None:
        if tok.kind == L.ERROR:
            return  # the lexer has already reported this text; do not cascade
        self.errors.append(CurveScriptError(tok.line, tok.col, code, message))

    def skip_newlines(self) -> None:
        while self.tok.kind == L.NEWLINE:
            self.advance()

    def skip_line(self) -> None:
        """Skip to just after the next newline, keeping any braces opened on the way balanced."""
        depth = 0
        while self.tok.kind != L.EOF:
            t = self.advance()
            if t.kind == L.LBRACE:
                depth += 1
            elif t.kind == L.RBRACE:
                depth = max(0, depth - 1)
            elif t.kind == L.NEWLINE and depth == 0:
                return

    # -- grammar ---------------------------------------------------------------------
    def program(self) -> Program:
        blocks: list[Block] = []
        self.skip_newlines()
        while self.tok.kind != L.EOF:
            b = self.block()
            if b is not None:
                blocks.append(b)
            self.skip_newlines()
        return Program(tuple(blocks))

    def block(self) -> Block | None:
        head = self.tok
        if head.kind != L.IDENT or head.text not in BLOCK_KINDS:
            if head.kind == L.ERROR:
                pass  # already reported by the lexer
            elif head.kind == L.IDENT:
                self.error(head, E.UNKNOWN_BLOCK,
                           f"unknown block {head.text!r}; a file holds ROUTER, INSTRUMENT, ORACLE and SLAB blocks")
            else:
                self.error(head, E.UNEXPECTED_TOKEN,
                           f"expected a block keyword (ROUTER, INSTRUMENT, ORACLE, SLAB), found {_describe(head)}")
            self.skip_line()
            return None
        self.advance()
        kind = head.text
        name: str | None = None
        name_pos = Pos(head.line, head.col)
        slab_kind: Value | None = None
        if kind != "ROUTER":
            if self.tok.kind != L.STRING:
                self.error(self.tok, E.BAD_HEADER,
                           f'{kind} needs a quoted name, e.g. {kind} "name" {{; found {_describe(self.tok)}')
                self.skip_line()
                return None
            t = self.advance()
            name, name_pos = t.value, Pos(t.line, t.col)  # type: ignore[assignment]
            if kind == "SLAB" and self.tok.kind == L.IDENT and self.tok.text == "KIND":
                self.advance()
                if self.tok.kind != L.IDENT:
                    self.error(self.tok, E.BAD_HEADER,
                               f"KIND needs a bare identifier (book or amm); found {_describe(self.tok)}")
                    self.skip_line()
                    return None
                t = self.advance()
                slab_kind = Value(IDENT, t.text, Pos(t.line, t.col))
        if self.tok.kind != L.LBRACE:
            self.error(self.tok, E.BAD_HEADER, f"expected '{{' after the {kind} header, found {_describe(self.tok)}")
            self.skip_line()
            return None
        self.advance()
        if self.tok.kind not in (L.NEWLINE, L.RBRACE):
            self.error(self.tok, E.UNEXPECTED_TOKEN,
                       f"expected end of line after '{{', found {_describe(self.tok)}; put each statement on its own line")
            self.skip_line()
        statements: list[Statement] = []
        while True:
            self.skip_newlines()
            t = self.tok
            if t.kind == L.RBRACE:
                self.advance()
                if self.tok.kind not in (L.NEWLINE, L.EOF):
                    self.error(self.tok, E.UNEXPECTED_TOKEN,
                               f"expected end of line after '}}', found {_describe(self.tok)}")
                    self.skip_line()
                break
            if t.kind == L.EOF:
                self.error(head, E.UNCLOSED_BLOCK, f"{kind} block opened here is never closed; add '}}'")
                break
            st = self.statement()
            if st is not None:
                statements.append(st)
        return Block(kind, name, slab_kind, tuple(statements), Pos(head.line, head.col), name_pos)

    def statement(self) -> Statement | None:
        kw = self.tok
        if kw.kind != L.IDENT:
            if kw.kind == L.ERROR:
                self.skip_line()
                return None
            self.error(kw, E.UNEXPECTED_TOKEN, f"expected a statement keyword, found {_describe(kw)}")
            self.skip_line()
            return None
        self.advance()
        positional: list[Value] = []
        args: list[Arg] = []
        while self.tok.kind not in (L.NEWLINE, L.EOF, L.RBRACE):
            t = self.tok
            if t.kind == L.IDENT and self.toks[self.i + 1].kind == L.EQUALS:
                self.advance()
                self.advance()
                v = self.value()
                if v is None:
                    self.skip_line()
                    return None
                args.append(Arg(t.text, v, Pos(t.line, t.col)))
                continue
            v = self.value()
            if v is None:
                self.skip_line()
                return None
            if args:
                self.error(t, E.POSITIONAL_AFTER_NAMED,
                           f"positional value {t.text} follows a named argument; move it right after {kw.text}")
                self.skip_line()
                return None
            positional.append(v)
        if self.tok.kind == L.RBRACE:
            self.error(self.tok, E.UNEXPECTED_TOKEN, "put '}' on its own line")
            self.skip_line()
            return None
        self.advance()  # NEWLINE
        return Statement(kw.text, tuple(positional), tuple(args), Pos(kw.line, kw.col))

    def value(self) -> Value | None:
        t = self.tok
        pos = Pos(t.line, t.col)
        if t.kind == L.INT:
            self.advance()
            return Value(INT, t.value, pos)  # type: ignore[arg-type]
        if t.kind == L.STRING:
            self.advance()
            return Value(STR, t.value, pos)  # type: ignore[arg-type]
        if t.kind == L.IDENT:
            self.advance()
            if t.text in ("true", "false"):
                return Value(BOOL, t.text == "true", pos)
            return Value(IDENT, t.text, pos)
        if t.kind == L.ERROR:
            return None  # already reported by the lexer
        if t.kind == L.LBRACE:
            self.error(t, E.UNEXPECTED_TOKEN, "blocks cannot be nested; close the enclosing block with '}' first")
            return None
        self.error(t, E.UNEXPECTED_TOKEN,
                   f"expected a value (integer, \"string\", true/false or identifier), found {_describe(t)}")
        return None


def parse_with_errors(source: str) -> tuple[Program, list[CurveScriptError]]:
    """Parse ``source``; return the tree of everything that parsed and every error found."""
    toks, lex_errors = L.tokenize(source)
    p = _Parser(toks)
    prog = p.program()
    return prog, sorted(lex_errors + p.errors)


def parse(source: str, source_name: str = "<curvescript>") -> Program:
    """Parse ``source`` or raise :class:`CurveScriptErrors` listing every syntax error."""
    prog, errs = parse_with_errors(source)
    if errs:
        raise CurveScriptErrors(errs, source_name)
    return prog
