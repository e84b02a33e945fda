"""io/fastwrite.py writes the scratch workbook's cells as text: the saved package must be byte for byte
what openpyxl's own writer makes."""
from __future__ import annotations

import io
import zipfile
from datetime import date, datetime, time, timedelta

import openpyxl
import pytest
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill

from tests.package_compare import saved_parts
from xl_plan.io.fastwrite import fast_cells

VALUES = ["plain", " lead space", "trail ", "   ", "a & b < c > d \"q\" 'x'", "é ünï € 中文", "multi\nline\r\nx",
          "tab\there", 1, 0, -0.0, -3, 1.5, 1e20, 3.14159265358979, 10 ** 16, True, False, date(2024, 1, 2),
          datetime(2024, 1, 2, 3, 4, 5), time(1, 2), timedelta(days=2, seconds=5), "#N/A", "#REF!",
          "=SUM(A1:A2)", None, "", "x" * 40000]


def _workbook():
    wb = openpyxl.Workbook()
    ws = wb.active
    for r, v in enumerate(VALUES, 1):
        ws.cell(r, 1, v)
        styled = ws.cell(r, 2, v)
        styled.font = Font(bold=True)
        styled.alignment = Alignment(wrap_text=True, vertical="top")
        ws.cell(r, 3).fill = PatternFill("solid", fgColor="FF0000")
        ws.cell(r, 4, v).number_format = "0.00"
    ws.cell(1, 5, "link").hyperlink = "#'Sheet'!A1"
    ws.cell(2, 5, "web").hyperlink = "https://example.org/?a=1&b=2"
    ws.row_dimensions[3].height = 30
    ws.row_dimensions[40].hidden = True
    ws.cell(2, 6, "noted").comment = Comment("a note", "someone")
    ws.cell(3, 6).comment = Comment("on a blank", "someone")
    other = wb.create_sheet("Second")
    other.append(["a", 1, None, 2.5])
    other.cell(5, 5).font = Font(italic=True)
    return wb


def _parts(fast: bool) -> dict[str, bytes]:
    return saved_parts(_workbook(), fast)


def test_fast_cells_write_the_same_package():
    plain, fast = _parts(False), _parts(True)
    assert sorted(plain) == sorted(fast)
    for name in plain:
        assert plain[name] == fast[name], name
    assert b"inlineStr" in fast["xl/worksheets/sheet1.xml"]


def test_fast_cells_put_the_writer_back():
    from openpyxl.worksheet._writer import WorksheetWriter

    before = WorksheetWriter.write_row
    try:
        with fast_cells():
            raise RuntimeError("stop")
    except RuntimeError:
        pass
    assert WorksheetWriter.write_row is before


def test_put_sets_what_the_value_setter_sets():
    from xl_plan.sheets import put

    wb = openpyxl.Workbook()
    ws = wb.active
    values = VALUES + ["=", "==x", "#DIV/0!", "=1+1", 7, 2.0, None, True]
    for r, v in enumerate(values, 1):
        fast = put(ws, r, 1, v)
        slow = ws.cell(r, 2)
        slow.value = v
        if slow.data_type == "f":
            slow.data_type = "s"
        assert (fast._value, fast.data_type, fast.number_format) == (slow._value, slow.data_type, slow.number_format), v


def _records_workbook(records: bool, iso: bool = False):
    """The same cells written as openpyxl cells, or (rows 3 and up) as RowCells records through
    sheets.CellWriter: text, numbers, booleans, dates, errors, styled blanks, a row shared with
    openpyxl cells, row heights from fit_row_heights."""
    from xl_plan.sheets import CellWriter, fit_row_heights

    wb = openpyxl.Workbook()
    wb.iso_dates = iso
    ws = wb.active
    ws.column_dimensions["B"].width = 12
    ws.cell(1, 1, "real").font = Font(bold=True)
    out = CellWriter(ws, records=records)
    wrap = {"alignment": Alignment(wrap_text=True, vertical="top")}
    for r, v in enumerate([v for v in VALUES if not (isinstance(v, str) and v.startswith("="))], 3):
        out.put(r, 1, v)
        out.put(r, 2, v, "wrap", **wrap)
        out.put(r, 3, None, "fill", fill=PatternFill("solid", fgColor="FF0000"))
        out.put(r, 4, v, "two", number_format="0.00", font=Font(italic=True, size=9))
        out.put(r, 30, None)                                  # a blank: counted in the extent, not written
    ws.cell(5, 6, "a real cell in a row of records").hyperlink = "https://example.org/?a=1&b=2"   # links of both kinds
    ws.row_dimensions[4].height = 40                          # a row with a dimension of its own
    out.restyle(3, 2, "filled", fill=PatternFill("solid", fgColor="00FF00"))    # a look on top of a cell's own
    out.restyle(4, 2, "filled", fill=PatternFill("solid", fgColor="00FF00"))
    out.restyle(6, 7, "filled", fill=PatternFill("solid", fgColor="00FF00"))    # no cell there yet
    out.link(3, 1, "Plan's sheet", "B7")                      # links, in and out of row order
    out.link(6, 3, "Plan's sheet", "C9")                      # on a blank cell: it shows the place
    out.link(4, 1, "Plan's sheet", "B8")
    fit_row_heights(ws, 3, 12)
    return wb


@pytest.mark.parametrize("iso", [False, True])
def test_cell_records_are_written_as_openpyxl_cells_would_be(iso):
    def parts(records: bool, fast: bool = True):
        return saved_parts(_records_workbook(records, iso), fast)

    plain, records = parts(False, fast=False), parts(True)
    assert sorted(plain) == sorted(records)
    for name in plain:
        assert plain[name] == records[name], name
    assert b'customHeight="1"' in records["xl/worksheets/sheet1.xml"]


def test_cell_records_made_cells_for_another_writer(monkeypatch):
    """With lxml openpyxl writes through another writer: the records become openpyxl cells first
    (as `materialize` makes them), so nothing is lost."""
    from xl_plan.io import fastwrite

    wb = _records_workbook(True)
    monkeypatch.setattr(fastwrite, "LXML", True)
    buf = io.BytesIO()
    with fast_cells():
        wb.save(buf)
    plain = io.BytesIO()
    _records_workbook(False).save(plain)
    with zipfile.ZipFile(buf) as got, zipfile.ZipFile(plain) as want:
        assert sorted(got.namelist()) == sorted(want.namelist())
        for name in want.namelist():
            if name != "docProps/core.xml":
                assert got.read(name) == want.read(name), name


def test_a_sheet_holding_records_counts_as_written():
    """diff_against sees an owned sheet whose new cells are all records (its openpyxl cells unchanged)."""
    from xl_plan.io.diff import baseline_of, diff_against
    from xl_plan.owned import MARK
    from xl_plan.sheets import CellWriter

    wb = openpyxl.Workbook()
    ws = wb.active
    ws["A1"] = f"{MARK}History"
    base = baseline_of(wb)
    assert diff_against(base, wb).sheets == []
    CellWriter(ws, records=True).put(2, 1, "a new row")
    assert diff_against(base, wb).sheets == [ws.title]


@pytest.mark.parametrize("job", ["validate", "gantt"])
def test_rows_of_records_written_by_graft_give_the_package_the_scratch_save_gives(tmp_path, monkeypatch, job):
    """The scratch save leaves a sheet's rows of records out and graft writes them straight into the
    package (io/fastwrite.detach, io/graft.py): the same package, byte for byte, as when the scratch
    save writes them; on each sample plan, twice (the second run replaces the first's sheet)."""
    import shutil
    from datetime import date

    from tests.conftest import SAMPLES
    from xl_plan.io import fastwrite
    from xl_plan.jobs import gantt_file, validate_file

    run = {"validate": lambda p: validate_file(p, today=date(2017, 6, 1), write=True),
           "gantt": lambda p: gantt_file(p, today=date(2017, 6, 1))}[job]
    real = fastwrite.detach
    for name, source in SAMPLES.items():
        spliced, saved = tmp_path / name / "spliced.xlsx", tmp_path / name / "saved" / "plan.xlsx"
        saved.parent.mkdir(parents=True)
        shutil.copyfile(source, spliced)
        shutil.copyfile(source, saved)
        for _ in range(2):
            seen = []
            monkeypatch.setattr(fastwrite, "detach", lambda wb, seen=seen: seen.append(real(wb)) or seen[-1])
            run(spliced)
            assert seen and seen[-1], name          # graft wrote the rows of records
            monkeypatch.setattr(fastwrite, "detach", lambda wb: {})
            run(saved)
            with zipfile.ZipFile(spliced) as a, zipfile.ZipFile(saved) as b:
                assert sorted(a.namelist()) == sorted(b.namelist()), name
                for part in a.namelist():
                    if part != "docProps/core.xml":
                        assert a.read(part) == b.read(part), (name, part)
