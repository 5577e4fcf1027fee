"""The poster's Solana side: build, sign, send and confirm `post_batch` transactions (DESIGN §8).

It speaks plain solana-py `AsyncClient` JSON-RPC, so the same code runs against a real
validator URL and against `assetl2 solana-dev`.  What it takes from Arbitrum's and
Optimism's batch posters:

- a priority fee (compute-budget instructions) that starts low and is escalated on a
  schedule, with a cap, each time a transaction has to be re-signed (`FeePolicy`);
- a tight compute-unit limit, because the priority fee is charged on the limit requested;
- the signed transaction is re-broadcast while its blockhash is valid (RPC nodes drop
  transactions) and re-signed with a fresh blockhash once it has expired;
- a re-post is never a double post: the program refuses an anchored index with
  `BatchAlreadyPosted`, and the client then checks the batch on chain is *the same* batch
  (`ALREADY_POSTED`) or raises `BatchConflict`;
- every failure is a typed exception whose `kind` is a stable label for metrics and
  alarms: retry with back-off (`RpcUnavailable`, `ConfirmationTimeout`), alarm without crash
  (`WalletEmpty`), or stop posting and keep the outbox (`AnchorProgramError`, `BatchConflict`).

The outbox and posting loop (bounded in-flight, back-off) sit on top of this module.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import time
from dataclasses import dataclass
from typing import Awaitable, Callable

from solana.exceptions import SolanaRpcException
from solana.rpc.async_api import AsyncClient
from solana.rpc.commitment import Commitment, Confirmed, Finalized, Processed
from solana.rpc.core import RPCException
from solana.rpc.models import TxOpts
from solders.compute_budget import set_compute_unit_limit, set_compute_unit_price
from solders.hash import Hash
from solders.keypair import Keypair
from solders.message import Message
from solders.pubkey import Pubkey
from solders.rpc.errors import SendTransactionPreflightFailureMessage
from solders.signature import Signature
from solders.transaction import Transaction
from solders.transaction_status import (
    TransactionConfirmationStatus,
    TransactionErrorFieldless,
    TransactionErrorInsufficientFundsForRent,
)

from batchposter import program_abi as abi
from batchposter.program_abi import ErrorCode

log = logging.getLogger(__name__)

LAMPORTS_PER_SIGNATURE = 5_000
MICRO_LAMPORTS_PER_LAMPORT = 1_000_000
BPS = 10_000
# post_batch measures ~4.3k CU, ~6.6k when its address was pre-funded, +300 for the two
# compute-budget instructions (deploy/program/README.md); the limit leaves headroom for
# runtime cost changes without paying priority fee on many unused units.
POST_BATCH_COMPUTE_UNIT_LIMIT = 10_000
# System program "insufficient lamports" surfacing from the program's CPI (SystemError 1).
SYSTEM_ERROR_INSUFFICIENT_LAMPORTS = 1
WALLET_ERRORS = (
    TransactionErrorFieldless.InsufficientFundsForFee,
    TransactionErrorFieldless.AccountNotFound,
)


@dataclass(frozen=True)
class FeePolicy:
    """Priority-fee schedule: `start` µlamports/CU, times `escalation_bps` per re-sign, capped."""

    start_micro_lamports_per_cu: int = 1_000
    escalation_bps: int = 15_000
    cap_micro_lamports_per_cu: int = 2_000_000
    compute_unit_limit: int = POST_BATCH_COMPUTE_UNIT_LIMIT

    def price(self, attempt: int) -> int:
        """The compute-unit price of the `attempt`-th signing (0 = first)."""
        price = self.start_micro_lamports_per_cu
        for _ in range(attempt):
            price = price * self.escalation_bps // BPS
            if price >= self.cap_micro_lamports_per_cu:
                break
        return min(price, self.cap_micro_lamports_per_cu)

    def fee_lamports(self, attempt: int) -> int:
        """Lamports one signing pays: the signature fee plus the priority fee on the CU limit."""
        priority = -(-self.compute_unit_limit * self.price(attempt) // MICRO_LAMPORTS_PER_LAMPORT)
        return LAMPORTS_PER_SIGNATURE + priority


# ---------------------------------------------------------------------------------------
# failures
# ---------------------------------------------------------------------------------------


class AnchorClientError(Exception):
    """Base of the client's failures; `kind` is the metrics/alarm label."""

    kind = "unknown"


class RpcUnavailable(AnchorClientError):
    """The RPC is down, slow or answered with an error: back off and try again."""

    kind = "rpc"


class ConfirmationTimeout(AnchorClientError):
    """Every signing expired unconfirmed: back off and try again (nothing landed)."""

    kind = "expired"


class WalletEmpty(AnchorClientError):
    """The poster cannot pay fee or rent: alarm, keep the outbox, do not crash."""

    kind = "wallet"


class AnchorNotInitialized(AnchorClientError):
    """The program's Config does not exist at this RPC: wrong program id or cluster."""

    kind = "not_initialized"


class AnchorProgramError(AnchorClientError):
    """The program refused the batch for a reason a retry cannot fix: stop posting, alarm."""

    kind = "program"

    def __init__(self, code: ErrorCode | int | None, detail: str):
        name = code.name if isinstance(code, ErrorCode) else code
        super().__init__(f"post_batch refused ({name}): {detail}")
        self.code = code


class BatchConflict(AnchorClientError):
    """A different batch is already anchored at this index: the chain and the node disagree."""

    kind = "conflict"


# ---------------------------------------------------------------------------------------
# submissions
# ---------------------------------------------------------------------------------------


class PostOutcome(enum.Enum):
    CONFIRMED = "confirmed"  # our transaction anchored the batch
    ALREADY_POSTED = "already_posted"  # the same batch was already on chain (re-post after a crash)


class SubmissionState(enum.Enum):
    PENDING = "pending"
    CONFIRMED = "confirmed"
    FAILED = "failed"  # landed with an error
    EXPIRED = "expired"  # blockhash too old and never landed


@dataclass(frozen=True)
class Submission:
    """One signed `post_batch` transaction in flight."""

    header: abi.BatchHeader
    transaction: Transaction
    blockhash: Hash
    last_valid_block_height: int
    attempt: int
    price_micro_lamports: int
    sent_at: float

    @property
    def signature(self) -> Signature:
        return self.transaction.signatures[0]


@dataclass(frozen=True)
class SubmissionStatus:
    state: SubmissionState
    slot: int | None = None
    error: AnchorClientError | None = None
    code: ErrorCode | int | None = None


@dataclass(frozen=True)
class PostResult:
    """How a batch ended up anchored; the numbers feed the poster's metrics."""

    outcome: PostOutcome
    batch_index: int
    signature: Signature | None
    slot: int | None
    attempts: int
    fee_lamports: int
    confirm_latency_s: float


_CONFIRMED_LEVELS = {
    Confirmed: (TransactionConfirmationStatus.Confirmed, TransactionConfirmationStatus.Finalized),
    Finalized: (TransactionConfirmationStatus.Finalized,),
}


class SolanaAnchorClient:
    """Posts batches to the anchor program through any Solana JSON-RPC endpoint."""

    def __init__(
        self,
        rpc: AsyncClient,
        program_id: Pubkey,
        poster: Keypair,
        fees: FeePolicy = FeePolicy(),
        commitment: Commitment = Confirmed,
        poll_interval_s: float = 0.4,
        rebroadcast_interval_s: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ):
        if commitment not in _CONFIRMED_LEVELS:
            raise ValueError(f"commitment must be confirmed or finalized, not {commitment!r}")
        self.rpc = rpc
        self.program_id = program_id
        self.poster = poster
        self.fees = fees
        self.commitment = commitment
        self.poll_interval_s = poll_interval_s
        self.rebroadcast_interval_s = rebroadcast_interval_s
        self._clock = clock
        self._sleep = sleep

    # -- reads --------------------------------------------------------------------------

    async def read_config(self) -> abi.ConfigAccount:
        """The on-chain tip (last anchored index and roots): where a restarted poster resumes."""
        data = await self._account_data(abi.config_address(self.program_id)[0])
        if data is None:
            raise AnchorNotInitialized(f"no Config account for program {self.program_id}")
        return abi.ConfigAccount.decode(data)

    async def read_batch(self, batch_index: int) -> abi.BatchAccount | None:
        data = await self._account_data(abi.batch_address(self.program_id, batch_index))
        return None if data is None else abi.BatchAccount.decode(data)

    async def wallet_balance(self) -> int:
        resp = await self._call(self.rpc.get_balance(self.poster.pubkey(), commitment=self.commitment))
        return resp.value

    async def batch_cost_lamports(self, attempt: int = 0) -> int:
        """What one more batch costs the wallet: the Batch account's rent plus the fee."""
        rent = await self._call(self.rpc.get_minimum_balance_for_rent_exemption(abi.BatchAccount.SIZE))
        return rent.value + self.fees.fee_lamports(attempt)

    async def _account_data(self, address: Pubkey) -> bytes | None:
        resp = await self._call(self.rpc.get_account_info(address, commitment=self.commitment))
        if resp.value is None or resp.value.owner != self.program_id:
            return None
        return bytes(resp.value.data)

    async def _call(self, awaitable):
        try:
            return await awaitable
        except (SolanaRpcException, RPCException, OSError, asyncio.TimeoutError) as exc:
            raise RpcUnavailable(str(exc) or type(exc).__name__) from exc

    # -- building and sending -----------------------------------------------------------

    def build_post_batch(self, header: abi.BatchHeader, blockhash: Hash, attempt: int = 0) -> Transaction:
        """The signed transaction: CU limit, CU price of this attempt, then `post_batch`."""
        instructions = [
            set_compute_unit_limit(self.fees.compute_unit_limit),
            set_compute_unit_price(self.fees.price(attempt)),
            abi.post_batch_ix(self.program_id, self.poster.pubkey(), header),
        ]
        return Transaction([self.poster], Message(instructions, self.poster.pubkey()), blockhash)

    async def send_post_batch(self, header: abi.BatchHeader, attempt: int = 0) -> Submission:
        """Sign with a fresh blockhash and send with preflight.

        A preflight refusal becomes a typed error; `BatchAlreadyPosted` is resolved here into
        `_AlreadyPosted` (same batch on chain) or `BatchConflict` by reading the batch back.
        """
        latest = await self._call(self.rpc.get_latest_blockhash(commitment=self.commitment))
        blockhash, last_valid = latest.value.blockhash, latest.value.last_valid_block_height
        tx = self.build_post_batch(header, blockhash, attempt)
        submission = Submission(header, tx, blockhash, last_valid, attempt, self.fees.price(attempt), self._clock())
        await self._send(submission)
        return submission

    async def rebroadcast(self, submission: Submission) -> None:
        """Send the same signed transaction again (RPC nodes drop transactions; same signature)."""
        await self._send(submission)

    async def _send(self, submission: Submission) -> None:
        # Preflight against the processed bank: with several batches in flight, batch k+1 is
        # only valid on top of batch k, which is processed long before it is confirmed.
        opts = TxOpts(skip_preflight=False, preflight_commitment=Processed, max_retries=0)
        try:
            await self.rpc.send_raw_transaction(bytes(submission.transaction), opts)
        except RPCException as exc:
            failure = exc.args[0] if exc.args else None
            if isinstance(failure, SendTransactionPreflightFailureMessage) and failure.data.err is not None:
                if failure.data.err == TransactionErrorFieldless.BlockhashNotFound:
                    return  # treated as expired by the status check
                raise self._classify(failure.data.err, failure.data.logs or [])
            raise RpcUnavailable(str(exc)) from exc
        except (SolanaRpcException, OSError, asyncio.TimeoutError) as exc:
            raise RpcUnavailable(str(exc) or type(exc).__name__) from exc

    def _classify(self, err, logs: list[str]) -> AnchorClientError:
        code = abi.error_code_of(err)
        if code == ErrorCode.BATCH_ALREADY_POSTED:
            return _AlreadyPosted()
        if err in WALLET_ERRORS or isinstance(err, TransactionErrorInsufficientFundsForRent):
            return WalletEmpty(f"poster {self.poster.pubkey()} cannot pay: {err}")
        if code == SYSTEM_ERROR_INSUFFICIENT_LAMPORTS:
            return WalletEmpty(f"poster {self.poster.pubkey()} cannot pay the batch account's rent")
        detail = "; ".join(line for line in logs if "failed" in line or "Error" in line) or str(err)
        return AnchorProgramError(code, detail)

    # -- confirmation -------------------------------------------------------------------

    async def status(self, submission: Submission) -> SubmissionStatus:
        """Where one submission stands, by signature status and block height."""
        resp = await self._call(self.rpc.get_signature_statuses([submission.signature], search_transaction_history=True))
        status = resp.value[0]
        if status is not None:
            if status.err is not None:
                error = self._classify(status.err, [])
                return SubmissionStatus(SubmissionState.FAILED, status.slot, error, abi.error_code_of(status.err))
            if status.confirmation_status in _CONFIRMED_LEVELS[self.commitment]:
                return SubmissionStatus(SubmissionState.CONFIRMED, status.slot)
            return SubmissionStatus(SubmissionState.PENDING, status.slot)
        height = await self._call(self.rpc.get_block_height(commitment=self.commitment))
        if height.value > submission.last_valid_block_height:
            return SubmissionStatus(SubmissionState.EXPIRED)
        return SubmissionStatus(SubmissionState.PENDING)

    async def post_batch(self, header: abi.BatchHeader, max_signings: int = 6) -> PostResult:
        """Anchor one batch and wait for the configured commitment.

        Re-broadcasts while the blockhash is valid, re-signs with a fresh blockhash and an
        escalated fee when it expires, up to `max_signings` signings.  Idempotent: if the
        batch is already anchored with the same content the result is `ALREADY_POSTED`.
        """
        started = self._clock()
        fees_paid = 0
        for attempt in range(max_signings):
            try:
                submission = await self.send_post_batch(header, attempt)
                state = await self._wait(submission)
            except _AlreadyPosted:
                return await self._already_posted(header, attempt + 1, fees_paid, started)
            if state.state == SubmissionState.CONFIRMED:
                fees_paid += self.fees.fee_lamports(attempt)
                return PostResult(PostOutcome.CONFIRMED, header.batch_index, submission.signature, state.slot,
                                  attempt + 1, fees_paid, self._clock() - started)
            if state.state == SubmissionState.FAILED:
                fees_paid += self.fees.fee_lamports(attempt)
                if isinstance(state.error, _AlreadyPosted):
                    return await self._already_posted(header, attempt + 1, fees_paid, started)
                raise state.error  # type: ignore[misc]
            log.info("batch %d: signing %d expired unconfirmed; re-signing", header.batch_index, attempt)
        raise ConfirmationTimeout(f"batch {header.batch_index}: {max_signings} signings expired unconfirmed")

    async def _wait(self, submission: Submission) -> SubmissionStatus:
        last_broadcast = submission.sent_at
        while True:
            status = await self.status(submission)
            if status.state != SubmissionState.PENDING:
                return status
            if self._clock() - last_broadcast >= self.rebroadcast_interval_s and status.slot is None:
                await self._send(submission)
                last_broadcast = self._clock()
            await self._sleep(self.poll_interval_s)

    async def _already_posted(self, header: abi.BatchHeader, attempts: int, fees: int, started: float) -> PostResult:
        """The program says this index is anchored: the same batch (a no-op) or a conflict?

        Read at the configured commitment.  A batch the authority has closed (`close_batch`)
        cannot be compared any more; the Config tip past it proves it was anchored.  Anything
        not yet visible at the commitment is retried later rather than called a conflict.
        """
        anchored = await self.read_batch(header.batch_index)
        if anchored is None:
            config = await self.read_config()
            if config.last_batch_index > header.batch_index:
                log.warning("batch %d is anchored and its account closed; content not re-checked", header.batch_index)
                return PostResult(PostOutcome.ALREADY_POSTED, header.batch_index, None, None, attempts, fees,
                                  self._clock() - started)
            raise RpcUnavailable(f"batch {header.batch_index} is anchored but not yet visible at {self.commitment}")
        if anchored.header() != header:
            raise BatchConflict(
                f"batch {header.batch_index} on chain has state root {anchored.state_root.hex()}, "
                f"the node has {header.state_root.hex()}"
            )
        return PostResult(PostOutcome.ALREADY_POSTED, header.batch_index, None, anchored.slot, attempts, fees,
                          self._clock() - started)


class _AlreadyPosted(AnchorClientError):
    """Internal: the program answered BatchAlreadyPosted; resolved by reading the batch back."""

    kind = "already_posted"
