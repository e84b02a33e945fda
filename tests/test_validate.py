"""validate(): each finding code, its position and message; counts; the CLI's table, JSON and exit codes."""
import json
from datetime import date

import openpyxl
from click.testing import CliRunner

from tests.builders import colour_key_plan, solid
from tests.conftest import SAMPLES
from xl_plan import read_plan, validate
from xl_plan.cli import cli


def _plan_with(tmp_path, rows, key=True, fills=None):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Plan"
    if key:
        for r, (word, colour) in enumerate([("GREEN On Target", "00B050"), ("AMBER Delays", "FFC000"),
                                            ("RED Major Issues", "FF0000"), ("BLUE Complete", "0070C0")], 1):
            ws.cell(r, 1, word).fill = solid(colour)
    ws.append([])
    ws.append(["Ref", "Action", "Lead", "Timescale", "Update", "Status"])
    for row in rows:
        ws.append(row)
    for coord, colour in (fills or {}).items():
        ws[coord].fill = solid(colour)
    path = tmp_path / "plan.xlsx"
    wb.save(path)
    return path


def codes(report):
    return sorted((f.code, f.row, f.column) for f in report.findings)


def test_each_finding(tmp_path):
    path = _plan_with(tmp_path, [
        ["1.1", "Fine", "GT", "Dec-30", "All good", "Green"],          # row 7: valid
        ["1.2", "No status", "GT", "Dec-30", "x", None],                # missing-status
        ["1.3", "Odd status", "GT", "Dec-30", "x", "Purple"],           # status-not-in-key
        ["1.4", "Mismatch", "GT", "Dec-30", "x", "Green"],              # text-colour-mismatch (red fill)
        ["1.5", "Done no update", "GT", "Dec-30", None, "Blue"],        # complete-without-update
        ["1.6", "Red no update", "GT", "Dec-30", None, "RED "],         # red-without-update
        ["1.7", "Overdue", "GT", "Mar-24", "x", "g"],                   # overdue-on-track
        ["1.7", "Same ref", "GT", "Dec-30", "x", "Grn"],                # duplicate-ref (with row 13)
        ["1.9", "No date", "GT", None, "x", "Amber"],                   # missing-timescale
    ], fills={"F10": "FF0000"})
    plan = read_plan(path)
    report = validate(plan, today=date(2026, 11, 22))
    assert codes(report) == [
        ("complete-without-update", 11, "E"),
        ("duplicate-ref", 13, "A"), ("duplicate-ref", 14, "A"),
        ("missing-status", 8, "F"),
        ("missing-timescale", 15, "D"),
        ("overdue-on-track", 13, "D"),
        ("red-without-update", 12, "E"),
        ("status-not-in-key", 9, "F"),
        ("text-colour-mismatch", 10, "F"),
    ]
    by_code = {f.code: f for f in report.findings}
    assert by_code["status-not-in-key"].value == "Purple"
    assert "Green (On Target)" in by_code["status-not-in-key"].message
    assert "31 March 2024" in by_code["overdue-on-track"].message
    assert "coloured red" in by_code["text-colour-mismatch"].message
    assert report.counts_by_status == {"amber": 1, "blue": 1, "green": 4, "missing": 1, "purple": 1, "red": 1}
    assert not report.valid


def test_today_is_a_parameter(tmp_path):
    path = _plan_with(tmp_path, [["1", "A", "GT", "Mar-24", "x", "Green"]])
    plan = read_plan(path)
    assert not [f for f in validate(plan, today=date(2024, 3, 31)).findings if f.code == "overdue-on-track"]
    assert [f for f in validate(plan, today=date(2024, 4, 1)).findings if f.code == "overdue-on-track"]


def test_colour_statuses_need_no_text(tmp_path):
    report = validate(read_plan(colour_key_plan(tmp_path / "c.xlsx")), today=date(2023, 1, 1))
    found = codes(report)
    assert ("red-without-update", 20, "H") in found
    assert not [f for f in report.findings if f.code in ("missing-status", "status-not-in-key")]
    assert report.counts_by_status == {"amber": 1, "blue": 2, "green": 1, "red": 1}


def test_no_key_is_said(tmp_path):
    report = validate(read_plan(SAMPLES["city"]), today=date(2017, 1, 1))
    assert [f for f in report.findings if f.code == "no-rag-key"][0].severity == "info"


def test_progress_text_statuses_are_marked_derived(tmp_path):
    report = validate(read_plan(SAMPLES["barking"]), today=date(2014, 10, 1))
    derived = [f for f in report.findings if f.code == "status-from-progress-text"]
    assert len(derived) == 53 and all(f.severity == "info" for f in derived)
    missing = [f for f in report.findings if f.code == "missing-status"]
    assert {f.row for f in missing} == {12, 15, 27, 38, 48, 53, 75, 91}
    assert all(f.severity == "warning" for f in missing)
    assert [f for f in report.findings if f.code == "duplicate-ref" and f.row == 53]


def test_cli_json_and_exit_codes(tmp_path):
    runner = CliRunner()
    result = runner.invoke(cli, ["validate", str(SAMPLES["birmingham"]), "--json", "--today", "2023-05-01"])
    assert result.exit_code == 1, result.output
    data = json.loads(result.output)
    assert set(data) == {"findings", "counts"}
    assert set(data["findings"][0]) == {"sheet", "row", "column", "code", "severity", "message", "value"}
    assert data["counts"]["by_status"] == {"missing": 27}
    assert data["counts"]["by_code"]["missing-status"] == 27

    ok = _plan_with(tmp_path, [["1", "A", "GT", "Dec-30", "x", "Green"]])
    result = runner.invoke(cli, ["validate", str(ok), "--today", "2026-11-22"])
    assert result.exit_code == 0, result.output
    assert "0 errors, 0 warnings" in result.output


def test_cli_table_names_cell_and_what_to_do():
    result = CliRunner().invoke(cli, ["validate", str(SAMPLES["city"]), "--today", "2017-06-01"])
    assert result.exit_code == 1     # warnings only: still something for you
    assert "Improvement Plan!E" in result.output and "overdue-on-track" in result.output
    assert "Update its status" in result.output
