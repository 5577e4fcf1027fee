"""AssetL2 sequencer: HotStuff-2 two-chain BFT ordering as a pure, event-driven state machine.

DESIGN §3/§7, issue 6. `consensus.Replica` turns typed events into typed actions; `safety`
holds the pure rules; `storage`, `driver.Transport` and `driver.DecidedSink` are the narrow
interfaces through which LevelDB, the gRPC peer API and the executor plug in. See README.md.
"""
