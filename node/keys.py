"""ed25519 keypairs in Solana's JSON keypair format.

A keypair file is a JSON array of 64 integers: the 32-byte seed followed by the 32-byte
public key, exactly what ``solana-keygen`` writes, so the same file can sign Solana
transactions (the batch poster) and rollup messages (DESIGN §4, §8).

Files are created with mode 0600 by an atomic rename, and a node refuses to load a key
that other users can read (DESIGN §9).
"""
from __future__ import annotations

import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from nacl.signing import SigningKey
from solders.keypair import Keypair
from solders.pubkey import Pubkey

KEYPAIR_LEN = 64
SEED_LEN = 32


class KeyFileError(ValueError):
    """A key file that cannot be used; ``str()`` is one line naming the file and the cause."""


@dataclass(frozen=True)
class NodeKey:
    """A loaded ed25519 key: signs with PyNaCl, converts to a solders Keypair for Solana."""

    seed: bytes
    public: bytes

    @property
    def signing_key(self) -> SigningKey:
        return SigningKey(self.seed)

    @property
    def pubkey(self) -> Pubkey:
        return Pubkey.from_bytes(self.public)

    @property
    def address(self) -> str:
        """Base58 public key, the node's id in logs, status and configs."""
        return str(self.pubkey)

    def keypair(self) -> Keypair:
        return Keypair.from_bytes(self.seed + self.public)

    def sign(self, message: bytes) -> bytes:
        return self.signing_key.sign(message).signature

    @classmethod
    def generate(cls) -> "NodeKey":
        sk = SigningKey.generate()
        return cls(bytes(sk), bytes(sk.verify_key))

    @classmethod
    def from_seed(cls, seed: bytes) -> "NodeKey":
        sk = SigningKey(seed)
        return cls(bytes(sk), bytes(sk.verify_key))


def encode(key: NodeKey) -> str:
    return json.dumps(list(key.seed + key.public))


def decode(text: str, path: Path) -> NodeKey:
    """Parse and check a keypair file: 64 bytes whose second half matches the first."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise KeyFileError(f"{path}: not a JSON keypair file ({exc.msg})") from None
    if not isinstance(data, list) or len(data) != KEYPAIR_LEN:
        raise KeyFileError(f"{path}: expected a JSON array of {KEYPAIR_LEN} bytes")
    if not all(isinstance(b, int) and not isinstance(b, bool) and 0 <= b <= 255 for b in data):
        raise KeyFileError(f"{path}: every element must be an integer 0..255")
    raw = bytes(data)
    key = NodeKey.from_seed(raw[:SEED_LEN])
    if key.public != raw[SEED_LEN:]:
        raise KeyFileError(f"{path}: public key half does not match the secret half")
    return key


def write(path: Path, key: NodeKey, *, overwrite: bool = False) -> None:
    """Write atomically with mode 0600; never replaces an existing key unless asked to."""
    path = Path(path)
    if path.exists() and not overwrite:
        raise KeyFileError(f"{path}: already exists; refusing to overwrite a key (use --force)")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(encode(key))
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def load(path: Path, *, require_private: bool = True) -> NodeKey:
    """Load a key; refuse one that group or others can read or write."""
    path = Path(path)
    try:
        st = path.stat()
    except FileNotFoundError:
        raise KeyFileError(f"{path}: key file does not exist (create it with `assetl2 keys new --out {path}`)") from None
    if not stat.S_ISREG(st.st_mode):
        raise KeyFileError(f"{path}: not a regular file")
    if require_private and st.st_mode & 0o077:
        raise KeyFileError(
            f"{path}: permissions {stat.filemode(st.st_mode)} let other users read the key; run `chmod 600 {path}`"
        )
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise KeyFileError(f"{path}: cannot read ({exc})") from None
    return decode(text, path)
