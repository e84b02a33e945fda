"""validate --write: the Validation sheet and cell marks are added, replaced and removed, while the
rest of the workbook stays exactly as the user made it; backups and atomic saves."""
import hashlib
import os
from datetime import date

import openpyxl
import pytest
from click.testing import CliRunner
from openpyxl.comments import Comment
from openpyxl.formatting.rule import CellIsRule
from openpyxl.styles import PatternFill
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.datavalidation import DataValidation

from tests.workbook_compare import snapshot
from xl_plan.cli import cli
from xl_plan.jobs import validate_file


def decorate(path):
    """Give a sample plan the things users add: validation, conditional formatting, names, a comment, a second sheet."""
    wb = openpyxl.load_workbook(path)
    ws = wb.worksheets[0]
    dv = DataValidation(type="list", formula1='"Green,Amber,Red,Blue"', allow_blank=True)
    dv.add("G11:G42")
    ws.add_data_validation(dv)
    ws.conditional_formatting.add("G11:G42", CellIsRule(operator="equal", formula=['"Red"'], fill=PatternFill("solid", fgColor="FF0000")))
    wb.defined_names["PlanTable"] = DefinedName("PlanTable", attr_text=f"'{ws.title}'!$B$9:$G$42")
    ws["D12"].comment = Comment("Check with LH", "Manager")
    ws.column_dimensions["C"].width = 77
    other = wb.create_sheet("Board notes")
    other["A1"] = "Notes for the board"
    wb.save(path)
    return path


def sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_write_keeps_everything_else(sample):
    path = decorate(sample("birmingham"))
    before = snapshot(path)
    result = validate_file(path, today=date(2023, 5, 1), write=True)
    assert result.saved.backup.exists() and result.saved.backup.parent.name == "backups"
    after = snapshot(path, skip_sheets=("Validation",))
    assert after == before

    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["Improvement Plan", "Board notes", "Validation"]
    v = wb["Validation"]
    assert v["A1"].value.startswith("xl_plan")
    assert [c.value for c in v[5]] == ["Severity", "Code", "Sheet", "Cell", "Value", "What to do"]
    assert v["B6"].value == "missing-status" and v["D6"].value == "G11"
    assert v["D6"].hyperlink.location == "'Improvement Plan'!G11" and not v["D6"].hyperlink.target   # a link inside the workbook
    plan_ws = wb["Improvement Plan"]
    assert plan_ws["G11"].comment.author == "xl_plan" and "No RAG status" in plan_ws["G11"].comment.text
    assert plan_ws["D12"].comment.author == "Manager"           # the user's comment is untouched
    assert not list(path.parent.glob("~xl_plan-*"))               # no temporary file left behind


def test_second_write_replaces_not_duplicates(sample):
    path = sample("city")
    validate_file(path, today=date(2017, 6, 1), write=True)
    first = openpyxl.load_workbook(path)["Validation"].max_row
    validate_file(path, today=date(2017, 6, 1), write=True)
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["Improvement Plan", "Validation"]
    assert wb["Validation"].max_row == first
    assert len(list((path.parent / "backups").iterdir())) == 2


def test_users_own_validation_sheet_is_left_alone(sample):
    path = sample("city")
    wb = openpyxl.load_workbook(path)
    wb.create_sheet("Validation")["A1"] = "My own checks"
    wb.save(path)
    validate_file(path, today=date(2017, 6, 1), write=True)
    wb = openpyxl.load_workbook(path)
    assert wb["Validation"]["A1"].value == "My own checks"
    assert wb["Validation (xl_plan)"]["A1"].value.startswith("xl_plan")


def test_unmark_removes_what_write_added(sample):
    path = decorate(sample("birmingham"))
    before = snapshot(path)
    validate_file(path, today=date(2023, 5, 1), write=True)
    result = CliRunner().invoke(cli, ["unmark", str(path)])
    assert result.exit_code == 0, result.output
    assert snapshot(path) == before
    wb = openpyxl.load_workbook(path)
    assert "Validation" not in wb.sheetnames
    assert not [c for row in wb["Improvement Plan"].iter_rows() for c in row if c.comment and c.comment.author == "xl_plan"]


def test_write_refused_when_open_in_excel(sample):
    path = sample("city")
    (path.parent / f"~${path.name}").write_bytes(b"owner")
    digest = sha(path)
    result = CliRunner().invoke(cli, ["validate", str(path), "--write"])
    assert result.exit_code == 2
    assert "open in Excel" in str(result.exception) or "open in Excel" in result.output
    assert sha(path) == digest


def test_write_refused_when_changed_on_disk(sample, monkeypatch):
    """If someone saves the file between our read and our write, nothing is written."""
    import xl_plan.jobs as jobs
    import xl_plan.plan_file as plan_file
    from xl_plan.errors import WorkbookLockedError

    path = sample("city")
    real_open = plan_file.open_plan

    def open_then_someone_saves(*a, **k):
        out = real_open(*a, **k)
        path.write_bytes(path.read_bytes() + b"")   # same bytes, new mtime
        import os
        import time
        os.utime(path, ns=(time.time_ns(), time.time_ns() + 10_000_000))
        return out

    monkeypatch.setattr(plan_file, "open_plan", open_then_someone_saves)
    digest = sha(path)
    try:
        jobs.validate_file(path, write=True)
        raise AssertionError("expected a refusal")
    except WorkbookLockedError as exc:
        assert "changed on disk" in str(exc)
    assert sha(path) == digest


def test_formula_like_text_is_written_as_text(tmp_path):
    from xl_plan.sheets import put

    wb = openpyxl.Workbook()
    put(wb.active, 1, 1, '=HYPERLINK("http://evil","click")')
    wb.save(tmp_path / "t.xlsx")
    cell = openpyxl.load_workbook(tmp_path / "t.xlsx").active["A1"]
    assert cell.data_type == "s" and cell.value.startswith("=HYPERLINK")


def test_write_keeps_macros_and_ribbon(sample, tmp_path):
    """openpyxl drops a customUI14 ribbon on save: the save path puts it back and checks it."""
    from xl_plan.io.package import check_macros_and_ribbon, has_macros, ribbon_parts
    from xl_plan.template.attach import attach

    xlsm = attach(sample("city"), tmp_path / "city.xlsm")
    original = tmp_path / "original.xlsm"
    original.write_bytes(xlsm.read_bytes())
    before = snapshot(xlsm)
    validate_file(xlsm, today=date(2017, 6, 1), write=True)
    assert has_macros(xlsm)
    assert all(part["present"] for part in ribbon_parts(xlsm).values())
    assert check_macros_and_ribbon(original, xlsm) == []
    assert snapshot(xlsm, skip_sheets=("Validation",)) == before


def add_form_control(path):
    """Give the workbook a form-control part (a checkbox's properties), which openpyxl does not keep."""
    import zipfile

    src = path.read_bytes()
    tmp = path.with_suffix(".tmp")
    with zipfile.ZipFile(path) as zin, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == "[Content_Types].xml":
                data = data.replace(b"</Types>", b'<Override PartName="/xl/ctrlProps/ctrlProp1.xml" '
                                    b'ContentType="application/vnd.ms-excel.controlproperties+xml"/></Types>')
            zout.writestr(item, data)
        zout.writestr("xl/ctrlProps/ctrlProp1.xml", b'<?xml version="1.0" encoding="UTF-8"?>'
                      b'<formControlPr xmlns="http://schemas.microsoft.com/office/spreadsheetml/2009/9/main" objectType="CheckBox"/>')
    tmp.replace(path)
    assert path.read_bytes() != src
    return path


def test_write_keeps_a_form_control_openpyxl_cannot_keep(sample):
    """Nothing is refused for what a workbook holds: the package writer leaves the part as it was."""
    import zipfile

    path = add_form_control(sample("city"))
    with zipfile.ZipFile(path) as zf:
        control = zf.read("xl/ctrlProps/ctrlProp1.xml")
    result = CliRunner().invoke(cli, ["validate", str(path), "--write"])
    assert result.exit_code in (0, 1), result.output
    with zipfile.ZipFile(path) as zf:
        assert zf.read("xl/ctrlProps/ctrlProp1.xml") == control
    assert "Validation" in openpyxl.load_workbook(path).sheetnames
    assert not list(path.parent.glob("~xl_plan-*"))


def test_a_failed_check_of_the_new_package_changes_nothing(sample, monkeypatch):
    import xl_plan.io.graft as graft
    from xl_plan.errors import WriteError
    from xl_plan.jobs import validate_file

    path = sample("city")
    digest = sha(path)
    monkeypatch.setattr(graft, "check_grafted", lambda *a, **k: ["xl/styles.xml lost an element"])
    with pytest.raises(WriteError, match=r"check of the new city_of_london_2017_plan.xlsx failed, so nothing was changed"):
        validate_file(path, write=True)
    assert sha(path) == digest
    assert not list(path.parent.glob("~xl_plan-*")) and not (path.parent / "backups").exists()


def test_a_package_the_writer_cannot_handle_is_left_as_it_was_with_a_plain_message(sample, monkeypatch):
    import xl_plan.io.graft as graft
    from xl_plan.errors import WriteError
    from xl_plan.io.package import PackageError
    from xl_plan.jobs import validate_file

    path = sample("city")
    digest = sha(path)

    def refuse(*a, **k):
        raise PackageError("malformed XML: <row> is not closed")

    monkeypatch.setattr(graft, "graft", refuse)
    with pytest.raises(WriteError) as err:
        validate_file(path, write=True)
    message = str(err.value)
    assert message.startswith(f"xl_plan could not write its changes into {path.name}: malformed XML")
    assert f"Nothing was changed: {path.name} is as it was" in message and "save it there once" in message
    assert sha(path) == digest and not list(path.parent.glob("~xl_plan-*"))


def test_a_colleagues_save_during_the_write_is_never_overwritten(sample, monkeypatch):
    """The 'changed on disk' check runs again right before the rename."""
    import time

    import xl_plan.io.graft as graft
    from xl_plan.errors import WorkbookLockedError
    from xl_plan.jobs import validate_file

    path = sample("city")
    real = graft.graft

    def colleague_saves_meanwhile(*a, **k):
        out = real(*a, **k)
        wb = openpyxl.load_workbook(path)
        wb["Improvement Plan"]["A1"] = "Saved by a colleague"
        wb.save(path)
        os.utime(path, ns=(time.time_ns(), time.time_ns() + 10_000_000))
        return out

    monkeypatch.setattr(graft, "graft", colleague_saves_meanwhile)
    with pytest.raises(WorkbookLockedError, match="changed on disk"):
        validate_file(path, write=True)
    assert openpyxl.load_workbook(path)["Improvement Plan"]["A1"].value == "Saved by a colleague"
    assert not list(path.parent.glob("~xl_plan-*"))


def test_temporary_files_a_killed_run_left_are_cleaned_up(sample):
    from xl_plan.jobs import validate_file

    path = sample("city")
    dead = path.with_name(f"~xl_plan-999999999-{path.name}")     # no such process
    dead.write_bytes(b"half a file")
    mine = path.with_name(f"~xl_plan-{os.getpid()}-other.xlsx")  # this process's own: not touched
    mine.write_bytes(b"x")
    validate_file(path, write=True)
    assert not dead.exists() and mine.exists()


def test_ribbon_works_on_a_workbook_with_a_form_control(sample, monkeypatch):
    """In Excel the form control is never at risk: only xl_plan's sheet and changed cells go back."""
    from tests.xlwings_standin import FakeBook, install
    from xl_plan.excel import ribbon

    path = add_form_control(sample("city"))
    book = FakeBook(path)
    install(monkeypatch, book)
    ribbon.dispatch("validate")
    assert book.app._alerts[-1].startswith("Checked 55 actions")
    assert ("copy-sheet", "Validation", 2) in book._ops
    assert not book._ops.of("delete-sheet")



def test_a_job_pauses_the_garbage_collector_only_while_it_runs(tmp_path, monkeypatch):
    """Jobs run with the cyclic collector paused (a large plan's objects are not walked again and
    again); it runs again afterwards, also when the job fails."""
    import gc
    import importlib

    from xl_plan.errors import XlPlanError

    checks = importlib.import_module("xl_plan.validate")    # the module (xl_plan.validate is also a function)
    during = []
    real = checks.validate

    def spy(plan, today):
        during.append(gc.isenabled())
        return real(plan, today)

    monkeypatch.setattr(checks, "validate", spy)
    import shutil

    from conftest import SAMPLES

    plan = tmp_path / "plan.xlsx"
    shutil.copyfile(SAMPLES["city"], plan)
    assert gc.isenabled()
    validate_file(plan, write=True)
    assert during == [False] and gc.isenabled()
    with pytest.raises(XlPlanError):
        validate_file(tmp_path / "missing.xlsx", write=True)
    assert gc.isenabled()
