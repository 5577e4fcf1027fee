"""``assetl2 client …``: the SDK from the shell (issue 8 part 3).

Every command prints a readable table, or one JSON object with ``--json``.  Every mistake —
a bad argument, an unreadable key, an unreachable node, a node of another chain, a refused
transaction — prints exactly one line ``assetl2 client: error: …`` on stderr and exits
non-zero (2 for usage, 1 otherwise), so scripts can rely on the exit status.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from pathlib import Path

from solders.pubkey import Pubkey

from node import keys as keys_mod
from node.client import txs
from node.client.client import Client
from node.client.commitment import PendingReveal, new_reveal
from node.client.errors import ClientError, TxRejected
from proto.assetl2.v1 import client_pb2, state_pb2, tx_pb2

PROG = "assetl2 client"
DEFAULT_NODE = "127.0.0.1:50051"
DEFAULT_CHAIN = "assetl2-devnet-1"
EXIT_ERROR = 1
EXIT_USAGE = 2


class UsageError(Exception):
    pass


class OneLineParser(argparse.ArgumentParser):
    """argparse that reports a usage error as one line (not usage text + error)."""

    def error(self, message: str):  # noqa: D401 - argparse API
        raise UsageError(message)


def _positive(text: str) -> int:
    try:
        v = int(text.replace("_", ""), 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if v <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return v


def _nonneg(text: str) -> int:
    try:
        v = int(text.replace("_", ""), 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}") from None
    if v < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}")
    return v


def _pubkey(text: str) -> bytes:
    try:
        return bytes(Pubkey.from_string(text))
    except Exception:  # noqa: BLE001 - solders raises several ValueError kinds
        raise argparse.ArgumentTypeError(f"not a base58 public key: {text!r}") from None


def _choice(table: dict[str, int], what: str):
    def parse(text: str) -> int:
        if text.lower() not in table:
            raise argparse.ArgumentTypeError(f"{what} must be one of {', '.join(table)}, got {text!r}")
        return table[text.lower()]
    return parse


def _b58(b: bytes) -> str:
    return str(Pubkey.from_bytes(bytes(b))) if len(b) == 32 else bytes(b).hex()


def _hex(b: bytes) -> str:
    return bytes(b).hex()


def _to_dict(msg) -> dict:
    """Protobuf → JSON-ready dict with hex bytes (base64 is unreadable for hashes and roots),
    enum names, and every field present (zeros included) so scripts see a stable shape."""
    out = {}
    for f in msg.DESCRIPTOR.fields:
        if f.containing_oneof is not None and msg.WhichOneof(f.containing_oneof.name) != f.name:
            continue
        v = getattr(msg, f.name)
        out[f.name] = [_value(f, x) for x in v] if f.is_repeated else _value(f, v)
    return out


def _value(f, v):
    if f.type == f.TYPE_BYTES:
        return bytes(v).hex()
    if f.type == f.TYPE_MESSAGE:
        return _to_dict(v)
    if f.type == f.TYPE_ENUM:
        return f.enum_type.values_by_number[v].name if v in f.enum_type.values_by_number else v
    return v


def _table(rows: list[tuple], headers: tuple) -> str:
    cells = [tuple(str(c) for c in headers)] + [tuple(str(c) for c in r) for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _kv(pairs: list[tuple[str, object]]) -> str:
    w = max(len(k) for k, _ in pairs)
    return "\n".join(f"{k.ljust(w)}  {v}" for k, v in pairs)


def _usdc(atoms: int) -> str:
    return f"{atoms / 1_000_000:,.6f}"


# ----------------------------------------------------------------------------- wallet

def _wallet(args) -> txs.Wallet:
    if args.key and args.dev:
        raise UsageError("give --key or --dev, not both")
    if args.key:
        try:
            return txs.Wallet(keys_mod.load(Path(args.key)), args.chain_id)
        except keys_mod.KeyFileError as exc:
            raise ClientError(f"--key {exc}") from None
    if args.dev:
        return txs.Wallet.dev(args.dev, args.chain_id)
    raise UsageError("this command signs a transaction: give --key FILE or --dev ROLE (e.g. --dev account-0)")


def _reveal_path(args, wallet: txs.Wallet, route_id: int) -> Path:
    return Path(args.reveals) / f"{wallet.address}-{route_id}.json"


# ----------------------------------------------------------------------------- commands

async def _send(client: Client, args, env: tx_pb2.Envelope, what: str) -> dict:
    h = txs.envelope_hash(env)
    if args.no_wait:
        await client.submit(env)
        return {"tx_hash": h.hex(), "status": "admitted", "what": what}
    block, _ = await client.execute(env, timeout_s=args.timeout)
    return {"tx_hash": h.hex(), "status": "executed", "height": block.header.height, "what": what}


def _print_tx(args, out: dict) -> None:
    if args.json:
        print(json.dumps(out))
    else:
        where = f" at height {out['height']}" if "height" in out else ""
        print(f"{out['what']}: {out['status']}{where} (tx {out['tx_hash'][:16]}…)")


async def cmd_status(client: Client, args) -> None:
    st = await client.status()
    if args.json:
        print(json.dumps(_to_dict(st)))
        return
    roles = ", ".join(f"{r.role}={'ready' if r.ready else 'not ready'}" for r in st.roles if r.enabled)
    print(_kv([("node", st.node_id), ("chain", st.chain_id), ("version", st.version), ("ready", st.ready),
               ("height", st.height), ("view", st.view), ("epoch", st.epoch),
               ("state root", _hex(st.state_root)), ("peers", st.peers_connected),
               ("mempool", st.mempool_size), ("batches posted/confirmed",
                                              f"{st.last_posted_batch}/{st.last_confirmed_batch}"),
               ("roles", roles), ("detail", st.sequencer_detail or "-")]))


async def cmd_deposit(client: Client, args) -> None:
    w = _wallet(args)
    user = args.user or w.public
    env = w.sign(txs.deposit(user, args.amount_atoms))
    _print_tx(args, await _send(client, args, env, f"faucet deposit {_usdc(args.amount_atoms)} USDC to {_b58(user)}"))


async def cmd_place(client: Client, args) -> None:
    w = _wallet(args)
    env = w.sign(txs.place_order(args.slab, args.instrument, args.side, args.qty_lots, args.price_e6,
                                 tif=args.tif, maker_class=args.maker_class, reduce_only=args.reduce_only,
                                 client_order_id=args.client_order_id))
    _print_tx(args, await _send(client, args, env, "place order"))


async def cmd_cancel(client: Client, args) -> None:
    w = _wallet(args)
    env = w.sign(txs.cancel_order(args.slab, args.instrument, args.order_id))
    _print_tx(args, await _send(client, args, env, f"cancel order {args.order_id}"))


async def cmd_reserve(client: Client, args) -> None:
    w = _wallet(args)
    pending = new_reveal(args.route_id, args.instrument, args.side, args.qty_lots, args.limit_e6)
    path = _reveal_path(args, w, args.route_id)
    if path.exists():
        raise ClientError(f"route {args.route_id} already has a saved reveal at {path}; pick another --route-id")
    pending.save(path)  # before sending: a reservation whose reveal is lost can only be cancelled
    env = w.sign(txs.reserve(pending, ttl_ms=args.ttl_ms, slab_ids=args.slab or ()))
    try:
        out = await _send(client, args, env, f"reserve route {args.route_id}")
    except ClientError:
        path.unlink(missing_ok=True)
        raise
    out["reveal_file"] = str(path)
    _print_tx(args, out)


async def cmd_commit(client: Client, args) -> None:
    w = _wallet(args)
    path = _reveal_path(args, w, args.route_id)
    try:
        pending = PendingReveal.from_json(path.read_text())
    except FileNotFoundError:
        raise ClientError(f"no saved reveal for route {args.route_id} at {path} (reserve with the same --reveals dir)") from None
    except (ValueError, TypeError, KeyError) as exc:
        raise ClientError(f"{path}: not a reveal file ({exc})") from None
    env = w.sign(txs.commit(pending))
    out = await _send(client, args, env, f"commit route {args.route_id}")
    if out["status"] == "executed":
        path.unlink(missing_ok=True)
    _print_tx(args, out)


async def cmd_cancel_hold(client: Client, args) -> None:
    w = _wallet(args)
    out = await _send(client, args, w.sign(txs.cancel_hold(args.route_id)), f"cancel hold {args.route_id}")
    _reveal_path(args, w, args.route_id).unlink(missing_ok=True)
    _print_tx(args, out)


async def cmd_book(client: Client, args) -> None:
    book = await client.order_book(args.slab, args.instrument, depth=args.depth)
    if args.json:
        print(json.dumps(_to_dict(book)))
        return
    print(f"slab {book.slab_id} instrument {book.instrument_id} at height {book.anchor.height}")
    rows = []
    for i in range(max(len(book.bids), len(book.asks))):
        b = book.bids[i] if i < len(book.bids) else None
        a = book.asks[i] if i < len(book.asks) else None
        rows.append((b.qty_lots if b else "", f"{b.price_e6 / 1e6:,.2f}" if b else "",
                     f"{a.price_e6 / 1e6:,.2f}" if a else "", a.qty_lots if a else ""))
    print(_table(rows, ("bid lots", "bid", "ask", "ask lots")) if rows else "(empty book)")


async def cmd_account(client: Client, args) -> None:
    if args.user is None:
        user = _wallet(args).public
    else:
        user = args.user
    acc = await client.account(user, verify=not args.no_verify)
    verified = "not checked (--no-verify)" if args.no_verify else f"{len(acc.proofs)} proofs verified"
    if args.json:
        d = _to_dict(acc)
        d["proofs_verified"] = not args.no_verify
        print(json.dumps(d))
        return
    print(_kv([("user", _b58(acc.user or user)), ("height", acc.anchor.height),
               ("state root", _hex(acc.anchor.state_root)), ("proofs", verified),
               ("equity", f"{_usdc(acc.equity_atoms)} USDC"),
               ("initial margin", f"{_usdc(acc.initial_margin_atoms)} USDC"),
               ("maintenance margin", f"{_usdc(acc.maintenance_margin_atoms)} USDC")]))
    if acc.vaults:
        print(_table([(v.asset_id, _usdc(v.amount_atoms)) for v in acc.vaults], ("asset", "vault")))
    if acc.positions:
        print(_table([(p.slab_id, p.instrument_id, p.qty_lots, f"{p.entry_price_e6 / 1e6:,.2f}",
                       _usdc(p.realized_pnl_atoms)) for p in acc.positions],
                     ("slab", "instrument", "qty lots", "entry", "realised pnl")))


async def cmd_block(client: Client, args) -> None:
    b = await client.block(args.height)
    if args.json:
        print(json.dumps(_to_dict(b)))
        return
    ok = sum(1 for r in b.receipts if r.ok)
    print(_kv([("height", b.header.height), ("view", b.header.view), ("epoch", b.epoch),
               ("timestamp ms", b.header.timestamp_ms), ("block hash", _hex(b.block_hash)),
               ("state root", _hex(b.state_root)), ("transactions", f"{len(b.tx_hashes)} ({ok} ok)"),
               ("tx log", f"{b.tx_log_size} {_hex(b.tx_log_root)}")]))
    if b.receipts:
        print(_table([(_hex(r.tx_hash)[:16], "ok" if r.ok else r.error_name, r.message) for r in b.receipts],
                     ("tx", "outcome", "message")))


async def cmd_batch(client: Client, args) -> None:
    b = await client.batch(args.index)
    if args.json:
        print(json.dumps(_to_dict(b)))
        return
    print(_kv([("batch", b.batch_index), ("heights", f"{b.first_height}..{b.last_height}"),
               ("status", state_pb2.BatchStatus.Name(b.status).removeprefix("BATCH_STATUS_").lower()),
               ("state root", _hex(b.state_root)), ("prev state root", _hex(b.prev_state_root)),
               ("tx log", f"{b.tx_log_size} {_hex(b.tx_log_root)}"), ("code hash", _hex(b.code_hash)),
               ("proof hash", _hex(b.proof_hash)), ("solana signature", b.solana_signature or "-")]))


EVENT_KINDS = {"block": client_pb2.EVENT_KIND_BLOCK, "fill": client_pb2.EVENT_KIND_FILL,
               "order": client_pb2.EVENT_KIND_ORDER_UPDATE, "batch": client_pb2.EVENT_KIND_BATCH}


def _event_line(ev: state_pb2.Event) -> str:
    kind = ev.WhichOneof("kind")
    if kind == "block":
        b = ev.block
        ok = sum(1 for r in b.receipts if r.ok)
        return f"block  h={ev.height} view={b.header.view} epoch={b.epoch} txs={len(b.tx_hashes)} ok={ok} root={_hex(b.state_root)[:16]}"
    if kind == "fill":
        f = ev.fill
        return (f"fill   h={ev.height} slab={f.slab_id} instr={f.instrument_id} {tx_pb2.Side.Name(f.taker_side)[5:].lower()} "
                f"{f.qty_lots} @ {f.price_e6 / 1e6:,.2f} maker={_b58(f.maker)[:8]} taker={_b58(f.taker)[:8]}")
    if kind == "order_update":
        o = ev.order_update
        return (f"order  h={ev.height} slab={o.slab_id} id={o.order_id} {state_pb2.OrderState.Name(o.state)[12:].lower()} "
                f"remaining={o.remaining_lots} reserved={o.reserved_lots}")
    if kind == "batch":
        return f"batch  #{ev.batch.batch_index} heights {ev.batch.first_height}..{ev.batch.last_height} {ev.batch.solana_signature}"
    return f"event  h={ev.height}"


async def cmd_watch(client: Client, args) -> None:
    n = 0
    kinds = [EVENT_KINDS[k] for k in args.kind]
    async for ev in client.events(from_height=args.from_height, kinds=kinds, user=args.user or b""):
        print(json.dumps(_to_dict(ev)) if args.json else _event_line(ev), flush=True)
        n += 1
        if args.count and n >= args.count:
            return


# ----------------------------------------------------------------------------- parser

def parser() -> OneLineParser:
    p = OneLineParser(prog=PROG, description="talk to an AssetL2 node: transactions, proven state, events")
    common = OneLineParser(add_help=False)
    common.add_argument("--node", default=os.environ.get("ASSETL2_NODE", DEFAULT_NODE),
                        help="node client API host:port (default $ASSETL2_NODE or %(default)s)")
    common.add_argument("--chain-id", default=os.environ.get("ASSETL2_CHAIN_ID", DEFAULT_CHAIN),
                        help="chain this client signs for; a node of another chain is refused")
    common.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    signer = OneLineParser(add_help=False)
    signer.add_argument("--key", help="signing keypair (Solana JSON file, e.g. from `assetl2 keys new`)")
    signer.add_argument("--dev", metavar="ROLE", help="a public devnet key, e.g. account-0 (devnet only)")
    signer.add_argument("--no-wait", action="store_true", help="return once admitted; do not wait for execution")
    signer.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for execution")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=OneLineParser)

    def add(name, func, help, signs=False):
        sp = sub.add_parser(name, help=help, parents=[common] + ([signer] if signs else []))
        sp.set_defaults(func=func)
        return sp

    add("status", cmd_status, "node status (height, view, epoch, roles, batches)")
    sp = add("deposit", cmd_deposit, "dev faucet deposit of test collateral", True)
    sp.add_argument("--amount-atoms", type=_positive, required=True, help="USDC atoms (1 USDC = 1_000_000)")
    sp.add_argument("--user", type=_pubkey, help="recipient (default: the signer)")
    sp = add("place", cmd_place, "place a limit order on a slab", True)
    sp.add_argument("--slab", type=_positive, required=True)
    sp.add_argument("--instrument", type=_positive, required=True)
    sp.add_argument("--side", type=_choice(txs.SIDES, "--side"), required=True, help="buy or sell")
    sp.add_argument("--qty-lots", type=_positive, required=True)
    sp.add_argument("--price-e6", type=_positive, required=True, help="quote atoms per base unit")
    sp.add_argument("--tif", type=_choice(txs.TIFS, "--tif"), default=tx_pb2.TIME_IN_FORCE_GTC,
                    help="gtc, ioc, fok or post-only")
    sp.add_argument("--maker-class", type=_choice(txs.MAKER_CLASSES, "--maker-class"), default=tx_pb2.MAKER_CLASS_DLP,
                    help="dlp (live at once) or reg (live at the next batch)")
    sp.add_argument("--reduce-only", action="store_true")
    sp.add_argument("--client-order-id", type=_nonneg, default=0)
    sp = add("cancel", cmd_cancel, "cancel a resting order", True)
    sp.add_argument("--slab", type=_positive, required=True)
    sp.add_argument("--instrument", type=_positive, required=True)
    sp.add_argument("--order-id", type=_positive, required=True)
    reveals = os.environ.get("ASSETL2_REVEALS", ".assetl2-reveals")
    sp = add("reserve", cmd_reserve, "reserve a route across slabs (the reveal stays in --reveals)", True)
    sp.add_argument("--route-id", type=_positive, required=True)
    sp.add_argument("--instrument", type=_positive, required=True)
    sp.add_argument("--side", type=_choice(txs.SIDES, "--side"), required=True)
    sp.add_argument("--qty-lots", type=_positive, required=True)
    sp.add_argument("--limit-e6", type=_positive, required=True, help="limit price, quote atoms per base unit")
    sp.add_argument("--ttl-ms", type=_positive, default=10_000)
    sp.add_argument("--slab", type=_positive, action="append", help="restrict to this slab (repeatable)")
    sp.add_argument("--reveals", default=reveals, help="directory of saved reveals (default %(default)s)")
    sp = add("commit", cmd_commit, "reveal and fill a reservation", True)
    sp.add_argument("--route-id", type=_positive, required=True)
    sp.add_argument("--reveals", default=reveals)
    sp = add("cancel-hold", cmd_cancel_hold, "cancel a reservation (idempotent)", True)
    sp.add_argument("--route-id", type=_positive, required=True)
    sp.add_argument("--reveals", default=reveals)
    sp = add("book", cmd_book, "order book depth of one slab and instrument")
    sp.add_argument("--slab", type=_positive, required=True)
    sp.add_argument("--instrument", type=_positive, required=True)
    sp.add_argument("--depth", type=_positive, default=10)
    sp = add("account", cmd_account, "vaults, positions and margin, with verified Merkle proofs", True)
    sp.add_argument("--user", type=_pubkey, help="account to read (default: the signer of --key/--dev)")
    sp.add_argument("--no-verify", action="store_true", help="skip proof verification")
    sp = add("block", cmd_block, "a block with its receipts")
    sp.add_argument("--height", type=_nonneg, default=0, help="0: latest")
    sp = add("batch", cmd_batch, "an anchored batch (default: the latest)")
    sp.add_argument("--index", type=_nonneg, default=None)
    sp = add("watch", cmd_watch, "follow events (reconnects and resumes)")
    sp.add_argument("--from-height", type=_nonneg, default=0, help="replay blocks from here (0: live)")
    sp.add_argument("--kind", action="append", choices=list(EVENT_KINDS), default=[], help="repeatable; default all")
    sp.add_argument("--user", type=_pubkey, help="only this user's events")
    sp.add_argument("--count", type=_nonneg, default=0, help="stop after this many events (0: until Ctrl-C)")
    return p


async def _run(args) -> None:
    client = await Client.connect(args.node, args.chain_id)
    try:
        await args.func(client, args)
    finally:
        await client.close()


def _fail(message: str, code: int) -> int:
    print(f"{PROG}: error: {message}", file=sys.stderr)
    return code


def main(argv: list[str]) -> int:
    try:
        args = parser().parse_args(argv)
        if hasattr(args, "no_wait") and not (args.func is cmd_account and args.user is not None):
            _wallet(args)  # a missing or unreadable signer fails before touching the network
        return asyncio.run(_run(args)) or 0
    except UsageError as exc:
        return _fail(str(exc), EXIT_USAGE)
    except TxRejected as exc:
        return _fail(str(exc), EXIT_ERROR)
    except ClientError as exc:
        return _fail(str(exc), EXIT_ERROR)
    except KeyboardInterrupt:
        return 0
    except BrokenPipeError:
        return 0
