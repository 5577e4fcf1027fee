"""Read proven state: status, an account whose Merkle proofs the SDK verifies, a block."""
import asyncio
import os

from node.client import Client, ProofError, Wallet, verify_proofs


async def main() -> None:
    node = os.environ.get("ASSETL2_NODE", "127.0.0.1:50051")
    async with await Client.connect(node, "assetl2-devnet-1") as client:  # refuses another chain
        status = await client.status()
        print(f"height {status.height}, view {status.view}, epoch {status.epoch}")

        taker = Wallet.dev("account-0")  # a public devnet key: never use outside a devnet
        account = await client.account(taker.public)  # raises ProofError on a bad proof
        print(f"vault {account.vaults[0].amount_atoms / 1e6:,.2f} USDC, "
              f"{len(account.proofs)} proofs verified against root {account.anchor.state_root.hex()[:16]}")

        # A tampered answer is caught: flip one byte of a proven value.
        proof = account.proofs[0]
        proof.value = bytes([proof.value[0] ^ 1]) + proof.value[1:]
        try:
            verify_proofs(account.anchor.state_root, [proof])
        except ProofError as err:
            print("tampered proof rejected:", err)

        block = await client.block(account.anchor.height)
        print(f"block {block.header.height}: {len(block.tx_hashes)} transactions")


asyncio.run(main())
