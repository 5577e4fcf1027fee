"""The slabs of a deployment: numbering, construction from CurveScript, and persistence.

Numbering (used on the wire, ``tx.proto``): ``slab_id``, ``instrument_id`` and ``oracle_id``
are 1-based positions in the compiled config's sorted ``slabs``, ``instruments`` and
``oracles`` tuples (0 is "unspecified" in proto3).  A slab's *local* instrument index is the
instrument's position in that slab's own ``instruments`` tuple.

Persistence (DESIGN §5): each slab arena is a ``statetree.pages.PageRegion`` keyed by the
slab number; at the end of a block only the pages the slab reports dirty are copied into the
region and written, so a block costs O(pages touched).  On restart a slab is rebuilt
bit-for-bit from its region (``from_arena``).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator, Optional, Union

from executor.amm.config import AmmSlabConfig
from executor.amm.program import AmmSlab
from executor.curvescript.config import Config
from executor.slab.config import Capacities, InstrumentConfig, SlabConfig
from executor.slab.program import Slab
from statetree import StateTree
from statetree.pages import PageRegion

SlabLike = Union[Slab, AmmSlab]


def slab_number(config: Config, slab_id: str) -> int:
    """1-based wire id of a CurveScript slab name."""
    return [s.slab_id for s in config.slabs].index(slab_id) + 1


def instrument_number(config: Config, symbol: str) -> int:
    """1-based wire id of an instrument symbol."""
    return [i.symbol for i in config.instruments].index(symbol) + 1


def oracle_number(config: Config, oracle_id: str) -> int:
    """1-based wire id of an oracle name."""
    return [o.oracle_id for o in config.oracles].index(oracle_id) + 1


def local_instrument(config: Config, slab: int, instrument: int) -> int:
    """The slab-local index of wire instrument ``instrument`` on wire slab ``slab``.

    Raises LookupError naming what is unknown (a client's wrong id, not a program fault)."""
    if not 1 <= slab <= len(config.slabs):
        raise LookupError(f"no slab {slab}; slabs are 1..{len(config.slabs)}")
    if not 1 <= instrument <= len(config.instruments):
        raise LookupError(f"no instrument {instrument}; instruments are 1..{len(config.instruments)}")
    symbol = config.instruments[instrument - 1].symbol
    listed = config.slabs[slab - 1].instruments
    if symbol not in listed:
        raise LookupError(f"slab {slab} does not list instrument {instrument} ({symbol})")
    return listed.index(symbol)


_MAKER_CLASS_CODES = {"REG": 0, "DLP": 1}     # executor/slab/program.py REG, DLP


def book_slab_config(config: Config, slab_id: str) -> SlabConfig:
    """The book slab's configuration from its compiled ``SLAB`` block (seed 000 §1).

    Fee caps are the tighter of the slab's own and the router's governance ceiling (ADV3);
    the oracle's ``max_age_ms`` is the staleness bound (seed 001 T1)."""
    slab = config.slab(slab_id)
    if slab.kind != "book":
        raise ValueError(f"slab {slab_id!r} is KIND {slab.kind}, not book")
    oracle = config.oracle(slab.oracle)
    instruments = []
    for symbol in slab.instruments:
        ins = config.instrument(symbol)
        instruments.append(InstrumentConfig(
            symbol, tick_e6=ins.tick_e6, lot=ins.lot_size, min_size=ins.min_size,
            contract_size=ins.contract_size, band_bps=ins.price_band_bps,
            oracle_heartbeat_ms=oracle.max_age_ms, funding_interval_ms=ins.funding_interval_ms))
    p, at = slab.pools, slab.anti_toxicity
    return SlabConfig(
        slab_id=slab_number(config, slab_id),
        instruments=tuple(instruments),
        capacities=Capacities(accounts=p.accounts, orders=p.orders, positions=p.positions,
                              reservations=p.reservations, slices=p.slices, trades=p.trades),
        maker_fee_bps=slab.fee.maker_bps, taker_fee_bps=slab.fee.taker_bps,
        imr_bps=slab.risk.imr_bps, mmr_bps=slab.risk.mmr_bps,
        kill_band_bps=at.kill_band_bps, jit_penalty=at.jit_penalty, arg_tax_bps=at.arg_tax_bps,
        freeze_ms=at.freeze_ms, freeze_top_k=at.top_k,
        reservation_batch_ms=slab.batch_ms,
        fee_cap_maker_bps=min(slab.fee_cap.maker_bps, config.router.fee_cap.maker_bps),
        fee_cap_taker_bps=min(slab.fee_cap.taker_bps, config.router.fee_cap.taker_bps),
        maker_allowances=tuple(sorted((_MAKER_CLASS_CODES[m.name], m.allowance) for m in slab.maker_classes)),
    )


def slab_config(config: Config, slab_id: str) -> Union[SlabConfig, AmmSlabConfig]:
    """Book or AMM configuration, by the slab's KIND."""
    if config.slab(slab_id).kind == "amm":
        return AmmSlabConfig.from_curvescript(config, slab_id, slab_number=slab_number(config, slab_id))
    return book_slab_config(config, slab_id)


def new_slab(config: Config, slab_id: str) -> SlabLike:
    """A fresh slab (genesis)."""
    cfg = slab_config(config, slab_id)
    return AmmSlab(cfg) if isinstance(cfg, AmmSlabConfig) else Slab(cfg)


def build_slabs(config: Config) -> dict[int, SlabLike]:
    """Fresh slab programs for every configured slab, keyed by wire number (tests, genesis)."""
    return {slab_number(config, s.slab_id): new_slab(config, s.slab_id) for s in config.slabs}


def region_id(number: int) -> bytes:
    """PageRegion id of slab ``number``: stable, and distinct from any other region."""
    return b"slab:" + number.to_bytes(4, "big")


@dataclass
class SlabSet:
    """All slabs of the deployment with their persisted regions, by wire number."""

    slabs: dict[int, SlabLike]
    regions: dict[int, PageRegion]

    @classmethod
    def genesis(cls, config: Config) -> "SlabSet":
        slabs = build_slabs(config)
        regions = {}
        for number, slab in slabs.items():
            regions[number] = PageRegion(region_id(number), len(slab.arena_bytes()))
            _copy_all(slab, regions[number])
        return cls(slabs, regions)

    @classmethod
    def load(cls, config: Config, tree: StateTree, version: Optional[int] = None) -> "SlabSet":
        """Rebuild every slab bit-for-bit from the tree (restart)."""
        slabs, regions = {}, {}
        for s in config.slabs:
            number = slab_number(config, s.slab_id)
            region = PageRegion.load(tree, region_id(number), version)
            cfg = slab_config(config, s.slab_id)
            kind = AmmSlab if isinstance(cfg, AmmSlabConfig) else Slab
            slabs[number] = kind.from_arena(cfg, bytes(region.buffer))
            regions[number] = region
        return cls(slabs, regions)

    def __iter__(self) -> Iterator[int]:
        return iter(sorted(self.slabs))

    def take_updates(self) -> dict[bytes, Optional[bytes]]:
        """Copy each slab's dirty pages into its region and return the block's page updates."""
        updates: dict[bytes, Optional[bytes]] = {}
        for number in sorted(self.slabs):
            slab, region = self.slabs[number], self.regions[number]
            page = slab.PAGE_SIZE
            for index in slab.dirty_pages():
                data = slab.page(index)
                region.write(index * page, data)
            slab.clear_dirty()
            updates.update(region.updates())
        return updates

    def mark_clean(self) -> None:
        for region in self.regions.values():
            region.mark_clean()


def _copy_all(slab: SlabLike, region: PageRegion) -> None:
    """A new region holds the whole fresh arena (every page is new)."""
    region.write(0, bytes(slab.arena_bytes()))
    slab.clear_dirty()
