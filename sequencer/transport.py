"""gRPC peer transport of the sequencer (DESIGN §7, §9; issue 6 §7).

Implements `driver.Transport` over the `PeerApi` service (`proto/assetl2/v1/peer.proto`):

- **One encoding.** Consensus messages travel as `codec` frames inside a signed
  `PeerEnvelope`; the receiving replica decodes them under the codec limits
  (`RawMessageReceived`), so protobuf never defines what a block or a certificate is.
- **Authenticated senders.** Every envelope is signed by the sending node's key over
  domain-separated bytes of the serialized `PeerMessage`; the receiver maps the claimed sender
  to the committee key from config, verifies, and requires the inner sender to match and the
  sequence to increase within the stream's session. Anything else is dropped and counted
  (`sequencer_peer_dropped_total{reason}`) — never an exception out of the server.
- **Bounded, lossy queues.** One outbound queue per peer with drop-oldest on overflow
  (`sequencer_peer_send_dropped_total{peer}`): consensus is robust to loss (timeouts, view
  sync, block requests), while an unbounded queue towards a dead peer is a memory leak.
- **Reconnect with backoff.** Each peer has one long-lived task that (re)opens a channel and a
  client stream, doubling its wait after each failure up to a cap, reset by a healthy stream.
- **Limits.** gRPC message size limits bound every inbound message; TLS is optional.
  `FetchBlocks` is rate limited per requester with a token bucket (issue 6 §5): a request
  signed by a committee member (`types.fetch_signing_bytes`, issued within `FETCH_MAX_AGE_MS`)
  draws from that member's bucket, an unsigned or badly signed one from one shared
  "anonymous" bucket; a refused request is RESOURCE_EXHAUSTED and counted in
  `sequencer_fetch_refused_total{peer}`.

The transport is deliberately ignorant of what the payloads mean: it hands authenticated
consensus frames, transaction batches and attestations to callbacks supplied by the node.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import struct
import time
from collections import deque
from dataclasses import dataclass
from typing import AsyncIterator, Callable, Sequence

import grpc
from prometheus_client import CollectorRegistry, Counter, Gauge

from proto.assetl2.v1 import peer_pb2, peer_pb2_grpc, tx_pb2

from .codec import encode_message
from .crypto import Signer, Verifier
from .mempool import TokenBucket
from .types import Committee, Message, fetch_signing_bytes, signing_bytes

log = logging.getLogger(__name__)

ENVELOPE_KIND = b"peer-envelope"
FETCH_MAX_AGE_MS = 60_000
ANONYMOUS = "anonymous"


def envelope_signing_bytes(chain_id: bytes, message: bytes) -> bytes:
    return signing_bytes(ENVELOPE_KIND, chain_id, message)


@dataclass(frozen=True)
class TransportConfig:
    listen: str
    peers: tuple[str, ...]               # address of every committee member, by index
    max_message_bytes: int = 32 * 1024 * 1024
    queue_limit: int = 4_096
    reconnect_min_ms: int = 100
    reconnect_max_ms: int = 5_000
    connect_timeout_ms: int = 2_000
    tls_cert: bytes | None = None         # PEM; server and client use the same pair
    tls_key: bytes | None = None
    tls_ca: bytes | None = None           # trust root for peers; defaults to tls_cert
    fetch_rate_per_s: float = 20.0        # FetchBlocks requests per second per member (refill)
    fetch_burst: float = 40.0             # ... and the bucket's capacity


class TransportMetrics:
    def __init__(self, registry: CollectorRegistry | None) -> None:
        kw = {"registry": registry} if registry is not None else {"registry": None}
        self.dropped = Counter("sequencer_peer_dropped", "Inbound peer messages dropped before the replica, by reason.", ["reason"], **kw)
        self.received = Counter("sequencer_peer_received", "Authenticated inbound peer messages, by kind.", ["kind"], **kw)
        self.send_dropped = Counter("sequencer_peer_send_dropped", "Outbound messages dropped (queue full, drop-oldest), by peer.", ["peer"], **kw)
        self.sent = Counter("sequencer_peer_sent", "Outbound messages written to a peer stream, by peer.", ["peer"], **kw)
        self.connected = Gauge("sequencer_peers_connected", "Peers with an open outbound stream.", **kw)
        self.reconnects = Counter("sequencer_peer_reconnects", "Outbound stream (re)connect attempts, by peer.", ["peer"], **kw)
        self.fetch_refused = Counter("sequencer_fetch_refused", "FetchBlocks requests refused by the per-peer rate limit, by requester "
                                     "(committee index, or 'anonymous' when unsigned).", ["peer"], **kw)


class _Outbox:
    """A bounded drop-oldest queue of ready-to-send (unsigned) PeerMessage templates."""

    def __init__(self, limit: int) -> None:
        self.items: deque = deque()
        self.limit = limit
        self.event = asyncio.Event()

    def put(self, item) -> bool:
        dropped = False
        if len(self.items) >= self.limit:
            self.items.popleft()
            dropped = True
        self.items.append(item)
        self.event.set()
        return dropped

    async def get(self):
        while not self.items:
            self.event.clear()
            await self.event.wait()
        return self.items.popleft()


class PeerTransport:
    """The node's side of the peer network: one server, one outbound stream per other member.

    `on_consensus(sender, frame)`, `on_transactions(sender, envelopes)` and
    `on_attestation(sender, attestation)` receive authenticated input only; `fetch_blocks` and
    `state_certificate` answer the catch-up and certificate RPCs (set by the node).
    """

    def __init__(
        self,
        config: TransportConfig,
        chain_id: bytes,
        committee: Committee,
        signer: Signer,
        *,
        on_consensus: Callable[[int, bytes], None],
        on_transactions: Callable[[int, Sequence[tx_pb2.Envelope]], None] | None = None,
        on_attestation: Callable[[int, peer_pb2.StateAttestation], None] | None = None,
        fetch_blocks: Callable[[peer_pb2.FetchBlocksRequest], AsyncIterator[peer_pb2.DecidedBlock]] | None = None,
        state_certificate: Callable[[int], peer_pb2.StateCertificate | None] | None = None,
        registry: CollectorRegistry | None = None,
        verifier: Verifier | None = None,
    ) -> None:
        if len(config.peers) != committee.size:
            raise ValueError("one peer address per committee member is required")
        index = committee.index_of(signer.public_key)
        if index is None:
            raise ValueError("this node's key is not in the committee")
        self.config = config
        self.chain_id = chain_id
        self.committee = committee
        self.signer = signer
        self.index = index
        self.verifier = verifier or Verifier()
        self.on_consensus = on_consensus
        self.on_transactions = on_transactions
        self.on_attestation = on_attestation
        self.fetch_blocks = fetch_blocks
        self.state_certificate = state_certificate
        self.metrics = TransportMetrics(registry)
        self.others = [i for i in range(committee.size) if i != index]
        self._outboxes = {i: _Outbox(config.queue_limit) for i in self.others}
        self._connected: set[int] = set()
        self._tasks: list[asyncio.Task] = []
        self._server: grpc.aio.Server | None = None
        self._channels: dict[int, grpc.aio.Channel] = {}
        self._stopping = False
        self._fetch_buckets: dict[str, TokenBucket] = {}   # at most committee size + 1 keys

    # -- driver.Transport ----------------------------------------------------------------------

    def send(self, to: int, message: Message) -> None:
        if to in self._outboxes:
            self._enqueue(to, ("consensus", encode_message(message)))

    def broadcast(self, message: Message) -> None:
        frame = encode_message(message)
        for i in self.others:
            self._enqueue(i, ("consensus", frame))

    def broadcast_transactions(self, envelopes: Sequence[tx_pb2.Envelope]) -> None:
        if envelopes and self.others:
            batch = peer_pb2.TransactionBatch(transactions=envelopes)
            for i in self.others:
                self._enqueue(i, ("transactions", batch))

    def broadcast_attestation(self, attestation: peer_pb2.StateAttestation) -> None:
        for i in self.others:
            self._enqueue(i, ("attestation", attestation))

    def _enqueue(self, to: int, item) -> None:
        if self._outboxes[to].put(item):
            self.metrics.send_dropped.labels(str(to)).inc()

    @property
    def peers_connected(self) -> int:
        return len(self._connected)

    def queue_depth(self, peer: int) -> int:
        box = self._outboxes.get(peer)
        return len(box.items) if box else 0

    # -- lifecycle -----------------------------------------------------------------------------

    def _grpc_options(self) -> list[tuple[str, int]]:
        return [
            ("grpc.max_receive_message_length", self.config.max_message_bytes),
            ("grpc.max_send_message_length", self.config.max_message_bytes),
            ("grpc.keepalive_time_ms", 10_000),
            ("grpc.keepalive_timeout_ms", 5_000),
            ("grpc.so_reuseport", 0),
        ]

    async def start(self) -> None:
        """Bind the peer server (raises RuntimeError with one line if it cannot), then start
        one sender task per other member."""
        server = grpc.aio.server(options=self._grpc_options())
        peer_pb2_grpc.add_PeerApiServicer_to_server(_Servicer(self), server)
        try:
            if self.config.tls_cert:
                creds = grpc.ssl_server_credentials([(self.config.tls_key, self.config.tls_cert)])
                port = server.add_secure_port(self.config.listen, creds)
            else:
                port = server.add_insecure_port(self.config.listen)
        except RuntimeError:
            port = 0
        if port == 0:
            raise RuntimeError(f"peer.listen {self.config.listen}: cannot bind")
        await server.start()
        self._server = server
        loop = asyncio.get_running_loop()
        for i in self.others:
            self._tasks.append(loop.create_task(self._sender(i), name=f"peer-send-{i}"))

    async def stop(self) -> None:
        self._stopping = True
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            try:
                await t
            except (asyncio.CancelledError, Exception):
                pass
        self._tasks.clear()
        for ch in self._channels.values():
            await ch.close()
        self._channels.clear()
        if self._server is not None:
            await self._server.stop(0.5)
            self._server = None
        self._connected.clear()
        self.metrics.connected.set(0)

    def channel(self, peer: int) -> grpc.aio.Channel:
        """A (cached) channel to `peer`, for unary/streaming RPCs such as FetchBlocks."""
        ch = self._channels.get(peer)
        if ch is None:
            target = self.config.peers[peer]
            if self.config.tls_cert:
                creds = grpc.ssl_channel_credentials(
                    root_certificates=self.config.tls_ca or self.config.tls_cert,
                    private_key=self.config.tls_key,
                    certificate_chain=self.config.tls_cert,
                )
                ch = grpc.aio.secure_channel(target, creds, options=self._grpc_options())
            else:
                ch = grpc.aio.insecure_channel(target, options=self._grpc_options())
            self._channels[peer] = ch
        return ch

    # -- outbound ------------------------------------------------------------------------------

    def _seal(self, session: int, sequence: int, item) -> peer_pb2.PeerEnvelope:
        kind, body = item
        msg = peer_pb2.PeerMessage(sender=self.index, session=session, sequence=sequence)
        if kind == "consensus":
            msg.consensus = body
        elif kind == "transactions":
            msg.transactions.CopyFrom(body)
        else:
            msg.attestation.CopyFrom(body)
        raw = msg.SerializeToString()
        sig = self.signer.sign(envelope_signing_bytes(self.chain_id, raw))
        return peer_pb2.PeerEnvelope(sender=self.index, message=raw, signature=sig)

    async def _sender(self, peer: int) -> None:
        """Keep one client stream open to `peer`, feeding it from the peer's outbox."""
        backoff = self.config.reconnect_min_ms
        box = self._outboxes[peer]
        while not self._stopping:
            self.metrics.reconnects.labels(str(peer)).inc()
            ch = self.channel(peer)
            healthy = False
            try:
                await asyncio.wait_for(ch.channel_ready(), self.config.connect_timeout_ms / 1000)
                session = struct.unpack(">Q", os.urandom(8))[0]
                stub = peer_pb2_grpc.PeerApiStub(ch)
                self._connected.add(peer)
                self.metrics.connected.set(len(self._connected))
                healthy = True
                backoff = self.config.reconnect_min_ms

                async def stream() -> AsyncIterator[peer_pb2.PeerEnvelope]:
                    sequence = 0
                    while True:
                        item = await box.get()
                        sequence += 1
                        self.metrics.sent.labels(str(peer)).inc()
                        yield self._seal(session, sequence, item)

                await stub.Deliver(stream())
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - any failure means: reconnect later
                log.debug("peer %d stream ended: %s", peer, exc)
            finally:
                if peer in self._connected:
                    self._connected.discard(peer)
                    self.metrics.connected.set(len(self._connected))
            if self._stopping:
                return
            if not healthy:
                # a channel that never became ready is rebuilt (address may come back later)
                ch = self._channels.pop(peer, None)
                if ch is not None:
                    await ch.close()
            delay = backoff * (0.5 + random.random() / 2)
            backoff = min(self.config.reconnect_max_ms, backoff * 2)
            await asyncio.sleep(delay / 1000)

    # -- inbound -------------------------------------------------------------------------------

    def authenticate(self, env: peer_pb2.PeerEnvelope) -> peer_pb2.PeerMessage | None:
        """The inner message if the envelope is signed by the committee member it names."""
        sender = env.sender
        if not self.committee.contains(sender) or sender == self.index:
            self.metrics.dropped.labels("unknown_sender").inc()
            return None
        if not self.verifier.verify(
            self.committee.public_key(sender), envelope_signing_bytes(self.chain_id, env.message), env.signature
        ):
            self.metrics.dropped.labels("invalid_signature").inc()
            return None
        try:
            msg = peer_pb2.PeerMessage.FromString(env.message)
        except Exception:  # noqa: BLE001 - DecodeError of protobuf
            self.metrics.dropped.labels("malformed").inc()
            return None
        if msg.sender != sender:
            self.metrics.dropped.labels("sender_mismatch").inc()
            return None
        return msg

    def fetch_requester(self, req: peer_pb2.FetchBlocksRequest, now_ms: int) -> int | None:
        """The committee index that signed this FetchBlocks request, or None (anonymous)."""
        if not req.signature or not self.committee.contains(req.requester) or abs(now_ms - req.issued_ms) > FETCH_MAX_AGE_MS:
            return None
        signed = fetch_signing_bytes(self.chain_id, req.requester, req.from_height, req.max_blocks, req.issued_ms)
        if not self.verifier.verify(self.committee.public_key(req.requester), signed, req.signature):
            return None
        return req.requester

    def admit_fetch(self, req: peer_pb2.FetchBlocksRequest, now_ms: int) -> str | None:
        """Take a token from the requester's bucket; the refusal message, or None if allowed."""
        who = self.fetch_requester(req, now_ms)
        key = ANONYMOUS if who is None else str(who)
        bucket = self._fetch_buckets.get(key)
        if bucket is None:
            bucket = self._fetch_buckets[key] = TokenBucket(self.config.fetch_burst, now_ms)
        if bucket.take(self.config.fetch_rate_per_s, self.config.fetch_burst, now_ms):
            return None
        self.metrics.fetch_refused.labels(key).inc()
        return (f"FetchBlocks rate limit: requester {key} over {self.config.fetch_rate_per_s:g} requests/s "
                f"(burst {self.config.fetch_burst:g}); retry later")

    def sign_fetch(self, req: peer_pb2.FetchBlocksRequest, now_ms: int) -> peer_pb2.FetchBlocksRequest:
        """Sign an outgoing FetchBlocks request as this member (so it draws from our own bucket)."""
        req.requester, req.issued_ms = self.index, now_ms
        req.signature = self.signer.sign(fetch_signing_bytes(self.chain_id, req.requester, req.from_height,
                                                             req.max_blocks, req.issued_ms))
        return req

    def dispatch(self, sender: int, msg: peer_pb2.PeerMessage) -> None:
        kind = msg.WhichOneof("kind")
        if kind == "consensus":
            self.metrics.received.labels(kind).inc()
            self.on_consensus(sender, msg.consensus)
        elif kind == "transactions" and self.on_transactions is not None:
            self.metrics.received.labels(kind).inc()
            self.on_transactions(sender, msg.transactions.transactions)
        elif kind == "attestation" and self.on_attestation is not None:
            self.metrics.received.labels(kind).inc()
            self.on_attestation(sender, msg.attestation)
        else:
            self.metrics.dropped.labels("unexpected_kind").inc()


class _Servicer(peer_pb2_grpc.PeerApiServicer):
    def __init__(self, transport: PeerTransport) -> None:
        self.t = transport

    async def Deliver(self, request_iterator, context):
        accepted = rejected = 0
        session: int | None = None
        last_seq = 0
        try:
            async for env in request_iterator:
                msg = self.t.authenticate(env)
                if msg is None:
                    rejected += 1
                    continue
                if session is None or msg.session != session:
                    session, last_seq = msg.session, 0
                if msg.sequence <= last_seq:
                    self.t.metrics.dropped.labels("replay").inc()
                    rejected += 1
                    continue
                last_seq = msg.sequence
                try:
                    self.t.dispatch(env.sender, msg)
                    accepted += 1
                except Exception:  # noqa: BLE001 - a callback bug must not kill the stream
                    log.exception("peer message handler failed")
                    rejected += 1
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - oversized frames, resets: end this stream
            log.debug("inbound peer stream ended: %s", exc)
        return peer_pb2.PeerAck(accepted=accepted, rejected=rejected)

    async def FetchBlocks(self, request, context):
        if self.t.fetch_blocks is None:
            await context.abort(grpc.StatusCode.UNIMPLEMENTED, "catch-up not served by this node")
        refused = self.t.admit_fetch(request, int(time.time() * 1000))
        if refused is not None:
            await context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, refused)
        async for item in self.t.fetch_blocks(request):
            yield item

    async def GetStateCertificate(self, request, context):
        cert = self.t.state_certificate(request.height) if self.t.state_certificate else None
        if cert is None:
            await context.abort(grpc.StatusCode.NOT_FOUND, f"no state certificate for height {request.height}")
        return cert
