"""Page breaks: the header repeated at the top of each printed page, and the row it split."""
from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest

from xl_plan import read_plan

HEADER = ["Recommendation", "Ref", "Action", "Lead", "Timescale", "Update", "Status"]


def page_break_plan(path: Path, rows) -> Path:
    """A plan with the header repeated (as each printed page starts) among `rows` (None: a header)."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Plan"
    ws["A1"] = "Improvement plan"
    r = 3
    for row in [None, *rows]:
        for c, v in enumerate(HEADER if row is None else row, 1):
            if v is not None:
                ws.cell(r, c, v)
        r += 1
    wb.save(path)
    return path


def test_a_row_after_a_repeated_header_continues_the_action_above(tmp_path):
    path = page_break_plan(tmp_path / "p.xlsx", [
        ["Children are seen", "1.1", "Audit visits to", "GT", "Mar-24", "Audit started in", "Green"],
        None,
        ["alone by their social worker", None, "children seen alone", None, None, "January 2024.", None],
        [None, "1.2", "Train managers", "LH", "Jun-24", "Booked", "Amber"],
    ])
    plan = read_plan(path)
    assert plan.header_rows == [3, 5]
    a, b = plan.actions
    assert a.rows == [4, 6]
    assert a.text == "Audit visits to\nchildren seen alone"
    assert a.update == "Audit started in\nJanuary 2024."
    assert a.recommendation == "Children are seen alone by their social worker"
    assert b.recommendation == "Children are seen alone by their social worker"      # same as above
    assert (b.ref, b.rows) == ("1.2", [7])
    assert [(d.kind, d.row) for d in plan.decisions] == [("folded-row", 6)]
    assert "row 4" in plan.decisions[0].message and "page break" in plan.decisions[0].message


def test_an_update_only_row_after_a_header_is_not_an_action_without_text(tmp_path):
    path = page_break_plan(tmp_path / "p.xlsx", [
        ["Rec", "1.1", "Audit", "GT", "Mar-24", "First half", "Green"],
        None,
        [None, None, None, None, None, "second half of the update", None],
    ])
    plan = read_plan(path)
    assert len(plan.actions) == 1 and plan.actions[0].rows == [4, 6]
    assert plan.actions[0].update == "First half\nsecond half of the update"


def test_the_tail_of_a_recommendation_joins_the_recommendation_above(tmp_path):
    path = page_break_plan(tmp_path / "p.xlsx", [
        ["Ensure that strategy discussions", "1.1", "Audit", "GT", "Mar-24", "", "Green"],
        [None, "1.2", "Train", "LH", "Jun-24", "", "Amber"],
        None,
        ["are timely and recorded", None, None, None, None, None, None],
        [None, "1.3", "Report", "MW", "Sep-24", "", "Green"],
        ["Permanence is planned early", "2.1", "Track", "DM", "Dec-24", "", "Green"],
    ])
    plan = read_plan(path)
    recs = [a.recommendation for a in plan.actions]
    full = "Ensure that strategy discussions are timely and recorded"
    assert recs == [full, full, full, "Permanence is planned early"]
    assert plan.findings_without_actions == []
    assert [a.ref for a in plan.actions] == ["1.1", "1.2", "1.3", "2.1"]
    assert plan.actions[1].rows == [5, 7]
    assert [d.kind for d in plan.decisions] == ["recommendation-tail"]


def test_the_tail_of_a_finding_without_actions_joins_it(tmp_path):
    path = page_break_plan(tmp_path / "p.xlsx", [
        ["Managers oversee", None, None, None, None, None, None],
        None,
        ["supervision", None, None, None, None, None, None],
        ["Next finding", "2.1", "Track", "DM", "Dec-24", "", "Green"],
    ])
    plan = read_plan(path)
    assert plan.findings_without_actions == [(4, "Managers oversee supervision")]
    assert len(plan.actions) == 1


@pytest.mark.parametrize("row", [
    [None, "1.2", "Next action", None, None, None, None],          # a ref
    [None, None, "Next action", "LH", None, None, None],           # a lead
    [None, None, "Next action", None, "Jun-24", None, None],       # a timescale
    [None, None, "Next action", None, None, None, "Amber"],        # a status
])
def test_a_row_with_a_ref_lead_timescale_or_status_after_a_header_is_a_new_action(tmp_path, row):
    path = page_break_plan(tmp_path / "p.xlsx", [["Rec", "1.1", "Audit", "GT", "Mar-24", "", "Green"], None, row])
    plan = read_plan(path)
    assert len(plan.actions) == 2 and plan.actions[0].rows == [4] and plan.actions[1].rows == [6]
    assert plan.decisions == []


def test_a_coloured_status_cell_makes_a_new_action(tmp_path):
    from tests.builders import solid

    path = page_break_plan(tmp_path / "p.xlsx", [["Rec", "1.1", "Audit", "GT", "Mar-24", "", None], None,
                                                  [None, None, "Next action", None, None, None, None]])
    wb = openpyxl.load_workbook(path)
    wb.active["G6"].fill = solid("00B050")
    wb.save(path)
    assert len(read_plan(path).actions) == 2


def test_a_long_recommendation_after_a_header_is_a_new_one(tmp_path):
    long = "Ensure that every child in care has a permanence plan by their second review, agreed with the IRO and recorded"
    path = page_break_plan(tmp_path / "p.xlsx", [["Rec one", "1.1", "Audit", "GT", "Mar-24", "", "Green"], None,
                                                  [long, None, None, None, None, None, None]])
    plan = read_plan(path)
    assert plan.findings_without_actions == [(6, long)] and plan.actions[0].recommendation == "Rec one"


def test_a_folded_row_is_read_again_the_same_after_a_merge(tmp_path):
    from xl_plan.io.workbook import load
    from xl_plan.layout.detect import reread_actions

    path = page_break_plan(tmp_path / "p.xlsx", [
        ["Rec", "1.1", "Audit visits to", "GT", "Mar-24", "Started", "Green"], None,
        ["tail", None, "children seen alone", None, None, "more", None],
    ])
    wb = load(path)
    plan = read_plan(path, workbook=wb)
    wb["Plan"]["F4"] = "New update"
    again = reread_actions(wb, plan, [4]).actions[0]
    assert again.rows == [4, 6] and again.text == "Audit visits to\nchildren seen alone"
    assert again.update == "New update\nmore" and again.recommendation == "Rec tail"


@pytest.mark.parametrize("name", ["barking_dagenham_2014_plan.xlsx", "city_of_london_2017_plan.xlsx",
                                  "birmingham_2023_plan.xlsx"])
def test_the_sample_plans_fold_no_row(name):
    plan = read_plan(Path(__file__).parent / "fixtures" / name)
    assert [d for d in plan.decisions if d.kind in ("folded-row", "recommendation-tail")] == []


def test_inspect_shows_the_folded_rows(tmp_path):
    import json

    from click.testing import CliRunner

    from xl_plan.cli import cli

    path = page_break_plan(tmp_path / "p.xlsx", [
        ["Rec", "1.1", "Audit visits to", "GT", "Mar-24", "Started", "Green"], None,
        [None, None, "children seen alone", None, None, "more", None],
    ])
    out = CliRunner().invoke(cli, ["inspect", str(path)])
    assert out.exit_code == 0, out.output
    assert "Row 6, right after the repeated header in row 5" in out.output and "action in row 4" in out.output
    data = json.loads(CliRunner().invoke(cli, ["inspect", str(path), "--json"]).output)
    assert [(d["kind"], d["row"]) for d in data["decisions"]] == [("folded-row", 6)]
