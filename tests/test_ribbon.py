"""The ribbon layer against a stand-in for xlwings: every button exists and runs the shared job,
writes its results into the open workbook, and reports in plain English; errors never show a traceback."""
import re
import sys
from pathlib import Path

import pytest

from xl_plan.excel import ribbon
from xl_plan.excel.bridge import _write_cell
from xl_plan.io.diff import CellChange
from xl_plan.template import BUTTON_TAGS
from tests.xlwings_standin import FakeBook, FakeRange, FakeSheet, install

ROOT = Path(__file__).resolve().parent.parent


def test_every_ribbon_button_has_an_entry_point():
    xml = (ROOT / "macros" / "customUI14.xml").read_text()
    tags = re.findall(r'tag="([^"]+)"', xml)
    assert sorted(tags) == sorted(BUTTON_TAGS) == sorted(ribbon.BUTTONS)
    for tag, name in ribbon.BUTTONS.items():
        assert callable(getattr(ribbon, name)), tag


def test_vba_calls_dispatch():
    bas = (ROOT / "macros" / "XlPlanRibbon.bas").read_text()
    assert "import xl_plan.excel.ribbon as r; r.dispatch('\" & control.Tag & \"')" in bas
    assert "Function XlPlanPickFile(" in bas and "Function XlPlanPickFolder(" in bas


def test_validate_button_writes_into_the_open_workbook(sample, monkeypatch):
    path = sample("birmingham")
    book = FakeBook(path)
    install(monkeypatch, book)
    ribbon.dispatch("validate")
    ops = book._ops
    assert ops[0] == ("save", str(path))                          # the job reads what the user sees
    assert ("copy-sheet", "Validation", 2) in ops                  # the Validation sheet, copied whole
    notes = {(op[1], op[2]) for op in ops.of("note")}
    assert ("Improvement Plan", "G11") in notes                    # a comment on the offending cell
    assert not ops.of("value")                                     # the user's cells are not rewritten
    message = book.app._alerts[-1]
    assert message.startswith("Checked 27 actions: 27 errors") and "'Validation' sheet" in message
    assert book.app.status_bar is False and book.app.screen_updating is True
    assert list((path.parent / "backups").iterdir())               # a copy of the saved workbook


def test_second_click_replaces_the_sheet(sample, monkeypatch):
    path = sample("city")
    book = FakeBook(path)
    book._sheets.append(FakeSheet(book, "Validation"))
    install(monkeypatch, book)
    # the file on disk already has xl_plan's Validation sheet from an earlier month's click
    from datetime import date
    from xl_plan.jobs import validate_file
    validate_file(path, write=True, today=date(2017, 1, 1))
    ribbon.dispatch("validate")
    assert book._ops.of("copy-sheet") == [("copy-sheet", "Validation", 2)]
    assert ("delete-sheet", "Validation") in book._ops
    assert [s.name for s in book.sheets] == ["Improvement Plan", "Validation"]


def test_errors_become_a_message_box(tmp_path, monkeypatch):
    book = FakeBook(_blank(tmp_path))
    book._fullname = str(tmp_path / "never saved.xlsx")   # as xlwings gives an unsaved book
    install(monkeypatch, book)
    ribbon.dispatch("validate")
    assert "Save this workbook first" in book.app._alerts[-1]
    assert "Traceback" not in book.app._alerts[-1]


def test_unexpected_errors_are_logged(sample, monkeypatch, tmp_path):
    book = FakeBook(sample("city"))
    install(monkeypatch, book)
    import xl_plan.jobs

    def boom(*a, **k):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(xl_plan.jobs, "validate_file", boom)
    ribbon.dispatch("validate")
    assert "disk on fire" in book.app._alerts[-1] and "send that file to support" in book.app._alerts[-1]
    assert "Traceback" in (tmp_path / "xl_plan.log").read_text()


def test_unknown_tag_and_help(sample, monkeypatch):
    book = FakeBook(sample("city"))
    install(monkeypatch, book)
    ribbon.dispatch("frobnicate")
    assert "not known" in book.app._alerts[-1]
    ribbon.dispatch("help")
    assert "Validate RAG" in book.app._alerts[-1]


def test_text_that_looks_like_a_formula_stays_text(sample):
    book = FakeBook(sample("city"))
    rng = FakeRange(book.sheets[0], "I4")
    _write_cell(rng, CellChange("Improvement Plan", "I4", "=HYPERLINK(\"x\")", None, None, frozenset({"value"})))
    assert rng.value == "'=HYPERLINK(\"x\")"


def test_entry_module_does_not_import_pandas():
    import subprocess

    code = "import sys, xl_plan.excel.ribbon as r; r._xlwings(); print('pandas' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "False"


def _blank(tmp_path):
    import openpyxl
    p = tmp_path / "blank.xlsx"
    openpyxl.Workbook().save(p)
    return p


def test_returns_button_makes_returns_and_keys(sample, monkeypatch):
    from datetime import date
    from xl_plan.returns.identity import read_identity

    path = sample("city")
    book = FakeBook(path)
    install(monkeypatch, book)
    ribbon.dispatch("returns_make")
    month = date.today().strftime("%Y-%m")
    folder = path.parent / "returns" / month
    files = sorted(folder.glob("*.xlsx"))
    assert files and f"Made {len(files)} return workbooks" in book.app._alerts[-1]
    ident = read_identity(files[0])
    assert ident.metadata()["plan_path"] == str(path.resolve())     # the master, not the working copy
    added = [op for op in book._ops.of("name-add") if op[1].startswith("_xlp_")]
    assert len(added) == 55                                        # a stable key per action, as names
    assert {op[1] for op in book._ops.of("copy-sheet")} >= {"Returns log"}


def test_gantt_button(sample, monkeypatch):
    path = sample("barking")
    book = FakeBook(path)
    install(monkeypatch, book)
    ribbon.dispatch("gantt")
    assert ("copy-sheet", "Gantt", 2) in book._ops
    assert book.app._alerts[-1] == "Built the 'Gantt' sheet for 61 actions."


def test_carried_button_asks_for_the_previous_plan(sample, monkeypatch):
    path = sample("city")
    previous = sample("barking")
    book = FakeBook(path, answers={"XlPlanPickFile": str(previous)})
    install(monkeypatch, book)
    ribbon.dispatch("carried")
    message = book.app._alerts[-1]
    assert "starred actions" in message and "'Carried forward' sheet" in message
    assert {op[1] for op in book._ops.of("copy-sheet")} >= {"Carried forward", "Validation"}


def test_every_button_job_exists():
    """Each button imports its job from xl_plan.jobs: those functions exist and are callable."""
    import ast
    import xl_plan.jobs as jobs

    tree = ast.parse((ROOT / "xl_plan" / "excel" / "ribbon.py").read_text())
    names = {alias.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module == "jobs"
             for alias in node.names}
    assert names >= {"validate_file", "carried_file", "gantt_file", "make_returns_file", "send_returns",
                     "merge_returns", "consolidate"}
    for name in names:
        assert callable(getattr(jobs, name, None)), name


def test_consolidate_button_merges_returns_into_the_open_workbook(sample, monkeypatch, tmp_path):
    """Make returns from the master, fill one in as its lead would, and click Monthly consolidation."""
    import openpyxl
    from xl_plan.jobs import make_returns_file
    from xl_plan.returns.identity import read_identity

    path = sample("city")
    made = make_returns_file(path, "2026-11", tmp_path / "out")
    back = tmp_path / "back"
    back.mkdir()
    ret = made.returns[0].path
    wb = openpyxl.load_workbook(ret)
    ident = read_identity(wb)
    row = ident.rows[0]
    wb[ident.return_sheet][f"{ident.update_column}{row.return_row}"] = "=Done and evidenced"
    wb.save(back / ret.name)

    book = FakeBook(path, answers={"XlPlanPickFolder": str(back)})
    install(monkeypatch, book)
    ribbon.dispatch("consolidate")
    written = [op for op in book._ops.of("value") if op[1] == "Improvement Plan"]
    assert written and all(isinstance(op[3], str) for op in written)
    assert any(op[3].startswith("Update November 2026: =Done and evidenced") for op in written)
    assert {op[1] for op in book._ops.of("copy-sheet")} >= {"History", "Summary", "Validation"}
    assert "See the 'Summary'" in book.app._alerts[-1]
