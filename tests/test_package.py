"""OOXML package helpers: what openpyxl does to a macro workbook's ribbon, and putting
it back. Real files: the committed template and the sample plans."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import openpyxl
import pytest
from conftest import SAMPLES

from xl_plan.io.files import write_atomic
from xl_plan.io.package import (
    REL_UI_2009,
    Package,
    PackageError,
    check_macros_and_ribbon,
    element_xml,
    find_start_tag,
    has_macros,
    insert_child,
    ribbon_parts,
    set_attribute,
    tag_attributes,
)

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "workbook_template.xlsm"
BIRMINGHAM = Path(__file__).parent / "fixtures" / "birmingham_2023_plan.xlsx"
PART = "customUI/customUI14.xml"


@pytest.fixture
def plan(tmp_path) -> Path:
    p = tmp_path / "plan.xlsm"
    shutil.copy(TEMPLATE, p)
    return p


def _openpyxl_save(src: Path, dest: Path, keep_vba: bool = True) -> Path:
    wb = openpyxl.load_workbook(src, keep_vba=keep_vba)
    wb["Action Plan"]["C11"] = "1. An action typed in by the team"
    wb.save(dest)
    return dest


def test_ribbon_parts_and_has_macros():
    parts = ribbon_parts(TEMPLATE)
    assert list(parts) == [PART]
    info = parts[PART]
    assert info["present"] and info["relationship_type"] == REL_UI_2009
    assert info["relationship_id"] and info["content_type"] == "application/xml"
    assert has_macros(TEMPLATE)
    assert ribbon_parts(BIRMINGHAM) == {}
    assert not has_macros(BIRMINGHAM)


def test_check_reports_lost_macros(plan, tmp_path):
    saved = _openpyxl_save(plan, tmp_path / "nomacros.xlsm", keep_vba=False)
    problems = check_macros_and_ribbon(plan, saved)
    text = " ".join(problems)
    assert "macros were lost" in text
    assert "no longer marked as a macro-enabled workbook" in text
    assert "ribbon" in text


def test_check_reports_a_lost_code_name(plan, tmp_path):
    pkg = Package.read(plan)
    sheet = pkg.get("xl/worksheets/sheet2.xml")
    pkg.set("xl/worksheets/sheet2.xml", sheet.replace(b' codeName="Sheet2"', b""))
    bad = tmp_path / "bad.xlsm"
    pkg.write(bad)
    problems = check_macros_and_ribbon(plan, bad)
    assert problems == ["Sheet 'Leads' lost its code name 'Sheet2': its macros may no longer match."]


def test_xml_edits_are_exact_and_respect_prefixes():
    xml = '<?xml version="1.0"?><x:Types xmlns:x="urn:t"><x:A k="a>b"/></x:Types>'
    out = insert_child(xml, "Types", "<x:B/>")
    assert out == '<?xml version="1.0"?><x:Types xmlns:x="urn:t"><x:A k="a>b"/><x:B/></x:Types>'
    span = find_start_tag(out, "x:", "A")
    assert tag_attributes(out[span[0]:span[1]]) == {"k": "a>b"}
    out2 = set_attribute(out, span, "k", 'q"&')
    assert '<x:A k="q&quot;&amp;"/>' in out2
    out3 = set_attribute(out, span, "n", "1")
    assert '<x:A n="1" k="a>b"/>' in out3
    assert insert_child('<R xmlns="urn:r"/>', "R", "<C/>") == '<R xmlns="urn:r"><C/></R>'


def test_element_xml_writes_what_elementtree_writes():
    """element_xml's shortcut for values that need no escaping gives ElementTree's own text, and
    everything else (escapes, line ends, namespaces, no attributes) still does."""
    from xml.etree import ElementTree as ET

    def by_elementtree(tag, attrib):
        return ET.tostring(ET.Element(tag, attrib), encoding="unicode", short_empty_elements=True).replace(" />", "/>")

    cases = [("Relationship", {"Id": "rId1", "Type": "urn:t", "Target": "https://x.org/a?b=1;c=d"}),
             ("x:Override", {"PartName": "/xl/a.xml", "ContentType": "t"}),
             ("sheet", {"name": 'Q&A "1" <2>', "r:id": "rId2"}),
             ("definedName", {"name": "a\tb\nc\rd"}),
             ("{urn:n}el", {"k": "v"}),
             ("el", {"{urn:n}k": "v"}),
             ("el", {}),
             ("el", {"k": "it's ok"})]
    for tag, attrib in cases:
        assert element_xml(tag, attrib) == by_elementtree(tag, attrib), (tag, attrib)
    assert element_xml("sheet", {"name": 'Q&A "1" <2>'}) == '<sheet name="Q&amp;A &quot;1&quot; &lt;2&gt;"/>'


def test_relationships_and_content_types_are_read_again_when_their_part_changes(tmp_path):
    """They are parsed once while a part keeps its bytes: a part set anew is parsed anew."""
    from xl_plan.io.package import add_relationship, content_type_of, relationships, set_override

    pkg = Package.read(SAMPLES["city"])
    before = relationships(pkg, "xl/workbook.xml")
    assert relationships(pkg, "xl/workbook.xml") == before
    rid = add_relationship(pkg, "xl/workbook.xml", "urn:t", "extra.xml")
    assert [r.id for r in relationships(pkg, "xl/workbook.xml")] == [r.id for r in before] + [rid]
    assert content_type_of(pkg, "xl/extra.xml") is not None     # the Default for .xml
    set_override(pkg, "xl/extra.xml", "urn:ct")
    assert content_type_of(pkg, "xl/extra.xml") == "urn:ct"


def test_parts_are_parsed_refusing_what_defusedxml_refuses():
    """parse and xml_problem refuse entity declarations as defusedxml does, and accept what it accepts
    (a DTD without entities); a part that is not well-formed is a ParseError."""
    from xml.etree import ElementTree as ET

    from defusedxml import ElementTree as SafeET

    from xl_plan.io.package import parse, xml_problem

    refused = [b'<!DOCTYPE x [<!ENTITY e "y">]><x>&e;</x>',
               b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>',
               b'<!DOCTYPE x [<!ENTITY % p SYSTEM "http://example.invalid/p.dtd"> %p;]><x/>',
               b'<!DOCTYPE x [<!ENTITY a "aa"><!ENTITY b "&a;&a;&a;">]><x>&b;</x>',
               b'<!DOCTYPE x [<!NOTATION n SYSTEM "n"><!ENTITY u SYSTEM "u" NDATA n>]><x/>']
    for data in refused:
        with pytest.raises(ValueError):
            SafeET.fromstring(data)
        with pytest.raises(ValueError):
            parse(data)
        assert xml_problem(data) is not None
    accepted = [b'<?xml version="1.0"?><!DOCTYPE x [<!ELEMENT x ANY>]><x a="1">&amp;t</x>', b"<x><y/></x>",
                b'<!DOCTYPE x SYSTEM "http://example.invalid/x.dtd"><x/>']        # (never fetched)
    for data in accepted:
        assert ET.tostring(parse(data)) == ET.tostring(SafeET.fromstring(data))
        assert xml_problem(data) is None
    with pytest.raises(ET.ParseError):
        parse(b"<x><y></x>")
    assert xml_problem(b"<x><y></x>") is not None


def test_package_errors_are_plain(tmp_path):
    bad = tmp_path / "bad.xlsm"
    bad.write_text("not a zip")
    with pytest.raises(PackageError, match="could not be opened as an Excel workbook"):
        has_macros(bad)


def test_write_atomic_leaves_nothing_behind(tmp_path):
    dest = tmp_path / "f.bin"
    write_atomic(dest, b"one")
    write_atomic(dest, b"two")
    assert dest.read_bytes() == b"two"
    assert [p.name for p in tmp_path.iterdir()] == ["f.bin"]


def test_an_unchanged_part_is_written_with_the_bytes_it_was_stored_with(tmp_path):
    """A large plan's sheet is not compressed again on every save: unchanged parts keep their stored
    (compressed) bytes and CRC; a changed part is compressed afresh; the zip reads back whole."""
    import io

    src = tmp_path / "plan.xlsx"
    shutil.copyfile(SAMPLES["city"], src)
    pkg = Package.read(src)
    pkg.set("xl/styles.xml", pkg.get("xl/styles.xml").replace(b"</styleSheet>", b"<!-- x --></styleSheet>"))
    out = pkg.to_bytes()
    with zipfile.ZipFile(src) as before, zipfile.ZipFile(io.BytesIO(out)) as after:
        assert after.testzip() is None
        assert sorted(after.namelist()) == sorted(before.namelist())
        for name in before.namelist():
            data = after.read(name)
            if name == "xl/styles.xml":
                assert data.endswith(b"<!-- x --></styleSheet>")
                continue
            assert data == before.read(name), name
            a, b = after.getinfo(name), before.getinfo(name)
            assert (a.CRC, a.compress_size, a.compress_type) == (b.CRC, b.compress_size, b.compress_type), name
            at = a.header_offset + 30 + len(a.filename.encode()) + len(a.extra)
            raw_a = out[at:at + a.compress_size]
            with open(src, "rb") as fh:
                fh.seek(b.header_offset)
                head = fh.read(30)
                fh.seek(b.header_offset + 30 + int.from_bytes(head[26:28], "little") + int.from_bytes(head[28:30], "little"))
                raw_b = fh.read(b.compress_size)
            assert raw_a == raw_b, name
    written = tmp_path / "written.xlsx"
    written.write_bytes(out)
    assert openpyxl.load_workbook(written).sheetnames == openpyxl.load_workbook(src).sheetnames


def test_a_lazy_read_decompresses_a_part_when_it_is_used(tmp_path):
    """check_grafted reads lazily: a part stored alike in both packages is the same part without being
    decompressed; every part reads back as an eager read gives it, and a bad CRC is still found."""
    from xl_plan.io.package import stored_alike

    src = tmp_path / "plan.xlsx"
    shutil.copyfile(SAMPLES["city"], src)
    eager, lazy = Package.read(src), Package.read(src, lazy=True)
    pkg = Package.read(src)
    pkg.set("xl/styles.xml", pkg.get("xl/styles.xml") + b" ")
    written = Package.from_bytes(pkg.to_bytes(), lazy=True)
    for a, b, w in zip(eager.members, lazy.members, written.members):
        assert stored_alike(b, w) == (a.name != "xl/styles.xml"), a.name
        assert b.data == a.data, a.name
    data = bytearray(pkg.to_bytes())
    info = zipfile.ZipFile(src).getinfo("xl/workbook.xml")
    assert info.compress_size > 10
    at = data.find(b"xl/workbook.xml") + len("xl/workbook.xml")        # its local header's name, then the body
    data[at + 5] ^= 0xFF
    broken = Package.from_bytes(bytes(data), lazy=True)
    with pytest.raises(Exception):  # noqa: B017 - as an eager read fails: zlib's error or a bad CRC
        broken.get("xl/workbook.xml")


def test_large_parts_are_compressed_in_pieces_into_one_stream(tmp_path, monkeypatch):
    """A part written anew is compressed in pieces side by side (io/package.py `_deflated_all`); the
    pieces make one deflate stream that zip readers take as it was, for every size around a piece."""
    import os
    import zlib

    from xl_plan.io import package

    monkeypatch.setattr(package, "_PIECE", 1 << 12)         # small pieces: many of them, and their edges
    rows = "".join(f'<row r="{r}"><c r="A{r}" t="inlineStr"><is><t>action {r % 97} text</t></is></c></row>'
                   for r in range(1, 3000)).encode()
    parts = [rows, b"", b"x", os.urandom(20_000), rows[: 1 << 12], rows[: (1 << 12) + 1], rows[: 3 << 12]]
    for data, (same, crc, body) in zip(parts, package._deflated_all(parts)):
        assert same is data and crc == zlib.crc32(data)
        assert zlib.decompress(body, -15) == data

    pkg = package.Package.read(SAMPLES["city"])
    pkg.set("xl/big.xml", rows)
    out = tmp_path / "out.xlsx"
    out.write_bytes(pkg.to_bytes())
    with zipfile.ZipFile(out) as zf:
        assert zf.testzip() is None and zf.read("xl/big.xml") == rows


def test_a_large_part_read_again_from_the_same_stored_bytes_is_decompressed_once(tmp_path, monkeypatch):
    """A job reads its plan's sheet three times from the same stored bytes (the loader, graft, the
    check): io/package.py `inflated` decompresses it once. The same bytes stored otherwise, or
    damaged, are decompressed (and refused) again; a damaged part names itself."""
    import zlib

    from xl_plan.io import package

    rows = "".join(f'<row r="{r}"><c r="A{r}" t="inlineStr"><is><t>action {r} text</t></is></c></row>'
                   for r in range(1, 40_000)).encode()
    assert len(rows) > package._INFLATED_FROM
    pkg = Package.read(SAMPLES["city"])
    pkg.set("xl/big.xml", rows)
    first = tmp_path / "first.xlsx"
    first.write_bytes(pkg.to_bytes())
    calls = []
    real = zlib.decompress
    monkeypatch.setattr(package.zlib, "decompress", lambda *a: calls.append(len(a[0])) or real(*a))

    assert Package.read(first).get("xl/big.xml") == rows
    stored = zipfile.ZipFile(first).getinfo("xl/big.xml").compress_size
    assert calls.count(stored) == 1
    assert Package.read(first).get("xl/big.xml") == rows                  # eager read: from the first
    assert Package.read(first, lazy=True).get("xl/big.xml") == rows       # lazy read: the same
    with zipfile.ZipFile(first) as zf:
        assert package.read_part(zf, "xl/big.xml") == rows                # the loader's read
    assert calls.count(stored) == 1 and len(calls) > len(pkg.members)     # only the small parts again

    other = tmp_path / "other.xlsx"                                       # the same bytes, stored otherwise
    with zipfile.ZipFile(other, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        zf.writestr("xl/big.xml", rows)
    calls.clear()
    assert Package.read(other).get("xl/big.xml") == rows and calls

    data = bytearray(first.read_bytes())
    at = data.find(b"xl/big.xml") + len("xl/big.xml")                    # its local header's name, then the body
    data[at + 200] ^= 0xFF
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(bytes(data))
    with pytest.raises(PackageError, match="broken.xlsx could not be opened as an Excel workbook"):
        Package.read(broken)
