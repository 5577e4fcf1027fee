"""Tokeniser for CurveScript (grammar in README.md).

Newlines are tokens: a statement is exactly one line, which keeps error recovery simple
(skip to the end of the line) and error positions exact.  ``#`` starts a comment that runs
to the end of the line.  Strings are printable ASCII without escapes, so every string has
exactly one spelling and the canonical printer is trivially invertible.
"""
from __future__ import annotations

from dataclasses import dataclass

from . import errors as E
from .errors import CurveScriptError

IDENT = "IDENT"
INT = "INT"
STRING = "STRING"
LBRACE = "{"
RBRACE = "}"
EQUALS = "="
NEWLINE = "NEWLINE"
EOF = "EOF"
#: placeholder for text the lexer already reported; the parser skips its line silently
ERROR = "ERROR"

#: Integers beyond this magnitude cannot be meaningful anywhere in the schema (u128).
MAX_INT_LITERAL = (1 << 128) - 1
MAX_STRING_LEN = 256


@dataclass(frozen=True)
class Token:
    kind: str
    text: str
    line: int
    col: int
    value: object = None


def _is_ident_start(c: str) -> bool:
    return c == "_" or ("a" <= c <= "z") or ("A" <= c <= "Z")


def _is_ident_char(c: str) -> bool:
    return _is_ident_start(c) or ("0" <= c <= "9")


def tokenize(source: str) -> tuple[list[Token], list[CurveScriptError]]:
    """Split ``source`` into tokens; lexical errors are collected, not raised."""
    toks: list[Token] = []
    errs: list[CurveScriptError] = []
    i, line, col, n = 0, 1, 1, len(source)
    while i < n:
        c = source[i]
        if c == "\n":
            toks.append(Token(NEWLINE, "\n", line, col))
            i += 1
            line += 1
            col = 1
            continue
        if c in " \t\r":
            i += 1
            col += 1
            continue
        if c == "#":
            while i < n and source[i] != "\n":
                i += 1
            continue
        start_col = col
        if c in "{}=":
            toks.append(Token(c, c, line, col))
            i += 1
            col += 1
            continue
        if c == '"':
            j = i + 1
            bad = None
            while j < n and source[j] != '"' and source[j] != "\n":
                ch = source[j]
                if bad is None and (ch == "\\" or not (" " <= ch <= "~")):
                    bad = (j, ch)
                j += 1
            if j >= n or source[j] != '"':
                errs.append(CurveScriptError(line, start_col, E.UNTERMINATED_STRING,
                                             "string is not closed on this line; add the closing '\"'"))
                toks.append(Token(ERROR, source[i:j], line, start_col))
                col += j - i
                i = j
                continue
            text = source[i + 1:j]
            if bad is not None:
                errs.append(CurveScriptError(line, start_col + (bad[0] - i), E.BAD_STRING_CHAR,
                                             f"character {bad[1]!r} is not allowed in a string; "
                                             "strings are printable ASCII without '\\' or '\"'"))
            elif len(text) > MAX_STRING_LEN:
                errs.append(CurveScriptError(line, start_col, E.BAD_STRING_CHAR,
                                             f"string is {len(text)} characters; at most {MAX_STRING_LEN} allowed"))
            if bad is not None or len(text) > MAX_STRING_LEN:
                toks.append(Token(ERROR, source[i:j + 1], line, start_col))
            else:
                toks.append(Token(STRING, source[i:j + 1], line, start_col, text))
            col += j + 1 - i
            i = j + 1
            continue
        if c.isascii() and (c.isdigit() or (c == "-" and i + 1 < n and source[i + 1].isascii() and source[i + 1].isdigit())):
            j = i + 1
            while j < n and (_is_ident_char(source[j]) or source[j] == "_"):
                j += 1
            text = source[i:j]
            body = text[1:] if text.startswith("-") else text
            ok = (body[0].isdigit() and body[-1].isdigit() and "__" not in body
                  and all(ch.isdigit() or ch == "_" for ch in body) and body.isascii())
            if not ok:
                errs.append(CurveScriptError(line, start_col, E.BAD_NUMBER,
                                             f"{text!r} is not an integer; write digits, optionally "
                                             "grouped with single '_' (e.g. 50_000_000)"))
                toks.append(Token(ERROR, text, line, start_col))
            else:
                v = int(body.replace("_", ""))
                if v > MAX_INT_LITERAL:
                    errs.append(CurveScriptError(line, start_col, E.BAD_NUMBER,
                                                 f"integer {text} exceeds 2^128-1"))
                    toks.append(Token(ERROR, text, line, start_col))
                else:
                    toks.append(Token(INT, text, line, start_col, -v if text.startswith("-") else v))
            col += j - i
            i = j
            continue
        if c.isascii() and _is_ident_start(c):
            j = i + 1
            while j < n and source[j].isascii() and _is_ident_char(source[j]):
                j += 1
            toks.append(Token(IDENT, source[i:j], line, start_col, source[i:j]))
            col += j - i
            i = j
            continue
        errs.append(CurveScriptError(line, col, E.UNEXPECTED_CHAR,
                                     f"unexpected character {c!r}; expected a keyword, name=value, "
                                     "an integer, a \"string\", '{', '}' or a # comment"))
        toks.append(Token(ERROR, c, line, col))
        i += 1
        col += 1
    toks.append(Token(NEWLINE, "", line, col))
    toks.append(Token(EOF, "", line, col))
    return toks, errs
