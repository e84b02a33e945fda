"""The ribbon layer against a stand-in for xlwings: every button exists and runs the shared job,
writes its results into the open workbook, and reports in plain English; errors never show a traceback."""
import re
import sys
from pathlib import Path

import pytest

from tests.xlwings_standin import STANDS_IN_FOR, FakeBook, FakeRange, FakeSheet, install
from xl_plan.excel import ribbon
from xl_plan.excel.bridge import _write_cell
from xl_plan.io.diff import CellChange
from xl_plan.template import BUTTON_TAGS

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(params=["windows", "macos"])
def platform(request, tmp_path, monkeypatch):
    """Each button runs against the stand-in of Excel on Windows (COM) and on macOS (appscript)."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))   # Excel for Mac's container is under it
    return request.param


def test_every_ribbon_button_has_an_entry_point():
    xml = (ROOT / "macros" / "customUI14.xml").read_text()
    tags = re.findall(r'tag="([^"]+)"', xml)
    assert sorted(tags) == sorted(BUTTON_TAGS)
    for tag in BUTTON_TAGS:                  # dispatch runs the entry point named by the tag
        assert callable(getattr(ribbon, tag)), tag


def test_vba_calls_dispatch():
    bas = (ROOT / "macros" / "XlPlanRibbon.bas").read_text()
    assert "import xl_plan.excel.ribbon as r; r.dispatch('\" & control.Tag & \"')" in bas
    assert "Function XlPlanPickFile(" in bas and "Function XlPlanPickFolder(" in bas


def test_validate_button_writes_into_the_open_workbook(sample, monkeypatch, platform):
    path = sample("birmingham")
    book = FakeBook(path, platform=platform)
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


def test_second_click_replaces_the_sheet(sample, monkeypatch, platform):
    path = sample("city")
    book = FakeBook(path, platform=platform)
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


def test_errors_become_a_message_box(tmp_path, monkeypatch, platform):
    book = FakeBook(_blank(tmp_path), platform=platform)
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


def test_unknown_tag_and_help(sample, monkeypatch, platform):
    book = FakeBook(sample("city"), platform=platform)
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


def test_returns_button_makes_returns_and_keys(sample, monkeypatch, platform):
    from datetime import date

    from xl_plan.returns.identity import read_identity

    path = sample("city")
    book = FakeBook(path, platform=platform)
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


def test_gantt_button(sample, monkeypatch, platform):
    path = sample("barking")
    book = FakeBook(path, platform=platform)
    install(monkeypatch, book)
    ribbon.dispatch("gantt")
    assert ("copy-sheet", "Gantt", 2) in book._ops
    assert book.app._alerts[-1] == "Built the 'Gantt' sheet for 61 actions."


def test_carried_button_asks_for_the_previous_plan(sample, monkeypatch, platform):
    path = sample("city")
    previous = sample("barking")
    book = FakeBook(path, platform=platform, answers={"XlPlanPickFile": str(previous)})
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


def test_consolidate_button_merges_returns_into_the_open_workbook(sample, monkeypatch, tmp_path, platform):
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

    book = FakeBook(path, platform=platform, answers={"XlPlanPickFolder": str(back)})
    install(monkeypatch, book)
    ribbon.dispatch("consolidate")
    written = [op for op in book._ops.of("value") if op[1] == "Improvement Plan"]
    assert written and all(isinstance(op[3], str) for op in written)
    assert any(op[3].startswith("Update November 2026: =Done and evidenced") for op in written)
    assert {op[1] for op in book._ops.of("copy-sheet")} >= {"History", "Summary", "Validation"}
    assert "See the 'Summary'" in book.app._alerts[-1]


# ---------------------------------------------------------------- Windows and macOS

def _standins(sample):
    """One of each stand-in object, as the ribbon meets them."""
    book = FakeBook(sample("city"))
    sheet = book.sheets[0]
    rng = sheet.range("A1")
    return {"App": book.app, "Books": book.app.books, "Book": book, "Sheets": book.sheets, "Sheet": sheet,
            "Range": rng, "Names": book.names, "Name": book.names.add("x", "=A1"), "Note": rng.add_note("n")}


PROTOCOL = ("__getitem__", "__iter__", "__len__", "__call__", "__contains__")


def _surface(obj) -> set[str]:
    cls = type(obj)
    return ({n for n in dir(cls) if not n.startswith("_")} | {n for n in vars(obj) if not n.startswith("_")}
            | {n for n in PROTOCOL if n in vars(cls)})


@pytest.mark.parametrize("real_name", sorted(STANDS_IN_FOR))
def test_standin_has_only_what_installed_xlwings_has(real_name, sample):
    """What the ribbon may call on the stand-in, real xlwings has: the same attribute, a property
    where xlwings has a property (writable only where xlwings' is), a method taking the same
    leading parameters where xlwings has a method."""
    import inspect

    import xlwings.main

    real = getattr(xlwings.main, real_name)
    fake = _standins(sample)[real_name]
    assert type(fake) is STANDS_IN_FOR[real_name]
    for name in sorted(_surface(fake)):
        assert hasattr(real, name), f"xlwings {real_name} has no {name!r}"
        ours, theirs = inspect.getattr_static(type(fake), name, None), inspect.getattr_static(real, name)
        if inspect.isfunction(ours):
            assert inspect.isfunction(theirs), f"{real_name}.{name} is not a method in xlwings"
            mine = list(inspect.signature(ours).parameters)[1:]
            assert list(inspect.signature(theirs).parameters)[1:len(mine) + 1] == mine, f"{real_name}.{name}"
        else:
            assert isinstance(theirs, property), f"{real_name}.{name} is not a property in xlwings"
            if ours is None or ours.fset is not None:   # an instance attribute can be written
                assert theirs.fset is not None, f"{real_name}.{name} is read-only in xlwings"


def test_standin_api_names_are_the_platforms_own(sample):
    """macOS `.api` offers only names of Excel's AppleScript dictionary (as xlwings ships it) and
    no COM name; Windows `.api` only COM names."""
    import inspect

    from tests.xlwings_standin import AppleScriptRange, AppleScriptSheet, ComRange, ComSheet, mac_dictionary

    keywords, properties, commands = mac_dictionary()
    assert {"sheet_visible", "sheet_hidden", "sheet_very_hidden"} <= keywords
    for cls in (AppleScriptSheet, AppleScriptRange):
        for name in (n for n in vars(cls) if not n.startswith("_")):
            member = vars(cls)[name]
            if isinstance(member, property):
                assert name in properties, name
            else:
                assert name in commands, name
                params = [p.name for p in inspect.signature(member).parameters.values()][1:]
                assert set(params) <= commands[name], (name, params)
    for cls in (ComSheet, ComRange):
        names = {n for n in vars(cls) if not n.startswith("_")}
        assert names and all(n[0].isupper() for n in names) and not names & (properties | set(commands))


def test_windows_only_calls_fail_on_macos(sample, monkeypatch):
    from xl_plan.excel.platforms import very_hide_mac, very_hide_windows

    book = FakeBook(sample("city"), platform="macos")
    install(monkeypatch, book)
    sheet, rng = book.sheets[0], book.sheets[0].range("A1")
    with pytest.raises(AttributeError):
        very_hide_windows(sheet)                   # sheet.api.Visible = 2
    with pytest.raises(AttributeError):
        rng.api.AddComment("x")                    # what bridge.py used to call
    with pytest.raises(AttributeError):
        sheet.api.Visible                          # noqa: B018
    very_hide_mac(sheet)
    assert book._ops.of("visibility") == [("visibility", "Improvement Plan", "veryHidden")]

    windows = FakeBook(sample("city"))
    install(monkeypatch, windows)
    with pytest.raises((ImportError, AttributeError)):   # no appscript, no .visible.set on COM
        very_hide_mac(windows.sheets[0])
    very_hide_windows(windows.sheets[0])
    assert windows._ops.of("visibility") == [("visibility", "Improvement Plan", "veryHidden")]


def test_no_api_call_outside_a_platform_function():
    """Every `.api` on the ribbon's path is in excel/platforms.py, in a function for one platform
    that has its twin for the other."""
    import ast

    functions = {}
    for path in sorted((ROOT / "xl_plan" / "excel").glob("*.py")):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef):
                for inner in ast.walk(node):
                    if isinstance(inner, ast.Attribute) and inner.attr == "api":
                        functions[(path.name, node.name)] = True
        module_level = [n for n in tree.body if not isinstance(n, (ast.FunctionDef, ast.ClassDef))]
        assert not any(isinstance(i, ast.Attribute) and i.attr == "api"
                       for n in module_level for i in ast.walk(n)), path.name
    assert functions, "expected the platform functions"
    for file, name in functions:
        assert file == "platforms.py", (file, name)
        assert name.endswith(("_windows", "_mac")), name
        base = name.rsplit("_", 1)[0]
        from xl_plan.excel import platforms
        assert callable(getattr(platforms, base + "_windows")) and callable(getattr(platforms, base + "_mac"))
        assert callable(getattr(platforms, base)), base


@pytest.mark.parametrize("platform", ["windows", "macos"])
def test_sheet_visibility_is_written_on_each_platform(tmp_path, monkeypatch, platform):
    import openpyxl

    from xl_plan.excel.bridge import apply_changes
    from xl_plan.io.diff import WorkbookChanges

    wb = openpyxl.Workbook()
    for name in ("Keys", "Old", "Back"):
        wb.create_sheet(name)
    wb["Back"].sheet_state = "hidden"
    wb.save(tmp_path / "plan.xlsx")
    book = FakeBook(tmp_path / "plan.xlsx", platform=platform)
    install(monkeypatch, book)
    changes = WorkbookChanges(hidden_sheets={"Keys": "veryHidden", "Old": "hidden", "Back": "visible"})
    apply_changes(book, changes, tmp_path / "plan.xlsx")
    assert book._ops.of("visibility") == [("visibility", "Keys", "veryHidden"), ("visibility", "Old", "hidden"),
                                          ("visibility", "Back", "visible")]
    assert [s.visible for s in book.sheets] == [True, False, False, True]
    assert book.app.screen_updating is True and book.app.display_alerts is True


@pytest.mark.parametrize("platform", ["windows", "macos"])
def test_notes_are_added_changed_and_removed_on_each_platform(sample, monkeypatch, platform):
    book = FakeBook(sample("city"), platform=platform)
    install(monkeypatch, book)
    rng = book.sheets[0].range("G5")
    for note in ("Not a RAG status", "Still not one", None):
        _write_cell(rng, CellChange("Improvement Plan", "G5", None, None, note, frozenset({"note"})))
    assert list(book._ops) == [
        ("note", "Improvement Plan", "G5", "Not a RAG status"), ("note", "Improvement Plan", "G5", "Still not one"),
        ("note-delete", "Improvement Plan", "G5")]
    assert rng.note is None


def test_macos_opens_the_result_inside_excels_sandbox(sample, monkeypatch, tmp_path):
    """Excel for Mac asks to grant access to a file outside its container: the result it copies
    sheets from is put in the container, and removed after."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    path = sample("city")
    book = FakeBook(path, platform="macos")
    install(monkeypatch, book)
    ribbon.dispatch("validate")
    container = tmp_path / "home" / "Library" / "Containers" / "com.microsoft.Excel" / "Data" / "xl_plan"
    assert book._ops.of("open") == [("open", str(container / f"xl_plan result{path.suffix}"))]
    assert not list(container.iterdir())
    assert book.app._alerts[-1].startswith("Checked 55 actions")


@pytest.mark.parametrize("platform, opener", [("windows", "startfile"), ("macos", "open")])
def test_open_log_on_each_platform(sample, monkeypatch, tmp_path, platform, opener):
    import os
    import subprocess

    from xl_plan.log import log_path

    log_path().write_text("earlier\n")
    opened = []
    monkeypatch.setattr(os, "startfile", lambda p: opened.append(("startfile", p)), raising=False)
    monkeypatch.setattr(subprocess, "Popen", lambda args: opened.append(tuple(args)))
    book = FakeBook(sample("city"), platform=platform)
    install(monkeypatch, book)
    ribbon.dispatch("open_log")
    assert opened == [(opener, str(log_path()))]
    assert book.app._alerts[-1] == f"Opened the log {log_path()}."


def test_readme_lists_each_platform_function():
    """The README's platform table names every call that differs between Windows and macOS."""
    import inspect

    from xl_plan.excel import platforms

    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("### Windows and macOS"):readme.index("## How plans are read")]
    chosen = [name for name, f in vars(platforms).items() if inspect.isfunction(f) and f.__module__ == platforms.__name__
              and callable(getattr(platforms, name + "_mac", None))]
    assert sorted(chosen) == ["openable_folder", "very_hide"]
    for name in chosen:
        assert f"platforms.{name}" in section, name
    for call in ("add_note", "sheet.visible", "book.macro", "app.books.open", "Book.caller", "Interpreter_Mac",
                 "xlwings runpython install"):
        assert call in readme, call


def test_merge_button_finds_returns_as_consolidate_does(sample, monkeypatch, tmp_path, platform):
    """Merge returns looks in sub-folders and in saved emails, by the one collector (returns/collect.py)."""
    from email.message import EmailMessage

    import openpyxl

    from xl_plan.jobs import make_returns_file
    from xl_plan.returns.identity import read_identity

    path = sample("city")
    made = make_returns_file(path, "2026-11", tmp_path / "out")
    ret = made.returns[0].path
    wb = openpyxl.load_workbook(ret)
    ident = read_identity(wb)
    wb[ident.return_sheet][f"{ident.update_column}{ident.rows[0].return_row}"] = "Filled in by the lead"
    filled = tmp_path / ret.name
    wb.save(filled)
    back = tmp_path / "back"
    (back / "inbox").mkdir(parents=True)
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "Lead <lead@example.org>", "team@example.org", "Return"
    msg.set_content("Attached.")
    msg.add_attachment(filled.read_bytes(), maintype="application",
                       subtype="vnd.openxmlformats-officedocument.spreadsheetml.sheet", filename=ret.name)
    (back / "inbox" / "return.eml").write_bytes(bytes(msg))

    book = FakeBook(path, answers={"XlPlanPickFolder": str(back)}, platform=platform)
    install(monkeypatch, book)
    ribbon.dispatch("merge")
    written = [op for op in book._ops.of("value") if op[1] == "Improvement Plan"]
    assert any(str(op[3]).startswith("Update November 2026: Filled in by the lead") for op in written)


@pytest.mark.slow
def test_report_button_prints_the_board_report_beside_the_plan(tmp_path, monkeypatch, platform):
    from datetime import date

    from tests.board import board_master
    from tests.conftest import SAMPLES
    from xl_plan import render

    pytest.importorskip("pandas")       # imported before the stand-in sets sys.platform to the book's
    path = board_master(SAMPLES["birmingham"], tmp_path)
    monkeypatch.setattr(render, "soffice", lambda: None)        # the PDF itself: tests/test_print.py
    monkeypatch.setattr(ribbon, "date", type("D", (), {"today": staticmethod(lambda: date(2026, 11, 20))}))
    book = FakeBook(path, platform=platform)
    install(monkeypatch, book)
    before = path.read_bytes()
    ribbon.dispatch("report")
    assert book._ops[0] == ("save", str(path))                     # the report reads what the user sees
    report = path.parent / "reports" / "2026-11" / "2026-11 board report.xlsx"
    assert report.exists(), book.app._alerts
    assert "board report workbook" in book.app._alerts[-1]
    assert path.read_bytes() == before                             # the plan is only read
    assert book.app.status_bar is False
