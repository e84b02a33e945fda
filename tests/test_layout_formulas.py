"""Statuses, timescales and leads computed by formulas: the values Excel saved are read, and
formulas with no saved result are reported once."""
from __future__ import annotations

import re
import shutil
import zipfile
from datetime import date
from pathlib import Path

import openpyxl
import pytest

from xl_plan import read_plan, validate

HEADER = ["Ref", "Action", "Lead", "Timescale", "Score", "Update", "RAG"]


def formula_plan(path: Path, saved: dict[str, tuple[str, str]] | None = None) -> Path:
    """A plan whose RAG (G), timescale (D) and lead (C) cells are formulas, as councils compute them.
    openpyxl saves no results; `saved` ({cell: (type, text)}) writes the results Excel would have saved
    into the sheet XML (type "str", "n" or "e")."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Plan"
    ws["A1"] = "GREEN On Target for delivery"
    ws["A2"] = "AMBER Delays / Issues but delivery on course"
    ws["A3"] = "RED Major Issues preventing delivery"
    ws.append([])
    for c, h in enumerate(HEADER, 1):
        ws.cell(5, c, h)
    leads = wb.create_sheet("Lookup")
    leads["A1"], leads["B1"] = "1.1", "GT"
    rows = [
        ("1.1", "Audit strategy discussions", "=Lookup!B1", "=DATE(2024,3,31)", 0.9, "Audits done."),
        ("1.2", "Train managers", "LH", "Jun-24", 0.6, "Booked."),
        ("1.3", "Recruit IROs", "DM", "Dec-23", 0.2, "Two posts vacant."),
    ]
    for i, (ref, action, lead, ts, score, update) in enumerate(rows):
        r = 6 + i
        for c, v in enumerate([ref, action, lead, ts, score, update], 1):
            ws.cell(r, c, v)
        ws.cell(r, 4).number_format = "mmm-yy"
        ws.cell(r, 7, f'=IF(E{r}>=0.8,"GREEN",IF(E{r}>=0.5,"AMBER","RED"))')
    wb.save(path)
    if saved:
        _write_results(path, saved)
    return path


def _write_results(path: Path, saved) -> None:
    tmp = path.with_suffix(".tmp")
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                xml = data.decode()
                for ref, (kind, text) in saved.items():
                    xml, n = re.subn(rf'<c r="{ref}"([^>]*)>(<f>.*?</f>)<v\s*/>',
                                     rf'<c r="{ref}"\1 t="{kind}">\2<v>{text}</v>', xml)
                    assert n == 1, ref
                data = xml.encode()
            dst.writestr(item, data)
    shutil.move(tmp, path)


SAVED = {"G6": ("str", "GREEN"), "G7": ("str", "AMBER"), "G8": ("str", "RED"),
         "C6": ("str", "GT"), "D6": ("n", "45382")}


def test_statuses_timescales_and_leads_are_the_values_excel_saved(tmp_path):
    plan = read_plan(formula_plan(tmp_path / "f.xlsx", SAVED))
    assert [a.status.code for a in plan.actions] == ["green", "amber", "red"]
    assert all(a.status.in_key and a.status.raw for a in plan.actions)
    a = plan.actions[0]
    assert a.leads == ["GT"] and a.lead_text == "GT"
    from xl_plan.checks.timescale import action_end
    assert action_end(a) == date(2024, 3, 31)
    report = validate(plan, today=date(2023, 1, 1))
    codes = {f.code for f in report.findings}
    assert "status-not-in-key" not in codes and "formula-without-value" not in codes
    kinds = {(d.kind, d.column) for d in plan.decisions}
    assert {("formula-values", "G"), ("formula-values", "C"), ("formula-values", "D")} <= kinds


def test_formulas_with_no_saved_result_are_reported_once(tmp_path):
    plan = read_plan(formula_plan(tmp_path / "f.xlsx"))       # written by a program that does not calculate
    assert [a.status for a in plan.actions] == [None, None, None]
    assert plan.actions[0].lead_text == "" and plan.actions[0].timescale_text == ""
    report = validate(plan, today=date(2023, 1, 1))
    found = [f for f in report.findings if f.code == "formula-without-value"]
    assert len(found) == 1
    f = found[0]
    assert f.severity == "error" and f.value == 5 and (f.row, f.column) == (6, "C")
    assert "Open the file in Excel, save it" in f.message and "G (status)" in f.message
    codes = [x.code for x in report.findings]
    assert "missing-status" not in codes and "missing-timescale" not in codes and "status-not-in-key" not in codes
    assert "formula-without-value" in {d.kind for d in plan.decisions}


def test_some_results_saved_some_not(tmp_path):
    plan = read_plan(formula_plan(tmp_path / "f.xlsx", {"G6": ("str", "GREEN"), "G7": ("str", "")}))
    assert plan.actions[0].status.code == "green"
    assert plan.actions[1].status is None                    # saved as blank: a real missing status
    report = validate(plan, today=date(2023, 1, 1))
    missing = [f.row for f in report.findings if f.code == "missing-status"]
    assert missing == [7]                                    # G8 has no saved result: in the one finding
    (once,) = [f for f in report.findings if f.code == "formula-without-value"]
    assert once.value == 3                                   # C6, D6, G8


def test_a_formula_error_is_a_status_not_in_the_key(tmp_path):
    plan = read_plan(formula_plan(tmp_path / "f.xlsx", {**SAVED, "G8": ("e", "#N/A")}))
    assert plan.actions[2].status.raw == "#N/A" and not plan.actions[2].status.in_key


def test_saved_results_reads_only_the_cells_asked_for(tmp_path):
    from xl_plan.io.workbook import saved_results

    path = formula_plan(tmp_path / "f.xlsx", SAVED)
    got = saved_results(path, "Plan", [(6, 7), (6, 4), (7, 7), (8, 3)])
    assert got == {(6, 7): "GREEN", (6, 4): 45382, (7, 7): "AMBER", (8, 3): None}
    assert saved_results(tmp_path / "nowhere.xlsx", "Plan", [(6, 7)]) == {(6, 7): None}


def test_formula_results_survive_a_reread(tmp_path):
    from xl_plan.io.workbook import load
    from xl_plan.layout.detect import reread_actions

    path = formula_plan(tmp_path / "f.xlsx", SAVED)
    wb = load(path)
    plan = read_plan(path, workbook=wb)
    wb["Plan"]["F6"] = "New update"
    again = reread_actions(wb, plan, [6]).actions[0]
    assert again.update == "New update" and again.status.code == "green" and again.lead_text == "GT"


def test_the_formula_text_is_kept_in_the_workbook(tmp_path):
    from xl_plan.io.workbook import load

    path = formula_plan(tmp_path / "f.xlsx", SAVED)
    wb = load(path)
    read_plan(path, workbook=wb)
    assert wb["Plan"]["G6"].value.startswith("=IF(")


@pytest.mark.parametrize("name", ["barking_dagenham_2014_plan.xlsx", "city_of_london_2017_plan.xlsx",
                                  "birmingham_2023_plan.xlsx"])
def test_the_sample_plans_have_no_formulas(name):
    plan = read_plan(Path(__file__).parent / "fixtures" / name)
    assert plan.formulas == {} and not [d for d in plan.decisions if d.kind.startswith("formula")]


def test_inspect_shows_the_formula_columns(tmp_path):
    from click.testing import CliRunner

    from xl_plan.cli import cli

    out = CliRunner().invoke(cli, ["inspect", str(formula_plan(tmp_path / "f.xlsx", {"G6": ("str", "GREEN")}))])
    assert out.exit_code == 0, out.output
    assert "Column G (status) holds formulas: read the values Excel saved for them (1 cell)" in out.output
    assert "2 formula cells have no saved result (first G7)" in out.output


def test_saved_results_without_cell_references_and_from_shared_strings(tmp_path):
    """Some programs write cells without their "r" reference, or a result as a shared string."""
    from xl_plan.io.workbook import saved_results

    path = formula_plan(tmp_path / "f.xlsx", SAVED)
    tmp = tmp_path / "g.xlsx"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(tmp, "w") as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                xml = re.sub(r'<c r="[A-Z]+\d+"', "<c", data.decode())
                xml = xml.replace('t="str"><f>IF(E7', 't="s"><f>IF(E7').replace("<v>AMBER</v>", "<v>0</v>")
                data = xml.encode()
            dst.writestr(item, data)
        dst.writestr("xl/sharedStrings.xml", '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
                                             "<si><t>AMBER</t></si></sst>")
    got = saved_results(tmp, "Plan", [(6, 7), (7, 7), (6, 3), (8, 7)])
    assert got == {(6, 7): "GREEN", (7, 7): "AMBER", (6, 3): "GT", (8, 7): "RED"}
