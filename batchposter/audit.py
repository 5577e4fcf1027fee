"""The auditor's check: read what is anchored on Solana and verify state against it (DESIGN §1, §8).

`assetl2 verify-anchor --rpc URL [--proof FILE]` needs nothing from the node but a proof: it
reads the program's Config and every Batch account over plain JSON-RPC, checks that the
anchored batches form one chain, and checks a state key's Merkle proof (from any node) against
the anchored root of the batch that ends at the proof's height.  Trust rests on the chain and
on `statetree.verify` (database-free), never on the node that served the proof.

The chain rules re-checked here are the program's own (`deploy/program/README.md`): indices
contiguous, each `prev_state_root` the previous `state_root`, heights contiguous, the
transaction log only grows (and at equal size keeps its root), every batch's program pair
registered, and the last batch equal to the Config tip.  A batch account closed by the
authority (`close_batch`, rent reclaim) cannot be re-read; the links across it are reported as
unverifiable rather than passed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from solana.rpc.async_api import AsyncClient
from solana.rpc.commitment import Commitment, Confirmed, Finalized
from solders.pubkey import Pubkey

from batchposter import program_abi as abi
from batchposter import solana_client as sc

MAX_ACCOUNTS_PER_CALL = 100  # getMultipleAccounts limit of a validator


class AuditInputError(ValueError):
    """A proof file or argument the auditor cannot use."""


@dataclass(frozen=True)
class ProofClaim:
    """What a node serves for one state key: its value (None = absent) and proof at `height`."""

    key: bytes
    value: bytes | None
    proof: bytes
    height: int

    def to_json(self) -> dict[str, Any]:
        return {"key": self.key.hex(), "value": None if self.value is None else self.value.hex(),
                "proof": self.proof.hex(), "height": self.height}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "ProofClaim":
        try:
            value = data["value"]
            claim = cls(bytes.fromhex(data["key"]), None if value is None else bytes.fromhex(value),
                        bytes.fromhex(data["proof"]), int(data["height"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise AuditInputError(f"proof file: {exc!r}; expected {{key, value|null, proof (hex), height}}") from None
        if len(claim.key) != 32:
            raise AuditInputError("proof file: key must be 32 bytes (64 hex digits)")
        return claim

    @classmethod
    def load(cls, path: str | Path) -> "ProofClaim":
        try:
            return cls.from_json(json.loads(Path(path).read_text()))
        except (OSError, json.JSONDecodeError) as exc:
            raise AuditInputError(f"proof file {path}: {exc}") from None

    @classmethod
    def from_tree(cls, tree, key: bytes, height: int) -> "ProofClaim":
        """What a node answers from its `statetree.StateTree` at `height`."""
        return cls(key, tree.get(key, version=height), tree.prove(key, version=height).to_bytes(), height)


@dataclass
class ProofCheck:
    ok: bool
    detail: str
    inclusion: bool
    height: int
    batch_index: int | None = None
    anchored_root: str | None = None


@dataclass
class AuditReport:
    """The outcome of `verify_anchor`; `ok` only if the chain and the proof (if any) check out."""

    rpc_url: str
    program_id: str
    last_batch_index: int = 0
    last_height: int = 0
    last_state_root: str = ""
    batches_checked: int = 0
    batches_closed: list[int] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    proof: ProofCheck | None = None

    @property
    def chain_ok(self) -> bool:
        return not self.problems

    @property
    def ok(self) -> bool:
        return self.chain_ok and (self.proof is None or self.proof.ok)

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["ok"] = self.ok
        return out

    def render(self) -> str:
        lines = [
            f"program {self.program_id} at {self.rpc_url}",
            f"tip: batch {self.last_batch_index}, height {self.last_height}, state root {self.last_state_root}",
            f"chain: {self.batches_checked} batches checked, {len(self.batches_closed)} closed -> "
            + ("OK" if self.chain_ok else f"{len(self.problems)} problem(s)"),
        ]
        lines += [f"  - {p}" for p in self.problems[:50]]
        if self.proof is not None:
            kind = "inclusion" if self.proof.inclusion else "non-inclusion"
            lines.append(f"proof ({kind}, height {self.proof.height}, batch {self.proof.batch_index}): "
                         + ("OK" if self.proof.ok else "FAILED") + f" - {self.proof.detail}")
        lines.append("verify-anchor: " + ("OK" if self.ok else "FAILED"))
        return "\n".join(lines)


async def verify_anchor(
    rpc_url: str,
    program_id: Pubkey | str | None = None,
    *,
    proof: ProofClaim | None = None,
    from_index: int = 1,
    commitment: Commitment = Confirmed,
    timeout_s: float = 30.0,
) -> AuditReport:
    """Read the anchored batches at `rpc_url` and verify the chain and, if given, one state proof.

    Raises `solana_client.RpcUnavailable` when the RPC cannot be read and
    `solana_client.AnchorNotInitialized` when the program has no Config there.
    """
    program = _program_id(program_id)
    report = AuditReport(rpc_url, str(program))
    async with AsyncClient(rpc_url, timeout=timeout_s) as rpc:
        config_data = await _accounts(rpc, [abi.config_address(program)[0]], program, commitment)
        if config_data[0] is None:
            raise sc.AnchorNotInitialized(f"no Config account for program {program} at {rpc_url}")
        config = abi.ConfigAccount.decode(config_data[0])
        report.last_batch_index, report.last_height = config.last_batch_index, config.last_height
        report.last_state_root = config.last_state_root.hex()
        first = max(1, from_index)
        indices = list(range(first, config.last_batch_index + 1))
        raw = await _accounts(rpc, [abi.batch_address(program, i) for i in indices], program, commitment)
        batches: dict[int, abi.BatchAccount] = {}
        for index, data in zip(indices, raw):
            if data is None:
                report.batches_closed.append(index)
                continue
            try:
                batches[index] = abi.BatchAccount.decode(data)
            except abi.AccountDecodeError as exc:
                report.problems.append(f"batch {index}: not a Batch account ({exc})")
        pairs = sorted({(b.code_hash, b.proof_hash) for b in batches.values()})
        registry = await _accounts(rpc, [abi.registered_program_address(program, c, p)[0] for c, p in pairs],
                                   program, commitment)
    report.batches_checked = len(batches)
    report.problems += check_chain(config, batches, indices)
    for (code, proof_hash), data in zip(pairs, registry):
        if data is None or abi.RegisteredProgramAccount.decode(data).code_hash != code:
            report.problems.append(f"program pair code={code.hex()[:16]}… proof={proof_hash.hex()[:16]}… "
                                   "is not registered")
    if proof is not None:
        report.proof = check_proof(proof, config, batches)
    return report


def check_chain(config: abi.ConfigAccount, batches: dict[int, abi.BatchAccount], indices: list[int]) -> list[str]:
    """The program's sequencing rules, re-checked over the accounts read back."""
    problems = []
    prev: abi.BatchAccount | None = None
    for index in indices:
        batch = batches.get(index)
        if batch is None:
            if index == config.last_batch_index:
                problems.append(f"batch {index} (the tip) is missing")
            prev = None
            continue
        if batch.batch_index != index:
            problems.append(f"batch account {index} holds index {batch.batch_index}")
        if batch.last_height + 1 < batch.first_height:
            problems.append(f"batch {index}: height range [{batch.first_height}, {batch.last_height}] is invalid")
        if prev is not None:
            if batch.prev_state_root != prev.state_root:
                problems.append(f"batch {index}: prev_state_root is not batch {index - 1}'s state root")
            if batch.first_height != prev.last_height + 1:
                problems.append(f"batch {index}: first height {batch.first_height} does not follow "
                                f"{prev.last_height}")
            if batch.tx_log_size < prev.tx_log_size:
                problems.append(f"batch {index}: tx log shrank from {prev.tx_log_size} to {batch.tx_log_size}")
            elif batch.tx_log_size == prev.tx_log_size and batch.tx_log_root != prev.tx_log_root:
                problems.append(f"batch {index}: same tx log size, different tx log root")
        prev = batch
    tip = batches.get(config.last_batch_index)
    if tip is not None:
        if (tip.state_root, tip.last_height, tip.tx_log_size, tip.tx_log_root) != (
                config.last_state_root, config.last_height, config.tx_log_size, config.tx_log_root):
            problems.append(f"batch {config.last_batch_index} differs from the Config tip")
    return problems


def check_proof(claim: ProofClaim, config: abi.ConfigAccount, batches: dict[int, abi.BatchAccount]) -> ProofCheck:
    """Verify `claim` against the anchored root of the batch that ends at `claim.height`.

    Only a batch's last height has an anchored state root; a proof at another height cannot be
    checked against the chain, so the answer names the height to ask the node for.
    """
    from statetree import InvalidInput, verify

    inclusion = claim.value is not None
    covering = [b for b in batches.values() if b.first_height <= claim.height <= b.last_height]
    if not covering:
        if claim.height == config.last_height and config.last_batch_index:
            root, index = config.last_state_root, config.last_batch_index
        elif claim.height <= config.last_height:
            return ProofCheck(False, f"the batch account covering height {claim.height} was closed (close_batch) "
                              "or not read (--from-index); its root is only in the BatchPosted event of its "
                              "posting transaction", inclusion, claim.height)
        else:
            return ProofCheck(False, f"no anchored batch covers height {claim.height} "
                              f"(anchored up to height {config.last_height})", inclusion, claim.height)
    else:
        batch = covering[0]
        index, root = batch.batch_index, batch.state_root
        if claim.height != batch.last_height:
            return ProofCheck(False, f"batch {index} anchors the state after height {batch.last_height}; "
                              f"ask the node for a proof at height {batch.last_height}", inclusion, claim.height,
                              index, root.hex())
    try:
        good = verify(root, claim.key, claim.value, claim.proof)
    except InvalidInput as exc:
        return ProofCheck(False, f"malformed claim: {exc}", inclusion, claim.height, index, root.hex())
    what = "value matches" if inclusion else "key is absent"
    detail = f"{what} under the anchored root" if good else "proof does not lead to the anchored root"
    return ProofCheck(good, detail, inclusion, claim.height, index, root.hex())


async def _accounts(rpc: AsyncClient, keys: list[Pubkey], owner: Pubkey, commitment: Commitment) -> list[bytes | None]:
    """Account data of each key (None if missing or not owned by the program), in chunks."""
    out: list[bytes | None] = []
    for start in range(0, len(keys), MAX_ACCOUNTS_PER_CALL):
        chunk = keys[start : start + MAX_ACCOUNTS_PER_CALL]
        try:
            resp = await rpc.get_multiple_accounts(chunk, commitment=commitment)
        except Exception as exc:  # solana-py raises several transport/RPC types
            raise sc.RpcUnavailable(f"getMultipleAccounts failed ({_cause(exc)})") from exc
        out += [None if a is None or a.owner != owner else bytes(a.data) for a in resp.value]
    return out


def _cause(exc: BaseException) -> str:
    """A short, readable cause of an RPC failure: the transport error's class name (solana-py
    wraps it as "<class 'httpx.ConnectError'> raised in … request"), else the message."""
    cause = exc.__cause__ or exc.__context__
    name = type(cause).__name__ if cause is not None else type(exc).__name__
    text = str(exc)
    if "<class '" in text:
        name = text.split("<class '", 1)[1].split("'", 1)[0].rsplit(".", 1)[-1]
    return name


def _program_id(value: Pubkey | str | None) -> Pubkey:
    if value is None:
        return abi.dev_program_keypair().pubkey()
    if isinstance(value, Pubkey):
        return value
    try:
        return Pubkey.from_string(value)
    except ValueError:
        raise AuditInputError(f"not a program id: {value!r}") from None


# ---------------------------------------------------------------------------------------
# CLI (node wires `assetl2 verify-anchor` to these)
# ---------------------------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser.add_argument("--rpc", required=True, metavar="URL", help="Solana JSON-RPC URL to read the anchor from")
    parser.add_argument("--program-id", default=None,
                        help="anchor program id (default: the dev deployment's well-known id)")
    parser.add_argument("--proof", type=Path, default=None, metavar="FILE",
                        help="JSON {key, value|null, proof, height} (hex) from a node, checked against the chain")
    parser.add_argument("--from-index", type=int, default=1, help="first batch index to check (default 1)")
    parser.add_argument("--commitment", choices=("confirmed", "finalized"), default="confirmed",
                        help="read at this commitment (default %(default)s)")
    parser.add_argument("--json", action="store_true", help="print the report as one JSON object")
    return parser


def run_verify_anchor(args: argparse.Namespace) -> int:
    """0 = verified, 1 = a check failed, 2 = bad input, 3 = RPC unreachable or no anchor there."""
    try:
        claim = ProofClaim.load(args.proof) if args.proof else None
        program = _program_id(args.program_id)
    except AuditInputError as exc:
        print(f"verify-anchor: {exc}", file=sys.stderr)
        return 2
    commitment = Finalized if args.commitment == "finalized" else Confirmed
    try:
        report = asyncio.run(verify_anchor(args.rpc, program, proof=claim, from_index=args.from_index,
                                           commitment=commitment))
    except sc.RpcUnavailable as exc:
        print(f"verify-anchor: cannot read the anchor from {args.rpc}: {exc}; check --rpc and that the "
              f"Solana RPC is running (locally: `assetl2 solana-dev`)", file=sys.stderr)
        return 3
    except sc.AnchorClientError as exc:
        print(f"verify-anchor: {exc}", file=sys.stderr)
        return 3
    print(json.dumps(report.to_json(), sort_keys=True) if args.json else report.render())
    return 0 if report.ok else 1


def main(argv: list[str] | None = None) -> int:
    parser = add_arguments(argparse.ArgumentParser(prog="verify-anchor", description=__doc__.splitlines()[0]))
    return run_verify_anchor(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
