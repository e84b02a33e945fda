"""The fast cell reader (xl_plan/io/sheet_reader.py) loads every workbook exactly as openpyxl's
own `load_workbook` does: each cell's value, type and style, the notes, merged ranges, row and
column settings and sheet states. Compared on the sample plans, the hand-made package with the
rarer cell forms, the XlsxWriter corpus, the Excel-made public files (when present), a LibreOffice
re-save, random cell values, and parts that must go the slow way (comments or extension elements
among the cells, namespace prefixes)."""
from __future__ import annotations

import shutil
import subprocess
from datetime import date, datetime
from pathlib import Path

import corpus
import openpyxl
import pytest
from conftest import SAMPLES
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl.cell import MergedCell
from openpyxl.worksheet.formula import ArrayFormula, DataTableFormula
from test_values_reader import NS, SHEET, hand_made

from xl_plan.io import sheet_reader
from xl_plan.io.workbook import load


def _comparable(value):
    if isinstance(value, (ArrayFormula, DataTableFormula)):
        return type(value).__name__, sorted((k, str(v)) for k, v in vars(value).items())
    return value


def _style(cell):
    """The cell's look by value (style indexes may differ where openpyxl adds borders to covered cells
    of merged ranges: their table order changes, not what a cell shows)."""
    return (repr(cell.font), repr(cell.fill), repr(cell.border), repr(cell.alignment), repr(cell.protection),
            cell.number_format, cell._style.xfId if cell._style is not None else 0)


def snapshot(wb) -> dict:
    """What a job reads of a loaded workbook, sheet by sheet."""
    out = {}
    for ws in wb.worksheets:
        cells = {}
        for rc, c in ws._cells.items():
            if isinstance(c, MergedCell):          # a covered cell: no value; its borders are not read
                cells[rc] = "covered"
                continue
            note = c.comment
            cells[rc] = (type(c).__name__, _comparable(c._value), c.data_type, _style(c),
                         (note.text, note.author) if note is not None else None)
        out[ws.title] = {
            "cells": cells,
            "state": ws.sheet_state,
            "merged": sorted(str(r) for r in ws.merged_cells.ranges),
            "rows": {k: (d.height, d.hidden, d.outlineLevel, d.customHeight) for k, d in ws.row_dimensions.items()},
            "columns": {k: (d.width, d.hidden) for k, d in ws.column_dimensions.items()},
            "validations": [(v.sqref and str(v.sqref), v.formula1) for v in ws.data_validations.dataValidation],
            "formatting": sorted((str(cf.sqref), len(cf.rules)) for cf in ws.conditional_formatting),
            "print": (ws.page_setup.orientation, ws.print_title_rows, ws.freeze_panes),
            "next row": ws._current_row,            # where ws.append writes (openpyxl's max_row when read)
        }
    out["names"] = sorted((n, str(d.attr_text)) for n, d in wb.defined_names.items())
    return out


def assert_reads_as_openpyxl(path: Path) -> dict:
    expected = snapshot(openpyxl.load_workbook(path, keep_links=True))
    got = snapshot(load(path))
    assert got == expected
    return got


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_sample_plans_load_as_openpyxl_loads_them(name):
    got = assert_reads_as_openpyxl(SAMPLES[name])
    assert sum(len(s["cells"]) for k, s in got.items() if k != "names") > 100


@pytest.mark.parametrize("date1904", [False, True], ids=["1900 dates", "1904 dates"])
def test_every_kind_of_cell_loads_as_openpyxl_loads_it(tmp_path, date1904):
    got = assert_reads_as_openpyxl(hand_made(tmp_path / "kinds.xlsx", date1904=date1904))
    cells = got["Return"]["cells"]
    # the rare forms are there, so the comparison covered them
    assert cells[(1, 4)][1] == "rich inline" and cells[(12, 1)][1] == "kanji"
    assert cells[(4, 1)][1] == "=A3*2" and cells[(4, 2)][1][0] == "ArrayFormula"
    assert cells[(2, 3)][1:3] == (True, "b") and cells[(2, 4)][1:3] == ("#N/A", "e")
    assert isinstance(cells[(2, 6)][1], datetime)


def test_the_fast_path_reads_the_cells_of_an_ordinary_sheet(tmp_path, monkeypatch):
    """The comparisons above would pass if every part fell back to openpyxl: they do not."""
    calls = []
    real = sheet_reader.FastSheetParser._openpyxl

    def spy(self, data):
        calls.append(b"<row" in data)
        return real(self, data)

    monkeypatch.setattr(sheet_reader.FastSheetParser, "_openpyxl", spy)
    load(SAMPLES["city"])
    assert calls and not any(calls)          # openpyxl saw the sheets without their rows


def test_a_loaded_cell_is_made_as_openpyxl_makes_one():
    """The reader builds cells without Cell.__init__ (half the cost): every slot as __init__ sets it."""
    from openpyxl.cell import Cell

    wb = load(SAMPLES["city"])
    ws = wb.worksheets[0]
    got = next(c for c in ws._cells.values() if isinstance(c, Cell))
    made = Cell(ws, got.row, got.column, style_array=got._style)
    made._value, made.data_type = got._value, got.data_type
    slots = {s for k in Cell.__mro__ for s in getattr(k, "__slots__", ())}
    assert {s: getattr(got, s) for s in slots} == {s: getattr(made, s) for s in slots}
    assert got._style is not made._style and got._style is not wb._cell_styles[0]


def test_a_covered_cell_is_made_as_openpyxl_makes_one():
    """A merge's covered cells are built without MergedCell.__init__: every slot as __init__ sets it, but
    for a style array of their own (all zero, as a cell without one reads), each its own."""
    wb = load(SAMPLES["city"])
    ws = wb.worksheets[0]
    covered = [c for c in ws._cells.values() if isinstance(c, MergedCell)]
    assert len(covered) > 10
    got = covered[0]
    made = MergedCell(ws, got.row, got.column)
    slots = {s for k in MergedCell.__mro__ for s in getattr(k, "__slots__", ())} - {"_style"}
    assert {s: getattr(got, s) for s in slots} == {s: getattr(made, s) for s in slots}
    assert made._style is None and list(got._style) == [0] * 9 and got._style is not covered[1]._style
    assert [repr(x) for x in (got.fill, got.border, got.font)] == [repr(x) for x in (made.fill, made.border, made.font)]


FALLBACK_CASES = {
    "an XML comment among the cells": SHEET.replace('<row r="2">', '<!-- Excel never writes this --><row r="2">'),
    "an extension element in a row": SHEET.replace('<row r="5">', '<row r="5"><extLst><ext uri="{x}"/></extLst>'),
    "CDATA text": SHEET.replace("<t>inline text</t>", "<t><![CDATA[inline <text>]]></t>"),
    "a namespace prefix": SHEET.replace(f"<worksheet {NS}", '<x:worksheet xmlns:x="http://schemas.openxmlformats.org/'
                                        'spreadsheetml/2006/main"').replace("</worksheet>", "</x:worksheet>")
                                        .replace("<sheetData>", "<x:sheetData>").replace("</sheetData>", "</x:sheetData>")
                                        .replace("<mergeCells", "<x:mergeCells").replace("</mergeCells>", "</x:mergeCells>")
                                        .replace("<mergeCell ", "<x:mergeCell ")
                                        .replace("<row", "<x:row").replace("</row>", "</x:row>")
                                        .replace("<c ", "<x:c ").replace("<c>", "<x:c>").replace("</c>", "</x:c>")
                                        .replace("<v>", "<x:v>").replace("</v>", "</x:v>")
                                        .replace("<f>", "<x:f>").replace("<f ", "<x:f ").replace("</f>", "</x:f>")
                                        .replace("<is>", "<x:is>").replace("<is/>", "<x:is/>").replace("</is>", "</x:is>")
                                        .replace("<t>", "<x:t>").replace("<t ", "<x:t ").replace("</t>", "</x:t>")
                                        .replace("<r>", "<x:r>").replace("</r>", "</x:r>")
                                        .replace("<rPr>", "<x:rPr>").replace("</rPr>", "</x:rPr>").replace("<b/>", "<x:b/>")
                                        .replace("<rPh ", "<x:rPh ").replace("</rPh>", "</x:rPh>"),
    "a comment among the cells, formatting after them": SHEET.replace(
        '<row r="2">', '<!-- x --><row r="2">').replace(
        "</mergeCells>", '</mergeCells><conditionalFormatting sqref="A1:B2"><cfRule type="expression" priority="1">'
                         "<formula>A1=1</formula></cfRule></conditionalFormatting>"),
    "entities and line ends": SHEET.replace("<t>inline text</t>", "<t>a &amp; b &#10;&#x41;\r\nc</t>"),
}


@pytest.mark.parametrize("case", sorted(FALLBACK_CASES))
def test_unusual_sheet_xml_loads_as_openpyxl_loads_it(tmp_path, case):
    got = assert_reads_as_openpyxl(hand_made(tmp_path / "odd.xlsx", sheet=FALLBACK_CASES[case]))
    assert got["Return"]["cells"][(2, 1)][1] == 42


def test_the_xlsxwriter_corpus_loads_as_openpyxl_loads_it(tmp_path):
    files = corpus.build_corpus(tmp_path)
    assert len(files) > 10
    for name, path in sorted(files.items()):
        try:
            assert_reads_as_openpyxl(path)
        except AssertionError as exc:
            raise AssertionError(f"{name}: {exc}") from None


EXCEL_MADE = corpus.excel_made_files()


@pytest.mark.slow
@pytest.mark.skipif(not EXCEL_MADE, reason="Excel-made fixtures not present (see tests/fixtures/excel_made/LICENCES.md)")
@pytest.mark.parametrize("name", sorted(EXCEL_MADE))
def test_excel_made_files_load_as_openpyxl_loads_them(name):
    assert_reads_as_openpyxl(EXCEL_MADE[name])


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice (soffice) is not installed")
def test_a_libreoffice_save_loads_as_openpyxl_loads_it(tmp_path):
    out = tmp_path / "out"
    subprocess.run(["soffice", "--headless", f"-env:UserInstallation=file://{tmp_path}/lo-profile",
                    "--convert-to", "xlsx", "--outdir", str(out), str(SAMPLES["birmingham"])],
                   check=True, capture_output=True, timeout=180)
    assert_reads_as_openpyxl(out / SAMPLES["birmingham"].name)


_VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(-10**15, 10**15),
    st.floats(allow_nan=False, allow_infinity=False, width=64),
    st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=30),
    st.text(alphabet="<>&\"' \n\tAb=", max_size=12),
    st.dates(min_value=date(1901, 1, 1), max_value=date(2100, 1, 1)),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.lists(_VALUES, min_size=1, max_size=6), min_size=1, max_size=8),
       inline=st.booleans())
def test_random_cells_load_as_openpyxl_loads_them(tmp_path_factory, rows, inline):
    """Random values written by openpyxl (shared strings) or by xl_plan's fast writer (inline strings)."""
    from xl_plan.io.fastwrite import fast_cells

    path = tmp_path_factory.mktemp("random") / "r.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    for r, row in enumerate(rows, 1):
        for c, value in enumerate(row, 1):
            cell = ws.cell(r, c)
            if isinstance(value, str):
                cell._value, cell.data_type = value, "s"       # text stays text, even when it starts with '='
            else:
                cell.value = value
    if inline:
        with fast_cells():
            wb.save(path)
    else:
        wb.save(path)
    assert_reads_as_openpyxl(path)


# ---------------------------------------------------------------- a job reads xl_plan's replaced sheets' first rows only

def _with_xl_plan_sheets(tmp_path, name="city"):
    """A plan that has had validate --write, gantt and a user's own sheet called Summary (not xl_plan's)."""
    from xl_plan.jobs import gantt_file, validate_file

    path = tmp_path / "plan.xlsx"
    shutil.copyfile(SAMPLES[name], path)
    wb = openpyxl.load_workbook(path)
    own = wb.create_sheet("Summary")
    for r in range(1, 30):
        own.cell(r, 1, f"the council's own row {r}")
    wb.save(path)
    validate_file(path, today=date(2017, 6, 1), write=True)
    gantt_file(path, today=date(2017, 6, 1))
    return path


def test_a_job_reads_only_the_first_rows_of_the_sheets_it_makes_anew(tmp_path):
    path = _with_xl_plan_sheets(tmp_path)
    full, lean = load(path), load(path, read_replaced=False)
    assert full.sheetnames == lean.sheetnames
    assert full["Validation"].max_row > 10 and full["Gantt"].max_row > 10
    for name in ("Validation", "Gantt"):             # xl_plan's, made anew by every job writing them
        merged = {rc for rng in lean[name].merged_cells.ranges for rc in rng.cells}     # openpyxl makes their cells
        assert all(r <= 5 or (r, c) in merged for (r, c) in lean[name]._cells)
        assert [lean[name].cell(r, 1).value for r in range(1, 6)] == [full[name].cell(r, 1).value for r in range(1, 6)]
    for name in ("Improvement Plan", "Summary"):      # the plan and the council's own "Summary": whole
        assert {k: c.value for k, c in lean[name]._cells.items()} == {k: c.value for k, c in full[name]._cells.items()}


@pytest.mark.parametrize("job", ["validate", "gantt", "unmark", "carried", "leads"])
def test_a_job_writes_the_same_file_whether_it_read_those_sheets_whole_or_not(tmp_path, monkeypatch, job):
    """Reading xl_plan's replaced sheets to their first rows changes nothing a job writes: each writing job,
    on a workbook that already has them, gives the same package as with every sheet read whole."""
    import zipfile

    from tests.package_compare import parts_of
    from xl_plan import plan_file
    from xl_plan.jobs import carried_file, gantt_file, leads_file, unmark_file, validate_file

    today = date(2017, 6, 1)
    run = {"validate": lambda p: validate_file(p, today=today, write=True),
           "gantt": lambda p: gantt_file(p, today=today),
           "unmark": lambda p: unmark_file(p),
           "carried": lambda p: carried_file(p, today=today, write=True),
           "leads": lambda p: leads_file(p, write=True)}[job]
    path = _with_xl_plan_sheets(tmp_path)
    lean, whole = tmp_path / "lean.xlsx", tmp_path / "whole" / "plan.xlsx"
    whole.parent.mkdir()
    shutil.copyfile(path, lean)
    shutil.copyfile(path, whole)
    run(lean)
    real_load = plan_file.load
    monkeypatch.setattr(plan_file, "load", lambda p, read_replaced=True: real_load(p, read_replaced=True))
    run(whole)
    assert parts_of(lean) == parts_of(whole)
    with zipfile.ZipFile(lean) as a, zipfile.ZipFile(whole) as b:
        for name in parts_of(lean) - {"docProps/core.xml"}:
            assert a.read(name) == b.read(name), name


# ---------------------------------------------------------------- defined names (io/defined_names.py)

def _names_of(wb) -> dict:
    out = {"global": sorted((n, vars(d)) for n, d in wb.defined_names.items())}
    for ws in wb.worksheets:
        out[ws.title] = (sorted((n, vars(d)) for n, d in ws.defined_names.items()), ws.print_title_rows,
                         str(ws.print_area))
    return out


@pytest.mark.parametrize("kind", ["plain", "with a local name", "with a hidden name", "with print titles"])
def test_defined_names_read_as_openpyxl_reads_them(tmp_path, kind, monkeypatch):
    from openpyxl.workbook.defined_name import DefinedName

    from xl_plan.io import defined_names

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "R&D 'plan'"                 # a reference that needs entities: &amp; and the doubled quote
    wb.create_sheet("Other")
    for r in range(1, 301):
        wb.defined_names[f"_xlp_A{r:05d}"] = DefinedName(f"_xlp_A{r:05d}", attr_text=f"'R&D ''plan'''!$C${r}")
    if kind == "with a local name":
        wb["Other"].defined_names["local"] = DefinedName("local", attr_text="Other!$A$1")
    elif kind == "with a hidden name":
        wb.defined_names["secret"] = DefinedName("secret", attr_text="Other!$B$2", hidden=True)
    elif kind == "with print titles":
        wb["Other"].print_title_rows = "1:2"
    path = tmp_path / "names.xlsx"
    wb.save(path)

    taken = []
    real = defined_names.plain_defined_names
    monkeypatch.setattr(defined_names, "plain_defined_names", lambda data: taken.append(real(data)) or taken[-1])
    got, expected = _names_of(load(path)), _names_of(openpyxl.load_workbook(path))
    assert got == expected
    assert len(expected["global"]) >= 300
    assert (taken[0] is not None) == (kind == "plain")   # the fast path only when every name is plain
