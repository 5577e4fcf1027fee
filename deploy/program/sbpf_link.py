"""The project's own linker: one relocatable BPF object in, one SBPFv0 shared object out.

Why it exists (DESIGN §8, SOLANA.md): no Solana toolchain can be downloaded here and
`ld.lld-14` rejects the object clang-14 emits for `-target bpfel` (relocation type 10 and
relocations against `.rodata`).  The SBPFv0 loader only needs a small, regular ELF, so this
module writes exactly that:

* ELF64 little-endian, ``ET_DYN``, ``EM_BPF`` (247), ``e_flags = 0``, OSABI 0;
* sections in file order with address == file offset: ``.text`` (all code), ``.rodata``
  (every read-only input section, concatenated), ``.dynamic``, ``.dynsym``, ``.dynstr``,
  ``.rel.dyn``, ``.shstrtab``; three ``PT_LOAD`` segments and one ``PT_DYNAMIC``;
* an ``lddw`` that loads a ``.rodata`` (or ``.text``) address gets the address patched in
  and an ``R_BPF_64_RELATIVE`` dynamic relocation, which the loader rebases;
* a call to an undefined symbol (a syscall) keeps the immediate ``-1`` and gets an undefined
  ``.dynsym`` entry plus an ``R_BPF_64_32`` dynamic relocation, resolved by the VM through
  the murmur3 hash of the name;
* a call to a function defined in the program becomes a pc-relative immediate.

Writable data (``.data``, ``.bss``) is refused: SBPFv0 has no writable sections, so the C
source must not have mutable globals.  Output bytes depend only on the input bytes, so the
build is reproducible.
"""

from __future__ import annotations

import argparse
import struct
import sys
from dataclasses import dataclass, field
from pathlib import Path

ELF_MAGIC = b"\x7fELF"
ELFCLASS64 = 2
ELFDATA2LSB = 1
EV_CURRENT = 1
ET_REL = 1
ET_DYN = 3
EM_BPF = 247

SHT_NULL = 0
SHT_PROGBITS = 1
SHT_SYMTAB = 2
SHT_STRTAB = 3
SHT_NOBITS = 8
SHT_REL = 9
SHT_DYNAMIC = 6
SHT_DYNSYM = 11

SHF_WRITE = 0x1
SHF_ALLOC = 0x2
SHF_EXECINSTR = 0x4

PT_LOAD = 1
PT_DYNAMIC = 2
PF_X = 1
PF_W = 2
PF_R = 4
SEGMENT_ALIGN = 0x1000

STB_LOCAL = 0
STB_GLOBAL = 1
STT_NOTYPE = 0
STT_FUNC = 2
STT_SECTION = 3
SHN_UNDEF = 0

R_BPF_64_64 = 1
R_BPF_64_ABS64 = 2
R_BPF_64_ABS32 = 3
R_BPF_64_NODYLD32 = 4
R_BPF_64_RELATIVE = 8
R_BPF_64_32 = 10

DT_NULL = 0
DT_STRTAB = 5
DT_SYMTAB = 6
DT_REL = 17
DT_RELSZ = 18
DT_RELENT = 19
DT_STRSZ = 10
DT_SYMENT = 11
DT_TEXTREL = 22
DT_FLAGS = 30
DT_RELCOUNT = 0x6FFFFFFA
DF_TEXTREL = 0x4

EHDR_SIZE = 64
PHDR_SIZE = 56
SHDR_SIZE = 64
SYM_SIZE = 24
REL_SIZE = 16
DYN_SIZE = 16
INSN_SIZE = 8
OPC_LDDW = 0x18
OPC_CALL = 0x85
CALL_UNRESOLVED = 0xFFFFFFFF
ENTRYPOINT = "entrypoint"


class LinkError(Exception):
    """The object uses something an SBPFv0 shared object cannot express."""


@dataclass
class Section:
    index: int
    name: str
    type: int
    flags: int
    offset: int
    size: int
    link: int
    info: int
    align: int
    data: bytes


@dataclass
class Symbol:
    name: str
    value: int
    size: int
    bind: int
    type: int
    shndx: int


@dataclass
class ObjectFile:
    sections: list[Section]
    symbols: list[Symbol]

    @classmethod
    def parse(cls, blob: bytes) -> "ObjectFile":
        if blob[:4] != ELF_MAGIC or blob[4] != ELFCLASS64 or blob[5] != ELFDATA2LSB:
            raise LinkError("input is not a little-endian ELF64 object")
        (e_type, e_machine) = struct.unpack_from("<HH", blob, 16)
        if e_type != ET_REL or e_machine != EM_BPF:
            raise LinkError(f"input must be a relocatable BPF object (type {e_type}, machine {e_machine})")
        e_shoff = struct.unpack_from("<Q", blob, 40)[0]
        e_shentsize, e_shnum, e_shstrndx = struct.unpack_from("<HHH", blob, 58)
        raw = []
        for i in range(e_shnum):
            raw.append(struct.unpack_from("<IIQQQQIIQQ", blob, e_shoff + i * e_shentsize))
        shstr = raw[e_shstrndx]
        shstr_data = blob[shstr[4] : shstr[4] + shstr[5]]
        sections = []
        for i, (name, typ, flags, _addr, off, size, link, info, align, _ent) in enumerate(raw):
            data = b"" if typ == SHT_NOBITS else blob[off : off + size]
            sections.append(Section(i, _cstr(shstr_data, name), typ, flags, off, size, link, info, align, data))
        symbols: list[Symbol] = []
        for sec in sections:
            if sec.type == SHT_SYMTAB:
                strtab = sections[sec.link].data
                for j in range(sec.size // SYM_SIZE):
                    st_name, st_info, _other, st_shndx, st_value, st_size = struct.unpack_from(
                        "<IBBHQQ", sec.data, j * SYM_SIZE
                    )
                    symbols.append(
                        Symbol(_cstr(strtab, st_name), st_value, st_size, st_info >> 4, st_info & 0xF, st_shndx)
                    )
        return cls(sections, symbols)


def _cstr(table: bytes, offset: int) -> str:
    end = table.index(b"\0", offset)
    return table[offset:end].decode()


def _align(value: int, alignment: int) -> int:
    if alignment <= 1:
        return value
    return (value + alignment - 1) // alignment * alignment


@dataclass
class _StringTable:
    data: bytearray = field(default_factory=lambda: bytearray(b"\0"))
    offsets: dict[str, int] = field(default_factory=dict)

    def add(self, name: str) -> int:
        if name not in self.offsets:
            self.offsets[name] = len(self.data)
            self.data += name.encode() + b"\0"
        return self.offsets[name]


def link(obj_bytes: bytes) -> bytes:
    """Link one relocatable BPF object into an SBPFv0 shared object (see module docstring)."""
    obj = ObjectFile.parse(obj_bytes)
    texts = [s for s in obj.sections if s.flags & SHF_EXECINSTR and s.size > 0]
    if len(texts) != 1 or texts[0].name != ".text":
        raise LinkError(f"exactly one non-empty .text section is required, got {[s.name for s in texts]}")
    text_in = texts[0]
    for sec in obj.sections:
        if sec.flags & SHF_ALLOC and sec.flags & SHF_WRITE and sec.size > 0:
            raise LinkError(f"writable section {sec.name} is not supported by SBPFv0 (no mutable globals)")
    rodata_in = [
        s for s in obj.sections if s.flags & SHF_ALLOC and not s.flags & (SHF_EXECINSTR | SHF_WRITE) and s.size > 0
    ]

    text_off = _align(EHDR_SIZE + 4 * PHDR_SIZE, INSN_SIZE)
    text = bytearray(text_in.data)
    rodata = bytearray()
    rodata_off = _align(text_off + len(text), 16)
    out_addr: dict[int, int] = {text_in.index: text_off}
    for sec in rodata_in:
        pad = _align(len(rodata), max(sec.align, 1)) - len(rodata)
        rodata += b"\0" * pad
        out_addr[sec.index] = rodata_off + len(rodata)
        rodata += sec.data

    dynstr = _StringTable()
    dynsyms: list[tuple[int, int, int, int, int]] = []  # name, info, shndx, value, size
    dynsym_index: dict[str, int] = {}
    relative_relocs: list[int] = []
    call_relocs: list[tuple[int, int]] = []

    def undefined_symbol(name: str) -> int:
        if name not in dynsym_index:
            dynsym_index[name] = len(dynsyms) + 1
            dynsyms.append((dynstr.add(name), (STB_GLOBAL << 4) | STT_NOTYPE, SHN_UNDEF, 0, 0))
        return dynsym_index[name]

    for rel_sec in obj.sections:
        if rel_sec.type != SHT_REL:
            continue
        target = obj.sections[rel_sec.info]
        if not target.flags & SHF_ALLOC:
            continue  # debug info
        if target.index != text_in.index:
            raise LinkError(f"relocations in {target.name} are not supported (no pointer tables in .rodata)")
        for k in range(rel_sec.size // REL_SIZE):
            r_offset, r_info = struct.unpack_from("<QQ", rel_sec.data, k * REL_SIZE)
            r_type, r_sym = r_info & 0xFFFFFFFF, r_info >> 32
            sym = obj.symbols[r_sym]
            opcode = text[r_offset]
            if r_type == R_BPF_64_64:
                if opcode != OPC_LDDW:
                    raise LinkError(f"R_BPF_64_64 at {r_offset:#x} is not an lddw")
                if sym.shndx not in out_addr:
                    raise LinkError(f"lddw refers to {sym.name or 'a section'} outside .text/.rodata")
                lo, hi = struct.unpack_from("<I", text, r_offset + 4)[0], struct.unpack_from("<I", text, r_offset + 12)[0]
                address = out_addr[sym.shndx] + sym.value + (lo | (hi << 32))
                struct.pack_into("<I", text, r_offset + 4, address & 0xFFFFFFFF)
                struct.pack_into("<I", text, r_offset + 12, address >> 32)
                relative_relocs.append(text_off + r_offset)
            elif r_type == R_BPF_64_32:
                if opcode != OPC_CALL:
                    raise LinkError(f"R_BPF_64_32 at {r_offset:#x} is not a call")
                if sym.shndx == SHN_UNDEF:
                    struct.pack_into("<I", text, r_offset + 4, CALL_UNRESOLVED)
                    call_relocs.append((text_off + r_offset, undefined_symbol(sym.name)))
                elif sym.shndx == text_in.index and sym.type == STT_FUNC:
                    pc = r_offset // INSN_SIZE
                    struct.pack_into("<i", text, r_offset + 4, sym.value // INSN_SIZE - (pc + 1))
                else:
                    raise LinkError(f"call relocation against {sym.name!r} is not supported")
            else:
                raise LinkError(f"relocation type {r_type} at {r_offset:#x} is not supported")

    entry = [s for s in obj.symbols if s.name == ENTRYPOINT and s.shndx == text_in.index]
    if not entry:
        raise LinkError("the object defines no `entrypoint` in .text")
    entry_addr = text_off + entry[0].value
    dynsyms.append((dynstr.add(ENTRYPOINT), (STB_GLOBAL << 4) | STT_FUNC, 1, entry_addr, entry[0].size))

    # Layout of the dynamic part.
    n_dyn_entries = 11
    dynamic_off = _align(rodata_off + len(rodata), 8)
    dynsym_off = dynamic_off + n_dyn_entries * DYN_SIZE
    dynsym_size = (len(dynsyms) + 1) * SYM_SIZE
    dynstr_off = dynsym_off + dynsym_size
    reldyn_off = _align(dynstr_off + len(dynstr.data), 8)
    reldyn_size = (len(relative_relocs) + len(call_relocs)) * REL_SIZE
    shstr = _StringTable()
    names = [".text", ".rodata", ".dynamic", ".dynsym", ".dynstr", ".rel.dyn", ".shstrtab"]
    name_off = {n: shstr.add(n) for n in names}
    shstrtab_off = reldyn_off + reldyn_size
    shdr_off = _align(shstrtab_off + len(shstr.data), 8)

    dynsym = bytearray(SYM_SIZE)
    for st_name, st_info, st_shndx, st_value, st_size in dynsyms:
        dynsym += struct.pack("<IBBHQQ", st_name, st_info, 0, st_shndx, st_value, st_size)
    reldyn = bytearray()
    for off in relative_relocs:
        reldyn += struct.pack("<QQ", off, R_BPF_64_RELATIVE)
    for off, sym_index in call_relocs:
        reldyn += struct.pack("<QQ", off, (sym_index << 32) | R_BPF_64_32)
    dynamic = bytearray()
    for tag, val in (
        (DT_FLAGS, DF_TEXTREL),
        (DT_REL, reldyn_off),
        (DT_RELSZ, reldyn_size),
        (DT_RELENT, REL_SIZE),
        (DT_RELCOUNT, len(relative_relocs)),
        (DT_SYMTAB, dynsym_off),
        (DT_SYMENT, SYM_SIZE),
        (DT_STRTAB, dynstr_off),
        (DT_STRSZ, len(dynstr.data)),
        (DT_TEXTREL, 0),
        (DT_NULL, 0),
    ):
        dynamic += struct.pack("<QQ", tag, val)
    assert len(dynamic) == n_dyn_entries * DYN_SIZE

    ehdr = bytearray(
        ELF_MAGIC
        + bytes([ELFCLASS64, ELFDATA2LSB, EV_CURRENT, 0])
        + b"\0" * 8
        + struct.pack(
            "<HHIQQQIHHHHHH",
            ET_DYN,
            EM_BPF,
            EV_CURRENT,
            entry_addr,
            EHDR_SIZE,
            shdr_off,
            0,
            EHDR_SIZE,
            PHDR_SIZE,
            4,
            SHDR_SIZE,
            len(names) + 1,
            len(names),
        )
    )
    dyn_part_size = reldyn_off + reldyn_size - dynamic_off
    phdrs = bytearray()
    for p_type, flags, off, size, align in (
        (PT_LOAD, PF_R | PF_X, text_off, len(text), SEGMENT_ALIGN),
        (PT_LOAD, PF_R, rodata_off, len(rodata), SEGMENT_ALIGN),
        (PT_LOAD, PF_R, dynamic_off, dyn_part_size, SEGMENT_ALIGN),
        (PT_DYNAMIC, PF_R | PF_W, dynamic_off, len(dynamic), 8),
    ):
        phdrs += struct.pack("<IIQQQQQQ", p_type, flags, off, off, off, size, size, align)

    def shdr(name, typ, flags, off, size, link=0, info=0, align=1, entsize=0, addr=None):
        return struct.pack(
            "<IIQQQQIIQQ", name, typ, flags, off if addr is None else addr, off, size, link, info, align, entsize
        )

    shdrs = bytearray(SHDR_SIZE)
    shdrs += shdr(name_off[".text"], SHT_PROGBITS, SHF_ALLOC | SHF_EXECINSTR, text_off, len(text), align=8)
    shdrs += shdr(name_off[".rodata"], SHT_PROGBITS, SHF_ALLOC, rodata_off, len(rodata), align=16)
    shdrs += shdr(name_off[".dynamic"], SHT_DYNAMIC, SHF_ALLOC | SHF_WRITE, dynamic_off, len(dynamic), link=5, align=8, entsize=DYN_SIZE)
    shdrs += shdr(name_off[".dynsym"], SHT_DYNSYM, SHF_ALLOC, dynsym_off, len(dynsym), link=5, info=1, align=8, entsize=SYM_SIZE)
    shdrs += shdr(name_off[".dynstr"], SHT_STRTAB, SHF_ALLOC, dynstr_off, len(dynstr.data))
    shdrs += shdr(name_off[".rel.dyn"], SHT_REL, SHF_ALLOC, reldyn_off, len(reldyn), link=4, align=8, entsize=REL_SIZE)
    shdrs += shdr(name_off[".shstrtab"], SHT_STRTAB, 0, shstrtab_off, len(shstr.data), addr=0)

    out = bytearray(shdr_off + len(shdrs))
    out[0 : len(ehdr)] = ehdr
    out[EHDR_SIZE : EHDR_SIZE + len(phdrs)] = phdrs
    for off, blob in (
        (text_off, text),
        (rodata_off, rodata),
        (dynamic_off, dynamic),
        (dynsym_off, dynsym),
        (dynstr_off, dynstr.data),
        (reldyn_off, reldyn),
        (shstrtab_off, shstr.data),
        (shdr_off, shdrs),
    ):
        out[off : off + len(blob)] = blob
    return bytes(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Link a BPF object into an SBPFv0 shared object.")
    parser.add_argument("object", type=Path)
    parser.add_argument("-o", "--output", type=Path, required=True)
    args = parser.parse_args(argv)
    try:
        elf = link(args.object.read_bytes())
    except LinkError as exc:
        print(f"sbpf_link: {exc}", file=sys.stderr)
        return 1
    args.output.write_bytes(elf)
    return 0


if __name__ == "__main__":
    sys.exit(main())
