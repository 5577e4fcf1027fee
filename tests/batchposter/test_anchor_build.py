"""The program's build (clang-14 + sbpf_link) and its interface files agree with each other (DESIGN §8)."""

from __future__ import annotations

import hashlib
import json
import re
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from batchposter import program_abi as abi
from batchposter import svm_deploy

PROGRAM_DIR = svm_deploy.PROGRAM_DIR
C_SOURCE = (PROGRAM_DIR / "src" / "assetl2_anchor.c").read_text()
IDL_PATH = PROGRAM_DIR / "idl" / "assetl2_anchor.json"

sys.path.insert(0, str(PROGRAM_DIR))
import sbpf_link  # noqa: E402


def _c_defines(prefix: str) -> dict[str, int]:
    pattern = re.compile(rf"^#define ({prefix}\w+) (0x[0-9a-fA-F]+|\d+)(?:ULL)?\b", re.M)
    return {name: int(value, 0) for name, value in pattern.findall(C_SOURCE)}


def test_c_instruction_discriminators_are_anchors():
    defines = _c_defines("IX_")
    assert {name[3:].lower() for name in defines} == set(abi.INSTRUCTIONS)
    for name, value in defines.items():
        assert value.to_bytes(8, "little") == hashlib.sha256(f"global:{name[3:].lower()}".encode()).digest()[:8]


def test_c_account_discriminators_are_anchors():
    defines = _c_defines("ACCOUNT_")
    camel = {"ACCOUNT_CONFIG": "Config", "ACCOUNT_REGISTERED_PROGRAM": "RegisteredProgram", "ACCOUNT_BATCH": "Batch"}
    assert set(defines) == set(camel)
    for name, value in defines.items():
        assert value.to_bytes(8, "little") == abi.account_discriminator(camel[name])


def test_c_event_discriminator_is_anchors():
    assert _c_defines("EVENT_")["EVENT_BATCH_POSTED"].to_bytes(8, "little") == abi.event_discriminator("BatchPosted")


def test_c_error_codes_match_the_python_table():
    defines = {name[4:]: value for name, value in _c_defines("ERR_").items()}
    assert defines == {code.name: int(code) for code in abi.ErrorCode}


def test_c_account_sizes_match_the_python_layouts():
    sizes = _c_defines("")
    assert sizes["CONFIG_LEN"] == abi.ConfigAccount.SIZE
    assert sizes["REG_LEN"] == abi.RegisteredProgramAccount.SIZE
    assert sizes["BATCH_LEN"] == abi.BatchAccount.SIZE
    assert sizes["POST_ARGS_LEN"] == abi.BatchHeader.BORSH.size


def test_committed_idl_is_generated_from_the_abi():
    assert IDL_PATH.read_text() == abi.render_idl()
    idl = json.loads(IDL_PATH.read_text())
    assert [ix["name"] for ix in idl["instructions"]] == list(abi.INSTRUCTIONS)
    assert all(e["code"] >= 6000 for e in idl["errors"])


def test_build_is_reproducible(tmp_path: Path):
    first = svm_deploy.build_program(tmp_path / "one").read_bytes()
    second = svm_deploy.build_program(tmp_path / "two").read_bytes()
    assert first == second


def test_build_script_runs_from_the_shell(tmp_path: Path):
    proc = subprocess.run(
        ["sh", str(PROGRAM_DIR / "build.sh"), "--out-dir", str(tmp_path)],
        capture_output=True, text=True, env={"PYTHON": sys.executable, "PATH": "/usr/bin:/bin"},
    )
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "assetl2_anchor.so").read_bytes()[:4] == b"\x7fELF"


def test_linked_program_is_an_sbpfv0_shared_object(program_elf: bytes):
    e_type, e_machine = struct.unpack_from("<HH", program_elf, 16)
    e_flags = struct.unpack_from("<I", program_elf, 48)[0]
    assert (program_elf[7], e_type, e_machine, e_flags) == (0, sbpf_link.ET_DYN, sbpf_link.EM_BPF, 0)
    phnum = struct.unpack_from("<H", program_elf, 56)[0]
    types = [struct.unpack_from("<I", program_elf, 64 + i * 56)[0] for i in range(phnum)]
    assert types == [sbpf_link.PT_LOAD] * 3 + [sbpf_link.PT_DYNAMIC]
    shoff = struct.unpack_from("<Q", program_elf, 40)[0]
    shnum, shstrndx = struct.unpack_from("<HH", program_elf, 60)
    sections = [struct.unpack_from("<IIQQQQ", program_elf, shoff + i * 64) for i in range(shnum)]
    strtab_off = sections[shstrndx][4]
    names = [program_elf[strtab_off + s[0]: program_elf.index(b"\0", strtab_off + s[0])].decode() for s in sections]
    assert names == ["", ".text", ".rodata", ".dynamic", ".dynsym", ".dynstr", ".rel.dyn", ".shstrtab"]
    for name, (_, _, flags, addr, offset, _) in zip(names[1:-1], sections[1:-1]):
        assert addr == offset, name


def _compile(tmp_path: Path, source: str) -> bytes:
    src = tmp_path / "probe.c"
    src.write_text(source)
    sys.path.insert(0, str(PROGRAM_DIR))
    import build

    return build.compile_object(src)


def test_linker_refuses_mutable_globals(tmp_path: Path):
    obj = _compile(tmp_path, "unsigned long counter = 1;\nunsigned long entrypoint(unsigned char *in) { return counter++; }\n")
    with pytest.raises(sbpf_link.LinkError, match="writable"):
        sbpf_link.link(obj)


def test_linker_turns_internal_calls_into_pc_relative_immediates(tmp_path: Path):
    obj = _compile(
        tmp_path,
        "unsigned long helper(unsigned long x) __attribute__((noinline));\n"
        "unsigned long helper(unsigned long x) { return x * 3; }\n"
        "unsigned long entrypoint(unsigned char *in) { return helper(in[0]); }\n",
    )
    elf = sbpf_link.link(obj)
    text_off = 64 + 4 * 56
    insns = [elf[i: i + 8] for i in range(text_off, text_off + 64, 8)]
    calls = [(i, struct.unpack_from("<i", ins, 4)[0]) for i, ins in enumerate(insns) if ins[0] == sbpf_link.OPC_CALL]
    assert calls and all(imm != -1 for _, imm in calls)


def test_linker_refuses_pointer_tables_in_read_only_data(tmp_path: Path):
    obj = _compile(
        tmp_path,
        "static const char *const names[] = {\"alpha\", \"beta\"};\n"
        "unsigned long entrypoint(unsigned char *in) { return (unsigned long)names[in[0] & 1][0]; }\n",
    )
    with pytest.raises(sbpf_link.LinkError):
        sbpf_link.link(obj)
