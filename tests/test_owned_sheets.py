"""The one registry of xl_plan's sheets (xl_plan/owned.py): xl_plan knows its sheets by its own
marker, never by name alone, so a council's own sheet called Summary, Gantt or Validation is theirs."""
from __future__ import annotations

import openpyxl

from tests.conftest import SAMPLES
from xl_plan import read_plan
from xl_plan.jobs import gantt_file, unmark_file, validate_file
from xl_plan.owned import LEADS, REGISTRY, SETTINGS, VALIDATION, owned_kind


def _renamed(src, dest, name):
    wb = openpyxl.load_workbook(src)
    wb[read_plan(src).sheet].title = name
    wb.save(dest)
    return dest


def test_a_councils_own_plan_sheet_called_summary_is_read(tmp_path):
    path = _renamed(SAMPLES["city"], tmp_path / "plan.xlsx", "Summary")
    plan = read_plan(path)
    assert plan.sheet == "Summary" and len(plan.actions) == 55


def test_xl_plan_writes_its_own_sheet_beside_a_users_sheet_of_that_name(tmp_path):
    path = _renamed(SAMPLES["city"], tmp_path / "plan.xlsx", "Gantt")
    result = gantt_file(path, today=None)
    assert result.plan.sheet == "Gantt" and result.sheet == "Gantt (xl_plan)"
    again = gantt_file(path)                       # the second run replaces xl_plan's, not the plan
    assert again.plan.sheet == "Gantt" and again.sheet == "Gantt (xl_plan)"
    assert openpyxl.load_workbook(path).sheetnames.count("Gantt (xl_plan)") == 1


def test_unmark_removes_what_the_registry_says_and_only_xl_plans(tmp_path):
    path = _renamed(SAMPLES["city"], tmp_path / "plan.xlsx", "Validation")
    validate_file(path, write=True)
    assert "Validation (xl_plan)" in openpyxl.load_workbook(path).sheetnames
    unmark_file(path)
    names = openpyxl.load_workbook(path).sheetnames
    assert "Validation" in names and "Validation (xl_plan)" not in names
    assert {k.name for k in REGISTRY if k.unmark} == {"Validation", "Carried forward"}


def test_kinds_are_told_by_marker_not_name():
    assert owned_kind("Validation", ["xl_plan · Validation report"]) is VALIDATION
    assert owned_kind("Validation (xl_plan)", ["xl_plan · Validation report"]) is VALIDATION
    assert owned_kind("Validation", ["Our own validation notes"]) is None
    assert owned_kind("Summary", ["Improvement plan summary"]) is None
    assert owned_kind("xl_plan", ["plan_id"]) is SETTINGS
    assert owned_kind("Leads", ["As written in plan"]) is LEADS and not LEADS.whole
    assert owned_kind("Leads", ["Our lead officers"]) is None


def test_validation_and_summary_kept_as_records_save_as_openpyxl_cells():
    """The jobs keep the Validation and Summary tables' cells as records (`records=True`), which
    io/save.py's scratch save writes: the package is byte for byte the one openpyxl cells give, links,
    severity fills, centred figures, the chase list and the decisions included."""
    from dataclasses import replace
    from datetime import date

    from tests.package_compare import saved_parts
    from xl_plan.merge.summary import Chase, summarise
    from xl_plan.plan_file import open_plan
    from xl_plan.validate import validate
    from xl_plan.writers.summary import write_summary
    from xl_plan.writers.validation import write_validation

    today = date(2017, 6, 1)
    for name in ("birmingham", "barking", "city"):
        def parts(records: bool, name: str = name) -> dict:
            wb, plan, _ = open_plan(SAMPLES[name])
            report = validate(plan, today)
            write_validation(wb, plan, report, today, records=records)
            summary = replace(summarise(plan, [], "2017-05", today), chase=[Chase("AB", "A Bee", "ab@example.org")],
                              to_decide=report.sorted()[:5])
            write_summary(wb, summary, records=records)
            return saved_parts(wb, records)

        cells, records = parts(False), parts(True)
        assert sorted(cells) == sorted(records), name
        for part in cells:
            assert cells[part] == records[part], (name, part)
        assert any(b"location=" in data for part, data in records.items() if part.startswith("xl/worksheets/sheet")), name
