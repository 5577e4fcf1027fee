"""A market maker pipelines quotes over one bidirectional SubmitStream: no per-account
sequence numbers, so many signed orders can be in flight at once."""
import asyncio
import os

from node.client import Client, Wallet, txs

BOOK_BTC_A, BTC_PERP, BUY, SELL = 2, 1, 1, 2


async def main() -> None:
    node = os.environ.get("ASSETL2_NODE", "127.0.0.1:50051")
    async with await Client.connect(node, "assetl2-devnet-1") as client:
        maker = Wallet.generate("assetl2-devnet-1")
        await client.execute(maker.sign(txs.deposit(maker.public, 100_000_000_000)))
        book = await client.order_book(BOOK_BTC_A, BTC_PERP)
        while not (book.bids and book.asks):  # makers may be re-quoting
            await asyncio.sleep(0.5)
            book = await client.order_book(BOOK_BTC_A, BTC_PERP)
        mid = (book.bids[0].price_e6 + book.asks[0].price_e6) // 2 // 100_000 * 100_000
        quotes = [maker.sign(txs.place_order(BOOK_BTC_A, BTC_PERP, side, 1, mid + sign * k * 5_000_000))
                  for k in range(20, 25) for side, sign in ((SELL, 1), (BUY, -1))]
        waits = [await client.wait_receipt(txs.envelope_hash(q)) for q in quotes]  # before sending
        stream = await client.stream()
        results = await asyncio.gather(*(stream.send(q) for q in quotes))
        await stream.close()
        print(f"{sum(r.accepted for r in results)} of {len(quotes)} quotes admitted")
        receipts = await asyncio.gather(*(w for w, r in zip(waits, results) if r.accepted))
        print(f"{sum(rc.ok for _, rc in receipts)} executed")


asyncio.run(main())
