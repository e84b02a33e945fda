"""OOXML package helpers: what openpyxl does to a macro workbook's ribbon, and putting
it back. Real files: the committed template and the sample plans."""

from __future__ import annotations

import re
import shutil
import zipfile
from pathlib import Path

import openpyxl
import pytest

from xl_plan.io.files import write_atomic
from xl_plan.io.package import (
    REL_UI_2006,
    REL_UI_2009,
    Package,
    PackageError,
    add_relationship,
    check_macros_and_ribbon,
    content_type_of,
    ensure_default,
    find_start_tag,
    has_macros,
    insert_child,
    relationships,
    restore_ribbon,
    ribbon_parts,
    set_attribute,
    set_override,
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


def test_openpyxl_drops_the_ribbon_and_restore_brings_it_back(plan, tmp_path):
    saved = _openpyxl_save(plan, tmp_path / "saved.xlsm")
    # the fact this module exists for: the part stays, its relationship goes
    assert has_macros(saved)
    lost = ribbon_parts(saved)[PART]
    assert lost["present"] and lost["relationship_type"] is None
    problems = check_macros_and_ribbon(plan, saved)
    assert len(problems) == 1 and "no longer linked" in problems[0]
    assert "Action Plan tab will not appear" in problems[0]

    assert restore_ribbon(plan, saved) is True
    assert ribbon_parts(saved)[PART]["relationship_type"] == REL_UI_2009
    assert check_macros_and_ribbon(plan, saved) == []
    # the user's edit is still there, and the macros are byte-identical
    assert openpyxl.load_workbook(saved)["Action Plan"]["C11"].value.startswith("1. An action")
    with zipfile.ZipFile(plan) as a, zipfile.ZipFile(saved) as b:
        assert a.read("xl/vbaProject.bin") == b.read("xl/vbaProject.bin")
        assert a.read(PART) == b.read(PART)

    # idempotent
    before = saved.read_bytes()
    assert restore_ribbon(plan, saved) is False
    assert saved.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plan.xlsm", "saved.xlsm"]


def test_restore_when_the_part_itself_was_lost(plan, tmp_path):
    pkg = Package.read(plan)
    pkg.members = [m for m in pkg.members if m.name != PART]
    broken = tmp_path / "broken.xlsm"
    pkg.write(broken)
    problems = check_macros_and_ribbon(plan, broken)
    assert problems and "was lost" in problems[0]
    restore_ribbon(plan, broken)
    assert check_macros_and_ribbon(plan, broken) == []


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


def test_restore_copies_a_2006_ribbon_with_its_images(tmp_path):
    # A workbook with an older customUI.xml and an image of its own.
    pkg = Package.read(TEMPLATE)
    ui = (b'<customUI xmlns="http://schemas.microsoft.com/office/2006/01/customui">'
          b'<ribbon><tabs><tab id="t" label="T"><group id="g" label="G">'
          b'<button id="b" label="B" image="logo" onAction="XlPlanButton"/>'
          b'</group></tab></tabs></ribbon></customUI>')
    pkg.set("customUI/customUI.xml", ui)
    pkg.set("customUI/images/logo.png", b"\x89PNG\r\n\x1a\nnot-really")
    add_relationship(pkg, "customUI/customUI.xml",
                     "http://schemas.openxmlformats.org/officeDocument/2006/relationships/image",
                     "images/logo.png")
    set_override(pkg, "customUI/customUI.xml", "application/xml")
    ensure_default(pkg, "png", "image/png")
    add_relationship(pkg, "", REL_UI_2006, "customUI/customUI.xml")
    orig = tmp_path / "orig.xlsm"
    pkg.write(orig)

    stripped = Package.read(orig)
    stripped.members = [m for m in stripped.members
                        if not m.name.startswith("customUI/")]
    text = stripped.get("_rels/.rels").decode()
    text = re.sub(r"<Relationship [^>]*ui/extensibility[^>]*/>", "", text)
    stripped.set("_rels/.rels", text.encode())
    saved = tmp_path / "saved.xlsm"
    stripped.write(saved)
    assert ribbon_parts(saved) == {}
    assert len(check_macros_and_ribbon(orig, saved)) == 2

    restore_ribbon(orig, saved)
    assert check_macros_and_ribbon(orig, saved) == []
    after = Package.read(saved)
    assert after.get("customUI/images/logo.png") == b"\x89PNG\r\n\x1a\nnot-really"
    assert content_type_of(after, "customUI/images/logo.png") == "image/png"
    assert [r.part for r in relationships(after, "customUI/customUI.xml")] == ["customUI/images/logo.png"]
    types = {p: i["relationship_type"] for p, i in ribbon_parts(saved).items()}
    assert types == {PART: REL_UI_2009, "customUI/customUI.xml": REL_UI_2006}


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
