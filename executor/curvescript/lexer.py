"""Tokeniser for CurveScript (grammar in README.md).

Newlines are tokens: a statement is exactly one line, which keeps error recovery simple
(skip to the end of the line) and error positions exact.  ``#`` starts a comment that runs
to the end of the line.  Strings are printable ASCII without escapes, so every string has
exactly one spelling and the canonical printer is trivially invertible.
"""
from __future__ import annotations

import re
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


_SKIP = re.compile(r"[ \t\r]+|#[^\n]*")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NUMBER = re.compile(r"-?[0-9][A-Za-z0-9_]*")
_NUMBER_OK = re.compile(r"-?[0-9]+(?:_[0-9]+)*")
_STRING_BODY = re.compile(r'[^"\n]*')
_STRING_OK = re.compile(r'[ !#-\[\]-~]*')   # printable ASCII without '"' and '\\'


def tokenize(source: str) -> tuple[list[Token], list[CurveScriptError]]:
    """Split ``source`` into tokens; lexical errors are collected, not raised.

    Text that fails to lex is reported once and replaced by an ``ERROR`` token, so the
    parser can skip its line without reporting the same problem again.
    """
    toks: list[Token] = []
    errs: list[CurveScriptError] = []
    i, line, line_start, n = 0, 1, 0, len(source)
    while i < n:
        c = source[i]
        col = i - line_start + 1
        if c == "\n":
            toks.append(Token(NEWLINE, "\n", line, col))
            i += 1
            line += 1
            line_start = i
            continue
        m = _SKIP.match(source, i)
        if m:
            i = m.end()
            continue
        if c in "{}=":
            toks.append(Token(c, c, line, col))
            i += 1
            continue
        if c == '"':
            body = _STRING_BODY.match(source, i + 1)
            j = body.end()
            text = body.group()
            if j >= n or source[j] != '"':
                errs.append(CurveScriptError(line, col, E.UNTERMINATED_STRING,
                                             "string is not closed on this line; add the closing '\"'"))
                toks.append(Token(ERROR, source[i:j], line, col))
                i = j
                continue
            ok = _STRING_OK.fullmatch(text)
            if not ok:
                k = _STRING_OK.match(text).end()
                errs.append(CurveScriptError(line, col + 1 + k, E.BAD_STRING_CHAR,
                                             f"character {text[k]!r} is not allowed in a string; "
                                             "strings are printable ASCII without '\\' or '\"'"))
            elif len(text) > MAX_STRING_LEN:
                errs.append(CurveScriptError(line, col, E.BAD_STRING_CHAR,
                                             f"string is {len(text)} characters; at most {MAX_STRING_LEN} allowed"))
            if not ok or len(text) > MAX_STRING_LEN:
                toks.append(Token(ERROR, source[i:j + 1], line, col))
            else:
                toks.append(Token(STRING, source[i:j + 1], line, col, text))
            i = j + 1
            continue
        m = _NUMBER.match(source, i)
        if m:
            text = m.group()
            i = m.end()
            if not _NUMBER_OK.fullmatch(text):
                errs.append(CurveScriptError(line, col, E.BAD_NUMBER,
                                             f"{text!r} is not an integer; write digits, optionally "
                                             "grouped with single '_' (e.g. 50_000_000)"))
                toks.append(Token(ERROR, text, line, col))
                continue
            v = int(text.replace("_", ""))
            if abs(v) > MAX_INT_LITERAL:
                errs.append(CurveScriptError(line, col, E.BAD_NUMBER, f"integer {text} exceeds 2^128-1"))
                toks.append(Token(ERROR, text, line, col))
            else:
                toks.append(Token(INT, text, line, col, v))
            continue
        m = _IDENT.match(source, i)
        if m:
            toks.append(Token(IDENT, m.group(), line, col, m.group()))
            i = m.end()
            continue
        errs.append(CurveScriptError(line, col, E.UNEXPECTED_CHAR,
                                     f"unexpected character {c!r}; expected a keyword, name=value, "
                                     "an integer, a \"string\", '{', '}' or a # comment"))
        toks.append(Token(ERROR, c, line, col))
        i += 1
    col = i - line_start + 1
    toks.append(Token(NEWLINE, "", line, col))
    toks.append(Token(EOF, "", line, col))
    return toks, errs
