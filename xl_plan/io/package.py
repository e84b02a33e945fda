"""OOXML package helpers: parts, relationships, content types, and for macro workbooks
(.xlsm) :func:`check_macros_and_ribbon`, which says in plain English whether the macros, the
code names Excel binds them by, and the ribbon of the original are all still in a new package
(the save path's second opinion; xl_plan/io/graft.py is what writes packages).

Parts are read refusing entity declarations as defusedxml does (:func:`parse`). Changes are made
as small text edits of the XML (new elements are serialised with ElementTree), so everything else
in a part stays byte for byte as it was. Files are rewritten with :func:`xl_plan.io.files.write_atomic`:
never a half-written file.
"""

from __future__ import annotations

import html
import os
import posixpath
import re
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree as ET
from xml.parsers import expat

from ..errors import XlPlanError
from .files import write_atomic

# Content types
CT_WORKBOOK = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
CT_TEMPLATE = "application/vnd.openxmlformats-officedocument.spreadsheetml.template.main+xml"
CT_MACRO_WORKBOOK = "application/vnd.ms-excel.sheet.macroEnabled.main+xml"
CT_MACRO_TEMPLATE = "application/vnd.ms-excel.template.macroEnabled.main+xml"
CT_VBA = "application/vnd.ms-office.vbaProject"
CT_CUSTOMUI = "application/xml"

# Relationship types
REL_OFFICE_DOCUMENT = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"
REL_VBA = "http://schemas.microsoft.com/office/2006/relationships/vbaProject"
REL_UI_2009 = "http://schemas.microsoft.com/office/2007/relationships/ui/extensibility"
REL_UI_2006 = "http://schemas.microsoft.com/office/2006/relationships/ui/extensibility"
RIBBON_REL_TYPES = (REL_UI_2009, REL_UI_2006)

NS_CT = "http://schemas.openxmlformats.org/package/2006/content-types"
NS_RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
NS_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
NS_R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"

CONTENT_TYPES = "[Content_Types].xml"
ROOT_RELS = "_rels/.rels"

FIXED_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
# zlib's level for the parts compressed anew (unchanged parts keep their stored bytes): a third of
# the default level's time for a fifth more bytes (a 5,000-action plan's sheet, 4.6 MB: 0.045 s and
# 650 kB at 3, 0.15 s and 546 kB at 6, 0.03 s and 813 kB at 1)
DEFLATE_LEVEL = 3


class PackageError(XlPlanError):
    """A workbook package could not be read or changed; the message says why."""


# --------------------------------------------------------------------------------------
# Reading and writing the zip
# --------------------------------------------------------------------------------------

@dataclass
class Member:
    name: str
    data: bytes
    compress_type: int = zipfile.ZIP_DEFLATED
    # the part as it was stored in the zip read (CRC, compressed bytes) while `data` is still that
    # part's data: written again as it was, not compressed a second time
    stored: tuple | None = None

    def stored_as_read(self) -> tuple | None:
        return self.stored if self.stored is not None and self.stored[0] is self.data else None


class _LazyMember(Member):
    """A part of a zip read with `lazy`: decompressed (and its CRC checked, as zipfile checks it) when
    its bytes are first asked for."""

    def __init__(self, name: str, compress_type: int, crc: int, body: bytes):
        self.name, self.compress_type, self.stored = name, compress_type, None
        self._crc, self._body, self._data = crc, body, None

    @property
    def data(self) -> bytes:
        if self._data is None:
            data = inflated(self.name, self.compress_type, self._crc, self._body)
            self._data, self.stored = data, (data, self._crc, self._body)
        return self._data

    @data.setter
    def data(self, value: bytes) -> None:
        self._data = value

    def raw(self) -> tuple | None:
        return (self.compress_type, self._crc, self._body) if self._data is None or self.stored_as_read() else None


# Large parts lately decompressed, by how they were stored. A job reads its plan's sheet from the same
# stored bytes three times (the loader, graft, and the check of what graft wrote): decompressed once.
_INFLATED: dict[tuple[int, int, int], tuple[bytes, bytes]] = {}
_INFLATED_FROM = 1 << 20            # parts smaller than this are quick to decompress again
_INFLATED_KEEP = 4


def inflated(name: str, compress_type: int, crc: int, body: bytes) -> bytes:
    """The bytes of a part stored (or deflated) as `body`, checked against its CRC as zipfile checks
    them; a large part read again from the same stored bytes is not decompressed again."""
    key = (compress_type, crc, len(body))
    got = _INFLATED.get(key)
    if got is not None and got[0] == body:
        return got[1]
    try:
        data = zlib.decompress(body, -15) if compress_type == zipfile.ZIP_DEFLATED else body
    except zlib.error as exc:
        raise zipfile.BadZipFile(f"{name!r} is damaged ({exc})") from None
    if zlib.crc32(data) != crc:
        raise zipfile.BadZipFile(f"Bad CRC-32 for file {name!r}")
    if len(data) >= _INFLATED_FROM:
        _INFLATED.pop(key, None)
        _INFLATED[key] = (body, data)
        while len(_INFLATED) > _INFLATED_KEEP:
            del _INFLATED[next(iter(_INFLATED))]
    return data


def read_part(zf: zipfile.ZipFile, name: str) -> bytes:
    """zf.read(name), through `inflated`."""
    info = zf.getinfo(name)
    stored = _stored(zf.fp, info, b"") if zf.fp is not None and not info.is_dir() else None
    return zf.read(info) if stored is None else inflated(info.filename, info.compress_type, info.CRC, stored[2])


def stored_alike(a: Member, b: Member) -> bool:
    """Whether two parts are stored as the very same bytes (compression, CRC, compressed bytes): then
    they hold the same bytes, without decompressing either."""
    ra = a.raw() if isinstance(a, _LazyMember) else None
    return ra is not None and isinstance(b, _LazyMember) and ra == b.raw()


def _members(zf: zipfile.ZipFile, raw, lazy: bool = False) -> list[Member]:
    """The parts of an open zip; `raw` is the zip's bytes (or an open file) to take each part's stored
    bytes from. `lazy`: parts stored or deflated are decompressed when first used."""
    out = []
    for i in zf.infolist():
        if i.is_dir():
            continue
        if lazy:
            body = _stored(raw, i, b"")
            if body is not None:
                out.append(_LazyMember(i.filename, i.compress_type, i.CRC, body[2]))
                continue
        body = _stored(raw, i, b"")
        if body is None:
            data = zf.read(i)
            out.append(Member(i.filename, data, i.compress_type))
        else:
            data = inflated(i.filename, i.compress_type, i.CRC, body[2])
            out.append(Member(i.filename, data, i.compress_type, (data, i.CRC, body[2])))
    return out


def _stored(raw, info: zipfile.ZipInfo, data: bytes) -> tuple | None:
    """(data, CRC, compressed bytes) of a part as the zip holds it; None when it is stored in a way
    this does not copy (encrypted, or other than stored or deflated)."""
    if info.flag_bits & 0x1 or info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        return None
    raw.seek(info.header_offset)
    head = raw.read(30)
    if len(head) != 30 or head[:4] != b"PK\x03\x04":
        return None
    start = info.header_offset + 30 + int.from_bytes(head[26:28], "little") + int.from_bytes(head[28:30], "little")
    raw.seek(start)
    body = raw.read(info.compress_size)
    return (data, info.CRC, body) if len(body) == info.compress_size else None


class Package:
    """The parts of an OOXML zip, in their original order."""

    def __init__(self, members: list[Member]):
        self.members = members
        # what a part parsed to, by the part's bytes object: graft asks for the same relationships
        # and content types many times while the part is unchanged
        self._parsed: dict[tuple, tuple[bytes, object]] = {}

    def parsed_as(self, key: tuple, data: bytes, parse_part):
        """``parse_part(data)``, parsed once while ``data`` stays the part's bytes."""
        got = self._parsed.get(key)
        if got is None or got[0] is not data:
            got = self._parsed[key] = (data, parse_part(data))
        return got[1]

    @classmethod
    def read(cls, path: str | os.PathLike, lazy: bool = False) -> "Package":
        try:
            with open(path, "rb") as fh, zipfile.ZipFile(fh) as zf:
                return cls(_members(zf, fh, lazy))
        except (zipfile.BadZipFile, OSError) as exc:
            raise PackageError(f"{Path(path).name} could not be opened as an Excel workbook ({exc}).") from None

    @classmethod
    def from_bytes(cls, data: bytes, lazy: bool = False) -> "Package":
        import io
        buf = io.BytesIO(data)
        with zipfile.ZipFile(buf) as zf:
            return cls(_members(zf, buf, lazy))

    def _find(self, name: str) -> Member | None:
        low = name.lstrip("/").lower()
        for m in self.members:
            if m.name.lower() == low:
                return m
        return None

    def has(self, name: str) -> bool:
        return self._find(name) is not None

    def get(self, name: str) -> bytes | None:
        m = self._find(name)
        return m.data if m else None

    def set(self, name: str, data: bytes, compress_type: int = zipfile.ZIP_DEFLATED) -> None:
        m = self._find(name)
        if m is not None:
            m.data = data
        else:
            self.members.append(Member(name.lstrip("/"), data, compress_type))

    def to_bytes(self, compress_type: int | None = None) -> bytes:
        """The zip, written deterministically: member order kept, fixed timestamps.
        ``compress_type`` overrides every member's compression when given."""
        import io
        infos, deflate = [], []
        for m in self.members:
            info = zipfile.ZipInfo(m.name, date_time=FIXED_ZIP_TIME)
            info.compress_type = m.compress_type if compress_type is None else compress_type
            info.external_attr = 0o600 << 16
            info.create_system = 0
            stored = m.stored_as_read()
            if stored is not None and info.compress_type == m.compress_type:
                infos.append((info, m, stored))
            else:
                infos.append((info, m, None))
                if info.compress_type == zipfile.ZIP_DEFLATED:
                    deflate.append(m.data)
        deflated = iter(_deflated_all(deflate))
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as zf:
            for info, m, stored in infos:
                if stored is not None:
                    _write_stored(zf, info, stored)
                elif info.compress_type == zipfile.ZIP_DEFLATED:
                    _write_stored(zf, info, next(deflated))
                else:
                    zf.writestr(info, m.data)
        return buf.getvalue()

    def write(self, dest: str | os.PathLike, compress_type: int | None = None) -> None:
        write_atomic(dest, self.to_bytes(compress_type))


def _deflated(data: bytes) -> tuple:
    """(data, CRC, compressed bytes) of a part compressed at DEFLATE_LEVEL, as a zip holds it."""
    c = zlib.compressobj(DEFLATE_LEVEL, zlib.DEFLATED, -15)
    return data, zlib.crc32(data), c.compress(data) + c.flush()


# A large part is compressed in pieces side by side, as pigz does: each piece a raw deflate stream
# primed with the 32 kB before it, every piece but the last ended by a sync flush (a byte-aligned
# empty block), so the pieces joined are one deflate stream. zlib lets other threads run while it
# compresses, so on a machine of several cores the parts written take a fraction of the time.
_PIECE = 1 << 20
_WINDOW = 1 << 15


def _piece(data: memoryview, start: int, end: int) -> bytes:
    last = end >= len(data)
    if start:
        c = zlib.compressobj(DEFLATE_LEVEL, zlib.DEFLATED, -15, zdict=bytes(data[max(0, start - _WINDOW):start]))
    else:
        c = zlib.compressobj(DEFLATE_LEVEL, zlib.DEFLATED, -15)
    return c.compress(data[start:end]) + c.flush(zlib.Z_FINISH if last else zlib.Z_SYNC_FLUSH)


def _deflated_all(parts: list[bytes]) -> list[tuple]:
    """_deflated of each of `parts`, the work spread over the machine's cores."""
    workers = min(4, os.cpu_count() or 1)
    if workers < 2 or sum(map(len, parts)) < 2 * _PIECE:
        return [_deflated(data) for data in parts]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(workers) as pool:
        jobs = []
        for data in parts:
            view = memoryview(data)
            pieces = [pool.submit(_piece, view, a, min(a + _PIECE, len(data))) for a in range(0, len(data), _PIECE)] \
                if data else []
            jobs.append((data, pool.submit(zlib.crc32, data), pieces))
        return [(data, crc.result(), b"".join(p.result() for p in pieces) if pieces else _deflated(data)[2])
                for data, crc, pieces in jobs]


def _write_stored(zf: zipfile.ZipFile, info: zipfile.ZipInfo, stored: tuple) -> None:
    """Add a part to a zip being written with bytes already compressed (as read, for an unchanged part
    of a large plan, which is not compressed again; or by _deflated). What ZipFile.writestr does after compressing:
    the local header, the bytes, the central directory entry (Python's zipfile, 3.9 to 3.13)."""
    data, crc, body = stored
    info.CRC, info.file_size, info.compress_size = crc, len(data), len(body)
    if info.file_size > zipfile.ZIP64_LIMIT or info.compress_size > zipfile.ZIP64_LIMIT:
        zf.writestr(info, data)
        return
    info.header_offset = zf.fp.tell()
    zf.fp.write(info.FileHeader(False))
    zf.fp.write(body)
    zf.filelist.append(info)
    zf.NameToInfo[info.filename] = info
    zf.start_dir = zf.fp.tell()
    zf._didModify = True


# --------------------------------------------------------------------------------------
# Small, exact XML edits
# --------------------------------------------------------------------------------------

def _check_xml(data: bytes) -> None:
    """Raise ValueError when ``data`` declares entities or refers to external ones (refused as
    defusedxml refuses them), expat's error when it is not well-formed. expat with no element
    handlers reads a large part at C speed (defusedxml's parser calls back into Python for every
    element and run of text)."""
    def refuse(*_args):
        raise ValueError("the part declares entities, which xl_plan does not accept")

    parser = expat.ParserCreate()
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.EntityDeclHandler = refuse
    parser.UnparsedEntityDeclHandler = refuse
    parser.ExternalEntityRefHandler = refuse
    parser.Parse(data, True)


def xml_problem(data: bytes) -> str | None:
    """None when ``data`` is well-formed XML without entity declarations, else why not."""
    try:
        _check_xml(data)
    except Exception as exc:  # noqa: BLE001 - every parse failure is reported in words
        return str(exc) or type(exc).__name__
    return None


def parse(data: bytes) -> ET.Element:
    """Parse XML from a file we did not write: entity declarations refused as defusedxml refuses them,
    then read by ElementTree's C parser."""
    try:
        _check_xml(data)
    except expat.ExpatError:
        pass          # not well-formed: ElementTree's ParseError says where
    return ET.fromstring(data)


def _tag_end(xml: str, start: int) -> int:
    """Index just past the '>' of the tag starting at ``start`` (quotes respected)."""
    quote = None
    i = start
    while i < len(xml):
        c = xml[i]
        if quote:
            if c == quote:
                quote = None
        elif c in "\"'":
            quote = c
        elif c == ">":
            return i + 1
        i += 1
    raise PackageError("malformed XML: a tag is not closed")


def _root_prefix(xml: str, local: str) -> tuple[str, int, int]:
    """The namespace prefix ('' or 'x:') of the root element ``local``, and the span
    of its start tag."""
    m = re.search(r"<((?:[A-Za-z_][\w.-]*:)?)%s(?=[\s/>])" % re.escape(local), xml)
    if not m:
        raise PackageError(f"malformed part: no <{local}> element")
    return m.group(1), m.start(), _tag_end(xml, m.start())


def find_start_tag(xml: str, prefix: str, local: str, after: int = 0) -> tuple[int, int] | None:
    m = re.compile(r"<%s%s(?=[\s/>])" % (re.escape(prefix), re.escape(local))).search(xml, after)
    if not m:
        return None
    return m.start(), _tag_end(xml, m.start())


def tag_attributes(tag: str) -> dict[str, str]:
    """The attributes of one start tag (as text), entities decoded."""
    name_end = re.match(r"<[\w:.-]+", tag).end()
    return {m.group(1): html.unescape(m.group(3) if m.group(3) is not None else m.group(4))
            for m in re.finditer(r"([\w:.-]+)\s*=\s*(\"([^\"]*)\"|'([^']*)')", tag[name_end:])}


_NEEDS_ESCAPE = re.compile("[&<>\"\r\n\t]")


def element_xml(tag: str, attrib: dict[str, str]) -> str:
    """Serialise one empty element (ElementTree does the escaping)."""
    if "{" not in tag:
        # what ElementTree writes when nothing needs escaping or a namespace (thousands of hyperlinks'
        # relationships are written this way)
        parts = ["<", tag]
        for k, v in attrib.items():
            if type(v) is not str or "{" in k or _NEEDS_ESCAPE.search(v) is not None:
                break
            parts.append(f' {k}="{v}"')
        else:
            parts.append("/>")
            return "".join(parts)
    el = ET.Element(tag, attrib)
    return ET.tostring(el, encoding="unicode", short_empty_elements=True).replace(" />", "/>")


def insert_child(xml: str, root_local: str, fragment: str) -> str:
    """Insert ``fragment`` as the last child of the root element ``root_local``."""
    prefix, start, end = _root_prefix(xml, root_local)
    if xml[end - 2] == "/":  # self-closing root: open it
        head = xml[:end - 2].rstrip()
        return head + ">" + fragment + f"</{prefix}{root_local}>" + xml[end:]
    close = xml.rfind(f"</{prefix}{root_local}")
    if close < 0:
        raise PackageError(f"malformed part: <{root_local}> is not closed")
    return xml[:close] + fragment + xml[close:]


def set_attribute(xml: str, span: tuple[int, int], name: str, value: str) -> str:
    """Set attribute ``name`` on the start tag at ``span`` (added just after the tag
    name when missing, replaced in place when present)."""
    start, end = span
    tag = xml[start:end]
    esc = " " + element_xml("x", {name: value})[3:-2]  # ' name="value"', escaped by ElementTree
    m = re.search(r"\s%s\s*=\s*(\"[^\"]*\"|'[^']*')" % re.escape(name), tag)
    if m:
        new_tag = tag[:m.start()] + esc + tag[m.end():]
    else:
        name_end = re.match(r"<[\w:.-]+", tag).end()
        new_tag = tag[:name_end] + esc + tag[name_end:]
    return xml[:start] + new_tag + xml[end:]


def _decode(data: bytes) -> tuple[str, str]:
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8"), "utf-8-sig"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16"), "utf-16"
    return data.decode("utf-8"), "utf-8"


def _encode(text: str, encoding: str) -> bytes:
    return text.encode(encoding)


# --------------------------------------------------------------------------------------
# Content types and relationships
# --------------------------------------------------------------------------------------

def content_types(pkg: Package) -> tuple[dict[str, str], dict[str, str]]:
    """(defaults by lower-case extension, overrides by lower-case part name)."""
    data = pkg.get(CONTENT_TYPES)
    if data is None:
        raise PackageError("the file has no [Content_Types].xml: it is not an Office workbook.")
    defaults, overrides = pkg.parsed_as(("types",), data, _content_types)
    return dict(defaults), dict(overrides)


def _content_types(data: bytes) -> tuple[dict[str, str], dict[str, str]]:
    defaults, overrides = {}, {}
    for el in parse(data):
        local = el.tag.rsplit("}", 1)[-1]
        if local == "Default":
            defaults[el.get("Extension", "").lower()] = el.get("ContentType", "")
        elif local == "Override":
            overrides[el.get("PartName", "").lower()] = el.get("ContentType", "")
    return defaults, overrides


def content_type_of(pkg: Package, part: str) -> str | None:
    defaults, overrides = content_types(pkg)
    part = "/" + part.lstrip("/")
    if part.lower() in overrides:
        return overrides[part.lower()]
    ext = part.rsplit(".", 1)[-1].lower() if "." in part else ""
    return defaults.get(ext)


def set_override(pkg: Package, part: str, content_type: str) -> None:
    """Make ``part`` have ``content_type`` through an Override element."""
    part = "/" + part.lstrip("/")
    text, enc = _decode(pkg.get(CONTENT_TYPES))
    prefix, _, _ = _root_prefix(text, "Types")
    pos = 0
    while True:
        span = find_start_tag(text, prefix, "Override", pos)
        if span is None:
            break
        attrs = tag_attributes(text[span[0]:span[1]])
        if attrs.get("PartName", "").lower() == part.lower():
            if attrs.get("ContentType") != content_type:
                text = set_attribute(text, span, "ContentType", content_type)
                pkg.set(CONTENT_TYPES, _encode(text, enc))
            return
        pos = span[1]
    frag = element_xml(prefix + "Override", {"PartName": part, "ContentType": content_type})
    pkg.set(CONTENT_TYPES, _encode(insert_child(text, "Types", frag), enc))


def ensure_default(pkg: Package, extension: str, content_type: str) -> None:
    defaults, _ = content_types(pkg)
    if extension.lower() in defaults:
        return
    text, enc = _decode(pkg.get(CONTENT_TYPES))
    prefix, _, _ = _root_prefix(text, "Types")
    frag = element_xml(prefix + "Default", {"Extension": extension, "ContentType": content_type})
    pkg.set(CONTENT_TYPES, _encode(insert_child(text, "Types", frag), enc))


def rels_name(part: str) -> str:
    """The relationships part of ``part`` ('' for the package itself)."""
    part = part.lstrip("/")
    if not part:
        return ROOT_RELS
    folder, name = posixpath.split(part)
    return posixpath.join(folder, "_rels", name + ".rels")


def resolve(source_part: str, target: str) -> str:
    """The zip member name a relationship target points at."""
    if target.startswith("/"):
        return target.lstrip("/")
    base = posixpath.dirname(source_part.lstrip("/"))
    return posixpath.normpath(posixpath.join(base, target)).lstrip("/")


@dataclass(frozen=True)   # shared by every caller while its part is unchanged
class Relationship:
    id: str
    type: str
    target: str
    external: bool
    part: str  # resolved member name ('' when external)


def relationships(pkg: Package, source_part: str) -> list[Relationship]:
    data = pkg.get(rels_name(source_part))
    if data is None:
        return []
    return list(pkg.parsed_as(("rels", source_part), data, lambda d: _relationships(d, source_part)))


def _relationships(data: bytes, source_part: str) -> list[Relationship]:
    out = []
    for el in parse(data):
        if el.tag.rsplit("}", 1)[-1] != "Relationship":
            continue
        external = el.get("TargetMode", "") == "External"
        target = el.get("Target", "")
        out.append(Relationship(el.get("Id", ""), el.get("Type", ""), target, external,
                                "" if external else resolve(source_part, target)))
    return out


def add_relationship(pkg: Package, source_part: str, rel_type: str, target: str) -> str:
    """Add a relationship (unless one of that type to that part exists); return its Id."""
    part = resolve(source_part, target)
    existing = relationships(pkg, source_part)
    for r in existing:
        if r.type == rel_type and r.part.lower() == part.lower():
            return r.id
    ids = {r.id for r in existing}
    n = 1
    while f"rId{n}" in ids:
        n += 1
    rid = f"rId{n}"
    name = rels_name(source_part)
    data = pkg.get(name)
    if data is None:
        data = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n'
                f'<Relationships xmlns="{NS_RELS}"></Relationships>').encode()
    text, enc = _decode(data)
    prefix, _, _ = _root_prefix(text, "Relationships")
    frag = element_xml(prefix + "Relationship", {"Id": rid, "Type": rel_type, "Target": target})
    pkg.set(name, _encode(insert_child(text, "Relationships", frag), enc))
    return rid


def workbook_part(pkg: Package) -> str:
    for r in relationships(pkg, ""):
        if r.type == REL_OFFICE_DOCUMENT and not r.external:
            if not pkg.has(r.part):
                break
            return r.part
    raise PackageError("the file has no workbook part: it is not an Excel workbook.")


def vba_part(pkg: Package) -> str | None:
    """The member name of the workbook's vbaProject.bin, if it has one."""
    try:
        wb = workbook_part(pkg)
    except PackageError:
        return None
    for r in relationships(pkg, wb):
        if r.type == REL_VBA and pkg.has(r.part):
            return r.part
    return None


# --------------------------------------------------------------------------------------
# What the safe-save path uses
# --------------------------------------------------------------------------------------

_RIBBON_NAME = re.compile(r"(?i)^customui/customui(14)?\.xml$")


def _ribbon_parts(pkg: Package) -> dict[str, dict]:
    found: dict[str, dict] = {}
    for r in relationships(pkg, ""):
        if r.type in RIBBON_REL_TYPES and not r.external:
            found[r.part] = {"relationship_type": r.type, "relationship_id": r.id,
                             "present": pkg.has(r.part)}
    for m in pkg.members:
        if _RIBBON_NAME.match(m.name) and not any(k.lower() == m.name.lower() for k in found):
            found[m.name] = {"relationship_type": None, "relationship_id": None, "present": True}
    for name, info in found.items():
        info["content_type"] = content_type_of(pkg, name) if pkg.has(CONTENT_TYPES) else None
        info["expected_relationship_type"] = (REL_UI_2009 if name.lower().endswith("customui14.xml")
                                              else REL_UI_2006)
    return found


def ribbon_parts(path: str | os.PathLike) -> dict[str, dict]:
    """The ribbon (customUI) parts of a workbook.

    Keys are zip member names such as ``customUI/customUI14.xml``; each value says
    ``present`` (the part is in the file), ``relationship_type`` and ``relationship_id``
    (the package relationship that makes Office load it, or None when missing),
    ``expected_relationship_type`` and ``content_type`` (from its Override or the
    Default for its extension; None when it has none).
    A part with no relationship is in the file but Office ignores it: no ribbon.
    """
    return _ribbon_parts(Package.read(path))


def has_macros(path: str | os.PathLike) -> bool:
    """True when the workbook has a VBA project (``vbaProject.bin`` referenced by the
    workbook part)."""
    return vba_part(Package.read(path, lazy=True)) is not None


def _code_names(pkg: Package) -> tuple[str | None, dict[str, str | None]]:
    """(workbook codeName, {sheet name: codeName}) as written in the package."""
    wb = workbook_part(pkg)
    root = parse(pkg.get(wb))
    pr = root.find(f"{{{NS_MAIN}}}workbookPr")
    wb_code = pr.get("codeName") if pr is not None else None
    rels = {r.id: r for r in relationships(pkg, wb)}
    sheets: dict[str, str | None] = {}
    for s in root.iter(f"{{{NS_MAIN}}}sheet"):
        rel = rels.get(s.get(f"{{{NS_R}}}id", ""))
        code = None
        if rel is not None and pkg.has(rel.part):
            sroot = parse(pkg.get(rel.part))
            spr = sroot.find(f"{{{NS_MAIN}}}sheetPr")
            code = spr.get("codeName") if spr is not None else None
        sheets[s.get("name", "")] = code
    return wb_code, sheets


def check_macros_and_ribbon(original_path: str | os.PathLike,
                            saved_path: str | os.PathLike) -> list[str]:
    """Compare a saved workbook with the original it came from and list, in plain
    English, every way its macros or ribbon were lost. An empty list means intact."""
    problems: list[str] = []
    orig = Package.read(original_path, lazy=True)
    saved = Package.read(saved_path, lazy=True)
    name = Path(saved_path).name
    ovba = vba_part(orig)
    if ovba is not None:
        svba = vba_part(saved)
        if svba is None:
            problems.append(f"The macros were lost when {name} was saved: the Action Plan "
                            "buttons will not work. Use the copy made before saving.")
        elif saved.get(svba) != orig.get(ovba):
            problems.append(f"The macros in {name} changed when it was saved. "
                            "Use the copy made before saving.")
        try:
            ct = content_type_of(saved, workbook_part(saved))
        except PackageError:
            ct = None
        if ct not in (CT_MACRO_WORKBOOK, CT_MACRO_TEMPLATE):
            problems.append(f"{name} is no longer marked as a macro-enabled workbook, so Excel "
                            "will refuse to open it as .xlsm. Use the copy made before saving.")
        owb, osheets = _code_names(orig)
        swb, ssheets = _code_names(saved)
        if owb != swb:
            problems.append(f"The workbook's code name changed from {owb!r} to {swb!r}: "
                            "its macros may no longer match.")
        for sheet, code in osheets.items():
            if code and ssheets.get(sheet) != code:
                problems.append(f"Sheet {sheet!r} lost its code name {code!r}: "
                                "its macros may no longer match.")
    sparts = {k.lower(): v for k, v in _ribbon_parts(saved).items()}
    for part, info in _ribbon_parts(orig).items():
        if not (info["present"] and info["relationship_type"]):
            continue
        s = sparts.get(part.lower())
        if s is None or not s["present"]:
            problems.append(f"The ribbon ({part}) was lost when {name} was saved: the "
                            "Action Plan tab will not appear. It can be restored from the "
                            "copy made before saving.")
        elif s["relationship_type"] != info["relationship_type"]:
            problems.append(f"The ribbon ({part}) is still in {name} but no longer linked, so "
                            "the Action Plan tab will not appear. It can be restored from the "
                            "copy made before saving.")
        elif saved.get(part) != orig.get(part):
            problems.append(f"The ribbon ({part}) changed when {name} was saved.")
        elif s["content_type"] != info["content_type"]:
            problems.append(f"The ribbon ({part}) lost its content type when {name} was saved, "
                            "so Excel may refuse to open the file.")
    return problems
