"""AssetL2 node: sequencer package."""
