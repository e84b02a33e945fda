"""The macro-enabled template, its ribbon and VBA, and attaching them to existing plans.

Real files throughout: the committed workbook_template.xlsm, the sample plans in
tests/fixtures, the installed xlwings VBA; oletools/olefile read the VBA back, and
LibreOffice (when installed) opens the workbooks as an independent reader.
"""

from __future__ import annotations

import io
import random
import re
import shutil
import struct
import subprocess
import warnings
import zipfile
from pathlib import Path
from xml.etree import ElementTree as ET

import olefile
import openpyxl
import pytest

with warnings.catch_warnings():  # oletools 0.60 uses deprecated pyparsing names
    warnings.simplefilter("ignore", DeprecationWarning)
    from oletools.olevba import VBA_Parser, decompress_stream

import xl_plan.template as template
from xl_plan.io.package import (
    CT_MACRO_WORKBOOK,
    CT_VBA,
    REL_UI_2009,
    REL_VBA,
    Package,
    content_type_of,
    has_macros,
    relationships,
    ribbon_parts,
)
from xl_plan.template import BUTTON_TAGS, TemplateError, ovba
from xl_plan.template.attach import attach
from xl_plan.template.build import DEFAULT_OUT, RAG, SETTINGS, build_template, new_plan, template_bytes

ROOT = Path(__file__).resolve().parents[1]
MACROS = ROOT / "macros"
TEMPLATE = ROOT / "workbook_template.xlsm"
FIXTURES = Path(__file__).parent / "fixtures"
BIRMINGHAM = FIXTURES / "birmingham_2023_plan.xlsx"
CUI = "{http://schemas.microsoft.com/office/2009/07/customui}"
SOFFICE = shutil.which("soffice")


def _vba_bin(path: Path) -> bytes:
    with zipfile.ZipFile(path) as zf:
        return zf.read("xl/vbaProject.bin")


def _macros(path: Path) -> dict[str, tuple[str, str]]:
    """{module name: (olevba's file name, source)} as olevba extracts them."""
    vp = VBA_Parser(str(path))
    try:
        return {stream.split("/")[-1]: (fname, code)
                for _, stream, fname, code in vp.extract_macros()}
    finally:
        vp.close()


def _crlf(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\n", "\r\n")


def _xlwings_sources() -> tuple[str, str]:
    import xlwings
    root = Path(xlwings.__file__).parent
    bas = (root / "xlwings.bas").read_bytes().decode("cp1252")
    cls = (root / "addin" / "Dictionary.cls").read_bytes().decode("cp1252")
    lines = _crlf(cls).split("\r\n")
    cls_stored = "\r\n".join(lines[lines.index("END") + 1:])
    return _crlf(bas), cls_stored


# ------------------------------------------------------------------ the ribbon XML

def _ribbon() -> ET.Element:
    return ET.parse(MACROS / "customUI14.xml").getroot()


def _vba_subs() -> dict[str, str]:
    """{Sub name: parameter list} for every Sub in macros/*.bas."""
    subs = {}
    for bas in MACROS.glob("*.bas"):
        for m in re.finditer(r"^\s*(?:Public\s+)?Sub\s+(\w+)\s*\(([^)]*)\)", bas.read_text(), re.M):
            subs[m.group(1)] = " ".join(m.group(2).split())
    return subs


def test_ribbon_xml_is_well_formed_with_unique_ids():
    root = _ribbon()
    assert root.tag == CUI + "customUI"
    ids = [el.get("id") for el in root.iter() if el.get("id")]
    assert len(ids) == len(set(ids))
    tabs = list(root.iter(CUI + "tab"))
    assert [(t.get("id"), t.get("label")) for t in tabs] == [("xlPlanTab", "Action Plan")]


def test_every_callback_is_a_vba_sub_with_the_right_signature():
    root = _ribbon()
    subs = _vba_subs()
    signatures = {"onAction": r"\w+ As IRibbonControl", "onLoad": r"\w+ As IRibbonUI"}
    seen = 0
    for el in root.iter():
        for attr, sig in signatures.items():
            name = el.get(attr)
            if name:
                seen += 1
                assert name in subs, f"{attr}={name} has no Sub in macros/*.bas"
                assert re.fullmatch(sig, subs[name]), (name, subs[name])
    assert seen >= len(BUTTON_TAGS) + 1


def test_buttons_tags_icons_and_tips():
    buttons = list(_ribbon().iter(CUI + "button"))
    assert tuple(b.get("tag") for b in buttons) == BUTTON_TAGS
    assert len(set(BUTTON_TAGS)) == len(BUTTON_TAGS)
    assert set(BUTTON_TAGS) == {"validate", "carried", "gantt", "returns_make", "returns_send",
                                "merge", "consolidate", "report", "open_log", "help"}
    for b in buttons:
        assert b.get("onAction") == "XlPlanButton"
        assert re.fullmatch(r"[A-Z][A-Za-z]+", b.get("imageMso") or "")
        assert b.get("size") == "large"
        assert b.get("label") and b.get("screentip")
        assert len(b.get("supertip") or "") > 40
        assert re.fullmatch(r"[a-z_]+", b.get("tag"))  # safe inside the RunPython string
    tips = {b.get("tag"): b.get("supertip") for b in buttons}
    assert "drafts" in tips["returns_send"]
    assert "previous" in tips["carried"] or "last period" in tips["carried"]
    assert "folder" in tips["merge"]


def test_vba_callback_runs_python_dispatch():
    text = (MACROS / "XlPlanRibbon.bas").read_text()
    assert ('RunPython "import xl_plan.excel.ribbon as r; r.dispatch(\'" & control.Tag & "\')"'
            in text)
    assert text.startswith('Attribute VB_Name = "XlPlanRibbon"')


# ------------------------------------------------------------------ vbaProject.bin

def test_compression_round_trips_through_oletools():
    rng = random.Random(7)
    samples = [b"", b"a", b"abc" * 300, bytes(rng.getrandbits(8) for _ in range(3000)),
               bytes(rng.getrandbits(8) for _ in range(4096)),
               bytes(rng.choice(b"Dim x As Long\r\n ") for _ in range(20000))]
    samples += [s.encode("cp1252") for s in _xlwings_sources()]
    for data in samples:
        packed = ovba.compress(data)
        assert bytes(decompress_stream(bytearray(packed))) == data
        assert ovba.decompress(packed) == data
    # the copy-token maximum length is (0xFFFF >> BitCount) + 3 (MS-OVBA 2.4.1.3.19.3)
    assert ovba._copy_token_help(1) == (4, 4098)
    assert ovba._copy_token_help(17) == (5, 2050)
    assert ovba._copy_token_help(4096) == (12, 18)


def test_template_macros_are_exactly_the_sources():
    mods = _macros(TEMPLATE)
    bas, cls = _xlwings_sources()
    assert list(mods) == ["ThisWorkbook", "Sheet1", "Sheet2", "Sheet3", "XlPlanRibbon",
                          "xlwings", "Dictionary"]
    assert mods["XlPlanRibbon"] == ("XlPlanRibbon.bas",
                                    _crlf((MACROS / "XlPlanRibbon.bas").read_text()))
    assert mods["xlwings"] == ("xlwings.bas", bas)
    assert mods["Dictionary"] == ("Dictionary.cls", cls)
    assert 'Attribute VB_Name = "Dictionary"' in cls and "VERSION 1.0 CLASS" not in cls
    for name, base in (("ThisWorkbook", "00020819"), ("Sheet1", "00020820"),
                       ("Sheet2", "00020820"), ("Sheet3", "00020820")):
        fname, code = mods[name]
        assert fname == name + ".cls"
        assert code.startswith(f'Attribute VB_Name = "{name}"\r\nAttribute VB_Base = "0{{{base}-')
    # every .bas in macros/ is in the project
    assert {p.stem for p in MACROS.glob("*.bas")} <= set(mods)


def test_vba_project_has_no_p_code_and_a_valid_project_stream():
    ole = olefile.OleFileIO(io.BytesIO(_vba_bin(TEMPLATE)))
    vp = ole.openstream("VBA/_VBA_PROJECT").read()
    assert len(vp) == 7
    reserved1, version = struct.unpack_from("<HH", vp)
    assert (reserved1, version) == (0x61CC, 0xFFFF)
    project = ole.openstream("PROJECT").read().decode("cp1252")
    assert "Class=Dictionary\r\n" in project and "Module=XlPlanRibbon\r\n" in project
    assert "Document=ThisWorkbook/&H00000000\r\n" in project
    pid = re.search(r'^ID="(\{[0-9A-F-]{36}\})"', project).group(1)
    key = sum(pid.encode()) & 0xFF
    expect = {"CMG": b"\0\0\0\0", "DPB": b"\0", "GC": b"\xff"}
    for name, plain in expect.items():
        hexval = re.search(rf'^{name}="([0-9A-F]+)"', project, re.M).group(1)
        assert ovba.decrypt(bytes.fromhex(hexval)) == (key, plain)
    # the module streams hold only compressed source (MODULEOFFSET 0)
    for stream in ("VBA/XlPlanRibbon", "VBA/xlwings", "VBA/Dictionary", "VBA/Sheet1"):
        assert ole.openstream(stream).read()[0] == 1
    ole.close()


def test_vba_project_is_deterministic_and_rejects_bad_modules():
    mods = [ovba.document_module("ThisWorkbook", ovba.WORKBOOK_BASE),
            ovba.module_from_bas("Sub A()\nEnd Sub\n", "Mod1")]
    assert ovba.build_vba_project(mods) == ovba.build_vba_project(mods)
    with pytest.raises(ValueError):
        ovba.build_vba_project(mods + [ovba.module_from_bas("x", "mod1")])
    with pytest.raises(ValueError):
        ovba.module_from_bas('Attribute VB_Name = "Other"\r\n', "Mod1")


def test_rebuild_needs_the_pinned_xlwings(monkeypatch):
    """The installed distribution's version is read without importing xlwings."""
    import importlib.metadata

    real = importlib.metadata.version
    monkeypatch.setattr(importlib.metadata, "version", lambda name: "0.30.0" if name == "xlwings" else real(name))
    with pytest.raises(TemplateError, match="rebuild needs xlwings 0.37.8"):
        template_bytes()


# ------------------------------------------------------------------ the package

def test_content_types_and_relationships():
    pkg = Package.read(TEMPLATE)
    assert content_type_of(pkg, "xl/workbook.xml") == CT_MACRO_WORKBOOK
    assert content_type_of(pkg, "xl/vbaProject.bin") == CT_VBA
    assert content_type_of(pkg, "customUI/customUI14.xml") == "application/xml"
    root = [(r.type, r.part) for r in relationships(pkg, "")]
    assert (REL_UI_2009, "customUI/customUI14.xml") in root
    wb = [(r.type, r.part) for r in relationships(pkg, "xl/workbook.xml")]
    assert (REL_VBA, "xl/vbaProject.bin") in wb
    assert pkg.get("customUI/customUI14.xml") == (MACROS / "customUI14.xml").read_bytes()
    assert has_macros(TEMPLATE)
    parts = ribbon_parts(TEMPLATE)
    assert parts["customUI/customUI14.xml"]["relationship_type"] == REL_UI_2009


def test_rebuild_gives_the_committed_bytes(tmp_path):
    a, b = tmp_path / "a.xlsm", tmp_path / "b.xlsm"
    build_template(a)
    build_template(b)
    assert a.read_bytes() == b.read_bytes()
    assert a.read_bytes() == TEMPLATE.read_bytes(), (
        "workbook_template.xlsm is out of date: run python -m xl_plan.template build")
    assert DEFAULT_OUT == TEMPLATE
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.xlsm", "b.xlsm"]


def test_build_writes_no_scratch_files(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    template_bytes()
    assert list(tmp_path.iterdir()) == []


def test_zip_members_have_fixed_times_and_order():
    with zipfile.ZipFile(TEMPLATE) as zf:
        infos = zf.infolist()
        assert all(i.date_time == (1980, 1, 1, 0, 0, 0) for i in infos)
        names = [i.filename for i in infos]
        core = zf.read("docProps/core.xml").decode()
    assert names[-2:] == ["xl/vbaProject.bin", "customUI/customUI14.xml"]
    assert "2024-01-01T00:00:00Z" in core


def test_code_names_match_document_modules():
    wb = openpyxl.load_workbook(TEMPLATE, keep_vba=True)
    assert wb.code_name == "ThisWorkbook"
    assert [ws.sheet_properties.codeName for ws in wb] == ["Sheet1", "Sheet2", "Sheet3"]
    assert [ws.title for ws in wb] == ["Action Plan", "Leads", "xl_plan"]


def test_template_layout():
    wb = openpyxl.load_workbook(TEMPLATE)
    ws = wb["Action Plan"]
    fills = {c.value: c.fill.fgColor.rgb[-6:] for c in ws["B"][1:5]}
    assert fills == {text: fill for _, text, fill, _ in RAG}
    assert ws["B7"].value.startswith("Actions starred* are carried forward")
    assert [c.value for c in ws[9][1:8]] == ["Ofsted Finding", "Ref", "Action", "Lead",
                                             "Time-scale", "Update", "Status"]
    assert "B10:H10" in {str(r) for r in ws.merged_cells.ranges}
    assert ws["B10"].fill.fgColor.rgb[-6:] == "D9E1F2"
    dv = ws.data_validations.dataValidation
    assert len(dv) == 1 and dv[0].formula1 == '"Green,Amber,Red,Blue"'
    assert str(dv[0].sqref) == "H10:H509"
    rules = [r for cf in ws.conditional_formatting for r in cf.rules]
    assert len(rules) == 4
    assert ws.page_setup.orientation == "landscape"
    assert ws.page_setup.fitToWidth == 1 and ws.sheet_properties.pageSetUpPr.fitToPage
    assert ws.print_title_rows == "$9:$9"
    leads = wb["Leads"]
    assert [c.value for c in leads[1]] == ["As written in plan", "Full name", "Email", "Deputy / cc"]
    settings = wb["xl_plan"]
    assert settings.sheet_state == "hidden"
    rows = [tuple(c.value for c in r) for r in settings.iter_rows(max_col=2)]
    assert rows[0] == ("Setting", "Value")
    names = [r[0] for r in rows[1:]]
    assert names == [name for name, _ in SETTINGS]
    for needed in ("smtp_host", "smtp_port", "smtp_starttls", "smtp_user", "from_address",
                   "deadline_day"):
        assert needed in names


def test_new_plan_copies_the_template(tmp_path):
    dest = new_plan(tmp_path / "plan.xlsm")
    assert dest.read_bytes() == TEMPLATE.read_bytes()
    with pytest.raises(TemplateError, match="already exists"):
        new_plan(dest)
    with pytest.raises(TemplateError, match=".xlsm"):
        new_plan(tmp_path / "plan.xlsx")


# ------------------------------------------------------------------ attach

_CODE_NAME = re.compile(rb' codeName="[^"]*"')


def test_attach_changes_only_code_names(tmp_path):
    src = tmp_path / "plan.xlsx"
    shutil.copy(BIRMINGHAM, src)
    before = src.read_bytes()
    out = attach(src)
    assert out == tmp_path / "plan.xlsm"
    assert src.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plan.xlsm", "plan.xlsx"]
    with zipfile.ZipFile(src) as a, zipfile.ZipFile(out) as b:
        new = set(b.namelist()) - set(a.namelist())
        assert new == {"xl/vbaProject.bin", "customUI/customUI14.xml"}
        for name in a.namelist():
            old, now = a.read(name), b.read(name)
            if name.startswith("xl/worksheets/") or name == "xl/workbook.xml":
                assert _CODE_NAME.sub(b"", now).replace(b"<sheetPr/>", b"") == old, name
            elif name not in ("[Content_Types].xml", "_rels/.rels", "xl/_rels/workbook.xml.rels"):
                assert now == old, name
        assert b'<sheetPr codeName="Sheet1">' in b.read("xl/worksheets/sheet1.xml")
        assert b'<workbookPr codeName="ThisWorkbook" />' in b.read("xl/workbook.xml")
    pkg = Package.read(out)
    assert content_type_of(pkg, "xl/workbook.xml") == CT_MACRO_WORKBOOK
    assert has_macros(out)
    assert ribbon_parts(out)["customUI/customUI14.xml"]["relationship_type"] == REL_UI_2009
    mods = _macros(out)
    assert list(mods) == ["ThisWorkbook", "Sheet1", "XlPlanRibbon", "xlwings", "Dictionary"]
    wb = openpyxl.load_workbook(out, keep_vba=True)
    assert wb.code_name == "ThisWorkbook"
    assert [ws.sheet_properties.codeName for ws in wb] == ["Sheet1"]


def test_attach_every_sample_plan(tmp_path):
    for src in sorted(FIXTURES.glob("*.xlsx")):
        out = attach(src, tmp_path / (src.stem + ".xlsm"))
        wb = openpyxl.load_workbook(out, keep_vba=True)
        codes = [ws.sheet_properties.codeName for ws in wb]
        assert set(_macros(out)) >= {"ThisWorkbook", *codes}


def test_attach_adds_sheetpr_when_missing(tmp_path):
    pkg = Package.read(BIRMINGHAM)
    sheet = pkg.get("xl/worksheets/sheet1.xml")
    stripped = re.sub(rb"<sheetPr>.*?</sheetPr>", b"", sheet, count=1)
    assert b"sheetPr" not in stripped
    pkg.set("xl/worksheets/sheet1.xml", stripped)
    src = tmp_path / "bare.xlsx"
    pkg.write(src)
    out = attach(src)
    now = Package.read(out).get("xl/worksheets/sheet1.xml")
    assert now.replace(b'<sheetPr codeName="Sheet1"/>', b"") == stripped
    assert now.index(b"<sheetPr") < now.index(b"<dimension")


def test_attach_refuses(tmp_path):
    with pytest.raises(TemplateError, match="not an .xlsx"):
        attach(TEMPLATE, tmp_path / "x.xlsm")
    fake = tmp_path / "macro.xlsx"
    shutil.copy(TEMPLATE, fake)
    with pytest.raises(TemplateError, match="already has macros"):
        attach(fake, tmp_path / "y.xlsm")
    notzip = tmp_path / "text.xlsx"
    notzip.write_text("hello")
    with pytest.raises(TemplateError, match="could not be opened"):
        attach(notzip, tmp_path / "z.xlsm")
    src = tmp_path / "plan.xlsx"
    shutil.copy(BIRMINGHAM, src)
    (tmp_path / "plan.xlsm").write_bytes(b"keep me")
    with pytest.raises(TemplateError, match="already exists"):
        attach(src)
    assert (tmp_path / "plan.xlsm").read_bytes() == b"keep me"
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    assert issubclass(TemplateError, Exception) and template.TemplateError is TemplateError


# ------------------------------------------------------------------ LibreOffice

_no_soffice = pytest.mark.skipif(SOFFICE is None, reason="LibreOffice (soffice) is not installed")


def needs_soffice(test):
    """Runs LibreOffice: skipped without it, and slow (left out of the quick run)."""
    return pytest.mark.slow(_no_soffice(test))


def _soffice(tmp_path: Path, src: Path, fmt: str) -> Path:
    profile = tmp_path / "lo-profile"
    subprocess.run([SOFFICE, f"-env:UserInstallation=file://{profile}", "--headless",
                    "--convert-to", fmt, "--outdir", str(tmp_path), str(src)],
                   check=True, capture_output=True, timeout=180)
    out = tmp_path / (src.stem + "." + fmt)
    assert out.is_file(), f"LibreOffice did not convert {src.name} to {fmt}"
    return out


@needs_soffice
def test_libreoffice_renders_the_template(tmp_path):
    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm is not installed")
    src = tmp_path / "workbook_template.xlsm"
    shutil.copy(TEMPLATE, src)
    pdf = _soffice(tmp_path, src, "pdf")
    assert pdf.read_bytes().startswith(b"%PDF")
    subprocess.run(["pdftoppm", "-png", "-r", "40", "-f", "1", "-l", "1", str(pdf),
                    str(tmp_path / "page")], check=True, timeout=60)
    pngs = list(tmp_path.glob("page*.png"))
    assert pngs and pngs[0].stat().st_size > 2000


@needs_soffice
def test_libreoffice_reads_every_vba_module(tmp_path):
    """LibreOffice's own MS-OVBA reader imports the project: converting to .ods keeps
    each module as Basic, with its type (normal, class, document)."""
    src = tmp_path / "workbook_template.xlsm"
    shutil.copy(TEMPLATE, src)
    ods = _soffice(tmp_path, src, "ods")
    with zipfile.ZipFile(ods) as zf:
        names = {n.split("/")[-1][:-4]: zf.read(n).decode()
                 for n in zf.namelist()
                 if n.startswith("Basic/VBAProject/") and not n.endswith("script-lb.xml")}
    assert set(names) == {"ThisWorkbook", "Sheet1", "Sheet2", "Sheet3", "XlPlanRibbon",
                          "xlwings", "Dictionary"}
    kinds = {n: re.search(r'script:moduleType="(\w+)"', x).group(1) for n, x in names.items()}
    assert kinds["XlPlanRibbon"] == "normal" and kinds["xlwings"] == "normal"
    assert kinds["Dictionary"] == "class"
    assert kinds["ThisWorkbook"] == kinds["Sheet1"] == "document"
    assert "Public Sub XlPlanButton(control As IRibbonControl)" in names["XlPlanRibbon"]


def test_compound_file_is_strictly_valid():
    """olefile in strict mode accepts the file, and each storage's children form a
    binary search tree in MS-CFB order that is a valid red-black tree."""
    ole = olefile.OleFileIO(io.BytesIO(_vba_bin(TEMPLATE)), raise_defects=olefile.DEFECT_POTENTIAL)
    entries = ole.direntries
    nil = olefile.NOSTREAM

    def key(sid):
        name = entries[sid].name
        return (len(name), name.upper())

    def check(sid, lo, hi):
        """Return the black height of the subtree at sid."""
        if sid == nil:
            return 1
        e = entries[sid]
        assert (lo is None or key(lo) < key(sid)) and (hi is None or key(sid) < key(hi))
        if e.color == 0:
            for child in (e.sid_left, e.sid_right):
                assert child == nil or entries[child].color == 1
        left, right = check(e.sid_left, lo, sid), check(e.sid_right, sid, hi)
        assert left == right
        return left + (e.color == 1)  # 0 red, 1 black

    for e in entries:
        if e is not None and e.entry_type in (olefile.STGTY_ROOT, olefile.STGTY_STORAGE):
            check(e.sid_child, None, None)
    ole.close()
