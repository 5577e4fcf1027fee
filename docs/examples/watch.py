"""Follow events: blocks and fills.  The stream reconnects by itself after a dropped
connection and resumes from the block after the last one it delivered."""
import asyncio
import os

from node.client import Client
from proto.assetl2.v1 import client_pb2


async def main() -> None:
    node = os.environ.get("ASSETL2_NODE", "127.0.0.1:50051")
    async with await Client.connect(node, "assetl2-devnet-1") as client:
        start = (await client.status()).height
        blocks = 0
        async for event in client.events(from_height=max(1, start - 5)):
            if event.WhichOneof("kind") == "block":
                blocks += 1
                print(f"block {event.height}: {len(event.block.tx_hashes)} txs")
            elif event.WhichOneof("kind") == "fill":
                f = event.fill
                print(f"fill on slab {f.slab_id}: {f.qty_lots} lots at {f.price_e6 / 1e6:,.2f}")
            if blocks == 10:
                break
        print("kinds:", [client_pb2.EventKind.Name(k) for k in (1, 2)])


asyncio.run(main())
