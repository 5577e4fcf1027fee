"""AssetL2 node: batchposter package."""
