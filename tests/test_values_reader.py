"""The lean values reader (xl_plan/io/values.py) gives exactly what openpyxl's full load gives.

Returns are read with it (merge/read.py), so every kind of cell a lead's Excel, LibreOffice or
another program can write is compared here against `openpyxl.load_workbook`, on the real sample
plans, on a package written by hand with the rarer cell forms, and on real returns."""
from __future__ import annotations

import os
import shutil
import subprocess
import zipfile
from datetime import datetime, timedelta
from pathlib import Path

import openpyxl
import pytest
from conftest import SAMPLES
from openpyxl.worksheet.formula import ArrayFormula, DataTableFormula

from xl_plan.errors import XlPlanError
from xl_plan.io.values import OpenpyxlValues, ValuesReader
from xl_plan.merge import read as merge_read
from xl_plan.merge.read import UnreadableReturn, read_return
from xl_plan.returns.identity import read_identity
from xl_plan.returns.make import make_returns

MONTH = "2026-11"


def comparable(value):
    """Formula objects (array, data table) have no value equality: compare what they hold."""
    if isinstance(value, (ArrayFormula, DataTableFormula)):
        return (type(value).__name__, str(getattr(value, "text", "")), str(getattr(value, "ref", "")))
    return value


def both_ways(path: Path):
    """{sheet: (cells, merged)} from the lean reader and from openpyxl's full load."""
    full = OpenpyxlValues(openpyxl.load_workbook(path))
    with ValuesReader(path) as lean:
        assert lean.sheetnames == full.sheetnames
        out = {}
        for name in full.sheetnames:
            a, b = lean.sheet(name), full.sheet(name)
            out[name] = (
                ({r: {c: comparable(v) for c, v in row.items()} for r, row in a.cells.items()}, sorted(a.merged)),
                ({r: {c: comparable(v) for c, v in row.items()} for r, row in b.cells.items()}, sorted(b.merged)),
            )
        assert lean.custom_properties() == full.custom_properties()
    return out


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_sample_plans_read_the_same_as_openpyxl(name):
    for sheet, (lean, full) in both_ways(SAMPLES[name]).items():
        assert lean == full, sheet
        assert lean[0], f"{sheet} read no values at all"


# ---------------------------------------------------------------- a package written by hand

NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
RNS = 'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"'

SHEET = f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<worksheet {NS} {RNS}><sheetData>
<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c><c r="C1" t="inlineStr"><is><t>inline text</t></is></c>
  <c r="D1" t="inlineStr"><is><r><t>rich </t></r><r><rPr><b/></rPr><t>inline</t></r></is></c></row>
<row r="2"><c r="A2"><v>42</v></c><c r="B2"><v>3.25</v></c><c r="C2" t="b"><v>1</v></c><c r="D2" t="e"><v>#N/A</v></c>
  <c r="E2" t="str"><f>A1&amp;"!"</f><v>plain!</v></c><c r="F2" s="1"><v>46346</v></c><c r="G2" s="2"><v>46346.5</v></c>
  <c r="H2" s="3"><v>1.75</v></c><c r="I2" s="4"><v>0.125</v></c><c r="J2" t="d"><v>2026-11-20T10:30:00</v></c>
  <c r="K2" s="5"><v>46346</v></c></row>
<row r="3"><c r="A3"><f t="shared" ref="A3:A5" si="0">A2*2</f><v>84</v></c><c r="B3" t="s"><v>2</v></c></row>
<row r="4"><c r="A4"><f t="shared" si="0"/><v>168</v></c><c r="B4"><f t="array" ref="B4">SUM(A2:A3)</f><v>126</v></c></row>
<row r="5"><c r="A5"><f t="shared" si="0"/><v>336</v></c></row>
<row r="7"><c r="A7" t="s"><v>3</v></c><c r="B7" t="s"><v>4</v></c><c r="C7" t="s"><v>4</v></c></row>
<row r="8"><c r="A8" t="inlineStr"><is><t></t></is></c><c r="B8" t="s"><v>5</v></c></row>
<row><c t="s"><v>6</v></c><c><v>7</v></c></row>
<row r="12"><c r="A12" t="inlineStr"><is><t>kanji</t><rPh sb="0" eb="1"><t>phonetic</t></rPh></is></c>
  <c r="B12" t="inlineStr" s="1"><is><r><t xml:space="preserve"> two </t></r><r><t>runs</t></r><rPh sb="0" eb="1"><t>ph</t></rPh></is></c>
  <c r="C12" t="inlineStr"><is/></c><c r="D12" t="inlineStr"/><c r="E12" t="inlineStr"><f>"x"</f><is><t>x</t></is></c></row>
</sheetData><mergeCells count="2"><mergeCell ref="A7:C7"/><mergeCell ref="B8:C9"/></mergeCells></worksheet>"""

STRINGS = f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<sst {NS} count="7" uniqueCount="7"><si><t>Action</t></si><si><r><t>Rich </t></r><r><rPr><i/></rPr><t>shared</t></r></si>
<si><t xml:space="preserve">  spaced \n lines  </t></si><si><t>Section heading</t></si><si><t>hidden under merge</t></si>
<si><t>=not a formula, typed text</t></si><si><t>no r attributes</t><rPh sb="0" eb="1"><t>phonetic</t></rPh></si></sst>"""

STYLES = f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<styleSheet {NS}><numFmts count="2"><numFmt numFmtId="164" formatCode="dd mmm yyyy"/><numFmt numFmtId="165" formatCode="[h]:mm"/></numFmts>
<fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>
<fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill></fills>
<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>
<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>
<cellXfs count="6"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/><xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>
<xf numFmtId="22" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/><xf numFmtId="165" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>
<xf numFmtId="21" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/><xf numFmtId="10" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs>
<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>"""


def hand_made(path: Path, date1904=False, sheet=SHEET, strings=STRINGS, styles=STYLES, workbook_extra="") -> Path:
    wbpr = '<workbookPr date1904="1"/>' if date1904 else "<workbookPr/>"
    parts = {
        "[Content_Types].xml": """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">
<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>
<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>
<Override PartName="/xl/worksheets/data.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>
<Override PartName="/xl/worksheets/empty.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>
<Override PartName="/xl/strings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>
<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>
<Override PartName="/docProps/custom.xml" ContentType="application/vnd.openxmlformats-officedocument.custom-properties+xml"/></Types>""",
        "_rels/.rels": """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>
<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/custom-properties" Target="docProps/custom.xml"/></Relationships>""",
        "xl/workbook.xml": f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<workbook {NS} {RNS}>{wbpr}<sheets><sheet name="Return" sheetId="1" r:id="rIdA"/>
<sheet name="Hidden one" sheetId="7" state="veryHidden" r:id="rIdB"/>{workbook_extra}</sheets></workbook>""",
        "xl/_rels/workbook.xml.rels": """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
<Relationship Id="rIdA" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/data.xml"/>
<Relationship Id="rIdB" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="/xl/worksheets/empty.xml"/>
<Relationship Id="rIdS" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="strings.xml"/>
<Relationship Id="rIdT" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/></Relationships>""",
        "xl/worksheets/data.xml": sheet,
        "xl/worksheets/empty.xml": f'<?xml version="1.0" encoding="UTF-8"?><worksheet {NS}><sheetData/></worksheet>',
        "xl/strings.xml": strings,
        "xl/styles.xml": styles,
        "docProps/custom.xml": """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/custom-properties" xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes">
<property fmtid="{D5CDD505-2E9C-101B-9397-08002B2CF9AE}" pid="2" name="xl_plan.month"><vt:lpwstr>2026-11</vt:lpwstr></property></Properties>""",
    }
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, text in parts.items():
            zf.writestr(name, text)
    return path


@pytest.mark.parametrize("date1904", [False, True], ids=["1900 dates", "1904 dates"])
def test_every_kind_of_cell_reads_as_openpyxl_reads_it(tmp_path, date1904):
    path = hand_made(tmp_path / "kinds.xlsx", date1904=date1904)
    sheets = both_ways(path)
    lean, full = sheets["Return"]
    assert lean == full
    cells = lean[0]
    # the forms are really there (so the comparison above covered them)
    assert cells[1] == {1: "Action", 2: "Rich shared", 3: "inline text", 4: "rich inline"}
    assert isinstance(cells[2][6], datetime) and isinstance(cells[2][10], datetime)
    assert cells[2][8] == timedelta(hours=42)                         # 1.75 days shown as [h]:mm
    assert cells[2][5] == '=A1&"!"' and cells[4][1] == "=A3*2" and cells[5][1] == "=A4*2"
    assert cells[7] == {1: "Section heading"}                        # covered cells hold nothing
    assert cells[8] == {2: "=not a formula, typed text"}
    assert cells[12][1] == "kanji" and cells[12][2] == " two runs"   # inline strings: no phonetic text
    assert cells[9] == {1: "no r attributes"}                       # B9 is under the B8:C9 merge
    assert sheets["Hidden one"][0] == ({}, [])
    with ValuesReader(path) as book:
        assert book.custom_properties() == {"xl_plan.month": "2026-11"}


def test_a_package_without_shared_strings_or_styles_reads_as_openpyxl_reads_it(tmp_path):
    sheet = (f'<worksheet {NS}><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>Action</t></is></c>'
             '<c r="B1"><v>46346</v></c></row></sheetData></worksheet>')
    path = hand_made(tmp_path / "bare.xlsx", sheet=sheet)
    bare = tmp_path / "bare2.xlsx"
    with zipfile.ZipFile(path) as zin, zipfile.ZipFile(bare, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item.filename).decode()
            if item.filename == "[Content_Types].xml":
                data = "".join(line for line in data.splitlines(True) if "strings.xml" not in line and "styles.xml" not in line)
            if item.filename not in ("xl/styles.xml", "xl/strings.xml"):
                zout.writestr(item, data)
    lean, full = both_ways(bare)["Return"]
    assert lean == full == ({1: {1: "Action", 2: 46346}}, [])


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice (soffice) is not installed")
def test_a_workbook_saved_by_libreoffice_reads_as_openpyxl_reads_it(tmp_path):
    (tmp_path / "in").mkdir()
    src = hand_made(tmp_path / "in" / "kinds.xlsx")
    out = tmp_path / "out"
    subprocess.run(["soffice", "--headless", f"-env:UserInstallation=file://{tmp_path}/lo-profile",
                    "--convert-to", "xlsx", "--outdir", str(out), str(src)], check=True, capture_output=True, timeout=180)
    for sheet, (lean, full) in both_ways(out / "kinds.xlsx").items():
        assert lean == full, sheet


# ---------------------------------------------------------------- hostile XML in every part read

BOMB = ('<!DOCTYPE x [<!ENTITY lol "lol">'
        + "".join(f'<!ENTITY lol{n} "{("&lol%s;" % ("" if n == 1 else n - 1)) * 10}">' for n in range(1, 10)) + "]>")


@pytest.mark.parametrize("part", ["xl/workbook.xml", "xl/strings.xml", "xl/styles.xml", "xl/worksheets/data.xml",
                                  "docProps/custom.xml", "[Content_Types].xml"])
def test_an_entity_bomb_in_any_part_is_refused(tmp_path, part):
    good = hand_made(tmp_path / "good.xlsx")
    bad = tmp_path / "bad.xlsx"
    with zipfile.ZipFile(good) as zin, zipfile.ZipFile(bad, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            data = zin.read(item.filename).decode()
            if item.filename == part:
                decl_end = data.index("?>") + 2
                data = data[:decl_end] + BOMB + data[decl_end:]
                data = data.replace("<vt:lpwstr>2026-11", "<vt:lpwstr>&lol9;", 1).replace("<t>Action", "<t>&lol9;", 1)
            zout.writestr(item, data)
    with pytest.raises(Exception) as refused:
        with ValuesReader(bad) as book:
            book.sheet("Return")
            book.custom_properties()
    assert merge_read._refused_xml(refused.value)
    # This package has no identity sheet, so a return reader never opens its data sheet (a bomb in a
    # real return's sheet: tests/test_merge.py); every part it does open is refused.
    with pytest.raises(UnreadableReturn, match="not a return" if part.endswith("data.xml") else "refuses to read"):
        read_return(bad)


# ---------------------------------------------------------------- real returns

@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_returns_are_read_by_the_lean_reader_and_match_the_full_load(name, sample, tmp_path, monkeypatch):
    made = make_returns(sample(name), MONTH, tmp_path / "sent", now=datetime(2026, 11, 2, 9))
    paths = []
    for n, f in enumerate(made.returns):
        wb = openpyxl.load_workbook(f.path)
        ident = read_identity(wb)
        ws = wb[ident.return_sheet]
        for i, row in enumerate(ident.rows):
            ws[f"{ident.update_column}{row.return_row}"] = [f"Update {i}", "=SUM(1,2)", datetime(2026, 11, 3), 7][i % 4]
            if i % 3 == 0:
                ws[f"{ident.status_column}{row.return_row}"] = ident.rag_names[-1]
        wb.save(tmp_path / f"back-{n}.xlsx")
        paths.append(tmp_path / f"back-{n}.xlsx")
    full = {p: merge_read._read(OpenpyxlValues(merge_read.load_return_workbook(p, p.name)), p, p.name, None)
            for p in paths}

    def no_full_load(*args, **kwargs):
        raise AssertionError("the lean reader gave up on a return xl_plan made")
    monkeypatch.setattr(merge_read, "load_return_workbook", no_full_load)
    for p in paths:
        assert read_return(p) == full[p]
    assert len(paths) == len(made.returns) > 1


def test_when_the_lean_reader_gives_up_the_full_load_reads_the_return(sample, tmp_path, monkeypatch):
    made = make_returns(sample("birmingham"), MONTH, tmp_path / "sent", now=datetime(2026, 11, 2, 9))
    path = made.returns[0].path
    expected = read_return(path)

    class GivesUp:
        def __init__(self, *_):
            raise KeyError("a part it does not know")
    monkeypatch.setattr("xl_plan.io.values.ValuesReader", GivesUp)
    assert read_return(path) == expected
    log = Path(os.environ["XL_PLAN_LOG"]).read_text()
    assert "lean reader gave up (KeyError" in log


def test_a_return_that_is_not_a_workbook_still_gets_the_plain_message(tmp_path):
    bad = tmp_path / "return.xlsx"
    bad.write_bytes(b"PK\x03\x04 cut short")
    with pytest.raises(XlPlanError, match="damaged"):
        read_return(bad)
