"""Devnet genesis: CurveScript + TOML → validated, typed Genesis and its hash (issue 5 part 5)."""
from __future__ import annotations

import tomllib

import pytest

from executor.curvescript import CurveScriptErrors, decode_pubkey
from executor.genesis import GenesisError, load_genesis, validate_genesis

from cs_helpers import BASE, DEVNET_CURVE, DEVNET_TOML, KEYS, STUB_LAYOUT, compile_stub


def _toml(**over) -> dict:
    doc = tomllib.loads(DEVNET_TOML.read_text())
    for k, v in over.items():
        if v is None:
            doc.pop(k, None)
        else:
            doc[k] = v
    return doc


def _issues(doc, compiled) -> list[tuple[str, str]]:
    with pytest.raises(GenesisError) as exc:
        validate_genesis(doc, compiled)
    return [(i.key, i.problem) for i in exc.value.issues]


def test_devnet_genesis_loads_into_typed_sorted_values():
    g = load_genesis(DEVNET_CURVE, DEVNET_TOML, layout=STUB_LAYOUT)
    assert g.chain_id == "assetl2-devnet-1" and g.dev_faucet_enabled is True
    assert [a.pubkey for a in g.accounts] == sorted(a.pubkey for a in g.accounts) and len(g.accounts) == 3
    assert sum(a.amount_atoms for a in g.accounts) == 11_000_000_000_000
    assert [(p.instrument, p.price_e6) for p in g.prices] == [("BTC-PERP", 60_000_000_000), ("ETH-PERP", 3_000_000_000)]
    assert g.oracles[0].oracle_id == "devnet" and g.oracles[0].feeders == g.config.oracle("devnet").feeders
    assert g.config_fingerprint == compile_stub(DEVNET_CURVE.read_text()).fingerprint
    assert len(g.genesis_hash) == 32


def test_genesis_hash_is_stable_and_covers_every_field(devnet_compiled):
    base = validate_genesis(_toml(), devnet_compiled)
    assert validate_genesis(_toml(), devnet_compiled).genesis_hash == base.genesis_hash
    variants = [_toml(chain_id="assetl2-devnet-2"), _toml(dev_faucet_enabled=False),
                _toml(prices={"BTC-PERP": 60_000_100_000, "ETH-PERP": 3_000_000_000}), _toml(oracles=None)]
    more = _toml()
    more["accounts"][0]["amount_atoms"] += 1
    variants.append(more)
    hashes = {validate_genesis(v, devnet_compiled).genesis_hash for v in variants}
    assert len(hashes) == len(variants) and base.genesis_hash not in hashes


def test_account_order_in_the_file_does_not_matter(devnet_compiled):
    doc = _toml()
    doc["accounts"].reverse()
    assert validate_genesis(doc, devnet_compiled).genesis_hash == validate_genesis(_toml(), devnet_compiled).genesis_hash


def test_every_problem_is_reported_with_its_key(devnet_compiled):
    doc = _toml(chain_id="Devnet 1", dev_faucet_enabled="yes", extra=1)
    doc["accounts"] = [
        {"pubkey": KEYS[0], "amount_atoms": 5},
        {"pubkey": KEYS[0], "amount_atoms": 6},
        {"pubkey": "not-base58!", "amount_atoms": 0},
        {"pubkey": KEYS[1], "amount_atoms": True, "memo": "x"},
    ]
    doc["oracles"] = {"devnet": {"feeders": [KEYS[2]]}, "pyth": {"feeders": []}}
    doc["prices"] = {"BTC-PERP": 60_000_050_000, "DOGE-PERP": 1}
    keys = [k for k, _ in _issues(doc, devnet_compiled)]
    assert keys == ["extra", "chain_id", "dev_faucet_enabled", "accounts[1].pubkey", "accounts[2].pubkey",
                    "accounts[2].amount_atoms", "accounts[3].memo", "accounts[3].amount_atoms",
                    "oracles.devnet.feeders[0]", "oracles.pyth", "prices.DOGE-PERP", "prices.BTC-PERP",
                    "prices.ETH-PERP"]


def test_problem_texts_say_what_to_do(devnet_compiled):
    issues = dict(_issues(_toml(prices={"BTC-PERP": 60_000_050_000, "ETH-PERP": 3_000_000_000}), devnet_compiled))
    assert issues == {"prices.BTC-PERP": "60000050000 is not a multiple of the tick 100000; use 60000000000"}
    issues = dict(_issues(_toml(oracles={"devnet": {"feeders": [KEYS[2]]}}), devnet_compiled))
    assert issues == {"oracles.devnet.feeders[0]": f'{KEYS[2]} is not an authorised FEEDER of ORACLE "devnet"'}


def test_funding_above_the_vault_cap_is_refused():
    compiled = compile_stub(BASE)      # vault_cap_atoms=1000000000
    doc = {"chain_id": "t", "accounts": [{"pubkey": KEYS[0], "amount_atoms": 600_000_000},
                                         {"pubkey": KEYS[1], "amount_atoms": 400_000_001}],
           "prices": {"BTC-PERP": 100_000, "ETH-PERP": 10_000}}
    assert _issues(doc, compiled) == [
        ("accounts", "total funding 1000000001 atoms exceeds ROUTER COLLATERAL vault_cap_atoms=1000000000")]
    doc["accounts"][1]["amount_atoms"] = 400_000_000
    g = validate_genesis(doc, compiled)
    assert g.dev_faucet_enabled is False and g.oracles == ()
    assert {a.pubkey for a in g.accounts} == {decode_pubkey(KEYS[0]), decode_pubkey(KEYS[1])}


def test_missing_chain_id_and_prices(devnet_compiled):
    assert [k for k, _ in _issues(_toml(chain_id=None, prices=None), devnet_compiled)] == ["chain_id", "prices"]


def test_toml_syntax_error_is_reported_under_a_key(tmp_path):
    bad = tmp_path / "g.toml"
    bad.write_text('chain_id = "x"\nprices = {\n')
    with pytest.raises(GenesisError) as exc:
        load_genesis(DEVNET_CURVE, bad, layout=STUB_LAYOUT)
    assert exc.value.keys == ["<toml>"]


def test_a_broken_curvescript_file_raises_its_own_errors(tmp_path):
    curve = tmp_path / "x.curve"
    curve.write_text(BASE.replace("CAP_TTL ms=60000", "CAP_TTL ms=0"))
    with pytest.raises(CurveScriptErrors) as exc:
        load_genesis(curve, DEVNET_TOML, layout=STUB_LAYOUT)
    assert exc.value.codes == ["CS205"]


def test_initial_price_must_agree_with_the_amm_reserves(devnet_compiled):
    # devnet amm:ETH holds 1 000 ETH against 3 000 000 USDC: 3 000 USDC/ETH; band 1 000 bps.
    ok = validate_genesis(_toml(prices={"BTC-PERP": 60_000_000_000, "ETH-PERP": 3_300_000_000}), devnet_compiled)
    assert ok.prices[1].price_e6 == 3_300_000_000
    issues = _issues(_toml(prices={"BTC-PERP": 60_000_000_000, "ETH-PERP": 3_400_000_000}), devnet_compiled)
    assert issues == [("prices.ETH-PERP", "3400000000 is more than PRICE_BAND 1000 bps away from the price "
                                          '3000000000 implied by the reserves of amm slab "amm:ETH"; align the two')]
