"""AssetL2 node: statetree package."""
