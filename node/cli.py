"""The ``assetl2`` command (DESIGN §9).

Every failure an operator can cause (bad config, missing or unsafe key, port in use, data
directory of another chain) prints one line ``assetl2: error: <cause>`` and exits non-zero;
tracebacks are for bugs only.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from node import config as config_mod
from node import keys as keys_mod

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2


class CliError(Exception):
    """An operator-facing failure: printed as one line, exit code 1."""


def _cmd_run(args: argparse.Namespace) -> int:
    import uvloop

    from node import app, logs

    try:
        cfg = config_mod.load(args.config)
    except config_mod.ConfigError as exc:
        raise CliError(f"config {exc}") from None
    key_path = cfg.key_path
    new_key = args.init and not key_path.exists()
    try:
        # A new key is written only once the node has bound its ports (nothing half-written).
        key = keys_mod.NodeKey.generate() if new_key else keys_mod.load(key_path)
    except keys_mod.KeyFileError as exc:
        raise CliError(f"node.key_file {exc}") from None
    logs.setup(cfg.node.log_level, cfg.node.log_format)
    try:
        uvloop.run(app.serve(cfg, key, write_key=new_key))
    except app.StartupError as exc:
        raise CliError(str(exc)) from None
    return EXIT_OK


def _cmd_keys_new(args: argparse.Namespace) -> int:
    key = keys_mod.NodeKey.generate()
    try:
        keys_mod.write(Path(args.out), key, overwrite=args.force)
    except keys_mod.KeyFileError as exc:
        raise CliError(str(exc)) from None
    except OSError as exc:
        raise CliError(f"{args.out}: cannot write ({exc.strerror})") from None
    print(key.address)
    return EXIT_OK


def _cmd_keys_show(args: argparse.Namespace) -> int:
    try:
        key = keys_mod.load(Path(args.file), require_private=False)
    except keys_mod.KeyFileError as exc:
        raise CliError(str(exc)) from None
    if args.json:
        print(json.dumps({"address": key.address, "public_hex": key.public.hex()}))
    else:
        print(key.address)
    return EXIT_OK


def _cmd_check_config(args: argparse.Namespace) -> int:
    try:
        cfg = config_mod.load(args.config)
    except config_mod.ConfigError as exc:
        raise CliError(f"config {exc}") from None
    print(f"{args.config}: ok (chain {cfg.node.chain_id}, roles {','.join(cfg.node.roles)})")
    return EXIT_OK


def _solana_dev(argv: list[str]) -> int:
    """``assetl2 solana-dev …``: parsed by the dev RPC itself, imported only when used
    (LiteSVM and its dependencies cost a second that other commands should not pay)."""
    from batchposter import devrpc

    parser = devrpc.add_arguments(argparse.ArgumentParser(prog="assetl2 solana-dev",
                                                          description="local Solana JSON-RPC over LiteSVM"))
    return devrpc.run_solana_dev(parser.parse_args(argv))


def _verify_anchor(argv: list[str]) -> int:
    """``assetl2 verify-anchor …``: the auditor check, parsed by batchposter.audit itself."""
    from batchposter import audit

    parser = audit.add_arguments(argparse.ArgumentParser(
        prog="assetl2 verify-anchor", description="check anchored batches and a state proof against Solana"))
    return audit.run_verify_anchor(parser.parse_args(argv))


def _client(argv: list[str]) -> int:
    """``assetl2 client …``: the SDK's command line, parsed by node/client/cli.py."""
    from node.client import cli as client_cli

    return client_cli.main(argv)


def _devnet(argv: list[str]) -> int:
    """``assetl2 devnet …``: local Solana RPC + cluster + demo workload, parsed by node/devnet.py."""
    from node import devnet

    return devnet.main(argv)


def _bench(argv: list[str]) -> int:
    """``assetl2 bench load …``: the gRPC load generator in bench/load.py."""
    if argv[:1] != ["load"]:
        print("assetl2 bench: error: the only benchmark here is `assetl2 bench load` (see bench/ for the others)",
              file=sys.stderr)
        return EXIT_USAGE
    try:
        from bench import load
    except ImportError:  # bench/ ships with the source tree, not the wheel
        sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
        from bench import load

    return load.main(argv[1:])


# Subcommands whose options belong to (and are parsed by) a role module, imported on use.
DELEGATED = {"solana-dev": _solana_dev, "verify-anchor": _verify_anchor, "client": _client,
             "devnet": _devnet, "bench": _bench}


def _cmd_config_reference(_args: argparse.Namespace) -> int:
    print(config_mod.reference_markdown())
    return EXIT_OK


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="assetl2", description="AssetL2 rollup node")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="run a node from a config file")
    run.add_argument("--config", required=True, help="node TOML config (see deploy/node.example.toml)")
    run.add_argument("--init", action="store_true", help="create the node key if it does not exist yet")
    run.set_defaults(func=_cmd_run)

    check = sub.add_parser("check-config", help="validate a config file and exit")
    check.add_argument("--config", required=True)
    check.set_defaults(func=_cmd_check_config)

    ref = sub.add_parser("config-reference", help="print the config reference (Markdown)")
    ref.set_defaults(func=_cmd_config_reference)

    # Listed for help only: main() hands their argv to the role module's own parser (DELEGATED).
    sub.add_parser("solana-dev", help="local Solana JSON-RPC (LiteSVM) with the anchor program deployed")
    sub.add_parser("verify-anchor", help="auditor check: anchored batches and a Merkle proof against Solana")
    sub.add_parser("client", help="client commands: deposit, orders, reserve/commit, book, account, watch …")
    sub.add_parser("devnet", help="local Solana RPC + node cluster + demo workload with live progress")
    sub.add_parser("bench", help="`bench load`: many gRPC clients at a target rate against a node")

    keys = sub.add_parser("keys", help="manage ed25519 keypairs (Solana JSON format)")
    ksub = keys.add_subparsers(dest="keys_command", required=True, metavar="ACTION")
    new = ksub.add_parser("new", help="generate a keypair file with mode 0600")
    new.add_argument("--out", required=True, help="where to write the keypair")
    new.add_argument("--force", action="store_true", help="overwrite an existing file")
    new.set_defaults(func=_cmd_keys_new)
    show = ksub.add_parser("show", help="print a keypair's public address")
    show.add_argument("file")
    show.add_argument("--json", action="store_true")
    show.set_defaults(func=_cmd_keys_show)
    return p


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] and argv[0] in DELEGATED:
        return DELEGATED[argv[0]](argv[1:])
    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except CliError as exc:
        print(f"assetl2: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
