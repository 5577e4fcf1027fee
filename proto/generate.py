"""Regenerate the Python modules for every ``proto/assetl2/v1/*.proto``.

The generated ``*_pb2.py``, ``*_pb2.pyi`` and ``*_pb2_grpc.py`` files are committed so that
installing the node needs no code generator; ``tests/node/test_proto.py`` regenerates them
into a temporary folder with the pinned ``grpcio-tools`` and fails on any drift.

Usage: ``python -m proto.generate [--out DIR]`` from the repository root.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROTO_DIR = ROOT / "proto" / "assetl2" / "v1"


def proto_files() -> list[Path]:
    """The sources, sorted so generation is order-independent."""
    return sorted(PROTO_DIR.glob("*.proto"))


def generate(out_dir: Path) -> list[Path]:
    """Run protoc (from grpcio-tools) with the repository root as the include path."""
    from grpc_tools import protoc
    import grpc_tools

    include = Path(grpc_tools.__file__).parent / "_proto"
    out_dir.mkdir(parents=True, exist_ok=True)
    args = [
        "protoc",
        f"-I{ROOT}",
        f"-I{include}",
        f"--python_out={out_dir}",
        f"--pyi_out={out_dir}",
        f"--grpc_python_out={out_dir}",
        *[str(p.relative_to(ROOT)) for p in proto_files()],
    ]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")
    return sorted((out_dir / "proto" / "assetl2" / "v1").glob("*_pb2*.py*"))


LOCK_FILE = ROOT / "proto" / "fields.lock.json"


def wire_schema() -> dict[str, dict[str, list]]:
    """Every message field as [number, type, label] and every enum value's number.

    The committed ``proto/fields.lock.json`` is this table at the last release; the
    compatibility test checks that nothing in it was renumbered, retyped or reused
    (docs/protocol.md), while new fields and messages may be added freely.
    """
    from proto.assetl2.v1 import client_pb2, peer_pb2, state_pb2, tx_pb2

    out: dict[str, dict[str, list]] = {}

    def walk_message(desc) -> None:
        out[desc.full_name] = {f.name: [f.number, f.type, 3 if f.is_repeated else 1] for f in desc.fields}
        for nested in desc.nested_types:
            walk_message(nested)
        for enum in desc.enum_types:
            walk_enum(enum)

    def walk_enum(desc) -> None:
        out[desc.full_name] = {v.name: [v.number] for v in desc.values}

    for module in (tx_pb2, state_pb2, client_pb2, peer_pb2):
        for desc in module.DESCRIPTOR.message_types_by_name.values():
            walk_message(desc)
        for desc in module.DESCRIPTOR.enum_types_by_name.values():
            walk_enum(desc)
    return {name: dict(sorted(fields.items())) for name, fields in sorted(out.items())}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT, help="output root (default: repository)")
    parser.add_argument("--lock", action="store_true", help="rewrite proto/fields.lock.json (a release step)")
    args = parser.parse_args(argv)
    for path in generate(args.out):
        print(path.relative_to(args.out), file=sys.stderr)
    if args.lock:
        import json

        lines = [f" {json.dumps(name)}: {json.dumps(fields)}" for name, fields in wire_schema().items()]
        LOCK_FILE.write_text("{\n" + ",\n".join(lines) + "\n}\n")
        print(LOCK_FILE.relative_to(ROOT), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
