"""Config validation: every mistake is one error naming the key and the problem (issue 2)."""
from __future__ import annotations

from pathlib import Path

import pytest

from node import config


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "node.toml"
    p.write_text(text)
    return p


def test_defaults_give_a_one_node_local_run():
    cfg = config.load(None, environ={})
    assert cfg.node.roles == ["sequencer", "executor", "batchposter"]
    assert cfg.grpc.listen.startswith("127.0.0.1:")
    assert cfg.admin.listen.startswith("127.0.0.1:")


def test_example_config_is_valid_and_equals_defaults(repo):
    cfg = config.load(repo / "deploy" / "node.example.toml", environ={})
    defaults = config.load(None, environ={})
    for section in config.SECTIONS:
        if section == "node":
            continue
        assert getattr(cfg, section) == getattr(defaults, section), section
    assert cfg.data_dir == (repo / "data" / "node0").resolve()


def test_relative_data_dir_is_relative_to_the_config_file(tmp_path):
    cfg = config.load(write(tmp_path, '[node]\ndata_dir = "d"\nkey_file = "k.json"\n'), environ={})
    assert cfg.data_dir == tmp_path / "d"
    assert cfg.key_path == tmp_path / "d" / "k.json"


@pytest.mark.parametrize(
    ("text", "key", "fragment"),
    [
        ("[nod]\nchain_id = 'x'\n", "nod", "unknown section"),
        ("[node]\nchainid = 'x'\n", "node.chainid", "unknown key"),
        ("[grpc]\nlisten = 50051\n", "grpc.listen", "expected string"),
        ("[grpc]\nlisten = '127.0.0.1'\n", "grpc.listen", "expected host:port"),
        ("[grpc]\nlisten = '127.0.0.1:70000'\n", "grpc.listen", "port must be"),
        ("[grpc]\nlisten = 'example.com:1'\n", "grpc.listen", "IP address"),
        ("[grpc]\nmax_message_bytes = 0\n", "grpc.max_message_bytes", "> 0"),
        ("[grpc]\nmax_message_bytes = true\n", "grpc.max_message_bytes", "expected integer"),
        ("[node]\nroles = ['miner']\n", "node.roles", "unknown role"),
        ("[node]\nroles = 'executor'\n", "node.roles", "expected list"),
        ("[node]\nroles = ['executor', 'executor']\n", "node.roles", "must not repeat"),
        ("[node]\nlog_level = 'loud'\n", "node.log_level", "must be one of"),
        ("[node]\nchain_id = 'bad chain'\n", "node.chain_id", "letters, digits"),
        ("[peer]\ntls_cert = 'c.pem'\n", "peer.tls_key", "together"),
        ("[admin]\nlisten = '127.0.0.1:50051'\n", "admin.listen", "already used by grpc.listen"),
        ("node = 3\n", "node", "expected a [node] table"),
    ],
)
def test_bad_config_names_key_and_problem(tmp_path, text, key, fragment):
    with pytest.raises(config.ConfigError) as info:
        config.load(write(tmp_path, text), environ={})
    assert info.value.key == key
    assert fragment in str(info.value)
    assert "\n" not in str(info.value)


def test_invalid_toml_is_reported_with_the_file(tmp_path):
    p = write(tmp_path, "[node\n")
    with pytest.raises(config.ConfigError, match="invalid TOML"):
        config.load(p, environ={})


def test_missing_config_file(tmp_path):
    with pytest.raises(config.ConfigError, match="does not exist"):
        config.load(tmp_path / "nope.toml", environ={})


def test_environment_overrides_file_values(tmp_path):
    p = write(tmp_path, "[grpc]\nlisten = '127.0.0.1:1111'\n")
    env = {"ASSETL2__GRPC__LISTEN": "127.0.0.1:2222", "ASSETL2__NODE__ROLES": '["executor"]',
           "ASSETL2__GRPC__MAX_MESSAGE_BYTES": "1024", "UNRELATED": "x"}
    cfg = config.load(p, environ=env)
    assert cfg.grpc.listen == "127.0.0.1:2222"
    assert cfg.node.roles == ["executor"]
    assert cfg.grpc.max_message_bytes == 1024


@pytest.mark.parametrize(
    ("env", "key"),
    [
        ({"ASSETL2__GRPC__LISTN": "127.0.0.1:1"}, "grpc.listn"),
        ({"ASSETL2__GRPC": "x"}, "ASSETL2__GRPC"),
        ({"ASSETL2__GRPC__MAX_MESSAGE_BYTES": "lots"}, "grpc.max_message_bytes"),
    ],
)
def test_bad_environment_override_is_named(env, key):
    with pytest.raises(config.ConfigError) as info:
        config.load(None, environ=env)
    assert info.value.key == key


def test_reference_documents_every_key():
    text = config.reference_markdown()
    for section, cls in config.SECTIONS.items():
        assert f"## [{section}]" in text
        for f in config.dataclasses.fields(cls):
            assert f"| `{f.name}` |" in text, f"{section}.{f.name} undocumented"


def test_committed_config_reference_is_current(repo):
    committed = (repo / "docs" / "config.md").read_text()
    assert committed.strip() == config.reference_markdown().strip(), "run: assetl2 config-reference > docs/config.md"
