"""Headers that mislead, seen from the values: each column's field is decided from its values as well
as its header, and `inspect` says when the values overrode a header and why."""
from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from xl_plan import read_plan
from xl_plan.cli import cli
from xl_plan.layout.values import LEAD, UPDATE, classify

FIXTURES = Path(__file__).parent / "fixtures"

LEADS = [
    "Assistant Director (Safeguarding)\nHead of Service (Care)",
    "Head of Service (Care)",
    "Assistant Director (Safeguarding)\nHead of Service (Care)\nPrincipal Social Worker",
    "Principal Social Worker",
    "Head of Service (Care)\nAssistant Director (Safeguarding)",
]
UPDATES = [
    "October 2014: audit of 40 cases completed, findings reported to the improvement board in November.",
    "Training delivered to all team managers in September 2014; attendance 92%. Refresher planned for January 2015.",
    "Update Nov 2014: the new tracker is live and reviewed weekly by the service manager with each team.",
    "Revised guidance agreed by the LSCB in December 2014 and circulated to all staff with a briefing.",
    "Recruitment campaign launched 3/11/2014; two posts filled and three interviews arranged for January.",
]


def progress_holds_leads(path: Path, header=("Recommendation", "Action", "Progress", "Timetable End date",
                                             "RAG", "Key points to note"), leads=LEADS, updates=UPDATES,
                         leads_sheet=None) -> Path:
    """The layout `Recommendation | Action | Progress | Timetable End date | RAG | Key points to note`:
    "Progress" holds the leads (two or three per cell) and "Key points to note" the monthly updates."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Action plan"
    ws["A1"] = "Children's Services Improvement Plan"
    for c, h in enumerate(header, 1):
        ws.cell(3, c, h)
    for i, (lead, update) in enumerate(zip(leads, updates)):
        row = [f"Recommendation {i // 2 + 1}: improve practice" if i % 2 == 0 else None,
               f"Action number {i + 1} to improve practice", lead, "Mar-15", ["GREEN", "AMBER"][i % 2], update]
        for c, v in enumerate(row, 1):
            if v is not None:
                ws.cell(4 + i, c, v)
    if leads_sheet:
        lw = wb.create_sheet("Leads")
        lw.append(["As written in plan", "Full name", "Email", "Deputy / cc"])
        for name in leads_sheet:
            lw.append([name, name, "", ""])
    wb.save(path)
    return path


def test_progress_column_holding_leads_is_read_as_the_lead(tmp_path):
    plan = read_plan(progress_holds_leads(tmp_path / "p.xlsx"))
    assert plan.column("lead").letter == "C" and plan.column("lead").header == "Progress"
    assert plan.column("update").letter == "F" and plan.column("update").header == "Key points to note"
    a = plan.actions[0]
    assert a.leads == ["Assistant Director (Safeguarding)", "Head of Service (Care)"]
    assert len(plan.actions[2].leads) == 3
    assert a.update.startswith("October 2014: audit")
    (d,) = plan.decisions
    assert d.kind == "column-from-values" and d.column == "C"
    assert "'Progress'" in d.message and "holds leads" in d.message and "job titles" in d.message
    assert "Head of Service (Care)" in d.message


def test_the_leads_make_returns_possible(tmp_path):
    from xl_plan.leads import known_leads  # noqa: F401 - the reader's own splitting is used

    plan = read_plan(progress_holds_leads(tmp_path / "p.xlsx"))
    everyone = {lead for a in plan.actions for lead in a.leads}
    assert everyone == {"Assistant Director (Safeguarding)", "Head of Service (Care)", "Principal Social Worker"}


def test_initials_and_names_in_an_update_column(tmp_path):
    path = progress_holds_leads(tmp_path / "p.xlsx", leads=["GT", "LH / JoR", "AxB", "MW\nRB", "GT / LJ"])
    plan = read_plan(path)
    assert plan.column("lead").header == "Progress" and plan.actions[1].leads == ["LH", "JoR"]
    path = progress_holds_leads(tmp_path / "n.xlsx", leads=["Ann Graham", "Teresa De Vito", "Ann Graham / Joanne Tarbutt",
                                                             "Joanne Tarbutt", "Ann Graham"])
    assert read_plan(path).column("lead").header == "Progress"


def test_names_listed_in_the_leads_sheet_are_leads(tmp_path):
    odd = ["Phoenix project", "Ofsted liaison", "Phoenix project / Ofsted liaison", "Signs of Safety", "Signs of Safety"]
    assert read_plan(progress_holds_leads(tmp_path / "a.xlsx", leads=odd)).column("lead") is None
    plan = read_plan(progress_holds_leads(tmp_path / "b.xlsx", leads=odd,
                                          leads_sheet=["Phoenix project", "Ofsted liaison", "Signs of Safety"]))
    assert plan.column("lead").header == "Progress"
    assert "Leads sheet" in plan.decisions[0].message


def test_a_lead_column_holding_dated_prose_is_the_update(tmp_path):
    path = progress_holds_leads(tmp_path / "p.xlsx", header=("Recommendation", "Action", "Lead officer", "Date",
                                                             "RAG", "Lead comments"),
                                leads=["GT", "LH", "JoR", "GT", "AxB"])
    plan = read_plan(path)
    assert [c.header for c in plan.columns["lead"]] == ["Lead officer"]
    assert plan.column("update").header == "Lead comments"
    assert plan.actions[0].update.startswith("October 2014") and plan.actions[0].leads == ["GT"]
    assert [d.column for d in plan.decisions] == ["F"]


def test_an_unknown_header_holding_dated_prose_is_the_update(tmp_path):
    path = progress_holds_leads(tmp_path / "p.xlsx", header=("Recommendation", "Action", "Lead", "Timescale",
                                                             "RAG", "Where are we now"),
                                leads=["GT", "LH", "JoR", "GT", "AxB"])
    plan = read_plan(path)
    assert plan.column("update").header == "Where are we now"
    assert "nothing xl_plan knows" in plan.decisions[0].message


def test_headers_that_tell_the_truth_are_kept(tmp_path):
    path = progress_holds_leads(tmp_path / "p.xlsx", header=("Recommendation", "Action", "Lead", "Timetable End date",
                                                             "RAG", "Progress"))
    plan = read_plan(path)
    assert plan.column("lead").header == "Lead" and plan.column("update").header == "Progress"
    assert plan.decisions == []


def test_short_progress_words_are_not_leads(tmp_path):
    path = progress_holds_leads(tmp_path / "p.xlsx", header=("Recommendation", "Action", "Progress", "Timescale",
                                                             "RAG", "Owner"),
                                leads=["On track", "Not started", "Completed", "In progress", "On Track"],
                                updates=["GT", "LH", "GT", "JoR", "AxB"])
    plan = read_plan(path)
    assert plan.column("update").header == "Progress" and plan.column("lead").header == "Owner"
    assert plan.decisions == []


def test_columns_named_by_the_user_win_over_the_values(tmp_path):
    path = progress_holds_leads(tmp_path / "p.xlsx")
    plan = read_plan(path, columns={"update": "Progress"})
    assert plan.column("update").header == "Progress" and plan.column("lead") is None
    assert plan.decisions == []


@pytest.mark.parametrize("values, kind", [
    (["GT", "LH / JoR / GT / LJ", "MW\nRB", "1. DM  2. DM/AxB"], LEAD),
    (["Assistant Director (Safeguarding)", "Head of Service (Care)", "DCS / Head of Service (Care)"], LEAD),
    (["Ann Graham Meena Kishinani", "Teresa De Vito", "Ann Graham"], LEAD),
    (UPDATES, UPDATE),
    (["On track", "Complete", "Not started", "Green"], None),
    (["Audit the files", "Train managers", "Recruit IROs"], None),
    (["Mar-24", "Jun-24", "Ongoing"], None),
    (["GT"], None),                                            # one value says nothing
    (["Board paper", "Team meeting", "Service plan", "Panel agreed"], None),   # one-off phrases do not repeat
])
def test_classify(values, kind):
    assert classify(values).kind == kind


def test_inspect_says_which_header_the_values_overrode(tmp_path):
    path = progress_holds_leads(tmp_path / "p.xlsx")
    out = CliRunner().invoke(cli, ["inspect", str(path)])
    assert out.exit_code == 0, out.output
    assert "Decisions" in out.output and "'Progress'" in out.output and "holds leads" in out.output
    data = json.loads(CliRunner().invoke(cli, ["inspect", str(path), "--json"]).output)
    assert data["decisions"][0]["kind"] == "column-from-values" and data["decisions"][0]["column"] == "C"
    assert data["columns"]["lead"][0]["header"] == "Progress"


@pytest.mark.parametrize("name", ["barking_dagenham_2014_plan.xlsx", "city_of_london_2017_plan.xlsx",
                                  "birmingham_2023_plan.xlsx"])
def test_the_sample_plans_keep_their_columns(name):
    plan = read_plan(FIXTURES / name)
    assert plan.decisions == []
    expected = {
        "barking_dagenham_2014_plan.xlsx": {"ref": ["A"], "action": ["B"], "lead": ["C", "D"], "timescale": ["E"],
                                            "measure": ["F"], "update": ["G"]},
        "city_of_london_2017_plan.xlsx": {"recommendation": ["A"], "ref": ["B"], "action": ["C"], "start": ["D"],
                                          "end": ["E"], "measure": ["F"], "lead": ["G", "H"], "update": ["I"],
                                          "status": ["J"]},
        "birmingham_2023_plan.xlsx": {"recommendation": ["B"], "action": ["C"], "lead": ["D"], "timescale": ["E"],
                                      "update": ["F"], "status": ["G"]},
    }[name]
    assert {f: [c.letter for c in cols] for f, cols in plan.columns.items()} == expected
