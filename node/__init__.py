"""AssetL2 node: node package."""
