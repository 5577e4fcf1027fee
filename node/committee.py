"""Committee discovery through a shared directory (DESIGN §7 membership, §9 operations; issue 6).

A cluster whose node keys are created at first start — each node in its own data volume, as
the compose file does — cannot list its committee in config ahead of time.  With
``[sequencer] committee_dir`` set, every member

1. publishes ``<dir>/<public key>.member``: its base58 node public key and the peer address the
   others reach it at (``advertise_peer``), written atomically;
2. waits until ``committee_size`` members are published, logging who is still missing;
3. takes the committee as the members **sorted by peer address**, so every member derives the
   same order without talking to the others.

On a restart the files are already there and the node starts at once.  Only public keys
travel through the directory; each private key stays in its node's own volume.

The directory is trusted the way the config file is (whoever can write it chooses the
committee).  Conflicts are refused with a message that says what to remove: two keys
claiming one peer address (a node whose volume was wiped came back with a new key) or more
members than ``committee_size``.
"""
from __future__ import annotations

import asyncio
import logging
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

from solders.pubkey import Pubkey

log = logging.getLogger(__name__)

SUFFIX = ".member"


class CommitteeError(RuntimeError):
    """The shared committee directory cannot yield a committee; the message says why."""


@dataclass(frozen=True)
class Member:
    key: str      # base58 ed25519 public key
    peer: str     # host:port of its peer API, as the other members reach it


def _check(member: Member, source: str) -> Member:
    try:
        Pubkey.from_string(member.key)
        ok = True
    except Exception:  # noqa: BLE001 - solders raises ValueError subclasses
        ok = False
    if not ok:
        raise CommitteeError(f"{source}: key {member.key!r} is not a base58 ed25519 public key")
    host, sep, port = member.peer.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise CommitteeError(f"{source}: peer {member.peer!r} is not host:port")
    return member


def publish(directory: Path, me: Member) -> Path:
    """Write (or rewrite, if this node's address changed) this node's member file."""
    _check(me, "this node")
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{me.key}{SUFFIX}"
    tmp = directory / f".{me.key}{SUFFIX}.tmp"
    tmp.write_text(f'key = "{me.key}"\npeer = "{me.peer}"\n')
    os.replace(tmp, path)
    return path


def read_members(directory: Path) -> list[Member]:
    """Every published member, validated; sorted by peer address (the committee order)."""
    members: dict[str, Member] = {}
    for path in sorted(directory.glob(f"*{SUFFIX}")):
        try:
            data = tomllib.loads(path.read_text())
            m = _check(Member(str(data["key"]), str(data["peer"])), str(path))
        except (OSError, tomllib.TOMLDecodeError, KeyError) as exc:
            raise CommitteeError(f"{path}: unreadable member file ({exc}); remove it or fix it") from None
        if path.name != f"{m.key}{SUFFIX}":
            raise CommitteeError(f"{path}: holds key {m.key}, which does not match its file name")
        other = members.get(m.peer)
        if other is not None:
            raise CommitteeError(
                f"peer {m.peer} is claimed by two keys, {other.key} and {m.key}: a node came back with a "
                f"new key (its data volume was replaced); remove the stale .member file from {directory}")
        members[m.peer] = m
    return [members[p] for p in sorted(members)]


def committee_of(members: list[Member], size: int, me: Member) -> tuple[list[str], list[str]] | None:
    """``(keys, peers)`` once exactly ``size`` members are published, else None."""
    if len(members) > size:
        raise CommitteeError(
            f"{len(members)} members published for a committee of {size}: "
            + ", ".join(f"{m.peer}={m.key}" for m in members) + "; remove the members that do not belong")
    if me not in members:
        raise CommitteeError(f"this node ({me.peer}={me.key}) is missing from the committee directory")
    if len(members) < size:
        return None
    return [m.key for m in members], [m.peer for m in members]


async def gather(directory: Path, me: Member, size: int, *, timeout_s: float,
                 poll_s: float = 0.25, log_every_s: float = 5.0) -> tuple[list[str], list[str]]:
    """Publish ``me`` and wait (bounded by ``timeout_s``) for the whole committee."""
    if size < 1:
        raise CommitteeError("sequencer.committee_size must be at least 1 with committee_dir")
    publish(directory, me)
    loop = asyncio.get_running_loop()
    start = last_log = loop.time()
    while True:
        members = read_members(directory)
        found = committee_of(members, size, me)
        if found is not None:
            log.info("committee gathered", extra={"size": size, "peers": ",".join(found[1])})
            return found
        now = loop.time()
        if now - start > timeout_s:
            raise CommitteeError(
                f"only {len(members)} of {size} committee members published in {directory} after "
                f"{timeout_s:g}s (have: {', '.join(m.peer for m in members)}); are the other nodes running?")
        if now - last_log >= log_every_s:
            last_log = now
            log.info("waiting for the committee", extra={
                "have": len(members), "size": size, "peers": ",".join(m.peer for m in members)})
        await asyncio.sleep(poll_s)
