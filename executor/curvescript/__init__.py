"""CurveScript: the configuration language of the router and slab programs (seed 000 §1).

``compile_file(path)`` parses and type-checks a ``.curve`` file and returns a
:class:`Compiled` whose ``config`` is the canonical configuration the router and slabs
read, whose ``fingerprint`` is the config fingerprint of DESIGN §6, and whose ``checks``
are the lines of the verification transcript (see ``executor.manifest``).  Grammar,
statement reference and error codes: ``README.md`` beside this file.
"""
from .checker import Compiled, check_program, compile_file, compile_source, decode_pubkey, encode_pubkey
from .config import (CONFIG_FORMAT, AmmConfig, AntiToxicityConfig, CollateralConfig, Config, CorrelationConfig,
                     FeeCapConfig, FeeConfig, InstrumentConfig, LiquidationConfig, MakerClassConfig, MatchingConfig,
                     OracleConfig, PoolsConfig, PortfolioMarginConfig, RegistryConfig, RiskConfig, RouterConfig,
                     SlabConfig, canonical_bytes, config_from_canonical, fingerprint)
from .errors import CurveScriptError, CurveScriptErrors
from .parser import parse, parse_with_errors
from .printer import format_program
from .render import config_to_program, render_config

__all__ = [
    "CONFIG_FORMAT", "AmmConfig", "AntiToxicityConfig", "CollateralConfig", "Compiled", "Config",
    "CorrelationConfig", "CurveScriptError", "CurveScriptErrors", "FeeCapConfig", "FeeConfig", "InstrumentConfig",
    "LiquidationConfig", "MakerClassConfig", "MatchingConfig", "OracleConfig", "PoolsConfig",
    "PortfolioMarginConfig", "RegistryConfig", "RiskConfig", "RouterConfig", "SlabConfig", "canonical_bytes",
    "check_program", "compile_file", "config_from_canonical", "compile_source", "config_to_program", "decode_pubkey", "encode_pubkey",
    "fingerprint", "format_program", "parse", "parse_with_errors", "render_config",
]
