"""AssetL2 node: proto package."""
