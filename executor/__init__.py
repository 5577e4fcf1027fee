"""AssetL2 node: executor package."""
