"""The AssetL2 client SDK: keys, transaction builders, commit-reveal, an async gRPC client
that verifies the proofs it reads, typed errors (issue 8).

    from node.client import Client, Wallet, txs, new_reveal
"""
from node.client import txs
from node.client.client import Client, SubmitStream, verify_proofs
from node.client.commitment import PendingReveal, new_reveal
from node.client.errors import (ChainMismatch, ClientError, NodeUnavailable, NotFound, ProofError,
                                TxRejected, TxTimeout)
from node.client.txs import Wallet, dev_key

__all__ = ["Client", "SubmitStream", "verify_proofs", "PendingReveal", "new_reveal", "txs", "Wallet",
           "dev_key", "ChainMismatch", "ClientError", "NodeUnavailable", "NotFound", "ProofError",
           "TxRejected", "TxTimeout"]
