"""Build a ``vbaProject.bin`` (MS-OVBA) from VBA source text, reproducibly.

The project is written in the p-code-free form that MS-OVBA 2.3.4.1 asks writers to
produce: the ``_VBA_PROJECT`` stream is the 7-byte version-0xFFFF header, every
module's PerformanceCache is empty (MODULEOFFSET 0), and Office compiles the source
when it opens the workbook.

Everything is computed here (compression, the dir stream, the PROJECT stream and its
"encrypted" CMG/DPB/GC values, the compound file), with no temporary files and no
randomness: the bytes depend only on the inputs.
"""

from __future__ import annotations

import hashlib
import re
import struct
from dataclasses import dataclass

from .cfb import Storage, Stream, write_cfb

CODEPAGE = 1252
ENCODING = "cp1252"

# Document module base classes (the VB_Base attribute of Excel's document modules).
WORKBOOK_BASE = "0{00020819-0000-0000-C000-000000000046}"
WORKSHEET_BASE = "0{00020820-0000-0000-C000-000000000046}"
CHART_BASE = "0{00020821-0000-0000-C000-000000000046}"

# The references a ribbon callback needs (IRibbonControl lives in the Office library).
STDOLE_LIBID = r"*\G{00020430-0000-0000-C000-000000000046}#2.0#0#C:\Windows\System32\stdole2.tlb#OLE Automation"
OFFICE_LIBID = (r"*\G{2DF8D04C-5BFA-101B-BDE5-00AA0044DE52}#2.8#0#"
                r"C:\Program Files\Common Files\Microsoft Shared\OFFICE16\MSO.DLL#"
                r"Microsoft Office 16.0 Object Library")
DEFAULT_REFERENCES = (("stdole", STDOLE_LIBID), ("Office", OFFICE_LIBID))

_IDENT = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,30}$")


# --------------------------------------------------------------------------------------
# Compression (MS-OVBA 2.4.1)
# --------------------------------------------------------------------------------------

def _copy_token_help(difference: int) -> tuple[int, int]:
    """MS-OVBA 2.4.1.3.19.1: return (bit_count, maximum_length) for a chunk offset."""
    bit_count = 4
    while (1 << bit_count) < difference:
        bit_count += 1
    return bit_count, (0xFFFF >> bit_count) + 3  # 2.4.1.3.19.3


def _compress_chunk(data: bytes) -> bytes:
    """Compress one DecompressedChunk (at most 4096 bytes) into a CompressedChunk."""
    n = len(data)
    out = bytearray()
    heads: dict[bytes, list[int]] = {}
    pos = 0
    while pos < n:
        flag_index = len(out)
        out.append(0)
        flags = 0
        for bit in range(8):
            if pos >= n:
                break
            best_len = 0
            best_off = 0
            if pos >= 1 and pos + 3 <= n:
                bit_count, max_len = _copy_token_help(pos)
                limit = min(max_len, n - pos)
                # candidates with the same 3 bytes, nearest first (ties keep the nearest)
                for cand in reversed(heads.get(data[pos:pos + 3], ())[-512:]):
                    length = 3
                    while length < limit and data[cand + length] == data[pos + length]:
                        length += 1
                    if length > best_len:
                        best_len, best_off = length, pos - cand
                        if length == limit:
                            break
            if best_len >= 3:
                bit_count, _ = _copy_token_help(pos)
                token = ((best_off - 1) << (16 - bit_count)) | (best_len - 3)
                out += struct.pack("<H", token)
                flags |= 1 << bit
                step = best_len
            else:
                out.append(data[pos])
                step = 1
            for p in range(pos, pos + step):
                if p + 3 <= n:
                    heads.setdefault(data[p:p + 3], []).append(p)
            pos += step
        out[flag_index] = flags
    if len(out) > 4096:
        # 2.4.1.3.7: store a raw chunk. A raw chunk always decompresses to 4096 bytes,
        # so a shorter final chunk that does not compress cannot be stored exactly
        # (VBA source text always compresses, so this does not arise in practice).
        if n != 4096:
            raise ValueError("data cannot be stored exactly: its last chunk does not compress")
        return struct.pack("<H", 0x3000 | 0x0FFF) + data
    header = 0x8000 | 0x3000 | (len(out) + 2 - 3)
    return struct.pack("<H", header) + bytes(out)


def compress(data: bytes) -> bytes:
    """MS-OVBA 2.4.1.3.6: compress ``data`` into a CompressedContainer."""
    out = bytearray(b"\x01")
    for start in range(0, len(data), 4096):
        out += _compress_chunk(data[start:start + 4096])
    return bytes(out)


def decompress(container: bytes) -> bytes:
    """MS-OVBA 2.4.1.3.1: decompress a CompressedContainer (used to verify output)."""
    if not container or container[0] != 1:
        raise ValueError("not a compressed container")
    out = bytearray()
    pos = 1
    while pos < len(container):
        header, = struct.unpack_from("<H", container, pos)
        size = (header & 0x0FFF) + 3
        chunk_end = min(pos + size, len(container))
        pos += 2
        chunk_start = len(out)
        if not header & 0x8000:
            out += container[pos:pos + 4096]
            pos += 4096
            continue
        while pos < chunk_end:
            flags = container[pos]
            pos += 1
            for bit in range(8):
                if pos >= chunk_end:
                    break
                if flags & (1 << bit):
                    token, = struct.unpack_from("<H", container, pos)
                    pos += 2
                    bit_count, _ = _copy_token_help(len(out) - chunk_start)
                    length = (token & (0xFFFF >> bit_count)) + 3
                    offset = (token >> (16 - bit_count)) + 1
                    for _ in range(length):
                        out.append(out[-offset])
                else:
                    out.append(container[pos])
                    pos += 1
    return bytes(out)


# --------------------------------------------------------------------------------------
# Data encryption of the PROJECT stream's CMG, DPB and GC values (MS-OVBA 2.4.3)
# --------------------------------------------------------------------------------------

def encrypt(project_id: str, data: bytes, seed: int) -> bytes:
    """MS-OVBA 2.4.3.2 with a caller-chosen seed (and ignored bytes derived from it),
    so the output is deterministic. This is obfuscation, not security."""
    seed &= 0xFF
    version = 2
    proj_key = sum(project_id.encode(ENCODING)) & 0xFF
    version_enc = seed ^ version
    proj_key_enc = seed ^ proj_key
    out = bytearray([seed, version_enc, proj_key_enc])
    unencrypted_1, encrypted_1, encrypted_2 = proj_key, proj_key_enc, version_enc
    ignored = [(seed * 7 + i * 13) & 0xFF for i in range((seed & 6) // 2)]
    for value in list(ignored) + list(struct.pack("<I", len(data))) + list(data):
        byte_enc = value ^ ((encrypted_2 + unencrypted_1) & 0xFF)
        out.append(byte_enc)
        encrypted_2, encrypted_1, unencrypted_1 = encrypted_1, byte_enc, value
    return bytes(out)


def decrypt(data: bytes) -> tuple[int, bytes]:
    """Inverse of :func:`encrypt`: return (project key, data)."""
    seed, version_enc, proj_key_enc = data[0], data[1], data[2]
    if seed ^ version_enc != 2:
        raise ValueError("bad encryption version")
    proj_key = seed ^ proj_key_enc
    unencrypted_1, encrypted_1, encrypted_2 = proj_key, proj_key_enc, version_enc
    pos = 3
    plain = []
    for byte_enc in data[pos:]:
        value = byte_enc ^ ((encrypted_2 + unencrypted_1) & 0xFF)
        plain.append(value)
        encrypted_2, encrypted_1, unencrypted_1 = encrypted_1, byte_enc, value
    ignored = (seed & 6) // 2
    length = struct.unpack("<I", bytes(plain[ignored:ignored + 4]))[0]
    body = bytes(plain[ignored + 4:])
    if len(body) != length:
        raise ValueError("bad encrypted length")
    return proj_key, body


# --------------------------------------------------------------------------------------
# Modules and the project
# --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class VbaModule:
    """One VBA module.

    ``kind`` is ``"document"`` (ThisWorkbook, a sheet), ``"standard"`` (.bas) or
    ``"class"`` (.cls). ``code`` is the source as stored in the module stream, starting
    with its ``Attribute VB_Name`` line (see :func:`module_from_bas` and friends).
    """

    name: str
    kind: str
    code: str

    def __post_init__(self) -> None:
        if not _IDENT.match(self.name):
            raise ValueError(f"{self.name!r} is not a valid VBA module name")
        if self.kind not in ("document", "standard", "class"):
            raise ValueError(f"unknown module kind {self.kind!r}")


def _crlf(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.endswith("\n"):
        text += "\n"
    return text.replace("\n", "\r\n")


def _vb_name(code: str) -> str | None:
    m = re.search(r'^Attribute VB_Name = "([^"]+)"', code, re.M)
    return m.group(1) if m else None


def module_from_bas(text: str, name: str | None = None) -> VbaModule:
    """A standard module from the text of an exported ``.bas`` file."""
    code = _crlf(text)
    found = _vb_name(code)
    if found is None:
        if name is None:
            raise ValueError("the .bas text has no Attribute VB_Name line and no name was given")
        code = f'Attribute VB_Name = "{name}"\r\n' + code
        found = name
    elif name is not None and found != name:
        raise ValueError(f"module is named {found!r} in its source, expected {name!r}")
    return VbaModule(found, "standard", code)


def module_from_cls(text: str) -> VbaModule:
    """A class module from the text of an exported ``.cls`` file. The export header
    (``VERSION 1.0 CLASS`` / ``BEGIN`` ... ``END``) is not part of the stored source."""
    code = _crlf(text)
    lines = code.split("\r\n")
    if lines and lines[0].startswith("VERSION "):
        end = lines.index("END")
        lines = lines[end + 1:]
    code = "\r\n".join(lines)
    name = _vb_name(code)
    if name is None:
        raise ValueError("the .cls text has no Attribute VB_Name line")
    return VbaModule(name, "class", code)


def document_module(name: str, base: str, body: str = "") -> VbaModule:
    """A document module (ThisWorkbook or a sheet) with Excel's standard attributes."""
    code = (
        f'Attribute VB_Name = "{name}"\r\n'
        f'Attribute VB_Base = "{base}"\r\n'
        "Attribute VB_GlobalNameSpace = False\r\n"
        "Attribute VB_Creatable = False\r\n"
        "Attribute VB_PredeclaredId = True\r\n"
        "Attribute VB_Exposed = True\r\n"
        "Attribute VB_TemplateDerived = False\r\n"
        "Attribute VB_Customizable = True\r\n"
    )
    if body:
        code += _crlf(body)
    return VbaModule(name, "document", code)


def _rec(rec_id: int, payload: bytes) -> bytes:
    return struct.pack("<HI", rec_id, len(payload)) + payload


def _dir_stream(modules: list[VbaModule], references: tuple[tuple[str, str], ...]) -> bytes:
    """The decompressed dir stream (MS-OVBA 2.3.4.2)."""
    enc = ENCODING
    out = bytearray()
    # PROJECTINFORMATION
    out += _rec(0x0001, struct.pack("<I", 3))          # SysKind: 64-bit Windows
    out += _rec(0x0002, struct.pack("<I", 0x0409))     # LCID
    out += _rec(0x0014, struct.pack("<I", 0x0409))     # LCIDINVOKE
    out += _rec(0x0003, struct.pack("<H", CODEPAGE))   # CODEPAGE
    out += _rec(0x0004, b"VBAProject")                 # NAME
    out += _rec(0x0005, b"") + _rec(0x0040, b"")       # DOCSTRING + unicode
    out += _rec(0x0006, b"") + _rec(0x003D, b"")       # HELPFILEPATH 1 and 2
    out += _rec(0x0007, struct.pack("<I", 0))          # HELPCONTEXT
    out += _rec(0x0008, struct.pack("<I", 0))          # LIBFLAGS
    out += struct.pack("<HIIH", 0x0009, 4, 0x65BE0257, 0x0011)  # VERSION (Reserved=4)
    out += _rec(0x000C, b"") + _rec(0x003C, b"")       # CONSTANTS + unicode
    # PROJECTREFERENCES
    for name, libid in references:
        out += _rec(0x0016, name.encode(enc)) + _rec(0x003E, name.encode("utf-16-le"))
        lib = libid.encode(enc)
        out += _rec(0x000D, struct.pack("<I", len(lib)) + lib + struct.pack("<IH", 0, 0))
    # PROJECTMODULES
    out += _rec(0x000F, struct.pack("<H", len(modules)))
    out += _rec(0x0013, struct.pack("<H", 0xFFFF))     # PROJECTCOOKIE
    for m in modules:
        out += _rec(0x0019, m.name.encode(enc)) + _rec(0x0047, m.name.encode("utf-16-le"))
        out += _rec(0x001A, m.name.encode(enc)) + _rec(0x0032, m.name.encode("utf-16-le"))
        out += _rec(0x001C, b"") + _rec(0x0048, b"")   # MODULEDOCSTRING + unicode
        out += _rec(0x0031, struct.pack("<I", 0))      # MODULEOFFSET: no p-code
        out += _rec(0x001E, struct.pack("<I", 0))      # MODULEHELPCONTEXT
        out += _rec(0x002C, struct.pack("<H", 0xFFFF))  # MODULECOOKIE
        out += _rec(0x0021 if m.kind == "standard" else 0x0022, b"")  # MODULETYPE
        out += _rec(0x002B, b"")                       # terminator
    out += _rec(0x0010, b"")                           # dir terminator
    return bytes(out)


def project_id_for(modules: list[VbaModule]) -> str:
    """A project GUID derived from the module names and sources (stable and unique
    enough; VBA only needs it to be well-formed)."""
    h = hashlib.sha256()
    for m in modules:
        h.update(m.name.encode() + b"\0" + m.kind.encode() + b"\0" + m.code.encode(ENCODING) + b"\0")
    d = h.hexdigest().upper()
    return "{%s-%s-%s-%s-%s}" % (d[:8], d[8:12], d[12:16], d[16:20], d[20:32])


def _project_stream(modules: list[VbaModule], project_id: str) -> bytes:
    """The PROJECT stream (MS-OVBA 2.3.1)."""
    lines = [f'ID="{project_id}"']
    for m in modules:
        if m.kind == "document":
            lines.append(f"Document={m.name}/&H00000000")
        elif m.kind == "class":
            lines.append(f"Class={m.name}")
        else:
            lines.append(f"Module={m.name}")
    lines += ['Name="VBAProject"', 'HelpContextID="0"', 'VersionCompatible32="393222000"']
    seed = int(project_id[1:3], 16)
    for key, data, s in (("CMG", b"\0\0\0\0", seed),          # not protected
                         ("DPB", b"\0", seed ^ 0x5A),         # no password
                         ("GC", b"\xFF", seed ^ 0xA5)):       # visible
        lines.append(f'{key}="{encrypt(project_id, data, s).hex().upper()}"')
    lines += ["", "[Host Extender Info]",
              "&H00000001={3832D640-CF90-11CF-8E43-00A0C911005A};VBE;&H00000000", ""]
    return "\r\n".join(lines).encode(ENCODING) + b"\r\n"


def _project_wm(modules: list[VbaModule]) -> bytes:
    """The PROJECTwm stream (MS-OVBA 2.3.3): module names in MBCS and UTF-16."""
    out = bytearray()
    for m in modules:
        out += m.name.encode(ENCODING) + b"\0" + m.name.encode("utf-16-le") + b"\0\0"
    return bytes(out) + b"\0\0"


def build_vba_project(modules: list[VbaModule],
                      references: tuple[tuple[str, str], ...] = DEFAULT_REFERENCES,
                      project_id: str | None = None) -> bytes:
    """Return the bytes of a p-code-free ``vbaProject.bin`` holding ``modules``."""
    modules = list(modules)
    names = [m.name.upper() for m in modules]
    if len(set(names)) != len(names):
        raise ValueError("two VBA modules have the same name")
    for m in modules:
        if _vb_name(m.code) != m.name:
            raise ValueError(f"module {m.name}: its Attribute VB_Name line does not match")
        try:
            m.code.encode(ENCODING)
        except UnicodeEncodeError as exc:
            raise ValueError(f"module {m.name}: characters outside Windows-1252: {exc}") from None
    project_id = project_id or project_id_for(modules)
    vba_streams: list[Stream | Storage] = [
        Stream(m.name, compress(m.code.encode(ENCODING))) for m in modules
    ]
    vba_streams.append(Stream("_VBA_PROJECT", struct.pack("<HHBH", 0x61CC, 0xFFFF, 0, 3)))
    vba_streams.append(Stream("dir", compress(_dir_stream(modules, references))))
    return write_cfb([
        Storage("VBA", vba_streams),
        Stream("PROJECT", _project_stream(modules, project_id)),
        Stream("PROJECTwm", _project_wm(modules)),
    ])
