"""The package writer (io/graft.py) on real files: user workbooks written by XlsxWriter (an
independent writer) with charts, images, sparklines, x14 data bars, tables, validation, notes,
formulas with cached values, a text box, a form button and macros; changes made through openpyxl
as a job makes them; the result compared part by part with the original."""
from __future__ import annotations

import io
import re
import shutil
import struct
import subprocess
import time as _time
import warnings
import zipfile
import zlib
from collections import Counter
from copy import copy
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest
import xlsxwriter
from defusedxml import ElementTree as SafeET
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl.chart import BarChart, Reference
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill

from xl_plan.io.diff import CellChange, WorkbookChanges, diff_workbooks
from xl_plan.io.graft import check_grafted, graft
from xl_plan.io.package import Package, PackageError, relationships
from xl_plan.io.workbook import load
from xl_plan.sheets import OWNER, mark_cells, owned_sheet, remove_marks

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "workbook_template.xlsm"
PLAN = "Improvement Plan"


def _png() -> bytes:
    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)
    raw = b"".join(b"\x00" + b"\x20\x60\xc0" * 4 for _ in range(4))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 4, 4, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def build_user_book(path: Path, *, rows: int = 20, macros: bool = True, names: bool = True) -> Path:
    """A plan as a user's Excel might have it, written by XlsxWriter."""
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet(PLAN)
    head = wb.add_format({"bold": True, "bg_color": "#DDEBF7", "text_wrap": True})
    money = wb.add_format({"num_format": "£#,##0.00"})
    when = wb.add_format({"num_format": "dd/mm/yyyy"})
    ws.write_row(0, 0, ["Ref", "Action", "Lead", "Status", "Score", "Double", "Due", "Cost"], head)
    for r in range(1, rows):
        ws.write_row(r, 0, [f"A{r}", f"Improve service {r}", "Lead team", "Open", r * 1.5])
        ws.write_formula(r, 5, f"=E{r + 1}*2", None, r * 3.0)
        ws.write_datetime(r, 6, datetime(2026, 1, 1 + r % 28), when)
        ws.write_number(r, 7, 1000 + r, money)
    ws.write_comment("B3", "Alice's own note", {"author": "Alice"})
    ws.write_comment("C4", "Another user note", {"author": "Bob"})
    ws.add_sparkline("I2", {"range": f"'{PLAN}'!E2:E10"})
    ws.conditional_format(f"E2:E{rows}", {"type": "data_bar", "data_bar_2010": True})
    ws.conditional_format(f"D2:D{rows}", {"type": "icon_set", "icon_style": "3_traffic_lights"})
    ws.conditional_format(f"A2:A{rows}", {"type": "text", "criteria": "containing", "value": "A1",
                                          "format": wb.add_format({"font_color": "#9C0006"})})
    ws.data_validation(f"D2:D{rows}", {"validate": "list", "source": ["Open", "Closed", "Late"]})
    ws.insert_image("K2", "dot.png", {"image_data": io.BytesIO(_png())})
    ws.insert_textbox("K10", "The team's text box")
    ws.add_table("P1:Q4", {"columns": [{"header": "Key"}, {"header": "Val"}]})
    chart = wb.add_chart({"type": "column"})
    chart.add_series({"values": f"='{PLAN}'!$E$2:$E$10", "name": "Score"})
    ws.insert_chart("S2", chart)
    if macros:
        ws.insert_button("K20", {"macro": "say_hi", "caption": "Hi"})
    ws.set_column("B:B", 40)
    ws.freeze_panes(1, 0)
    ws.repeat_rows(0)
    other = wb.add_worksheet("Other")
    other.write("A1", "The user's other sheet")
    other.write_formula("A2", "=1+1", None, 2)
    if names:
        wb.define_name("PlanRefs", f"='{PLAN}'!$A$2:$A${rows}")
    if macros:
        with zipfile.ZipFile(TEMPLATE) as z:
            wb.add_vba_project(io.BytesIO(z.read("xl/vbaProject.bin")), is_stream=True)
        wb.set_vba_name()
    wb.close()
    return path


def make_job_changes(original: Path, scratch: Path) -> WorkbookChanges:
    """What a job does, through openpyxl: xl_plan's sheets, values, fills and notes."""
    wb = load(original)
    ws = owned_sheet(wb, "Validation", "Validation")
    ws.append([])
    ws.append(["Row", "Problem", "Severity"])
    for i in range(6):
        ws.append([i + 2, f"Problem number {i}\nwith a second line", "warning"])
    ws["A3"].font = Font(bold=True, color="FFFFFF")
    ws["A3"].fill = PatternFill("solid", fgColor="1F3864")
    ws["B4"].alignment = Alignment(wrap_text=True, vertical="top")
    ws["C4"].fill = PatternFill("solid", fgColor="FFE699")
    ws["A5"].number_format = "0.000%"
    ws.print_title_rows = "3:3"
    ws.auto_filter.ref = "A3:C9"
    summary = owned_sheet(wb, "Summary", "Summary")
    for i, (k, v) in enumerate([("Open", 12), ("Closed", 5), ("Late", 3)], 3):
        summary.cell(i, 1, k)
        summary.cell(i, 2, v)
    bar = BarChart()
    bar.add_data(Reference(summary, min_col=2, min_row=3, max_row=5))
    bar.set_categories(Reference(summary, min_col=1, min_row=3, max_row=5))
    summary.add_chart(bar, "D3")
    plan = wb[PLAN]
    plan["D2"] = "Closed"
    plan["D3"].fill = PatternFill("solid", fgColor="C6EFCE")
    plan["D5"] = "Late"
    plan["D5"].fill = PatternFill("solid", fgColor="FFC7CE")
    plan["F4"] = 99          # a formula replaced by a value
    plan["Z40"] = "outside the old range"
    mark_cells(plan, {"B3": ["on the user's note: skipped"], "C6": ["Lead is missing"], "E7": ["Score looks high"]})
    mark_cells(wb["Other"], {"A1": ["A note on a sheet with no notes"]})
    mark_cells(ws, {"B5": ["xl_plan's note on its own sheet"]})
    wb.save(scratch)
    return diff_workbooks(original, scratch)


def parts(data) -> dict[str, bytes]:
    src = io.BytesIO(data) if isinstance(data, (bytes, bytearray)) else data
    with zipfile.ZipFile(src) as z:
        return {i.filename: z.read(i) for i in z.infolist()}


def quiet_load(path, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return openpyxl.load_workbook(path, **kw)


def orphans(data: bytes) -> list[str]:
    """Parts no relationship points at (other than the package's fixed ones)."""
    pkg = Package.from_bytes(data)
    targets = set()
    for m in pkg.members:
        if m.name.endswith(".rels"):
            folder, base = m.name.rsplit("/", 1) if "/" in m.name else ("", m.name)
            src = (folder.rsplit("/", 1)[0] + "/" if "/" in folder else "") + base[:-5] if base != ".rels" else ""
            for r in relationships(pkg, src):
                if not r.external:
                    targets.add(r.part.lower())
    return [m.name for m in pkg.members
            if not m.name.endswith(".rels") and m.name != "[Content_Types].xml" and m.name.lower() not in targets]


def children_xml(xml: str, local: str) -> list[str]:
    """Raw XML of each child of the first <local> list in a styles part."""
    m = re.search(r"<%s\b[^>]*?(/?)>" % local, xml)
    if m is None or m.group(1):
        return []
    end = xml.index(f"</{local}>", m.end())
    body = xml[m.end():end]
    child = {"fonts": "font", "fills": "fill", "borders": "border", "cellXfs": "xf", "dxfs": "dxf",
             "numFmts": "numFmt", "cellStyleXfs": "xf"}[local]
    return re.findall(r"<%s\b(?:[^>]*/>|.*?</%s>)" % (child, child), body, re.DOTALL)


@pytest.fixture
def grafted(tmp_path):
    original = build_user_book(tmp_path / "plan.xlsm")
    scratch = tmp_path / "scratch.xlsm"
    changes = make_job_changes(original, scratch)
    out = graft(original, scratch, changes)
    result = tmp_path / "grafted.xlsm"
    result.write_bytes(out)
    return original, scratch, changes, out, result


# --------------------------------------------------------------------------------------

def test_the_changes_are_what_the_job_did(grafted):
    _, _, changes, _, _ = grafted
    assert changes.sheets == ["Validation", "Summary"]
    coords = {c.coordinate: c.fields for c in changes.cells if c.sheet == PLAN}
    assert coords["D2"] == {"value"} and coords["D3"] == {"fill"} and coords["D5"] == {"value", "fill"}
    assert coords["C6"] == {"note"} and coords["F4"] == {"value"}


def test_every_other_part_is_byte_identical(grafted):
    original, _, changes, out, _ = grafted
    before, after = parts(original), parts(out)
    assert check_grafted(original, out, changes) == []
    changed = {n for n in before if before[n] != after.get(n)}
    assert changed == {"[Content_Types].xml", "xl/workbook.xml", "xl/_rels/workbook.xml.rels", "xl/styles.xml",
                       "xl/worksheets/sheet1.xml", "xl/worksheets/sheet2.xml",  # the user's sheets with changes
                       "xl/comments1.xml", "xl/drawings/vmlDrawing1.vml"}      # the user's notes, extended
    # what the user had and xl_plan does not touch, byte for byte
    for name in ("xl/vbaProject.bin", "xl/charts/chart1.xml", "xl/drawings/drawing1.xml", "xl/media/image1.png",
                 "xl/tables/table1.xml", "xl/sharedStrings.xml", "docProps/app.xml", "xl/theme/theme1.xml",
                 "xl/worksheets/_rels/sheet1.xml.rels", "xl/drawings/_rels/drawing1.xml.rels"):
        assert after[name] == before[name], name
    # original entry order kept, new parts at the end
    names = list(after)
    assert names[:len(before)] == list(before)
    assert not orphans(out)
    # every notes drawing has its own block of shape ids
    blocks = [re.search(rb'idmap[^>]*data="(\d+)"', d).group(1) for n, d in after.items() if n.endswith(".vml")]
    assert len(blocks) == 3 and len(set(blocks)) == 3


def test_extended_parts_keep_their_original_elements(grafted):
    original, _, changes, out, _ = grafted
    before, after = parts(original), parts(out)
    changed_cells = {c.coordinate for c in changes.cells if c.sheet == PLAN and c.fields & {"value", "fill"}}

    def elements(data, skip_cells=()):
        out = Counter()
        for el in SafeET.fromstring(data).iter():
            if el.tag.endswith("}c") and el.get("r") in skip_cells:
                continue
            attrs = {k: v for k, v in el.attrib.items() if k not in ("count", "ref")}
            out[(el.tag, tuple(sorted(attrs.items())), (el.text or "").strip())] += 1
        return out

    for name in ("[Content_Types].xml", "xl/workbook.xml", "xl/_rels/workbook.xml.rels", "xl/styles.xml",
                 "xl/comments1.xml", "xl/worksheets/sheet2.xml"):
        assert not elements(before[name]) - elements(after[name]), name
    # the plan sheet: every cell xl_plan did not write keeps its exact XML
    lost = elements(before["xl/worksheets/sheet1.xml"], changed_cells) - elements(after["xl/worksheets/sheet1.xml"])
    assert all(k[0].endswith(("}v", "}f")) for k in lost), lost   # only the changed cells' children
    # everything after <sheetData> (validation, x14 formatting, sparklines, drawing, table) unchanged
    tail = lambda d: d.decode()[d.decode().index("</sheetData>"):]
    t0, t1 = tail(before["xl/worksheets/sheet1.xml"]), tail(after["xl/worksheets/sheet1.xml"])
    assert t0 == t1
    # styles: every existing entry keeps its index and bytes
    s0, s1 = before["xl/styles.xml"].decode(), after["xl/styles.xml"].decode()
    for lst in ("fonts", "fills", "borders", "cellXfs", "cellStyleXfs", "dxfs"):
        a, b = children_xml(s0, lst), children_xml(s1, lst)
        assert b[:len(a)] == a, lst
        m = re.search(r'<%s count="(\d+)"' % lst, s1)
        assert m is None or int(m.group(1)) == len(b), lst
    # the rest of styles.xml byte-identical: take the appended entries (and the new numFmts list) out
    # again and put the counts back, and it is the original
    undone = s1
    for lst in ("numFmts", "fonts", "fills", "borders", "cellXfs", "dxfs"):
        a, b = children_xml(s0, lst), children_xml(s1, lst)
        undone = undone.replace("".join(b[len(a):]) + f"</{lst}>", f"</{lst}>", 1)
        m0 = re.search(r'<%s count="(\d+)"' % lst, s0)
        if m0:
            undone = re.sub(r'<%s count="\d+"' % lst, f'<{lst} count="{m0.group(1)}"', undone, count=1)
    undone = re.sub(r'<numFmts count="\d+"></numFmts>', "", undone) if "<numFmts" not in s0 else undone
    assert undone == s0
    for i, j in zip(children_xml(s0, "fills")[:2], ["none", "gray125"]):
        assert j in i


def test_the_result_reads_back_as_written(grafted):
    original, _, _, _, result = grafted
    wb = quiet_load(result, keep_vba=True)
    assert wb.sheetnames == [PLAN, "Other", "Validation", "Summary"]
    v = wb["Validation"]
    assert v["A1"].value == f"{OWNER} · Validation" and v["A1"].font.b and v["A1"].font.sz == 14
    assert v["A3"].value == "Row" and v["A3"].font.b and v["A3"].font.color.rgb == "00FFFFFF"
    assert v["A3"].fill.fgColor.rgb == "001F3864" and v["C4"].fill.fgColor.rgb == "00FFE699"
    assert v["B4"].value == "Problem number 0\nwith a second line" and v["B4"].alignment.wrap_text
    assert v["A5"].number_format == "0.000%"
    assert v.print_title_rows == "$3:$3" and v.auto_filter.ref == "A3:C9"
    assert len(wb["Summary"]._charts) == 1 and wb["Summary"]["B3"].value == 12
    p = wb[PLAN]
    assert p["D2"].value == "Closed" and p["D5"].value == "Late" and p["F4"].value == 99
    assert p["Z40"].value == "outside the old range"
    assert p["D3"].fill.fgColor.rgb == "FFC6EFCE" and p["D5"].fill.fgColor.rgb == "FFFFC7CE"
    assert p["D3"].value == "Open"
    # a cell's own look kept under the new fill: the header's bold font stays where it was
    assert p["A1"].font.b and p["A1"].fill.fgColor.rgb == "FFDDEBF7"
    assert p["G2"].number_format == "dd/mm/yyyy" and p["H2"].number_format == "£#,##0.00"
    assert p["F3"].value == "=E3*2"   # formulas xl_plan did not write are still formulas
    # notes: the user's stay, xl_plan's beside them, none over a user's
    assert p["B3"].comment.author == "Alice" and p["B3"].comment.text == "Alice's own note"
    assert p["C4"].comment.author == "Bob"
    assert p["C6"].comment.author == OWNER and "Lead is missing" in p["C6"].comment.text
    assert p["E7"].comment.author == OWNER
    assert wb["Other"]["A1"].comment.author == OWNER
    assert v["B5"].comment.author == OWNER and "its own sheet" in v["B5"].comment.text
    assert len(p._charts) == 1   # (openpyxl reads images only with PIL; their parts are compared byte for byte)
    assert wb.defined_names["PlanRefs"].attr_text == f"'{PLAN}'!$A$2:$A$20"
    assert p.print_title_rows == "$1:$1"
    # the cached values XlsxWriter wrote are still there
    values = quiet_load(result, data_only=True)
    assert values[PLAN]["F3"].value == 6 and values["Other"]["A2"].value == 2
    # the macros are the original bytes
    assert parts(result)["xl/vbaProject.bin"] == parts(original)["xl/vbaProject.bin"]


def test_no_two_tabs_selected(grafted):
    _, _, _, out, _ = grafted
    after = parts(out)
    selected = [n for n, d in after.items() if n.startswith("xl/worksheets/sheet") and b'tabSelected="1"' in d]
    assert selected == ["xl/worksheets/sheet1.xml"]


@pytest.mark.slow
def test_libreoffice_converts_it(grafted, tmp_path):
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        pytest.skip("LibreOffice is not installed")
    _, _, _, _, result = grafted
    outdir = tmp_path / "pdf"
    profile = tmp_path / "lo-profile"
    proc = subprocess.run([soffice, f"-env:UserInstallation=file://{profile}", "--headless",
                           "--convert-to", "pdf", "--outdir", str(outdir), str(result)],
                          capture_output=True, timeout=120, check=False)
    pdf = outdir / "grafted.pdf"
    assert pdf.exists() and pdf.stat().st_size > 1000, proc.stderr.decode(errors="replace")


def test_removing_it_all_again_gives_back_the_original_parts(grafted, tmp_path):
    original, _, _, _, result = grafted
    wb = load(result)
    for name in ("Validation", "Summary"):
        wb.remove(wb[name])
    remove_marks(wb[PLAN])
    remove_marks(wb["Other"])
    scratch2 = tmp_path / "scratch2.xlsm"
    wb.save(scratch2)
    changes = diff_workbooks(result, scratch2)
    assert sorted(changes.removed_sheets) == ["Summary", "Validation"]
    assert {c.coordinate for c in changes.cells} == {"C6", "E7", "A1"}
    back = graft(result, scratch2, changes)
    assert check_grafted(result, back, changes) == []
    before, after = parts(original), parts(back)
    assert set(after) == set(before)
    # the notes the user had come back byte for byte, and xl_plan's author is gone again
    assert after["xl/comments1.xml"] == before["xl/comments1.xml"]
    assert after["xl/worksheets/sheet2.xml"] == before["xl/worksheets/sheet2.xml"]
    for name in ("xl/drawings/vmlDrawing1.vml", "xl/chart1.xml", "xl/charts/chart1.xml", "docProps/app.xml"):
        assert after.get(name) == before.get(name), name
    assert not orphans(back)
    wb = quiet_load(io.BytesIO(back))
    assert wb.sheetnames == [PLAN, "Other"]
    assert wb[PLAN]["B3"].comment.author == "Alice" and wb[PLAN]["C6"].comment is None


def test_replacing_an_owned_sheet_again_leaves_no_orphans(grafted, tmp_path):
    original, _, _, out, result = grafted
    wb = load(result)
    ws = owned_sheet(wb, "Summary", "Summary")
    ws["A3"], ws["B3"] = "Open", 40
    bar = BarChart()
    bar.add_data(Reference(ws, min_col=2, min_row=3, max_row=3))
    ws.add_chart(bar, "D3")
    ws.print_title_rows = "3:3"
    scratch2 = tmp_path / "scratch2.xlsm"
    wb.save(scratch2)
    changes = diff_workbooks(result, scratch2)
    assert changes.sheets == ["Validation", "Summary"] or "Summary" in changes.sheets
    again = graft(result, scratch2, changes)
    assert check_grafted(result, again, changes) == []
    assert not orphans(again)
    a = parts(again)
    charts = [n for n in a if n.startswith("xl/charts/")]
    assert len(charts) == 2                      # the user's and the new Summary one
    assert len([n for n in a if re.match(r"xl/worksheets/sheet\d+\.xml$", n)]) == 4
    res = quiet_load(io.BytesIO(again))
    assert res.sheetnames == [PLAN, "Other", "Validation", "Summary"]   # same tab position
    assert res["Summary"]["B3"].value == 40 and len(res["Summary"]._charts) == 1
    assert res["Summary"].print_title_rows == "$3:$3"
    # sheetIds and relationship ids of the replaced sheet kept
    w0, w1 = parts(out)["xl/workbook.xml"].decode(), a["xl/workbook.xml"].decode()
    sheet = lambda w: re.search(r'<sheet name="Summary"[^>]*/>', w).group()
    assert sheet(w0) == sheet(w1)
    assert len(re.findall(r"_xlnm.Print_Titles", w1)) == len(re.findall(r"_xlnm.Print_Titles", w0)) + 1
    assert "localSheetId=\"3\">'Summary'!$3:$3" in w1
    # the user's parts still as they were in the very first file
    before = parts(original)
    for name in ("xl/charts/chart1.xml", "xl/drawings/drawing1.xml", "xl/vbaProject.bin"):
        assert a[name] == before[name]


def test_user_cells_keep_their_style_indexes(grafted):
    original, _, changes, out, _ = grafted
    written = {c.coordinate for c in changes.cells if c.sheet == PLAN and "fill" in c.fields}
    cells = lambda d: dict(re.findall(r'<c r="([A-Z]+\d+)"([^>]*?)/?>', d.decode()))
    s0 = cells(parts(original)["xl/worksheets/sheet1.xml"])
    s1 = cells(parts(out)["xl/worksheets/sheet1.xml"])
    for ref, attrs in s0.items():
        if ref in written:
            continue
        style = lambda a: re.search(r'\ss="(\d+)"', a)
        a, b = style(attrs), style(s1[ref])
        assert (a and a.group(1)) == (b and b.group(1)), ref


def test_a_formula_replaced_by_a_value_leaves_the_calc_chain(tmp_path):
    original = build_user_book(tmp_path / "plan.xlsx", macros=False)
    pkg = Package.read(original)
    from xl_plan.io.package import add_relationship, set_override
    pkg.set("xl/calcChain.xml", b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                                b'<calcChain xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
                                b'<c r="F2" i="1"/><c r="F3"/><c r="A2" i="2"/></calcChain>')
    set_override(pkg, "xl/calcChain.xml", "application/vnd.openxmlformats-officedocument.spreadsheetml.calcChain+xml")
    add_relationship(pkg, "xl/workbook.xml", "http://schemas.openxmlformats.org/officeDocument/2006/relationships/calcChain",
                     "calcChain.xml")
    pkg.write(original)
    changes = WorkbookChanges(cells=[CellChange(PLAN, "F2", 5, fields=frozenset({"value"}))])
    out = graft(original, original, changes)
    assert check_grafted(original, out, changes) == []
    after = parts(out)
    assert "xl/calcChain.xml" not in after
    assert b"calcChain" not in after["xl/_rels/workbook.xml.rels"] and b"calcChain" not in after["[Content_Types].xml"]
    wb = quiet_load(io.BytesIO(out))
    assert wb[PLAN]["F2"].value == 5 and wb[PLAN]["F3"].value == "=E3*2"


def test_names_added_replaced_removed_and_created(tmp_path):
    original = build_user_book(tmp_path / "plan.xlsx", macros=False)
    changes = WorkbookChanges(names_added={"_xlp_rows": f"'{PLAN}'!$A$2:$K$5", "PlanRefs": f"'{PLAN}'!$A$2:$A$9"})
    out = graft(original, original, changes)
    assert check_grafted(original, out, changes) == []
    wb = quiet_load(io.BytesIO(out))
    assert wb.defined_names["_xlp_rows"].attr_text == f"'{PLAN}'!$A$2:$K$5"
    assert wb.defined_names["PlanRefs"].attr_text == f"'{PLAN}'!$A$2:$A$9"
    assert wb[PLAN].print_title_rows == "$1:$1"       # the sheet's own name untouched
    p2 = tmp_path / "p2.xlsx"
    p2.write_bytes(out)
    changes = WorkbookChanges(names_added={"PlanRefs": f"'{PLAN}'!$A$2:$A$20"}, names_removed=["_xlp_rows"])
    out2 = graft(p2, p2, changes)
    assert check_grafted(p2, out2, changes) == []
    assert parts(out2)["xl/workbook.xml"] == parts(original)["xl/workbook.xml"]
    # a workbook with no <definedNames> at all
    bare = tmp_path / "bare.xlsx"
    wb = xlsxwriter.Workbook(str(bare))
    wb.add_worksheet("S").write("A1", 1)
    wb.close()
    changes = WorkbookChanges(names_added={"_xlp_x": "S!$A$1"})
    out3 = graft(bare, bare, changes)
    assert check_grafted(bare, out3, changes) == []
    text = parts(out3)["xl/workbook.xml"].decode()
    assert text.index("</sheets>") < text.index("<definedNames>") < text.index("<calcPr")
    assert quiet_load(io.BytesIO(out3)).defined_names["_xlp_x"].attr_text == "S!$A$1"


def test_removing_a_sheet_shifts_the_local_names_and_tabs(tmp_path):
    path = tmp_path / "three.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    a = wb.add_worksheet("Plan")
    a.write("A1", "plan")
    old = wb.add_worksheet("Old")
    old.write("A1", f"{OWNER} · Old")
    old.repeat_rows(1)
    old.write_formula("A3", "=1+2", None, 3)
    c = wb.add_worksheet("Later")
    c.write("A1", "later")
    c.repeat_rows(0)
    c.activate()
    wb.close()
    changes = WorkbookChanges(removed_sheets=["Old"])
    out = graft(path, path, changes)
    assert check_grafted(path, out, changes) == []
    text = parts(out)["xl/workbook.xml"].decode()
    assert 'localSheetId="1">Later!$1:$1' in text and "Old" not in text
    assert 'activeTab="1"' in text
    res = quiet_load(io.BytesIO(out))
    assert res.sheetnames == ["Plan", "Later"] and res["Later"].print_title_rows == "$1:$1"
    assert len([n for n in parts(out) if n.startswith("xl/worksheets/sheet")]) == 2


def test_hidden_owned_sheet_and_states(tmp_path):
    original = build_user_book(tmp_path / "plan.xlsx", macros=False)
    wb = load(original)
    ws = owned_sheet(wb, "Lists", "Lists")
    ws["A2"] = "Open"
    ws.sheet_state = "veryHidden"
    wb["Other"].sheet_state = "hidden"
    scratch = tmp_path / "s.xlsx"
    wb.save(scratch)
    changes = diff_workbooks(original, scratch)
    assert changes.hidden_sheets == {"Other": "hidden", "Lists": "veryHidden"}
    out = graft(original, scratch, changes)
    assert check_grafted(original, out, changes) == []
    res = quiet_load(io.BytesIO(out))
    assert res["Lists"].sheet_state == "veryHidden" and res["Other"].sheet_state == "hidden"
    assert res[PLAN].sheet_state == "visible"


def test_a_shared_formula_master_replaced(tmp_path):
    """Excel shares a formula down a column: replacing the master gives the others their own."""
    original = build_user_book(tmp_path / "plan.xlsx", macros=False)
    pkg = Package.read(original)
    text = pkg.get("xl/worksheets/sheet1.xml").decode()
    text = text.replace("<c r=\"F2\"><f>E2*2</f>", "<c r=\"F2\"><f t=\"shared\" ref=\"F2:F5\" si=\"0\">E2*2</f>")
    for r in (3, 4, 5):
        text = text.replace(f"<c r=\"F{r}\"><f>E{r}*2</f>", f"<c r=\"F{r}\"><f t=\"shared\" si=\"0\"/>")
    pkg.set("xl/worksheets/sheet1.xml", text.encode())
    pkg.write(original)
    assert quiet_load(original)[PLAN]["F4"].value == "=E4*2"
    changes = WorkbookChanges(cells=[CellChange(PLAN, "F2", "done", fields=frozenset({"value"})),
                                     CellChange(PLAN, "F4", 7, fields=frozenset({"value"}))])
    out = graft(original, original, changes)
    assert check_grafted(original, out, changes) == []
    after = parts(out)["xl/worksheets/sheet1.xml"].decode()
    assert 'si="0"' not in after
    assert re.search(r'<c r="F3"><f>E3\*2</f><v>6(\.0)?</v></c>', after)   # the cached value kept
    ws = quiet_load(io.BytesIO(out))[PLAN]
    assert (ws["F2"].value, ws["F3"].value, ws["F4"].value, ws["F5"].value) == ("done", "=E3*2", 7, "=E5*2")


def test_a_users_sheet_is_never_replaced(tmp_path):
    original = build_user_book(tmp_path / "plan.xlsx", macros=False)
    with pytest.raises(PackageError, match="not one xl_plan made"):
        graft(original, original, WorkbookChanges(sheets=["Other"]))


def test_a_missing_scratch_sheet_is_a_plain_error(tmp_path):
    original = build_user_book(tmp_path / "plan.xlsx", macros=False)
    with pytest.raises(PackageError, match="missing from its scratch copy"):
        graft(original, original, WorkbookChanges(sheets=["Nope"]))
    with pytest.raises(PackageError, match="not in the workbook"):
        graft(original, original, WorkbookChanges(cells=[CellChange("Nope", "A1", 1, fields=frozenset({"value"}))]))


def test_check_grafted_finds_damage(grafted):
    original, _, changes, out, _ = grafted
    pkg = Package.from_bytes(out)
    pkg.set("xl/charts/chart1.xml", pkg.get("xl/charts/chart1.xml") + b" ")
    pkg.members = [m for m in pkg.members if m.name != "xl/media/image1.png"]
    text = pkg.get("xl/styles.xml").decode()
    pkg.set("xl/styles.xml", text.replace('<fill><patternFill patternType="gray125"/></fill>', "", 1).encode())
    sheet = pkg.get("xl/worksheets/sheet1.xml").decode()
    a2 = re.search(r'<c r="A2"[^>]*>.*?</c>', sheet).group()
    b2 = re.search(r'<c r="B2"[^>]*>.*?</c>', sheet).group()
    pkg.set("xl/worksheets/sheet1.xml", sheet.replace(a2 + b2, b2 + a2).encode())
    rels = pkg.get("xl/_rels/workbook.xml.rels").decode()
    pkg.set("xl/_rels/workbook.xml.rels", rels.replace('Id="rId2"', 'Id="rId1"').encode())
    problems = check_grafted(original, pkg.to_bytes(), changes)
    joined = "\n".join(problems)
    assert "cell A2 out of place" in joined and "relationship id rId1 twice" in joined
    assert "chart1.xml changed" in joined and "image1.png of the original is missing" in joined
    assert "styles.xml lost" in joined and "points at ../media/image1.png" in joined


def test_the_check_refuses_a_notes_part_that_declares_entities(grafted):
    """The user's notes part, which xl_plan extends, is compared element by element: one that declares
    entities is refused, as defusedxml refuses it."""
    original, _, changes, out, _ = grafted
    pkg = Package.from_bytes(out)
    name = next(r.part for r in relationships(pkg, "xl/worksheets/sheet1.xml") if r.type.endswith("/comments"))
    assert name.lower() in {m.name.lower() for m in Package.read(original).members}
    text = pkg.get(name).decode()
    root = text.index("<comments")
    pkg.set(name, (text[:root] + '<!DOCTYPE comments [<!ENTITY e "x">]>' + text[root:]).encode())
    problems = check_grafted(original, pkg.to_bytes(), changes)
    assert any(name in p and "entities" in p.lower() for p in problems), problems


def test_an_excel_template_with_ribbon(tmp_path):
    """The committed template (customUI ribbon, macros, shared strings from Excel)."""
    original = tmp_path / "t.xlsm"
    shutil.copy(TEMPLATE, original)
    wb = load(original)
    name = wb.sheetnames[0]
    ws = owned_sheet(wb, "Validation", "Validation")
    ws["A2"] = "fine"
    ws["A2"].fill = PatternFill("solid", fgColor="DDEBF7")
    wb[name]["C11"] = "1. An action typed by the team"
    wb[name]["C12"].fill = PatternFill("solid", fgColor="FFE699")
    mark_cells(wb[name], {"C11": ["Needs a lead"]})
    scratch = tmp_path / "s.xlsm"
    wb.save(scratch)
    changes = diff_workbooks(original, scratch)
    out = graft(original, scratch, changes)
    assert check_grafted(original, out, changes) == []
    before, after = parts(original), parts(out)
    assert after["customUI/customUI14.xml"] == before["customUI/customUI14.xml"]
    assert after["_rels/.rels"] == before["_rels/.rels"]
    res = quiet_load(io.BytesIO(out), keep_vba=True)
    assert res[name]["C11"].value.startswith("1. An action") and res[name]["C11"].comment.author == OWNER
    assert res[name]["C12"].fill.fgColor.rgb == "FFFFE699"


@pytest.mark.slow
def test_a_5000_row_sheet_is_quick(tmp_path):
    path = tmp_path / "big.xlsx"
    wb = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    ws = wb.add_worksheet(PLAN)
    for r in range(5000):
        ws.write_row(r, 0, [f"Action {r}", "Some text about the action in this row", r, r * 0.5, "Open",
                            "Lead", "2026-01-01", "x", "y", "z"])
    wb.close()
    cells = [CellChange(PLAN, f"E{r}", "Closed", "C6EFCE", f"note {r}", frozenset({"value", "fill", "note"}))
             for r in range(2, 5000, 50)]
    changes = WorkbookChanges(cells=cells)
    t = _time.perf_counter()
    out = graft(path, path, changes)
    took = _time.perf_counter() - t
    assert took < 5, took
    assert check_grafted(path, out, changes) == []
    res = quiet_load(io.BytesIO(out), read_only=False)
    assert res[PLAN]["E52"].value == "Closed" and res[PLAN]["E52"].comment.text == "note 52"
    assert res[PLAN]["E53"].value == "Open"


# --------------------------------------------------------------------------------------
# Property: random writes change exactly those cells

@pytest.fixture(scope="module")
def small_book(tmp_path_factory) -> Path:
    return build_user_book(tmp_path_factory.mktemp("prop") / "plan.xlsx", macros=False)


_values = st.one_of(
    st.none(), st.booleans(), st.integers(-10**12, 10**12),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(st.characters(blacklist_categories=("Cs", "Cc")) | st.just("\n"), max_size=20),
    st.sampled_from(["=SUM(A1:A3)", " padded ", "_x0041_", "<&>\"'"]),
    st.datetimes(min_value=datetime(1900, 3, 1), max_value=datetime(2100, 1, 1)),
    st.dates(min_value=date(1900, 3, 1), max_value=date(2100, 1, 1)),
)
_coords = st.tuples(st.integers(1, 45), st.integers(1, 30))


def _cells_of(xml: bytes) -> dict[str, str]:
    text = xml.decode()
    return {m.group(1): m.group(0) for m in
            re.finditer(r'<c r="([A-Z]+\d+)"(?:[^>]*/>|[^>]*>.*?</c>)', text, re.DOTALL)}


def _unescape(text: str) -> str:
    return re.sub(r"_x([0-9A-F]{4})_", lambda m: chr(int(m.group(1), 16)), text)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.dictionaries(_coords, _values, min_size=1, max_size=12))
def test_random_writes_change_exactly_those_cells(small_book, writes):
    from openpyxl.utils import get_column_letter
    from openpyxl.utils.datetime import to_excel
    changes = WorkbookChanges(cells=[CellChange(PLAN, f"{get_column_letter(c)}{r}", v, fields=frozenset({"value"}))
                                     for (r, c), v in writes.items()])
    out = graft(small_book, small_book, changes)
    assert check_grafted(small_book, out, changes) == []
    before = _cells_of(parts(small_book)["xl/worksheets/sheet1.xml"])
    after_xml = parts(out)["xl/worksheets/sheet1.xml"]
    after = _cells_of(after_xml)
    SafeET.fromstring(after_xml)
    written = {ch.coordinate: ch.value for ch in changes.cells}
    for ref, xml in before.items():
        if ref not in written:
            assert after[ref] == xml
    for ref in after:
        assert ref in before or ref in written
    ns = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
    for ref, value in written.items():
        if ref not in after:
            assert value is None and ref not in before
            continue
        el = SafeET.fromstring(after[ref].replace("<c ", f'<c xmlns="{ns[1:-1]}" ', 1))
        assert el.find(f"{ns}f") is None
        v = el.find(f"{ns}v")
        if value is None:
            assert v is None and el.find(f"{ns}is") is None and el.get("t") is None
        elif isinstance(value, bool):
            assert el.get("t") == "b" and v.text == str(int(value))
        elif isinstance(value, (int, float)):
            assert el.get("t") is None and float(v.text) == float(value)
            if isinstance(value, float):
                assert float(v.text) == value  # full precision
        elif isinstance(value, (datetime, date)):
            assert float(v.text) == to_excel(value)
        else:
            assert el.get("t") == "inlineStr"
            assert _unescape(el.find(f"{ns}is/{ns}t").text or "") == value
        # the style the cell had is kept
        old = before.get(ref)
        if old is not None:
            s = re.search(r'\ss="(\d+)"', old)
            assert el.get("s") == (s.group(1) if s else None)
    # rows ascending, cells in column order
    rows = [int(r) for r in re.findall(rb'<row r="(\d+)"', after_xml)]
    assert rows == sorted(rows) and len(rows) == len(set(rows))
    for row in re.findall(rb"<row [^>]*>(.*?)</row>", after_xml, re.DOTALL):
        cols = [openpyxl.utils.column_index_from_string(c.decode()) for c in re.findall(rb'<c r="([A-Z]+)\d+"', row)]
        assert cols == sorted(cols)


# --------------------------------------------------------------------------------------
# More shapes of workbook

def test_owned_sheet_with_table_and_conditional_format(tmp_path):
    from openpyxl.formatting.rule import CellIsRule
    from openpyxl.worksheet.table import Table
    original = build_user_book(tmp_path / "plan.xlsx", macros=False)
    wb = load(original)
    ws = owned_sheet(wb, "Returns", "Returns")
    ws.append(["Team", "Count"])
    for i in range(4):
        ws.append([f"Team {i}", i * 10])
    ws.add_table(Table(displayName="xlp_returns", ref="A2:B6"))
    ws.conditional_formatting.add("B3:B6", CellIsRule(operator="greaterThan", formula=["15"],
                                                      font=Font(color="9C0006"), fill=PatternFill("solid", bgColor="FFC7CE")))
    scratch = tmp_path / "s.xlsx"
    wb.save(scratch)
    changes = diff_workbooks(original, scratch)
    out = graft(original, scratch, changes)
    assert check_grafted(original, out, changes) == []
    after = parts(out)
    assert after["xl/tables/table1.xml"] == parts(original)["xl/tables/table1.xml"]
    ids = sorted(int(re.search(rb'<table\b[^>]*?\sid="(\d+)"', d).group(1)) for n, d in after.items() if n.startswith("xl/tables/"))
    assert len(ids) == 2 and len(set(ids)) == 2
    res = quiet_load(io.BytesIO(out))
    rules = [r for cf in res["Returns"].conditional_formatting for r in cf.rules]
    assert len(rules) == 1 and rules[0].dxf.font.color.rgb == "009C0006"
    assert "xlp_returns" in res["Returns"].tables
    # the user's own conditional formats still point at their own dxf
    user_rules = [r for cf in res[PLAN].conditional_formatting for r in cf.rules if r.type == "containsText"]
    assert user_rules and user_rules[0].dxf.font.color.rgb == "FF9C0006"


def test_a_note_on_a_sheet_whose_drawing_has_only_a_button(tmp_path):
    path = tmp_path / "button.xlsm"
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet(PLAN)
    ws.write("A1", "Status")
    ws.insert_button("C3", {"macro": "go", "caption": "Go"})
    with zipfile.ZipFile(TEMPLATE) as z:
        wb.add_vba_project(io.BytesIO(z.read("xl/vbaProject.bin")), is_stream=True)
    wb.close()
    changes = WorkbookChanges(cells=[CellChange(PLAN, "A1", note="xl_plan:\n• check", fields=frozenset({"note"}))])
    out = graft(path, path, changes)
    assert check_grafted(path, out, changes) == []
    after = parts(out)
    vml = after["xl/drawings/vmlDrawing1.vml"].decode()
    assert 'ObjectType="Button"' in vml and 'ObjectType="Note"' in vml and "_x0000_t202" in vml
    assert vml.count("<x:Row>0</x:Row>") == 1
    res = quiet_load(io.BytesIO(out), keep_vba=True)
    assert res[PLAN]["A1"].comment.author == OWNER
    # and off again: the button stays, the comments part goes
    p2 = tmp_path / "b2.xlsm"
    p2.write_bytes(out)
    changes = WorkbookChanges(cells=[CellChange(PLAN, "A1", note=None, fields=frozenset({"note"}))])
    back = graft(p2, p2, changes)
    assert check_grafted(p2, back, changes) == []
    b = parts(back)
    assert set(b) == set(parts(path))
    assert 'ObjectType="Button"' in b["xl/drawings/vmlDrawing1.vml"].decode()
    assert b["xl/worksheets/sheet1.xml"] == parts(path)["xl/worksheets/sheet1.xml"]


def test_a_workbook_openpyxl_saved_before(sample, tmp_path):
    """What users have today: plans saved by the old whole-workbook save, with xl_plan's sheet
    and notes written by openpyxl (shared strings, openpyxl's VML)."""
    original = sample("birmingham")
    wb = load(original)
    plan_name = wb.sheetnames[0]
    ws = owned_sheet(wb, "Validation", "Validation")
    ws["A2"] = "old run"
    mark_cells(wb[plan_name], {"B3": ["old note"], "C4": ["another old note"]})
    wb[plan_name]["D5"].comment = Comment("a user's note", "Sam")
    wb.save(original)
    # the job of today
    wb = load(original)
    ws = owned_sheet(wb, "Validation", "Validation")
    ws["A2"] = "new run"
    ws["A2"].font = Font(italic=True)
    remove_marks(wb[plan_name])
    mark_cells(wb[plan_name], {"C4": ["a new note"], "E6": ["and another"]})
    wb[plan_name]["B3"].fill = PatternFill("solid", fgColor="7030A1")
    scratch = tmp_path / "scratch.xlsx"
    wb.save(scratch)
    changes = diff_workbooks(original, scratch)
    assert changes.sheets == ["Validation"]
    out = graft(original, scratch, changes)
    assert check_grafted(original, out, changes) == []
    assert not orphans(out)
    res = quiet_load(io.BytesIO(out))
    assert res.sheetnames.index("Validation") == load(original).sheetnames.index("Validation")
    v = res["Validation"]
    assert v["A2"].value == "new run" and v["A2"].font.i
    p = res[plan_name]
    assert p["B3"].comment is None and p["B3"].fill.fgColor.rgb == "FF7030A1"
    assert p["C4"].comment.text.endswith("a new note") and p["E6"].comment.author == OWNER
    assert p["D5"].comment.author == "Sam" and p["D5"].comment.text == "a user's note"


def test_an_owned_sheet_added_and_removed_in_a_workbook_without_names(tmp_path):
    bare = tmp_path / "bare.xlsx"
    wb = xlsxwriter.Workbook(str(bare))
    wb.add_worksheet("S").write("A1", 1)
    wb.close()
    book = load(bare)
    ws = owned_sheet(book, "Validation", "Validation")
    ws.append(["a", "b"])
    ws.append([1, 20])
    ws.print_title_rows = "2:2"
    from openpyxl.formatting.rule import CellIsRule
    ws.conditional_formatting.add("B3", CellIsRule(operator="greaterThan", formula=["5"], font=Font(color="FF0000")))
    assert b'<dxfs count="0"/>' in parts(bare)["xl/styles.xml"]
    scratch = tmp_path / "s.xlsx"
    book.save(scratch)
    changes = diff_workbooks(bare, scratch)
    out = graft(bare, scratch, changes)
    assert check_grafted(bare, out, changes) == []
    assert b'localSheetId="1"' in parts(out)["xl/workbook.xml"]
    assert b'<dxfs count="1"><dxf>' in parts(out)["xl/styles.xml"]
    rules = [r for cf in quiet_load(io.BytesIO(out))["Validation"].conditional_formatting for r in cf.rules]
    assert rules[0].dxf.font.color.rgb == "00FF0000"
    g = tmp_path / "g.xlsx"
    g.write_bytes(out)
    changes = WorkbookChanges(removed_sheets=["Validation"])
    back = graft(g, g, changes)
    assert check_grafted(g, back, changes) == []
    before, after = parts(bare), parts(back)
    assert set(before) == set(after)
    for name in before:
        if name == "xl/workbook.xml":     # the emptied list stays, empty (it might have been the user's)
            assert after[name].replace(b"<definedNames/>", b"", 1) == before[name]
        elif name != "xl/styles.xml":     # styles keep what was appended (harmless, never renumbered)
            assert after[name] == before[name], name


def test_a_users_empty_name_list_survives_a_run_and_its_undoing(tmp_path):
    """A workbook openpyxl saved has an empty <definedNames/>: a job fills it (print titles of its
    sheet), unmark empties it again, and the user's element is still there."""
    from package_compare import assert_preserved

    path = tmp_path / "saved.xlsx"
    wb = openpyxl.Workbook()
    wb.active.title = PLAN
    wb.active["A1"] = "Ref"
    wb.save(path)
    assert b"<definedNames/>" in parts(path)["xl/workbook.xml"] or b"<definedNames />" in parts(path)["xl/workbook.xml"]
    book = load(path)
    ws = owned_sheet(book, "Validation", "Validation")
    ws.append(["Row", "Problem"])
    ws.print_title_rows = "2:2"
    scratch = tmp_path / "s.xlsx"
    book.save(scratch)
    changes = diff_workbooks(path, scratch)
    one = tmp_path / "one.xlsx"
    one.write_bytes(graft(path, scratch, changes))
    assert b"_xlnm.Print_Titles" in parts(one)["xl/workbook.xml"]
    changes = WorkbookChanges(removed_sheets=["Validation"])
    back = tmp_path / "back.xlsx"
    back.write_bytes(graft(one, one, changes))
    assert check_grafted(one, back.read_bytes(), changes) == []
    assert_preserved(path, back, extended={"[Content_Types].xml", "xl/workbook.xml", "xl/_rels/workbook.xml.rels",
                                           "xl/styles.xml"})
    assert set(parts(back)) == set(parts(path))


_colours = st.one_of(st.none(), st.sampled_from(["C6EFCE", "FFC7CE", "FFEB9C", "DDEBF7"]))
_notes = st.one_of(st.none(), st.text(st.characters(blacklist_categories=("Cs", "Cc")) | st.just("\n"), min_size=1, max_size=30))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.dictionaries(_coords, st.tuples(_values, _colours, _notes, st.sets(st.sampled_from(["value", "fill", "note"]), min_size=1)),
                       min_size=1, max_size=8))
def test_random_fills_and_notes_read_back(small_book, tmp_path_factory, writes):
    from openpyxl.utils import get_column_letter
    changes = WorkbookChanges(cells=[
        CellChange(PLAN, f"{get_column_letter(c)}{r}", v, fill, note, frozenset(fields))
        for (r, c), (v, fill, note, fields) in writes.items()])
    out = graft(small_book, small_book, changes)
    assert check_grafted(small_book, out, changes) == []
    before = quiet_load(small_book)[PLAN]
    ws = quiet_load(io.BytesIO(out))[PLAN]
    user_notes = {"B3", "C4"}
    for ch in changes.cells:
        cell, old = ws[ch.coordinate], before[ch.coordinate]
        if "fill" in ch.fields:
            if ch.fill is None:
                assert cell.fill.fill_type is None
            else:
                assert cell.fill.fill_type == "solid" and cell.fill.fgColor.rgb == "FF" + ch.fill
            assert copy(cell.font) == copy(old.font) and cell.number_format == old.number_format   # the rest of its look
        else:
            assert copy(cell.fill) == copy(old.fill)
        if "note" in ch.fields and ch.coordinate not in user_notes:
            if ch.note is None:
                assert cell.comment is None
            else:
                assert cell.comment.author == OWNER and _unescape(cell.comment.text) == ch.note
        else:
            assert (cell.comment and cell.comment.text) == (old.comment and old.comment.text)
        if "value" not in ch.fields:
            assert cell.value == old.value
    assert ws["B3"].comment.author == "Alice" and ws["C4"].comment.author == "Bob"


def test_excel_style_parts(tmp_path):
    """Shapes of XML Excel writes that XlsxWriter does not: single-quoted VML attributes, comment
    uids, controls wrapped in mc:AlternateContent after where <legacyDrawing> goes."""
    original = build_user_book(tmp_path / "plan.xlsx", macros=False)
    pkg = Package.read(original)
    vml = pkg.get("xl/drawings/vmlDrawing1.vml").decode()
    vml = vml.replace('style="position:absolute;', "style='position:absolute;").replace(';visibility:hidden"', ";visibility:hidden'")
    pkg.set("xl/drawings/vmlDrawing1.vml", vml.encode())
    other = pkg.get("xl/worksheets/sheet2.xml").decode()
    alt = ('<mc:AlternateContent xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006">'
           '<mc:Choice Requires="x14"><controls/></mc:Choice></mc:AlternateContent>')
    other = other.replace("</worksheet>", alt + "</worksheet>")
    pkg.set("xl/worksheets/sheet2.xml", other.encode())
    pkg.write(original)
    changes = WorkbookChanges(cells=[CellChange("Other", "A1", note="xl_plan: n", fields=frozenset({"note"})),
                                     CellChange(PLAN, "C6", note="xl_plan: m", fields=frozenset({"note"})),
                                     CellChange(PLAN, "B3", note="xl_plan: over a user's", fields=frozenset({"note"}))])
    out = graft(original, original, changes)
    assert check_grafted(original, out, changes) == []
    text = parts(out)["xl/worksheets/sheet2.xml"].decode()
    assert text.index("<legacyDrawing") < text.index("<mc:AlternateContent")
    assert text.index("<pageMargins") < text.index("<legacyDrawing")
    new_vml = parts(out)["xl/drawings/vmlDrawing1.vml"].decode()
    assert new_vml.startswith(vml[:-len("</xml>")]) and new_vml.count('ObjectType="Note"') == 3   # the user's two and C6
    res = quiet_load(io.BytesIO(out))
    assert res["Other"]["A1"].comment.text == "xl_plan: n" and res[PLAN]["B3"].comment.author == "Alice"


def test_the_real_writers_on_a_sample_plan(sample, tmp_path):
    """xl_plan's own Validation and Gantt writers, as a job runs them, grafted into a sample plan;
    then run again (replace), then unmarked (back to the original parts)."""
    from xl_plan.gantt import build_gantt
    from xl_plan.jobs import open_plan
    from xl_plan.validate import validate
    from xl_plan.writers.gantt import write_gantt
    from xl_plan.writers.validation import write_validation

    today = date(2024, 6, 1)
    original = sample("birmingham")
    first = parts(original)

    def run(src: Path, n: int) -> Path:
        wb, plan, _ = open_plan(src)
        write_validation(wb, plan, validate(plan, today), today)
        write_gantt(wb, build_gantt(plan, today))
        scratch = tmp_path / f"scratch{n}.xlsx"
        wb.save(scratch)
        changes = diff_workbooks(src, scratch)
        out = graft(src, scratch, changes)
        assert check_grafted(src, out, changes) == []
        assert not orphans(out)
        dest = tmp_path / f"run{n}.xlsx"
        dest.write_bytes(out)
        return dest

    one = run(original, 1)
    two = run(one, 2)
    wb1, wb2 = quiet_load(one), quiet_load(two)
    assert wb1.sheetnames == wb2.sheetnames and len(wb1.sheetnames) >= 3
    for name in wb1.sheetnames[1:]:
        assert wb2[name]["A1"].value.startswith(OWNER)
        assert [[c.value for c in r] for r in wb1[name].iter_rows(max_row=12)] == \
               [[c.value for c in r] for r in wb2[name].iter_rows(max_row=12)]
    assert set(parts(two)) == set(parts(one))       # replaced, not duplicated
    for name, data in first.items():
        if name not in ("[Content_Types].xml", "xl/workbook.xml", "xl/_rels/workbook.xml.rels", "xl/styles.xml",
                        "xl/worksheets/sheet1.xml", "xl/worksheets/_rels/sheet1.xml.rels"):
            assert parts(two)[name] == data, name
    # unmark: remove xl_plan's sheets and notes
    wb = load(two)
    for name in wb.sheetnames[1:]:
        wb.remove(wb[name])
    remove_marks(wb.worksheets[0])
    scratch = tmp_path / "scratch3.xlsx"
    wb.save(scratch)
    changes = diff_workbooks(two, scratch)
    back = graft(two, scratch, changes)
    assert check_grafted(two, back, changes) == []
    assert set(parts(back)) == set(first)
    assert parts(back)["xl/worksheets/sheet1.xml"] == first["xl/worksheets/sheet1.xml"]
    # (openpyxl wrote an empty <definedNames />; once xl_plan's names were in it and went, it goes)
    no_names = lambda d: re.sub(rb"<definedNames\s*/>", b"", d)
    assert no_names(parts(back)["xl/workbook.xml"]) == no_names(first["xl/workbook.xml"])


def test_an_owned_sheet_restyled_as_the_general_rewrite_does():
    """A copied sheet whose text is inline (openpyxl writes it so) has only its cells' and rows' style
    numbers changed inside <sheetData>: the same XML the general rewrite (which also inlines shared
    strings) makes, on cells of every kind the scratch save writes, row and column styles, conditional
    formats and a selected tab."""
    from openpyxl.formatting.rule import FormulaRule

    from xl_plan.io.fastwrite import fast_cells
    from xl_plan.io.graft import _SHARED_STRING_CELL, _Grafter, _has_shared_string_cell

    wb = openpyxl.Workbook()
    ws = wb.active
    for r, v in enumerate(["text", " spaced ", "a<b>&c s=\"5\"", 3, 2.5, True, date(2024, 1, 2), "#N/A", None, ""], 1):
        ws.cell(r, 1, v)
        ws.cell(r, 2, v).font = Font(bold=True, color="C00000")
        ws.cell(r, 3).fill = PatternFill("solid", fgColor="FF0000")
        ws.cell(r, 4, v).number_format = "0.00"
    ws.cell(12, 1, "=SUM(A1:A4)").font = Font(italic=True)
    ws.row_dimensions[14].font = Font(bold=True)
    ws.column_dimensions["B"].font = Font(italic=True)
    ws.sheet_view.tabSelected = True
    ws.conditional_formatting.add("A1:D10", FormulaRule(formula=["TRUE"], fill=PatternFill("solid", fgColor="00FF00")))
    buf = io.BytesIO()
    with fast_cells():
        wb.save(buf)
    data = zipfile.ZipFile(buf).read("xl/worksheets/sheet1.xml")
    text = data.decode()
    assert _SHARED_STRING_CELL.search(text) is None and '<row r="14" customFormat="1" s="' in text
    assert 'tabSelected="1"' in text

    class Styles:
        def xf(self, i):
            return i * 10 + 7

        def dxf(self, i):
            return i + 3

    grafter = _Grafter.__new__(_Grafter)
    grafter._sst, grafter._ss = [], Styles()
    fast = grafter._owned_sheet_xml(data).decode()
    assert fast == grafter._owned_sheet_general(text, Styles()) != text
    assert 'dxfId="3"' in fast and "tabSelected" not in fast and 's=\"5\"' in fast
    for shared in ('<c r="A1" s="2" t="s"><v>0</v></c>', "<c r='A1' t = 's'><v>0</v></c>"):
        assert _has_shared_string_cell(shared, 0, len(shared))
    assert not _has_shared_string_cell('<c r="A1" t="inlineStr"><is><t>"s"</t></is></c>', 0, 50)


@pytest.mark.parametrize("row", [
    '<row r="5"><c r="A5" s="1"><v>1</v></c><c r="B5" t="inlineStr"><is><r><rPr><color rgb="FF0000"/></rPr>'
    '<t>x</t></r></is></c><c r="C5"/></row>',                                     # every cell found by its r
    '<row r="5"><c r="A5"/><c><v>2</v></c><c r="C5"><v>3</v></c></row>',          # B5 implied by A5
    '<row r="5"><c s="2" r="B5"><v>2</v></c><c r="C5"/></row>',                   # r not first
    '<row r="5"><c r="A5"/><c r="C5"><f>A5+1</f><v>3</v></c></row>',              # B5 missing: inserted
])
def test_a_patched_row_is_the_same_whether_its_cells_are_found_by_reference_or_one_by_one(row, monkeypatch):
    from xl_plan.io import graft
    from xl_plan.io.diff import CellChange

    grafter = graft._Grafter.__new__(graft._Grafter)
    grafter._masters, grafter.date1904, grafter.drop_calc_chain = {}, False, False
    changes = [(2, CellChange("S", "B5", "new", fields=frozenset({"value"}))),
               (3, CellChange("S", "C5", 7, fields=frozenset({"value"})))]
    span = (5, 0, len(row), row.index(">") + 1, row.rindex("</row>"))
    by_reference = graft._apply_edits(row, grafter._patch_row(row, "", span, changes))
    monkeypatch.setattr(graft, "_cells_at", lambda *a: None)
    one_by_one = graft._apply_edits(row, grafter._patch_row(row, "", span, changes))
    assert by_reference == one_by_one
    assert 't="inlineStr"><is><t xml:space="preserve">new</t></is></c>' in by_reference
    assert '<c r="C5"><v>7</v></c>' in by_reference


# --------------------------------------------------------------------------------------
# The check of a patched sheet: the shortcut gives the cell-by-cell comparison's answer
# --------------------------------------------------------------------------------------

_SHEET_HEAD = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet '
               'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><dimension ref="A1:E6"/><sheetData>')


def _sheet_xml(rows: dict[int, dict[int, str]]) -> str:
    body = "".join(f'<row r="{r}">' + "".join(cells[c] for c in sorted(cells)) + "</row>" for r, cells in sorted(rows.items()))
    return _SHEET_HEAD + body + "</sheetData></worksheet>"


def _cell(ref: str, value: str, extra: str = "") -> str:
    return f'<c r="{ref}" s="1" t="inlineStr"><is><t>{value}</t></is>{extra}</c>'


_DAMAGE = ["none", "change", "delete", "insert", "swap", "comment", "new row", "row attribute", "between cells"]


@settings(max_examples=120, deadline=None)
@given(st.sets(st.tuples(st.integers(1, 6), st.integers(1, 5)), max_size=12),
       st.sets(st.tuples(st.integers(1, 6), st.integers(1, 5)), min_size=8, max_size=30),
       st.sampled_from(_DAMAGE), st.integers(0, 10**6))
def test_the_check_of_a_patched_sheet_is_the_same_with_or_without_its_shortcut(written, present, damage, pick):
    """_sheet_problems skips the cell-by-cell comparison when only the cells xl_plan wrote differ (each
    replaced, or added, whole): whatever else changed, its answer is the comparison's."""
    from openpyxl.utils import get_column_letter

    from xl_plan.io.graft import _sheet_data_span, _sheet_problems

    ref = lambda r, c: f"{get_column_letter(c)}{r}"
    rows0: dict[int, dict[int, str]] = {}
    for r, c in present:
        rows0.setdefault(r, {})[c] = _cell(ref(r, c), f"old {r}.{c}")
    rows1 = {r: dict(cells) for r, cells in rows0.items()}
    for r, c in written:
        rows1.setdefault(r, {})[c] = _cell(ref(r, c), f"new {r}.{c}")
    others = sorted((r, c) for r, cells in rows1.items() for c in cells if (r, c) not in written)
    free = sorted((r, c) for r in range(1, 7) for c in range(1, 6) if (r, c) not in written and c not in rows1.get(r, {}))
    damaged = False             # a cell xl_plan did not write changed, went or came
    if damage == "change" and others:
        r, c = others[pick % len(others)]
        rows1[r][c] = _cell(ref(r, c), "damaged")
        damaged = True
    elif damage == "delete" and others:
        r, c = others[pick % len(others)]
        del rows1[r][c]
        damaged = True
    elif damage == "insert" and free:
        r, c = free[pick % len(free)]
        rows1.setdefault(r, {})[c] = _cell(ref(r, c), "extra")
        damaged = True
    elif damage == "swap" and others:
        r, c = others[pick % len(others)]
        rows1[r][c] = rows1[r][c].replace(f'r="{ref(r, c)}"', f'r="{ref(r, c + 5)}"')
    t1 = _sheet_xml(rows1)
    cells_at = [m.end() for m in re.finditer(r"</c>", t1)]
    if damage == "comment":
        t1 = t1.replace("<sheetData>", "<sheetData><!-- a note -->", 1)
    elif damage == "new row":
        t1 = t1.replace("</sheetData>", f'<row r="9">{_cell("A9", "new")}</row></sheetData>')
    elif damage == "row attribute":
        t1 = t1.replace('<row r="', '<row ht="30" r="', 1)
    elif damage == "between cells" and cells_at:
        at = cells_at[pick % len(cells_at)]
        t1 = t1[:at] + " " + t1[at:]
    before, after = _sheet_xml(rows0).encode(), t1.encode()
    refs = {ref(r, c) for r, c in written}
    name = "xl/worksheets/sheet1.xml"
    assert _sheet_problems(name, before, after, refs, written=refs) == _sheet_problems(name, before, after, refs)
    t0 = before.decode()
    if damage == "none" and t0 != t1 and all(r in rows0 for r, _ in written):     # (a row added: compared)
        from xl_plan.io.graft import _only_written_cells_differ
        assert _only_written_cells_differ(t0, _sheet_data_span(t0), t1, _sheet_data_span(t1), refs)
    if damaged:
        assert _sheet_problems(name, before, after, refs, written=refs)


def test_the_shortcut_of_the_sheet_check_takes_only_whole_cells():
    """A written cell is passed over only when it is one whole cell: not one holding another cell, a
    comment or a row, nor a cell out of order."""
    from xl_plan.io.graft import _only_written_cells_differ, _sheet_data_span

    def differ(t0: str, t1: str, written: set[str]) -> bool:
        return _only_written_cells_differ(t0, _sheet_data_span(t0), t1, _sheet_data_span(t1), written)

    t0 = _sheet_xml({1: {1: _cell("A1", "a"), 2: _cell("B1", "b")}, 2: {1: _cell("A2", "c")}})
    assert differ(t0, t0.replace(">a<", ">new<"), {"A1"})
    assert differ(t0, t0.replace(_cell("B1", "b"), _cell("B1", "b") + _cell("C1", "new")), {"C1"})
    assert not differ(t0, t0.replace(">b<", ">new<"), {"A1"})
    assert not differ(t0, t0.replace(">c<", ">new<"), {"A1"})               # after the last cell written
    inner = t0.replace(_cell("A1", "a"), _cell("A1", "a", _cell("Z9", "hidden")))
    assert not differ(inner, inner.replace(">hidden<", ">changed<"), {"A1"})
    commented = t0.replace(_cell("A1", "a"), _cell("A1", "a", "<!-- </c> -->"))
    assert not differ(commented, commented.replace(">a<", ">new<"), {"A1"})
    swapped = t0.replace(_cell("A1", "a") + _cell("B1", "b"), _cell("B1", "b") + _cell("A1", "a"))
    assert not differ(swapped, swapped.replace(">a<", ">new<").replace(">b<", ">new<"), {"A1", "B1"})
