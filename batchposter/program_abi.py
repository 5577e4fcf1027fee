"""The client side of the anchor program's Anchor-compatible interface (DESIGN §8).

One module says, for Python, what `deploy/program/src/assetl2_anchor.c` implements:
discriminators derived the way Anchor derives them (``sha256("global:<ix>")[:8]`` and
``sha256("account:<Name>")[:8]``), Borsh-encoded arguments, the account layouts, the PDA
seeds, and the error table.  The committed IDL (`deploy/program/idl/assetl2_anchor.json`) is
generated from this module (`build_idl`), and the tests check the C constants against it,
so the three cannot drift apart.
"""

from __future__ import annotations

import base64
import enum
import hashlib
import json
import struct
from dataclasses import dataclass
from typing import Any, ClassVar

from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.system_program import ID as SYSTEM_PROGRAM_ID

PROGRAM_NAME = "assetl2_anchor"
PROGRAM_VERSION = "0.1.0"
UPGRADEABLE_LOADER_ID = Pubkey.from_string("BPFLoaderUpgradeab1e11111111111111111111111")
# The program id of the local development deployment (`assetl2 solana-dev`): a fixed,
# well-known key, so a dev node config can name it.  Production passes its own id.
DEV_PROGRAM_KEYPAIR_SEED = hashlib.sha256(b"assetl2/dev/anchor-program").digest()



def dev_program_keypair() -> Keypair:
    """The keypair of the dev deployment's program id (public on purpose: dev only)."""
    return Keypair.from_seed(DEV_PROGRAM_KEYPAIR_SEED)


DISCRIMINATOR_LEN = 8
U64_MAX = (1 << 64) - 1
HASH_LEN = 32
CONFIG_SEED = b"config"
PROGRAM_SEED = b"program"
BATCH_SEED = b"batch"


def instruction_discriminator(name: str) -> bytes:
    """Anchor's instruction discriminator: the first 8 bytes of sha256("global:<snake_name>")."""
    return hashlib.sha256(f"global:{name}".encode()).digest()[:DISCRIMINATOR_LEN]


def account_discriminator(name: str) -> bytes:
    """Anchor's account discriminator: the first 8 bytes of sha256("account:<CamelName>")."""
    return hashlib.sha256(f"account:{name}".encode()).digest()[:DISCRIMINATOR_LEN]


def event_discriminator(name: str) -> bytes:
    """Anchor's event discriminator: the first 8 bytes of sha256("event:<CamelName>")."""
    return hashlib.sha256(f"event:{name}".encode()).digest()[:DISCRIMINATOR_LEN]


EVENT_BATCH_POSTED = "BatchPosted"
PROGRAM_DATA_LOG_PREFIX = "Program data: "

IX_INITIALIZE = "initialize"
IX_REGISTER_PROGRAM = "register_program"
IX_POST_BATCH = "post_batch"
IX_SET_AUTHORITY = "set_authority"
IX_SET_POSTER = "set_poster"
IX_CLOSE_BATCH = "close_batch"
INSTRUCTIONS = (IX_INITIALIZE, IX_REGISTER_PROGRAM, IX_POST_BATCH, IX_SET_AUTHORITY, IX_SET_POSTER, IX_CLOSE_BATCH)


class ErrorCode(enum.IntEnum):
    """Every rejection of the program, with the number it fails the transaction with.

    Below 6000 are Anchor's own framework numbers (so an Anchor client decodes them without
    our IDL); from 6000 each rule of the anchor has its own code.  `BATCH_ALREADY_POSTED` is
    the one a poster treats as "done" after a crash (DESIGN §8: a re-post is a no-op).
    """

    INSTRUCTION_MISSING = 100
    INSTRUCTION_FALLBACK_NOT_FOUND = 101
    INSTRUCTION_DID_NOT_DESERIALIZE = 102
    CONSTRAINT_MUT = 2000
    CONSTRAINT_SIGNER = 2002
    CONSTRAINT_CLOSE = 2011
    CONSTRAINT_SEEDS = 2006
    ACCOUNT_DISCRIMINATOR_MISMATCH = 3002
    ACCOUNT_NOT_ENOUGH_KEYS = 3005
    ACCOUNT_OWNED_BY_WRONG_PROGRAM = 3007
    INVALID_PROGRAM_ID = 3008
    ACCOUNT_NOT_INITIALIZED = 3012
    ACCOUNT_NOT_PROGRAM_DATA = 3013

    NOT_UPGRADE_AUTHORITY = 6000
    ALREADY_INITIALIZED = 6001
    UNAUTHORIZED_AUTHORITY = 6002
    UNAUTHORIZED_POSTER = 6003
    PROGRAM_ALREADY_REGISTERED = 6004
    PROGRAM_NOT_REGISTERED = 6005
    REGISTRY_MISMATCH = 6006
    BATCH_ALREADY_POSTED = 6007
    BATCH_INDEX_GAP = 6008
    PREV_STATE_ROOT_MISMATCH = 6009
    INVALID_HEIGHT_RANGE = 6010
    HEIGHT_GAP = 6011
    TX_LOG_SHRUNK = 6012
    TX_LOG_ROOT_CHANGED = 6013
    INVALID_KEY = 6014
    RENT_OVERFLOW = 6015
    BATCH_IS_TIP = 6016


ANCHOR_USER_ERROR_OFFSET = 6000
ERROR_MESSAGES: dict[ErrorCode, str] = {
    ErrorCode.NOT_UPGRADE_AUTHORITY: "Only the program's upgrade authority may initialize",
    ErrorCode.ALREADY_INITIALIZED: "The config account already exists",
    ErrorCode.UNAUTHORIZED_AUTHORITY: "Signer is not the configured authority",
    ErrorCode.UNAUTHORIZED_POSTER: "Signer is not the configured poster",
    ErrorCode.PROGRAM_ALREADY_REGISTERED: "This (code hash, proof hash) pair is already registered",
    ErrorCode.PROGRAM_NOT_REGISTERED: "The batch names an unregistered (code hash, proof hash) pair",
    ErrorCode.REGISTRY_MISMATCH: "The registry account holds a different (code hash, proof hash) pair",
    ErrorCode.BATCH_ALREADY_POSTED: "A batch with this index is already anchored",
    ErrorCode.BATCH_INDEX_GAP: "batch_index must be the last anchored index + 1",
    ErrorCode.PREV_STATE_ROOT_MISMATCH: "prev_state_root differs from the last anchored state root",
    ErrorCode.INVALID_HEIGHT_RANGE: "last_height is below first_height - 1",
    ErrorCode.HEIGHT_GAP: "first_height must follow the last anchored height",
    ErrorCode.TX_LOG_SHRUNK: "tx_log_size is smaller than the anchored log size",
    ErrorCode.TX_LOG_ROOT_CHANGED: "Same tx_log_size as anchored but a different tx_log_root",
    ErrorCode.INVALID_KEY: "The default (all-zero) key cannot be an authority or poster",
    ErrorCode.RENT_OVERFLOW: "The rent sysvar gives a minimum balance out of range",
    ErrorCode.BATCH_IS_TIP: "Only batches older than the last anchored one can be closed",
}


def error_code_of(err: Any) -> ErrorCode | int | None:
    """The program's custom code inside a solders transaction error, or None.

    Accepts what LiteSVM returns (`FailedTransactionMetadata.err()`) and what an RPC
    `getSignatureStatuses` reply carries (`status.err`), which are the same solders types.
    Unknown numbers come back as plain ints so a caller can still alarm on them.
    """
    inner = getattr(err, "err", None)
    code = getattr(inner, "code", None)
    if code is None:
        return None
    try:
        return ErrorCode(code)
    except ValueError:
        return int(code)


# ---------------------------------------------------------------------------------------
# PDAs
# ---------------------------------------------------------------------------------------


def config_address(program_id: Pubkey) -> tuple[Pubkey, int]:
    """The singleton Config PDA: seeds ["config"]."""
    return Pubkey.find_program_address([CONFIG_SEED], program_id)


def registered_program_address(program_id: Pubkey, code_hash: bytes, proof_hash: bytes) -> tuple[Pubkey, int]:
    """The RegisteredProgram PDA of one manifest pair (DESIGN §6): seeds ["program", code_hash, proof_hash]."""
    return Pubkey.find_program_address([PROGRAM_SEED, _hash32(code_hash), _hash32(proof_hash)], program_id)


def batch_seed(batch_index: int) -> str:
    """The create-with-seed seed of a batch: "batch" + the index as 16 lowercase hex digits."""
    if not 0 <= batch_index <= U64_MAX:
        raise ValueError(f"batch index out of u64 range: {batch_index}")
    return f"{BATCH_SEED.decode()}{batch_index:016x}"


def batch_address(program_id: Pubkey, batch_index: int) -> Pubkey:
    """The Batch account of one index: create_with_seed(Config PDA, batch_seed(index), program).

    Not a PDA on purpose: sha256(base || seed || owner) costs the program one cheap syscall,
    where a PDA bump search costs 1500 CU per try with no upper bound (README, "Accounts").
    """
    return Pubkey.create_with_seed(config_address(program_id)[0], batch_seed(batch_index), program_id)


def program_data_address(program_id: Pubkey) -> Pubkey:
    """The upgradeable loader's ProgramData account of the program (read by `initialize`)."""
    return Pubkey.find_program_address([bytes(program_id)], UPGRADEABLE_LOADER_ID)[0]


def _hash32(value: bytes) -> bytes:
    if len(value) != HASH_LEN:
        raise ValueError(f"expected a 32-byte hash, got {len(value)} bytes")
    return bytes(value)


# ---------------------------------------------------------------------------------------
# Instructions
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BatchHeader:
    """The arguments of `post_batch`: what one batch anchors on Solana (DESIGN §8).

    Heights are inclusive; an empty range (``last_height == first_height - 1``) is a
    heartbeat.  The log size and root come from the append-only transaction log.
    """

    batch_index: int
    first_height: int
    last_height: int
    prev_state_root: bytes
    state_root: bytes
    tx_log_size: int
    tx_log_root: bytes
    code_hash: bytes
    proof_hash: bytes

    BORSH: ClassVar[struct.Struct] = struct.Struct("<QQQ32s32sQ32s32s32s")

    def encode(self) -> bytes:
        for name in ("prev_state_root", "state_root", "tx_log_root", "code_hash", "proof_hash"):
            _hash32(getattr(self, name))
        return self.BORSH.pack(
            self.batch_index,
            self.first_height,
            self.last_height,
            self.prev_state_root,
            self.state_root,
            self.tx_log_size,
            self.tx_log_root,
            self.code_hash,
            self.proof_hash,
        )


def initialize_ix(
    program_id: Pubkey, payer: Pubkey, authority: Pubkey, poster: Pubkey, genesis_state_root: bytes
) -> Instruction:
    """`initialize(authority, poster, genesis_state_root)`; payer must be the upgrade authority."""
    data = instruction_discriminator(IX_INITIALIZE) + bytes(authority) + bytes(poster) + _hash32(genesis_state_root)
    accounts = [
        AccountMeta(config_address(program_id)[0], is_signer=False, is_writable=True),
        AccountMeta(payer, is_signer=True, is_writable=True),
        AccountMeta(program_data_address(program_id), is_signer=False, is_writable=False),
        AccountMeta(SYSTEM_PROGRAM_ID, is_signer=False, is_writable=False),
    ]
    return Instruction(program_id, data, accounts)


def register_program_ix(
    program_id: Pubkey, authority: Pubkey, code_hash: bytes, proof_hash: bytes, config_hash: bytes
) -> Instruction:
    """`register_program(code_hash, proof_hash, config_hash)`; the authority signs and pays."""
    data = (
        instruction_discriminator(IX_REGISTER_PROGRAM) + _hash32(code_hash) + _hash32(proof_hash) + _hash32(config_hash)
    )
    accounts = [
        AccountMeta(config_address(program_id)[0], is_signer=False, is_writable=False),
        AccountMeta(registered_program_address(program_id, code_hash, proof_hash)[0], is_signer=False, is_writable=True),
        AccountMeta(authority, is_signer=True, is_writable=True),
        AccountMeta(SYSTEM_PROGRAM_ID, is_signer=False, is_writable=False),
    ]
    return Instruction(program_id, data, accounts)


def post_batch_ix(program_id: Pubkey, poster: Pubkey, header: BatchHeader) -> Instruction:
    """`post_batch(...)`; the poster signs and pays the batch account's rent."""
    data = instruction_discriminator(IX_POST_BATCH) + header.encode()
    accounts = [
        AccountMeta(config_address(program_id)[0], is_signer=False, is_writable=True),
        AccountMeta(batch_address(program_id, header.batch_index), is_signer=False, is_writable=True),
        AccountMeta(
            registered_program_address(program_id, header.code_hash, header.proof_hash)[0],
            is_signer=False,
            is_writable=False,
        ),
        AccountMeta(poster, is_signer=True, is_writable=True),
        AccountMeta(SYSTEM_PROGRAM_ID, is_signer=False, is_writable=False),
    ]
    return Instruction(program_id, data, accounts)


def _rotate_ix(name: str, program_id: Pubkey, authority: Pubkey, new_key: Pubkey) -> Instruction:
    accounts = [
        AccountMeta(config_address(program_id)[0], is_signer=False, is_writable=True),
        AccountMeta(authority, is_signer=True, is_writable=False),
    ]
    return Instruction(program_id, instruction_discriminator(name) + bytes(new_key), accounts)


def set_authority_ix(program_id: Pubkey, authority: Pubkey, new_authority: Pubkey) -> Instruction:
    """`set_authority(new_authority)`: rotate the key that registers programs and rotates keys."""
    return _rotate_ix(IX_SET_AUTHORITY, program_id, authority, new_authority)


def set_poster_ix(program_id: Pubkey, authority: Pubkey, new_poster: Pubkey) -> Instruction:
    """`set_poster(new_poster)`: rotate the key allowed to post batches (committee rotation later)."""
    return _rotate_ix(IX_SET_POSTER, program_id, authority, new_poster)


def close_batch_ix(program_id: Pubkey, authority: Pubkey, batch_index: int, recipient: Pubkey) -> Instruction:
    """`close_batch(batch_index)`: return an old batch account's rent to `recipient` (authority only)."""
    accounts = [
        AccountMeta(config_address(program_id)[0], is_signer=False, is_writable=False),
        AccountMeta(batch_address(program_id, batch_index), is_signer=False, is_writable=True),
        AccountMeta(authority, is_signer=True, is_writable=False),
        AccountMeta(recipient, is_signer=False, is_writable=True),
    ]
    return Instruction(program_id, instruction_discriminator(IX_CLOSE_BATCH) + struct.pack("<Q", batch_index), accounts)


# ---------------------------------------------------------------------------------------
# Accounts
# ---------------------------------------------------------------------------------------


class AccountDecodeError(ValueError):
    """The bytes are not the expected account (wrong length or discriminator)."""


def _check_disc(name: str, data: bytes, size: int) -> None:
    if len(data) < size:
        raise AccountDecodeError(f"{name}: {len(data)} bytes, expected {size}")
    if bytes(data[:DISCRIMINATOR_LEN]) != account_discriminator(name):
        raise AccountDecodeError(f"{name}: discriminator mismatch")


@dataclass(frozen=True)
class ConfigAccount:
    """The singleton Config: keys, and the tip of the anchored chain of batches."""

    authority: Pubkey
    poster: Pubkey
    last_batch_index: int
    last_height: int
    tx_log_size: int
    last_state_root: bytes
    tx_log_root: bytes
    bump: int

    NAME: ClassVar[str] = "Config"
    LAYOUT: ClassVar[struct.Struct] = struct.Struct("<8s32s32sQQQ32s32sB")
    SIZE: ClassVar[int] = LAYOUT.size

    @classmethod
    def decode(cls, data: bytes) -> "ConfigAccount":
        _check_disc(cls.NAME, data, cls.SIZE)
        _, authority, poster, last_index, last_height, log_size, root, log_root, bump = cls.LAYOUT.unpack_from(data)
        return cls(Pubkey(authority), Pubkey(poster), last_index, last_height, log_size, root, log_root, bump)


@dataclass(frozen=True)
class RegisteredProgramAccount:
    """One registered manifest pair (DESIGN §6) with its config fingerprint."""

    code_hash: bytes
    proof_hash: bytes
    config_hash: bytes
    registered_slot: int
    bump: int

    NAME: ClassVar[str] = "RegisteredProgram"
    LAYOUT: ClassVar[struct.Struct] = struct.Struct("<8s32s32s32sQB")
    SIZE: ClassVar[int] = LAYOUT.size

    @classmethod
    def decode(cls, data: bytes) -> "RegisteredProgramAccount":
        _check_disc(cls.NAME, data, cls.SIZE)
        _, code, proof, config, slot, bump = cls.LAYOUT.unpack_from(data)
        return cls(code, proof, config, slot, bump)


@dataclass(frozen=True)
class BatchAccount:
    """One anchored batch, as an auditor reads it back (DESIGN §8)."""

    batch_index: int
    first_height: int
    last_height: int
    tx_log_size: int
    slot: int
    unix_timestamp: int
    prev_state_root: bytes
    state_root: bytes
    tx_log_root: bytes
    code_hash: bytes
    proof_hash: bytes
    poster: Pubkey

    NAME: ClassVar[str] = "Batch"
    LAYOUT: ClassVar[struct.Struct] = struct.Struct("<8sQQQQQq32s32s32s32s32s32s")
    SIZE: ClassVar[int] = LAYOUT.size

    @classmethod
    def decode(cls, data: bytes) -> "BatchAccount":
        _check_disc(cls.NAME, data, cls.SIZE)
        fields = cls.LAYOUT.unpack_from(data)[1:]
        values = list(fields)
        values[11] = Pubkey(values[11])
        return cls(*values)

    def header(self) -> BatchHeader:
        """The `post_batch` arguments this account was created from."""
        return BatchHeader(
            self.batch_index,
            self.first_height,
            self.last_height,
            self.prev_state_root,
            self.state_root,
            self.tx_log_size,
            self.tx_log_root,
            self.code_hash,
            self.proof_hash,
        )


def predict_post_batch_error(config: ConfigAccount, header: BatchHeader) -> ErrorCode | None:
    """The sequencing rule `post_batch` would break, checked in the program's order, or None.

    The same rules as `check_batch_sequence` in the C source (DESIGN §8), so a poster can
    refuse to spend on a doomed transaction and tests can cross-check the program against it.
    """
    if header.batch_index <= config.last_batch_index:
        return ErrorCode.BATCH_ALREADY_POSTED
    if header.batch_index != config.last_batch_index + 1:
        return ErrorCode.BATCH_INDEX_GAP
    if header.prev_state_root != config.last_state_root:
        return ErrorCode.PREV_STATE_ROOT_MISMATCH
    if header.first_height > header.last_height + 1:
        return ErrorCode.INVALID_HEIGHT_RANGE
    if config.last_batch_index != 0 and header.first_height != (config.last_height + 1) & U64_MAX:
        return ErrorCode.HEIGHT_GAP
    if header.tx_log_size < config.tx_log_size:
        return ErrorCode.TX_LOG_SHRUNK
    if (
        header.tx_log_size == config.tx_log_size
        and config.last_batch_index != 0
        and header.tx_log_root != config.tx_log_root
    ):
        return ErrorCode.TX_LOG_ROOT_CHANGED
    return None


def batch_posted_events(logs: list[str]) -> list[BatchAccount]:
    """The `BatchPosted` events in a transaction's logs (Anchor `emit!` format).

    The event carries the Batch account's fields, so an auditor following transactions
    (getTransaction / logsSubscribe) sees each anchored batch without reading accounts.
    """
    events = []
    disc = event_discriminator(EVENT_BATCH_POSTED)
    for line in logs:
        if not line.startswith(PROGRAM_DATA_LOG_PREFIX):
            continue
        try:
            payload = base64.b64decode(line[len(PROGRAM_DATA_LOG_PREFIX) :].split()[0], validate=True)
        except ValueError:
            continue
        if payload[:DISCRIMINATOR_LEN] == disc and len(payload) == BatchAccount.SIZE:
            events.append(BatchAccount.decode(account_discriminator(BatchAccount.NAME) + payload[DISCRIMINATOR_LEN:]))
    return events


# ---------------------------------------------------------------------------------------
# IDL
# ---------------------------------------------------------------------------------------

_HASH_TYPE = {"array": ["u8", HASH_LEN]}
_ACCOUNT_FIELDS: dict[str, list[tuple[str, Any]]] = {
    "Config": [
        ("authority", "pubkey"),
        ("poster", "pubkey"),
        ("last_batch_index", "u64"),
        ("last_height", "u64"),
        ("tx_log_size", "u64"),
        ("last_state_root", _HASH_TYPE),
        ("tx_log_root", _HASH_TYPE),
        ("bump", "u8"),
    ],
    "RegisteredProgram": [
        ("code_hash", _HASH_TYPE),
        ("proof_hash", _HASH_TYPE),
        ("config_hash", _HASH_TYPE),
        ("registered_slot", "u64"),
        ("bump", "u8"),
    ],
    "Batch": [
        ("batch_index", "u64"),
        ("first_height", "u64"),
        ("last_height", "u64"),
        ("tx_log_size", "u64"),
        ("slot", "u64"),
        ("unix_timestamp", "i64"),
        ("prev_state_root", _HASH_TYPE),
        ("state_root", _HASH_TYPE),
        ("tx_log_root", _HASH_TYPE),
        ("code_hash", _HASH_TYPE),
        ("proof_hash", _HASH_TYPE),
        ("poster", "pubkey"),
    ],
}


def _seed_const(seed: bytes) -> dict[str, Any]:
    return {"kind": "const", "value": list(seed)}


def _seed_arg(path: str) -> dict[str, Any]:
    return {"kind": "arg", "path": path}


def build_idl(program_id: Pubkey) -> dict[str, Any]:
    """The Anchor IDL (spec 0.1.0, as Anchor >= 0.30 writes it) of the program at `program_id`."""
    system = {"name": "system_program", "address": str(SYSTEM_PROGRAM_ID)}
    config_pda = {"seeds": [_seed_const(CONFIG_SEED)]}
    registry_pda = {"seeds": [_seed_const(PROGRAM_SEED), _seed_arg("code_hash"), _seed_arg("proof_hash")]}
    key_arg = lambda name: [{"name": name, "type": "pubkey"}]  # noqa: E731
    instructions = [
        {
            "name": IX_INITIALIZE,
            "docs": ["Create the Config PDA; only the program's upgrade authority may call it."],
            "accounts": [
                {"name": "config", "writable": True, "pda": config_pda},
                {"name": "payer", "writable": True, "signer": True},
                {"name": "program_data"},
                system,
            ],
            "args": key_arg("authority") + key_arg("poster") + [{"name": "genesis_state_root", "type": _HASH_TYPE}],
        },
        {
            "name": IX_REGISTER_PROGRAM,
            "docs": ["Register a (code hash, proof hash) pair with its config fingerprint (authority only)."],
            "accounts": [
                {"name": "config", "pda": config_pda},
                {"name": "registered_program", "writable": True, "pda": registry_pda},
                {"name": "authority", "writable": True, "signer": True},
                system,
            ],
            "args": [
                {"name": "code_hash", "type": _HASH_TYPE},
                {"name": "proof_hash", "type": _HASH_TYPE},
                {"name": "config_hash", "type": _HASH_TYPE},
            ],
        },
        {
            "name": IX_POST_BATCH,
            "docs": ["Anchor the next batch: index = last + 1, prev root = last root, registered pair."],
            "accounts": [
                {"name": "config", "writable": True, "pda": config_pda},
                {
                    "name": "batch",
                    "docs": [
                        "create_with_seed(base = config, seed = \"batch\" + batch_index as 16 lowercase hex "
                        "digits, owner = this program)"
                    ],
                    "writable": True,
                },
                {"name": "registered_program", "pda": registry_pda},
                {"name": "poster", "writable": True, "signer": True},
                system,
            ],
            "args": [
                {"name": "batch_index", "type": "u64"},
                {"name": "first_height", "type": "u64"},
                {"name": "last_height", "type": "u64"},
                {"name": "prev_state_root", "type": _HASH_TYPE},
                {"name": "state_root", "type": _HASH_TYPE},
                {"name": "tx_log_size", "type": "u64"},
                {"name": "tx_log_root", "type": _HASH_TYPE},
                {"name": "code_hash", "type": _HASH_TYPE},
                {"name": "proof_hash", "type": _HASH_TYPE},
            ],
        },
        {
            "name": IX_SET_AUTHORITY,
            "docs": ["Rotate the authority (authority only)."],
            "accounts": [
                {"name": "config", "writable": True, "pda": config_pda},
                {"name": "authority", "signer": True},
            ],
            "args": key_arg("new_authority"),
        },
        {
            "name": IX_SET_POSTER,
            "docs": ["Rotate the poster (authority only)."],
            "accounts": [
                {"name": "config", "writable": True, "pda": config_pda},
                {"name": "authority", "signer": True},
            ],
            "args": key_arg("new_poster"),
        },
        {
            "name": IX_CLOSE_BATCH,
            "docs": ["Close a batch account older than the tip and return its rent (authority only)."],
            "accounts": [
                {"name": "config", "pda": config_pda},
                {"name": "batch", "writable": True},
                {"name": "authority", "signer": True},
                {"name": "recipient", "writable": True},
            ],
            "args": [{"name": "batch_index", "type": "u64"}],
        },
    ]
    for ix in instructions:
        ix["discriminator"] = list(instruction_discriminator(ix["name"]))
    # Anchor's key order: name, discriminator, docs, accounts, args.
    instructions = [
        {k: ix[k] for k in ("name", "discriminator", "docs", "accounts", "args")} for ix in instructions
    ]
    return {
        "address": str(program_id),
        "metadata": {
            "name": PROGRAM_NAME,
            "version": PROGRAM_VERSION,
            "spec": "0.1.0",
            "description": "AssetL2 batch anchor: state roots, transaction-log roots and program hashes",
        },
        "instructions": instructions,
        "accounts": [{"name": name, "discriminator": list(account_discriminator(name))} for name in _ACCOUNT_FIELDS],
        "events": [{"name": EVENT_BATCH_POSTED, "discriminator": list(event_discriminator(EVENT_BATCH_POSTED))}],
        "errors": [
            {"code": int(code), "name": _camel(code.name), "msg": ERROR_MESSAGES[code]}
            for code in ErrorCode
            if code >= ANCHOR_USER_ERROR_OFFSET
        ],
        "types": [
            {
                "name": name,
                "type": {"kind": "struct", "fields": [{"name": f, "type": t} for f, t in fields]},
            }
            for name, fields in _ACCOUNT_FIELDS.items()
        ]
        + [
            {
                "name": EVENT_BATCH_POSTED,
                "type": {"kind": "struct", "fields": [{"name": f, "type": t} for f, t in _ACCOUNT_FIELDS["Batch"]]},
            }
        ],
    }


def render_idl(program_id: Pubkey | None = None) -> str:
    """The IDL as committed in deploy/program/idl/ (stable key order, trailing newline)."""
    return json.dumps(build_idl(program_id or dev_program_keypair().pubkey()), indent=2) + "\n"


def _camel(snake: str) -> str:
    return "".join(part.capitalize() for part in snake.lower().split("_"))
