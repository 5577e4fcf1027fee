"""Operator tool: ``python -m executor.curvescript <command> FILE``.

* ``check FILE``       — type-check; print the config fingerprint, or every error (exit 1);
* ``fmt FILE``         — print the canonical source of the compiled configuration;
* ``transcript FILE``  — print the verification transcript (DESIGN §6);
* ``manifest FILE``    — print the program manifest JSON for the running code.
"""
from __future__ import annotations

import argparse
import sys

from .checker import compile_file
from .errors import CurveScriptErrors
from .render import render_config


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m executor.curvescript", description=__doc__.splitlines()[0])
    ap.add_argument("command", choices=("check", "fmt", "transcript", "manifest"))
    ap.add_argument("file")
    args = ap.parse_args(argv)
    try:
        compiled = compile_file(args.file)
    except CurveScriptErrors as exc:
        print(exc, file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"{args.file}: {exc.strerror}", file=sys.stderr)
        return 2
    if args.command == "check":
        print(f"ok config-fingerprint {compiled.fingerprint.hex()}")
    elif args.command == "fmt":
        sys.stdout.write(render_config(compiled.config))
    else:
        from executor.manifest import build_manifest, transcript_text  # manifest imports this package
        if args.command == "transcript":
            sys.stdout.write(transcript_text(compiled))
        else:
            print(build_manifest(compiled).to_json().decode())
    return 0


if __name__ == "__main__":
    sys.exit(main())
