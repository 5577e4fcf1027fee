"""Node configuration: one TOML file plus environment overrides, validated at start.

DESIGN §9: operators run nodes from a config file; every mistake must be caught before the
node touches its data directory, with an error that names the key and the problem.

The schema is declared once, as frozen dataclasses whose fields carry their documentation
(``doc``) and an optional validator (``check``).  The loader, the environment overrides and
the generated reference in ``docs/config.md`` (``assetl2 config-reference``) all read it, so
they cannot drift apart.

Environment overrides: ``ASSETL2__<SECTION>__<KEY>=<value>`` (double underscores, case
insensitive), e.g. ``ASSETL2__GRPC__LISTEN=0.0.0.0:50051``.  The value is parsed as a TOML
value when it is one (``8``, ``true``, ``["executor"]``) and taken as a string otherwise.
"""
from __future__ import annotations

import dataclasses
import ipaddress
import os
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

ENV_PREFIX = "ASSETL2__"
ROLES = ("sequencer", "executor", "batchposter")
LOG_LEVELS = ("debug", "info", "warning", "error")
LOG_FORMATS = ("json", "text")


class ConfigError(ValueError):
    """A configuration problem; ``str()`` is one line naming the key and the problem."""

    def __init__(self, key: str, problem: str):
        super().__init__(f"{key}: {problem}")
        self.key = key
        self.problem = problem


# ----------------------------------------------------------------------------- validators

def check_listen(value: str) -> str | None:
    """``host:port`` with a literal IP (or ``localhost``) and a port in 1..65535; ``[::1]:p`` for IPv6."""
    host, sep, port = value.rpartition(":")
    if not sep or not host:
        return f"expected host:port, got {value!r}"
    if not port.isdigit() or not 0 < int(port) < 65536:
        return f"port must be 1..65535, got {port!r}"
    bare = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if bare != "localhost":
        try:
            ipaddress.ip_address(bare)
        except ValueError:
            return f"host must be an IP address or localhost, got {host!r}"
    return None


def check_positive(value: int) -> str | None:
    return None if value > 0 else f"must be > 0, got {value}"


def check_nonnegative(value: int) -> str | None:
    return None if value >= 0 else f"must be >= 0, got {value}"


def check_chain_id(value: str) -> str | None:
    if not 1 <= len(value) <= 64 or not all(c.isalnum() or c in "-_." for c in value):
        return "must be 1..64 characters of letters, digits, '-', '_' or '.'"
    return None


def check_roles(value: list[str]) -> str | None:
    unknown = [r for r in value if r not in ROLES]
    if unknown:
        return f"unknown role(s) {unknown}; choose from {list(ROLES)}"
    if len(set(value)) != len(value):
        return "roles must not repeat"
    return None


def one_of(choices: tuple[str, ...]) -> Callable[[str], str | None]:
    def check(value: str) -> str | None:
        return None if value in choices else f"must be one of {list(choices)}, got {value!r}"
    return check


def setting(default: Any, doc: str, check: Callable[[Any], str | None] | None = None) -> Any:
    """A schema field: its default, its one-line documentation and its validator."""
    if isinstance(default, list):
        return field(default_factory=lambda: list(default), metadata={"doc": doc, "check": check})
    return field(default=default, metadata={"doc": doc, "check": check})


# ----------------------------------------------------------------------------- schema

@dataclass(frozen=True)
class NodeSection:
    """Identity, storage and which roles this process plays (DESIGN §1)."""

    chain_id: str = setting("assetl2-devnet-1", "Chain id; signed into every transaction (DESIGN §4).", check_chain_id)
    data_dir: str = setting("./data/node0", "Directory for the node's LevelDB stores; relative paths are relative to the config file.")
    key_file: str = setting("node-key.json", "ed25519 node key in Solana's JSON keypair format (mode 0600); relative to data_dir.")
    roles: list[str] = setting(list(ROLES), "Roles this node plays: any of sequencer, executor, batchposter.", check_roles)
    log_level: str = setting("info", "Log level: debug, info, warning or error.", one_of(LOG_LEVELS))
    log_format: str = setting("json", "Log format: json (one object per line) or text.", one_of(LOG_FORMATS))
    shutdown_grace_s: int = setting(5, "Seconds in-flight requests get to finish on SIGTERM.", check_positive)


@dataclass(frozen=True)
class GrpcSection:
    """The client API server (DESIGN §9)."""

    listen: str = setting("127.0.0.1:50051", "Client gRPC API address (host:port).", check_listen)
    max_message_bytes: int = setting(4 * 1024 * 1024, "Largest gRPC message accepted or sent, in bytes.", check_positive)
    max_concurrent_streams: int = setting(256, "HTTP/2 streams per client connection.", check_positive)


@dataclass(frozen=True)
class AdminSection:
    """The aiohttp admin server: /healthz, /readyz, /status, /metrics (DESIGN §9)."""

    listen: str = setting("127.0.0.1:9100", "Admin HTTP address (host:port).", check_listen)
    loop_lag_interval_ms: int = setting(250, "How often the event-loop lag probe runs, in milliseconds.", check_positive)


@dataclass(frozen=True)
class PeerSection:
    """The peer API between sequencer nodes (DESIGN §7)."""

    listen: str = setting("127.0.0.1:50061", "Peer gRPC API address (host:port).", check_listen)
    tls_cert: str = setting("", "PEM certificate for peer TLS; empty for plaintext on a private network.")
    tls_key: str = setting("", "PEM private key for peer TLS; required with tls_cert.")


@dataclass(frozen=True)
class ExecutorSection:
    """The executor role: which exchange it runs from genesis (DESIGN §6, issue 5)."""

    genesis_curve: str = setting("", "CurveScript file of the exchange; empty: the packaged devnet example. Relative to the config file.")
    genesis_toml: str = setting("", "Genesis TOML (chain id, funded accounts, prices); empty: the packaged devnet example. Its chain_id must equal node.chain_id.")


@dataclass(frozen=True)
class SequencerSection:
    """The sequencer role: BFT committee, block and time limits, admission (DESIGN §3, §7; issue 6).

    The committee is two parallel lists (the schema holds scalars and lists of scalars):
    ``committee_keys[i]`` is member i's base58 node public key and ``committee_peers[i]`` its
    peer API address. Every member must list the same committee in the same order. Empty lists
    mean the embedded single-node default: the committee is this node alone — unless
    ``committee_dir`` is set, where members publish themselves and wait for each other.
    """

    committee_keys: list[str] = setting([], "Base58 node public keys of the committee, in order (n = 3f+1); empty: this node only.")
    committee_peers: list[str] = setting([], "Peer API address (host:port) of each committee member, same order as committee_keys.")
    committee_dir: str = setting("", "Shared directory through which members whose keys are made at first start find each other (node/committee.py); used when committee_keys is empty.")
    committee_size: int = setting(0, "With committee_dir: how many members to wait for (n = 3f+1).", check_nonnegative)
    advertise_peer: str = setting("", "With committee_dir: this node's peer API address as the other members reach it (host:port).")
    committee_wait_s: int = setting(600, "With committee_dir: how long start-up waits for every member to publish itself, in seconds.", check_positive)
    genesis_timestamp_ms: int = setting(0, "Rollup-clock timestamp of the genesis block; identical on every member.")
    base_timeout_ms: int = setting(1000, "View timeout before the first backoff, in milliseconds.", check_positive)
    max_timeout_ms: int = setting(10000, "Cap of the exponentially backed-off view timeout, in milliseconds.", check_positive)
    max_block_txs: int = setting(10000, "Most transactions a leader puts in one block.", check_positive)
    max_block_bytes: int = setting(4 * 1024 * 1024, "Most transaction bytes in one block.", check_positive)
    reservation_batch_ms: int = setting(50, "Epoch length: epoch = block timestamp_ms // reservation_batch_ms (DESIGN §3).", check_positive)
    max_clock_skew_ms: int = setting(1000, "A voter rejects a block whose timestamp is further than this from its clock.", check_positive)
    empty_block_delay_ms: int = setting(50, "An idle leader proposes an empty block after this delay, so time and epochs advance.", check_positive)
    max_tx_bytes: int = setting(64 * 1024, "Largest accepted transaction envelope, in bytes.", check_positive)
    mempool_max_txs: int = setting(200000, "Most pending transactions held in the mempool.", check_positive)
    rate_per_s: int = setting(10000, "Per-signer admission rate limit (token bucket refill), transactions per second.", check_positive)
    rate_burst: int = setting(20000, "Per-signer token bucket capacity (burst), transactions.", check_positive)
    peer_queue_limit: int = setting(4096, "Outbound messages queued per peer before the oldest is dropped.", check_positive)
    peer_max_message_bytes: int = setting(32 * 1024 * 1024, "Largest peer message accepted or sent, in bytes.", check_positive)
    catchup_timeout_ms: int = setting(5000, "Deadline of one catch-up FetchBlocks request to a peer, in milliseconds.", check_positive)
    fetch_rate_per_s: int = setting(20, "FetchBlocks requests served per second to one member (token bucket refill); unsigned requests share one bucket.", check_positive)
    fetch_burst: int = setting(40, "FetchBlocks token bucket capacity per member, requests.", check_positive)
    gossip_flush_ms: int = setting(5, "Admitted transactions are forwarded to peers in batches at most this old, in milliseconds.", check_positive)


@dataclass(frozen=True)
class BatchPosterSection:
    """The batch-poster role: where and how batches are anchored (DESIGN §8)."""

    rpc_url: str = setting("http://127.0.0.1:8899", "Solana JSON-RPC URL (`assetl2 solana-dev` serves one locally).")
    program_id: str = setting("", "Anchor program id (base58); empty: the local dev deployment's well-known id.")
    wallet_key_file: str = setting("", "Solana keypair that signs and pays for batches; empty: the node key. Relative to the config file.")
    max_blocks: int = setting(100, "A batch closes after this many blocks ...", check_positive)
    max_age_ms: int = setting(10_000, "... or when its first block is this old (rollup clock).", check_positive)
    heartbeat_ms: int = setting(600_000, "An empty heartbeat batch is posted after this long without blocks.", check_positive)
    max_in_flight: int = setting(4, "Batch transactions in flight at once.", check_positive)
    commitment: str = setting("confirmed", "When a batch counts as anchored: confirmed or finalized.", one_of(("confirmed", "finalized")))


@dataclass(frozen=True)
class Config:
    """The whole node configuration; ``path`` is the file it came from (None: defaults)."""

    node: NodeSection = field(default_factory=NodeSection)
    grpc: GrpcSection = field(default_factory=GrpcSection)
    admin: AdminSection = field(default_factory=AdminSection)
    peer: PeerSection = field(default_factory=PeerSection)
    executor: ExecutorSection = field(default_factory=ExecutorSection)
    batchposter: BatchPosterSection = field(default_factory=BatchPosterSection)
    sequencer: SequencerSection = field(default_factory=SequencerSection)
    path: Path | None = None

    @property
    def base_dir(self) -> Path:
        return self.path.parent if self.path else Path.cwd()

    @property
    def data_dir(self) -> Path:
        return (self.base_dir / self.node.data_dir).resolve()

    @property
    def key_path(self) -> Path:
        return (self.data_dir / self.node.key_file).resolve()

    def resolve(self, path: str) -> Path:
        """A path from the config, relative to the config file's folder."""
        return (self.base_dir / path).resolve()

    def has_role(self, role: str) -> bool:
        return role in self.node.roles


SECTIONS: dict[str, type] = {
    f.name: f.type if isinstance(f.type, type) else globals()[f.type]
    for f in dataclasses.fields(Config)
    if f.name != "path"
}


# ----------------------------------------------------------------------------- loading

def _type_name(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if origin in (list, types.GenericAlias) or origin is list:
        return f"list of {_type_name(typing.get_args(tp)[0])}"
    return {int: "integer", str: "string", bool: "boolean"}.get(tp, str(tp))


def _coerce(key: str, tp: Any, value: Any) -> Any:
    """Type-check one value against its declared type; no silent conversions."""
    origin = typing.get_origin(tp)
    if origin is list:
        (item,) = typing.get_args(tp)
        if not isinstance(value, list):
            raise ConfigError(key, f"expected {_type_name(tp)}, got {type(value).__name__} {value!r}")
        return [_coerce(f"{key}[{i}]", item, v) for i, v in enumerate(value)]
    if tp is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise ConfigError(key, f"expected integer, got {type(value).__name__} {value!r}")
    if tp is str and not isinstance(value, str):
        raise ConfigError(key, f"expected string, got {type(value).__name__} {value!r}")
    if tp is bool and not isinstance(value, bool):
        raise ConfigError(key, f"expected boolean, got {type(value).__name__} {value!r}")
    return value


def _build_section(name: str, cls: type, raw: Mapping[str, Any]) -> Any:
    hints = typing.get_type_hints(cls)
    known = {f.name: f for f in dataclasses.fields(cls)}
    for key in sorted(raw):
        if key not in known:
            raise ConfigError(f"{name}.{key}", f"unknown key; known keys of [{name}]: {', '.join(sorted(known))}")
    values = {}
    for fname, f in known.items():
        if fname not in raw:
            continue
        key = f"{name}.{fname}"
        value = _coerce(key, hints[fname], raw[fname])
        check = f.metadata.get("check")
        problem = check(value) if check else None
        if problem:
            raise ConfigError(key, problem)
        values[fname] = value
    return cls(**values)


def _parse_env_value(text: str) -> Any:
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def env_overrides(environ: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    """Collect ``ASSETL2__SECTION__KEY`` variables into a nested mapping (sorted, so errors are stable)."""
    out: dict[str, dict[str, Any]] = {}
    for name in sorted(environ):
        if not name.upper().startswith(ENV_PREFIX):
            continue
        parts = name[len(ENV_PREFIX):].lower().split("__")
        if len(parts) != 2 or not all(parts):
            raise ConfigError(name, f"environment overrides look like {ENV_PREFIX}SECTION__KEY")
        out.setdefault(parts[0], {})[parts[1]] = _parse_env_value(environ[name])
    return out


def from_mapping(raw: Mapping[str, Any], path: Path | None = None) -> Config:
    """Validate a parsed TOML document (plus overrides) into a Config."""
    for section in sorted(raw):
        if section not in SECTIONS:
            raise ConfigError(section, f"unknown section; known sections: {', '.join(SECTIONS)}")
        if not isinstance(raw[section], Mapping):
            raise ConfigError(section, f"expected a [{section}] table, got {type(raw[section]).__name__}")
    sections = {name: _build_section(name, cls, raw.get(name, {})) for name, cls in SECTIONS.items()}
    cfg = Config(**sections, path=path)
    if bool(cfg.peer.tls_cert) != bool(cfg.peer.tls_key):
        raise ConfigError("peer.tls_key", "tls_cert and tls_key must be set together")
    listens = {"grpc.listen": cfg.grpc.listen, "admin.listen": cfg.admin.listen, "peer.listen": cfg.peer.listen}
    seen: dict[str, str] = {}
    for key, addr in listens.items():
        if addr in seen:
            raise ConfigError(key, f"{addr} is already used by {seen[addr]}")
        seen[addr] = key
    return cfg


def _merge(base: dict[str, Any], over: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    merged = {k: dict(v) if isinstance(v, Mapping) else v for k, v in base.items()}
    for section, values in over.items():
        target = merged.setdefault(section, {})
        if not isinstance(target, dict):
            raise ConfigError(section, "cannot override keys of a non-table value")
        target.update(values)
    return merged


def load(path: str | os.PathLike | None, environ: Mapping[str, str] | None = None) -> Config:
    """Read, merge and validate; raises ConfigError naming the first bad key."""
    environ = os.environ if environ is None else environ
    raw: dict[str, Any] = {}
    file_path = None
    if path is not None:
        file_path = Path(path).resolve()
        try:
            raw = tomllib.loads(file_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(str(path), "config file does not exist") from None
        except IsADirectoryError:
            raise ConfigError(str(path), "is a directory, expected a TOML file") from None
        except UnicodeDecodeError:
            raise ConfigError(str(path), "is not UTF-8 text") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(str(path), f"invalid TOML: {exc}") from None
    return from_mapping(_merge(raw, env_overrides(environ)), file_path)


def reference_markdown() -> str:
    """The config reference for docs/config.md, generated from the schema."""
    lines = ["# Configuration reference", "",
             "Generated from `node/config.py` by `assetl2 config-reference`; do not edit by hand.", "",
             f"Every key can be overridden by the environment as `{ENV_PREFIX}SECTION__KEY`.", ""]
    for name, cls in SECTIONS.items():
        lines += [f"## [{name}]", "", (cls.__doc__ or "").strip(), "",
                  "| key | type | default | meaning |", "| --- | --- | --- | --- |"]
        hints = typing.get_type_hints(cls)
        for f in dataclasses.fields(cls):
            default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
            lines.append(f"| `{f.name}` | {_type_name(hints[f.name])} | `{default!r}` | {f.metadata['doc']} |")
        lines.append("")
    return "\n".join(lines)
