"""Trade: a new account is funded by the dev faucet, reserves BTC-PERP across slabs with a
commitment only, and reveals it in a later epoch.  Needs a running `assetl2 devnet` (its
demo market makers quote the books and its feeder keeps the oracle fresh)."""
import asyncio
import os

from node.client import Client, TxRejected, Wallet, new_reveal, txs

BTC_PERP, BUY = 1, 1


async def main() -> None:
    node = os.environ.get("ASSETL2_NODE", "127.0.0.1:50051")
    async with await Client.connect(node, "assetl2-devnet-1") as client:
        me = Wallet.generate("assetl2-devnet-1")
        await client.execute(me.sign(txs.deposit(me.public, 10_000_000_000)))  # 10 000 USDC
        print("funded", me.address)

        for route_id in range(1, 9):  # the book moves; try a few routes
            # Best ask across the BTC books (makers may be re-quoting: wait for one), limit 1 % above.
            asks = []
            while not asks:
                asks = [lv.price_e6 for slab in (2, 3) for lv in (await client.order_book(slab, BTC_PERP)).asks]
                await asyncio.sleep(0.5)
            limit = min(asks) * 101 // 100 // 100_000 * 100_000  # tick 0.10 USDC
            pending = new_reveal(route_id, BTC_PERP, BUY, 3, limit)  # secret salt stays here
            try:
                block, _ = await client.execute(me.sign(txs.reserve(pending, ttl_ms=10_000)))
                hold = await client.hold(me.public, route_id)  # proofs verified
                print(f"reserved at height {block.header.height} on slabs {[s.slab_id for s in hold.slabs]}")
                await asyncio.sleep(0.1)  # the commit must land in a later 50 ms epoch
                block, _ = await client.execute(me.sign(txs.commit(pending)))
                print(f"committed at height {block.header.height}")
                break
            except TxRejected as err:
                print(f"route {route_id}: {err.name} ({int(err.code)}), retrying")
                await asyncio.sleep(0.5)
        else:
            raise SystemExit("no route could be filled")

        account = await client.account(me.public)
        for p in account.positions:
            print(f"position: slab {p.slab_id} {p.qty_lots} lots at {p.entry_price_e6 / 1e6:,.2f}")


asyncio.run(main())
