"""A local Solana JSON-RPC server over LiteSVM, for development, tests and compose (DESIGN §8).

`assetl2 solana-dev` runs it.  The anchor program is deployed at start through the upgradeable
loader (so `initialize` sees a real upgrade authority), and the server answers the methods
solana-py's `AsyncClient` needs, with the exact reply shapes of a validator: the replies are
built from solders' own response types, so field names (`context.slot`, `blockhash`,
`lastValidBlockHeight`, `rentEpoch`, `confirmationStatus`, ...) match what solders parses.
Production points the poster at a real RPC URL; nothing here is on that path.

What it models, because the poster must handle it (issue 7, part 3):
- slots advance on a timer (`slot_ms`); each slot has a new blockhash that stays valid for
  `BLOCKHASH_VALIDITY_BLOCKS` blocks, after which a transaction using it is refused
  (preflight) or silently dropped (`skipPreflight`), like a validator;
- a transaction is `processed` in its slot, `confirmed` one slot later and `finalized`
  `finality_depth` slots later;
- a failing transaction is refused by preflight (-32002 with logs and the program error), or
  with `skipPreflight` lands with `err` set in its signature status;
- `Faults` lets a test make methods fail, answer slowly or drop transactions.
Not modelled: forks (nothing processed is ever rolled back), leader forwarding, rate limits,
websockets; the status cache keeps every signature for the life of the process.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import json
import logging
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Awaitable, Callable

from aiohttp import web
from solders.account import Account
from solders.clock import Clock
from solders.hash import Hash
from solders.keypair import Keypair
from solders.litesvm import LiteSVM
from solders.message import Message
from solders.pubkey import Pubkey
from solders.rpc.responses import (
    GetBalanceResp,
    GetLatestBlockhashResp,
    GetSignatureStatusesResp,
    IsBlockhashValidResp,
    RpcBlockhash,
    RpcResponseContext,
    RpcSimulateTransactionResult,
    RpcVersionInfo,
    SimulateTransactionResp,
)
from solders.signature import Signature
from solders.transaction import VersionedTransaction
from solders.transaction_metadata import FailedTransactionMetadata, TransactionMetadata
from solders.transaction_status import (
    TransactionConfirmationStatus,
    TransactionErrorFieldless,
    TransactionErrorType,
    TransactionStatus,
)

from batchposter import program_abi as abi
from batchposter import svm_deploy

log = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8899
DEFAULT_SLOT_MS = 400
DEFAULT_FINALITY_DEPTH = 32
BLOCKHASH_VALIDITY_BLOCKS = 150  # MAX_PROCESSING_AGE of the Solana runtime
DEPLOYER_LAMPORTS = 1_000 * 1_000_000_000
DEV_AUTHORITY_SEED = hashlib.sha256(b"assetl2/dev/anchor-authority").digest()
SOLANA_CORE_VERSION = "2.3.0-litesvm"
DEV_GENESIS_HASH = Hash(hashlib.sha256(b"assetl2/dev/genesis").digest())

# JSON-RPC error codes of a Solana validator
JSONRPC_PARSE_ERROR = -32700
JSONRPC_INVALID_REQUEST = -32600
JSONRPC_METHOD_NOT_FOUND = -32601
JSONRPC_INVALID_PARAMS = -32602
RPC_SEND_TRANSACTION_PREFLIGHT_FAILURE = -32002
RPC_NODE_UNHEALTHY = -32005


def dev_authority_keypair() -> Keypair:
    """The upgrade authority of the dev deployment (a well-known key: development only)."""
    return Keypair.from_seed(DEV_AUTHORITY_SEED)


class RpcError(Exception):
    """A JSON-RPC error reply: code, message and optional data."""

    def __init__(self, code: int, message: str, data: Any = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data

    def to_json(self) -> dict[str, Any]:
        err: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.data is not None:
            err["data"] = self.data
        return err


@dataclass
class TxRecord:
    """What the ledger remembers of a landed transaction."""

    slot: int
    err: TransactionErrorType | None
    wire: bytes
    logs: list[str]
    compute_units: int
    fee: int
    block_time: int


@dataclass
class Faults:
    """Fault injection for poster tests: RPC errors, slow answers, dropped transactions."""

    fail_next: dict[str, int] = field(default_factory=dict)  # method -> calls to fail (-32005)
    delay_s: float = 0.0
    drop_transactions: int = 0  # accept, return the signature, never land

    def take_failure(self, method: str) -> bool:
        remaining = self.fail_next.get(method, 0) or self.fail_next.get("*", 0)
        if remaining <= 0:
            return False
        key = method if self.fail_next.get(method, 0) else "*"
        self.fail_next[key] = remaining - 1
        return True


class DevLedger:
    """LiteSVM plus what a validator adds around it: slots, blockhash ages, a status cache."""

    def __init__(
        self,
        program_elf: bytes | None = None,
        upgrade_authority: Keypair | None = None,
        program_keypair: Keypair | None = None,
        finality_depth: int = DEFAULT_FINALITY_DEPTH,
    ):
        self.svm = LiteSVM().with_blockhash_check(False)
        self.finality_depth = finality_depth
        self.deployer = Keypair()
        self.upgrade_authority = upgrade_authority or dev_authority_keypair()
        self.records: dict[Signature, TxRecord] = {}
        self.airdrop(self.deployer.pubkey(), DEPLOYER_LAMPORTS)
        self.airdrop(self.upgrade_authority.pubkey(), DEPLOYER_LAMPORTS)
        elf = program_elf if program_elf is not None else svm_deploy.program_elf()
        program_keypair = program_keypair or abi.dev_program_keypair()
        self.program_id = svm_deploy.deploy_upgradeable(
            self.svm, self.deployer, program_keypair, elf, authority=self.upgrade_authority
        )
        self.block_height = 0
        self.blockhashes: dict[Hash, int] = {}
        self._remember_blockhash()

    # -- time -------------------------------------------------------------------------

    @property
    def slot(self) -> int:
        return self.svm.get_clock().slot

    def _remember_blockhash(self) -> None:
        self.blockhashes[self.svm.latest_blockhash()] = self.block_height + BLOCKHASH_VALIDITY_BLOCKS

    def advance_slot(self) -> None:
        """One slot (and block) passes: new clock, new blockhash; old ones age out."""
        clock = self.svm.get_clock()
        self.svm.set_clock(
            Clock(clock.slot + 1, clock.epoch_start_timestamp, clock.epoch, clock.leader_schedule_epoch, int(time.time()))
        )
        self.svm.expire_blockhash()
        self.block_height += 1
        self._remember_blockhash()
        horizon = self.block_height
        self.blockhashes = {h: lv for h, lv in self.blockhashes.items() if lv >= horizon}

    def latest_blockhash(self) -> tuple[Hash, int]:
        blockhash = self.svm.latest_blockhash()
        return blockhash, self.blockhashes[blockhash]

    def blockhash_valid(self, blockhash: Hash) -> bool:
        last_valid = self.blockhashes.get(blockhash)
        return last_valid is not None and self.block_height <= last_valid

    # -- transactions -----------------------------------------------------------------

    def send(self, wire: bytes, skip_preflight: bool) -> Signature:
        """Process a wire transaction; raise RpcError like a validator's preflight would."""
        try:
            tx = VersionedTransaction.from_bytes(wire)
        except Exception as exc:  # solders raises its own ParseError types
            raise RpcError(JSONRPC_INVALID_PARAMS, f"failed to deserialize transaction: {exc}") from None
        signature = tx.signatures[0]
        if signature in self.records:
            return signature
        if not self.blockhash_valid(tx.message.recent_blockhash):
            if skip_preflight:
                return signature  # a validator drops it; it never lands
            raise self._preflight_error(TransactionErrorFieldless.BlockhashNotFound, [], 0, "Blockhash not found")
        if not skip_preflight:
            simulated = self.svm.simulate_transaction(tx)
            if isinstance(simulated, FailedTransactionMetadata):
                meta = simulated.meta()
                raise self._preflight_error(simulated.err(), meta.logs(), meta.compute_units_consumed(), str(simulated.err()))
        result = self.svm.send_transaction(tx)
        if isinstance(result, FailedTransactionMetadata):
            self._record(signature, result.err(), wire, result.meta())
        else:
            self._record(signature, None, wire, result)
        return signature

    def _record(self, signature: Signature, err, wire: bytes, meta: TransactionMetadata) -> None:
        self.records[signature] = TxRecord(
            self.slot, err, wire, list(meta.logs()), meta.compute_units_consumed(), meta.fee(), int(time.time())
        )

    def _preflight_error(self, err, logs: list[str], units: int, text: str) -> RpcError:
        sim = RpcSimulateTransactionResult(err, logs, None, units, None)
        return RpcError(
            RPC_SEND_TRANSACTION_PREFLIGHT_FAILURE, f"Transaction simulation failed: {text}", json.loads(sim.to_json())
        )

    def airdrop(self, pubkey: Pubkey, lamports: int) -> Signature:
        result = self.svm.airdrop(pubkey, lamports)
        if isinstance(result, FailedTransactionMetadata):
            raise RpcError(JSONRPC_INVALID_PARAMS, f"airdrop failed: {result.err()}")
        self._record(result.signature(), None, b"", result)
        return result.signature()

    def status(self, signature: Signature) -> TransactionStatus | None:
        record = self.records.get(signature)
        if record is None:
            return None
        age = self.slot - record.slot
        if age >= self.finality_depth:
            level, confirmations = TransactionConfirmationStatus.Finalized, None
        elif age >= 1:
            level, confirmations = TransactionConfirmationStatus.Confirmed, age
        else:
            level, confirmations = TransactionConfirmationStatus.Processed, 0
        return TransactionStatus(record.slot, confirmations, record.err, record.err, level)


# ---------------------------------------------------------------------------------------
# JSON-RPC methods
# ---------------------------------------------------------------------------------------

Handler = Callable[["DevRpc", list[Any]], Any]
METHODS: dict[str, Handler] = {}


def method(name: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        METHODS[name] = fn
        return fn

    return register


def _result(resp: Any) -> Any:
    """The `result` member of a solders response object, as JSON."""
    return json.loads(resp.to_json())["result"]


def _param(params: list[Any], index: int, default: Any = None) -> Any:
    return params[index] if len(params) > index and params[index] is not None else default


def _pubkey(value: Any) -> Pubkey:
    try:
        return Pubkey.from_string(value)
    except Exception:
        raise RpcError(JSONRPC_INVALID_PARAMS, f"Invalid param: {value!r} is not a pubkey") from None


def _encode_account(account: Account, encoding: str) -> dict[str, Any]:
    if encoding not in ("base64", "jsonParsed"):
        raise RpcError(JSONRPC_INVALID_PARAMS, f"unsupported encoding {encoding!r} (dev RPC: base64 only)")
    return {
        "lamports": account.lamports,
        "data": [base64.b64encode(bytes(account.data)).decode(), "base64"],
        "owner": str(account.owner),
        "executable": account.executable,
        "rentEpoch": account.rent_epoch,
        "space": len(account.data),
    }


@method("getHealth")
def _get_health(rpc: "DevRpc", params: list[Any]) -> Any:
    return "ok"


@method("getVersion")
def _get_version(rpc: "DevRpc", params: list[Any]) -> Any:
    return json.loads(RpcVersionInfo(SOLANA_CORE_VERSION, 0).to_json())


@method("getGenesisHash")
def _get_genesis_hash(rpc: "DevRpc", params: list[Any]) -> Any:
    return str(DEV_GENESIS_HASH)


@method("getSlot")
def _get_slot(rpc: "DevRpc", params: list[Any]) -> Any:
    return rpc.ledger.slot


@method("getBlockHeight")
def _get_block_height(rpc: "DevRpc", params: list[Any]) -> Any:
    return rpc.ledger.block_height


@method("getLatestBlockhash")
def _get_latest_blockhash(rpc: "DevRpc", params: list[Any]) -> Any:
    blockhash, last_valid = rpc.ledger.latest_blockhash()
    return _result(GetLatestBlockhashResp(RpcBlockhash(blockhash, last_valid), rpc.context()))


@method("isBlockhashValid")
def _is_blockhash_valid(rpc: "DevRpc", params: list[Any]) -> Any:
    try:
        blockhash = Hash.from_string(_param(params, 0, ""))
    except Exception:
        raise RpcError(JSONRPC_INVALID_PARAMS, "Invalid param: not a blockhash") from None
    return _result(IsBlockhashValidResp(rpc.ledger.blockhash_valid(blockhash), rpc.context()))


@method("getBalance")
def _get_balance(rpc: "DevRpc", params: list[Any]) -> Any:
    lamports = rpc.ledger.svm.get_balance(_pubkey(_param(params, 0))) or 0
    return _result(GetBalanceResp(lamports, rpc.context()))


@method("getMinimumBalanceForRentExemption")
def _get_minimum_balance(rpc: "DevRpc", params: list[Any]) -> Any:
    size = _param(params, 0)
    if not isinstance(size, int) or size < 0:
        raise RpcError(JSONRPC_INVALID_PARAMS, "Invalid param: data length must be a non-negative integer")
    return rpc.ledger.svm.minimum_balance_for_rent_exemption(size)


@method("getAccountInfo")
def _get_account_info(rpc: "DevRpc", params: list[Any]) -> Any:
    config = _param(params, 1, {})
    account = rpc.ledger.svm.get_account(_pubkey(_param(params, 0)))
    if account is not None and account.lamports == 0 and len(account.data) == 0:
        account = None  # a validator reports closed / never-funded accounts as null
    value = None if account is None else _encode_account(account, config.get("encoding") or "base64")
    return {"context": rpc.context_json(), "value": value}


@method("getMultipleAccounts")
def _get_multiple_accounts(rpc: "DevRpc", params: list[Any]) -> Any:
    config = _param(params, 1, {})
    values = []
    for key in _param(params, 0, []):
        account = rpc.ledger.svm.get_account(_pubkey(key))
        empty = account is None or (account.lamports == 0 and len(account.data) == 0)
        values.append(None if empty else _encode_account(account, config.get("encoding") or "base64"))
    return {"context": rpc.context_json(), "value": values}


def _matches(data: bytes, filters: list[dict[str, Any]]) -> bool:
    for flt in filters:
        if "dataSize" in flt:
            if len(data) != flt["dataSize"]:
                return False
        elif "memcmp" in flt:
            memcmp = flt["memcmp"]
            raw = memcmp["bytes"]
            wanted = base64.b64decode(raw) if memcmp.get("encoding") == "base64" else b58decode(raw)
            offset = memcmp.get("offset", 0)
            if data[offset : offset + len(wanted)] != wanted:
                return False
        else:
            raise RpcError(JSONRPC_INVALID_PARAMS, f"unsupported filter {flt!r}")
    return True


@method("getProgramAccounts")
def _get_program_accounts(rpc: "DevRpc", params: list[Any]) -> Any:
    config = _param(params, 1, {})
    encoding = config.get("encoding") or "base64"
    filters = config.get("filters") or []
    out = []
    for pubkey, account in rpc.ledger.svm.get_program_accounts(_pubkey(_param(params, 0))):
        if _matches(bytes(account.data), filters):
            out.append({"pubkey": str(pubkey), "account": _encode_account(account, encoding)})
    if config.get("withContext"):
        return {"context": rpc.context_json(), "value": out}
    return out


@method("sendTransaction")
def _send_transaction(rpc: "DevRpc", params: list[Any]) -> Any:
    config = _param(params, 1, {})
    encoded = _param(params, 0)
    if not isinstance(encoded, str):
        raise RpcError(JSONRPC_INVALID_PARAMS, "Invalid params: transaction must be a string")
    encoding = config.get("encoding") or "base58"
    wire = base64.b64decode(encoded) if encoding == "base64" else b58decode(encoded)
    if rpc.faults.drop_transactions > 0:
        rpc.faults.drop_transactions -= 1
        return str(VersionedTransaction.from_bytes(wire).signatures[0])
    return str(rpc.ledger.send(wire, bool(config.get("skipPreflight", False))))


@method("simulateTransaction")
def _simulate_transaction(rpc: "DevRpc", params: list[Any]) -> Any:
    config = _param(params, 1, {})
    encoded = _param(params, 0, "")
    wire = base64.b64decode(encoded) if (config.get("encoding") or "base58") == "base64" else b58decode(encoded)
    tx = VersionedTransaction.from_bytes(wire)
    result = rpc.ledger.svm.simulate_transaction(tx)
    if isinstance(result, FailedTransactionMetadata):
        meta, err = result.meta(), result.err()
    else:
        meta, err = result.meta(), None
    sim = RpcSimulateTransactionResult(err, list(meta.logs()), None, meta.compute_units_consumed(), None)
    return _result(SimulateTransactionResp(sim, rpc.context()))


@method("getSignatureStatuses")
def _get_signature_statuses(rpc: "DevRpc", params: list[Any]) -> Any:
    statuses = []
    for raw in _param(params, 0, []):
        try:
            statuses.append(rpc.ledger.status(Signature.from_string(raw)))
        except ValueError:
            raise RpcError(JSONRPC_INVALID_PARAMS, f"Invalid param: {raw!r} is not a signature") from None
    return _result(GetSignatureStatusesResp(statuses, rpc.context()))


@method("getTransaction")
def _get_transaction(rpc: "DevRpc", params: list[Any]) -> Any:
    config = _param(params, 1, {})
    if isinstance(config, str):
        config = {"encoding": config}
    encoding = config.get("encoding") or "json"
    if encoding not in ("json", "base64"):
        raise RpcError(JSONRPC_INVALID_PARAMS, "dev RPC: getTransaction supports encodings json and base64")
    record = rpc.ledger.records.get(Signature.from_string(_param(params, 0)))
    if record is None or not record.wire:
        return None
    err = None if record.err is None else json.loads(TransactionStatus(0, None, None, record.err).to_json())["err"]
    tx = VersionedTransaction.from_bytes(record.wire)
    return {
        "slot": record.slot,
        "blockTime": record.block_time,
        "transaction": (
            [base64.b64encode(record.wire).decode(), "base64"] if encoding == "base64" else _ui_transaction(tx)
        ),
        "meta": {
            "err": err,
            "status": {"Ok": None} if err is None else {"Err": err},
            "fee": record.fee,
            "preBalances": [],
            "postBalances": [],
            "innerInstructions": [],
            "logMessages": record.logs,
            "preTokenBalances": [],
            "postTokenBalances": [],
            "rewards": [],
            "computeUnitsConsumed": record.compute_units,
        },
        "version": "legacy" if isinstance(tx.message, Message) else 0,
    }


def _ui_transaction(tx: VersionedTransaction) -> dict[str, Any]:
    """The `json` encoding of a transaction (legacy messages; v0 lookups are not used here)."""
    msg = tx.message
    header = msg.header
    return {
        "signatures": [str(sig) for sig in tx.signatures],
        "message": {
            "accountKeys": [str(key) for key in msg.account_keys],
            "header": {
                "numRequiredSignatures": header.num_required_signatures,
                "numReadonlySignedAccounts": header.num_readonly_signed_accounts,
                "numReadonlyUnsignedAccounts": header.num_readonly_unsigned_accounts,
            },
            "recentBlockhash": str(msg.recent_blockhash),
            "instructions": [
                {
                    "programIdIndex": ix.program_id_index,
                    "accounts": list(ix.accounts),
                    "data": b58encode(bytes(ix.data)),
                    "stackHeight": None,
                }
                for ix in msg.instructions
            ],
        },
    }


@method("requestAirdrop")
def _request_airdrop(rpc: "DevRpc", params: list[Any]) -> Any:
    lamports = _param(params, 1)
    if not isinstance(lamports, int) or lamports <= 0:
        raise RpcError(JSONRPC_INVALID_PARAMS, "Invalid param: lamports must be a positive integer")
    return str(rpc.ledger.airdrop(_pubkey(_param(params, 0)), lamports))


@method("getRecentPrioritizationFees")
def _get_recent_prioritization_fees(rpc: "DevRpc", params: list[Any]) -> Any:
    return [{"slot": rpc.ledger.slot, "prioritizationFee": 0}]


# ---------------------------------------------------------------------------------------
# server
# ---------------------------------------------------------------------------------------


class DevRpc:
    """The HTTP face of a DevLedger; can stop and restart (an RPC outage) over the same ledger."""

    def __init__(self, ledger: DevLedger, slot_ms: int = DEFAULT_SLOT_MS):
        self.ledger = ledger
        self.slot_ms = slot_ms
        self.faults = Faults()
        self._runner: web.AppRunner | None = None
        self._ticker: asyncio.Task | None = None
        self.host = DEFAULT_HOST
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def context(self) -> RpcResponseContext:
        return RpcResponseContext(self.ledger.slot)

    def context_json(self) -> dict[str, Any]:
        return {"slot": self.ledger.slot}

    async def start(self, host: str = DEFAULT_HOST, port: int = 0) -> "DevRpc":
        """Listen on host:port (0 = ephemeral; the bound port is in `self.port`) and start the slot clock."""
        app = web.Application(client_max_size=2**20)
        app.router.add_post("/", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        self.host = host
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        if self.slot_ms > 0 and self._ticker is None:
            self._ticker = asyncio.create_task(self._tick())
        return self

    async def stop(self, keep_clock: bool = False) -> None:
        """Stop answering (the ledger survives); `keep_clock` keeps slots advancing meanwhile."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._ticker is not None and not keep_clock:
            self._ticker.cancel()
            try:
                await self._ticker
            except asyncio.CancelledError:
                pass
            self._ticker = None

    async def __aenter__(self) -> "DevRpc":
        if self._runner is None:
            await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(self.slot_ms / 1000)
            self.ledger.advance_slot()

    async def _handle(self, request: web.Request) -> web.Response:
        try:
            body = json.loads(await request.read())
        except ValueError:
            return web.json_response({"jsonrpc": "2.0", "error": {"code": JSONRPC_PARSE_ERROR, "message": "Parse error"}, "id": None})
        if isinstance(body, list):
            replies = [await self._call(item) for item in body]
            return web.json_response(replies)
        return web.json_response(await self._call(body))

    async def _call(self, req: Any) -> dict[str, Any]:
        req_id = req.get("id") if isinstance(req, dict) else None
        try:
            if not isinstance(req, dict) or not isinstance(req.get("method"), str):
                raise RpcError(JSONRPC_INVALID_REQUEST, "Invalid request")
            name = req["method"]
            handler = METHODS.get(name)
            if handler is None:
                raise RpcError(JSONRPC_METHOD_NOT_FOUND, "Method not found")
            if self.faults.delay_s:
                await asyncio.sleep(self.faults.delay_s)
            if self.faults.take_failure(name):
                raise RpcError(RPC_NODE_UNHEALTHY, "Node is unhealthy (injected fault)", {"numSlotsBehind": None})
            params = req.get("params") or []
            if not isinstance(params, list):
                raise RpcError(JSONRPC_INVALID_PARAMS, "Invalid params: expected an array")
            return {"jsonrpc": "2.0", "result": handler(self, params), "id": req_id}
        except RpcError as exc:
            return {"jsonrpc": "2.0", "error": exc.to_json(), "id": req_id}


# ---------------------------------------------------------------------------------------
# base58 (only for the optional base58 encodings of sendTransaction / memcmp filters)
# ---------------------------------------------------------------------------------------

_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def b58encode(data: bytes) -> str:
    num = int.from_bytes(data, "big")
    out = ""
    while num:
        num, rem = divmod(num, 58)
        out = _B58[rem] + out
    return "1" * (len(data) - len(data.lstrip(b"\0"))) + out


def b58decode(text: str) -> bytes:
    try:
        num = 0
        for char in text:
            num = num * 58 + _B58.index(char)
    except ValueError:
        raise RpcError(JSONRPC_INVALID_PARAMS, "Invalid param: not base58") from None
    body = num.to_bytes((num.bit_length() + 7) // 8, "big") if num else b""
    return b"\0" * (len(text) - len(text.lstrip("1"))) + body


# ---------------------------------------------------------------------------------------
# setup and entry points
# ---------------------------------------------------------------------------------------


@dataclass
class DevSetup:
    """What `solana-dev` puts on chain at start, so a dev node can post straight away."""

    poster: Pubkey | None = None
    authority: Pubkey | None = None
    genesis_state_root: bytes = bytes(32)
    programs: list[tuple[bytes, bytes, bytes]] = field(default_factory=list)  # code, proof, config hashes
    airdrops: dict[Pubkey, int] = field(default_factory=dict)


def apply_setup(ledger: DevLedger, setup: DevSetup) -> None:
    """Fund wallets; initialize the anchor (when a poster is given) and register program pairs."""
    for pubkey, lamports in setup.airdrops.items():
        ledger.airdrop(pubkey, lamports)
    if setup.poster is None:
        return
    authority = ledger.upgrade_authority
    instructions = [
        abi.initialize_ix(
            ledger.program_id,
            authority.pubkey(),
            setup.authority or authority.pubkey(),
            setup.poster,
            setup.genesis_state_root,
        )
    ]
    if setup.authority not in (None, authority.pubkey()) and setup.programs:
        raise ValueError("registering programs at start needs the dev authority as config authority")
    instructions += [
        abi.register_program_ix(ledger.program_id, authority.pubkey(), code, proof, config)
        for code, proof, config in setup.programs
    ]
    for ix in instructions:
        svm_deploy.send(ledger.svm, authority, [ix])


async def serve(
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    *,
    program_elf: bytes | None = None,
    slot_ms: int = DEFAULT_SLOT_MS,
    finality_depth: int = DEFAULT_FINALITY_DEPTH,
    upgrade_authority: Keypair | None = None,
    setup: DevSetup | None = None,
    ready: Callable[[DevRpc], Awaitable[None] | None] | None = None,
    stop: asyncio.Event | None = None,
) -> None:
    """Deploy the program into a fresh LiteSVM and answer JSON-RPC until `stop` is set."""
    ledger = DevLedger(program_elf, upgrade_authority, finality_depth=finality_depth)
    apply_setup(ledger, setup or DevSetup())
    rpc = await DevRpc(ledger, slot_ms).start(host, port)
    try:
        if ready is not None:
            maybe = ready(rpc)
            if asyncio.iscoroutine(maybe):
                await maybe
        await (stop or asyncio.Event()).wait()
    finally:
        await rpc.stop()


def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The `assetl2 solana-dev` options (node's CLI adds them to its subcommand)."""
    parser.add_argument("--host", default=DEFAULT_HOST, help="listen address (default %(default)s)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="listen port, 0 = any (default %(default)s)")
    parser.add_argument("--slot-ms", type=int, default=DEFAULT_SLOT_MS, help="slot time in ms (default %(default)s)")
    parser.add_argument("--finality-depth", type=int, default=DEFAULT_FINALITY_DEPTH,
                        help="slots until a transaction is finalized (default %(default)s)")
    parser.add_argument("--program-so", type=Path, default=None,
                        help="the anchor program ELF (default: $ASSETL2_ANCHOR_SO or deploy/program/build/, built if missing)")
    parser.add_argument("--upgrade-authority", type=Path, default=None,
                        help="keypair file (Solana JSON) of the upgrade authority (default: the well-known dev key)")
    parser.add_argument("--poster", default=None, help="initialize the anchor with this poster pubkey")
    parser.add_argument("--authority", default=None, help="config authority pubkey (default: the upgrade authority)")
    parser.add_argument("--genesis-root", default="00" * 32, help="genesis state root, hex (default zeros)")
    parser.add_argument("--register", action="append", default=[], metavar="CODE:PROOF:CONFIG",
                        help="register a program pair (three hex hashes); repeatable")
    parser.add_argument("--airdrop", action="append", default=[], metavar="PUBKEY=SOL",
                        help="fund a wallet at start; repeatable")
    return parser


def _load_keypair(path: Path) -> Keypair:
    return Keypair.from_bytes(bytes(json.loads(path.read_text())))


def setup_from_args(args: argparse.Namespace) -> DevSetup:
    def hash32(text: str) -> bytes:
        raw = bytes.fromhex(text)
        if len(raw) != 32:
            raise ValueError(f"expected 32 bytes of hex, got {text!r}")
        return raw

    airdrops = {}
    for item in args.airdrop:
        key, _, sol = item.partition("=")
        airdrops[Pubkey.from_string(key)] = int(float(sol or "1") * 1_000_000_000)
    programs = []
    for item in args.register:
        parts = item.split(":")
        if len(parts) != 3:
            raise ValueError(f"--register wants CODE:PROOF:CONFIG, got {item!r}")
        programs.append(tuple(hash32(p) for p in parts))
    return DevSetup(
        poster=Pubkey.from_string(args.poster) if args.poster else None,
        authority=Pubkey.from_string(args.authority) if args.authority else None,
        genesis_state_root=hash32(args.genesis_root),
        programs=programs,  # type: ignore[arg-type]
        airdrops=airdrops,
    )


def run_solana_dev(args: argparse.Namespace) -> int:
    """Run the dev RPC until SIGINT/SIGTERM; print one ready line with URL and program id."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        setup = setup_from_args(args)
        elf = svm_deploy.program_elf(args.program_so) if args.program_so else None
        authority = _load_keypair(args.upgrade_authority) if args.upgrade_authority else None
    except (ValueError, OSError) as exc:
        print(f"solana-dev: {exc}", flush=True)
        return 2

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)

        def ready(rpc: DevRpc) -> None:
            print(f"solana-dev: listening on {rpc.url} program={rpc.ledger.program_id}", flush=True)

        await serve(
            args.host,
            args.port,
            program_elf=elf,
            slot_ms=args.slot_ms,
            finality_depth=args.finality_depth,
            upgrade_authority=authority,
            setup=setup,
            ready=ready,
            stop=stop,
        )

    try:
        asyncio.run(main())
    except OSError as exc:
        print(f"solana-dev: cannot listen on {args.host}:{args.port}: {exc}", flush=True)
        return 1
    print("solana-dev: stopped", flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = add_arguments(argparse.ArgumentParser(prog="solana-dev", description=__doc__.splitlines()[0]))
    return run_solana_dev(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
