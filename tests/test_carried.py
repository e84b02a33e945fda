"""Carried-forward (starred) actions: stars in every form, never the key note, footnotes or bold
markup; matching against the previous plan (refs repeat, rows move, text is reworded, layouts
differ) and each finding pinned by code and row; --write marks, sheets, unmark; CLI and demo."""
import json
import shutil
from datetime import date

import openpyxl
import pytest
from click.testing import CliRunner

from tests.workbook_compare import snapshot
from xl_plan import carried_forward, read_plan
from xl_plan.cli import cli
from xl_plan.jobs import carried_file

TODAY = date(2017, 6, 1)


def edit(path, cells: dict, sheet=None):
    wb = openpyxl.load_workbook(path)
    ws = wb[sheet] if sheet else wb.worksheets[0]
    for coord, value in cells.items():
        ws[coord] = value
    wb.save(path)
    return path


def swap_rows(path, r1, r2, first="A", last="J"):
    wb = openpyxl.load_workbook(path)
    ws = wb.worksheets[0]
    for col in range(openpyxl.utils.column_index_from_string(first), openpyxl.utils.column_index_from_string(last) + 1):
        a, b = ws.cell(r1, col), ws.cell(r2, col)
        a.value, b.value = b.value, a.value
    wb.save(path)
    return path


def clear_row(path, row, first="A", last="J"):
    wb = openpyxl.load_workbook(path)
    ws = wb.worksheets[0]
    for col in range(openpyxl.utils.column_index_from_string(first), openpyxl.utils.column_index_from_string(last) + 1):
        ws.cell(row, col).value = None
    wb.save(path)
    return path


def pinned(result, codes=None):
    return {(f.code, f.row) for f in result.report.findings if codes is None or f.code in codes}


# ---------------------------------------------------------------- stars in every form

STARRED_FORMS = {
    # birmingham row: (action cell text, expected item, expected marker)
    11: ("*Review and update the Partnership DA Strategy", None, "*"),
    12: ("Develop a pathway for pre-birth assessments*", None, "*"),
    13: ("1. Continue ongoing recruitment campaigns\n2. Ensure IROs are fully engaged*\n3. Practice Academy to work with the service", 2, "*"),
    14: ("1. Review and amend plan forms\n*2. Add a section on contingency\n3. Train staff", 2, "*"),
    16: ("(*) Increase education resource in MASH", None, "(*)"),
    17: ("Increase education resource in MASH - table for discussion**", None, "**"),
    18: ("＊Quarterly audit of children screened by police", None, "＊"),
    19: ("Review the work programme for the Neglect Strategy ✱", None, "✱"),
    20: ("★ Embed the monthly Citywide PLO Meeting", None, "★"),
    21: ("⁎Work with the service to reinforce practice standards", None, "⁎"),
    22: ("∗Review our Running Away and Missing from Home policy", None, "∗"),
    24: ("Provide training to social workers﹡", None, "﹡"),
    25: ("✳ Review our policy and develop our training", None, "✳"),
}

NOT_STARS = {
    # the key note text in a cell, "see note*", a footnote, bold markup, **bold** pairs, a star bullet list
    26: "Actions starred* are carried forward from the previous plan with amended timescales",
    28: "Consider the child's journey as part of the demand analysis (see note*) and report",
    29: "Review the local offer to care experienced young people as required*\n* as required by the Corporate Parenting Board",
    31: "**Important** Reconsider the KPMG recommendations for a hub and spoke model",
    32: "Review and update the **Practice Evaluation** process so that expectations are clear",
    33: "* Review the Supervision Policy\n* Brief managers on it",
    35: "Review and update Scheme of delegation, see note*",
}


def test_stars_in_every_form_and_not_the_lookalikes(sample):
    path = sample("birmingham")
    cells = {f"C{r}": text for r, (text, _, _) in STARRED_FORMS.items()}
    cells.update({f"C{r}": text for r, text in NOT_STARS.items()})
    cells["F36"] = "Policy agreed, see note* below. Training dates to follow*"   # stars in a long update are not read
    cells["E37"] = "Jun-23*"                                                      # a star in the timescale cell
    edit(path, cells)
    plan = read_plan(path)
    result = carried_forward(plan, today=TODAY)
    found = {(s.action.row, s.item, s.marker) for s in result.starred}
    expected = {(r, item, marker) for r, (_, item, marker) in STARRED_FORMS.items()} | {(37, None, "*")}
    assert found == expected
    by_row = {s.action.row: s for s in result.starred}
    assert by_row[37].marks[0].field == "timescale" and by_row[37].cell == "E37"
    assert by_row[13].item_text == "Ensure IROs are fully engaged"
    assert by_row[14].item_text == "Add a section on contingency"
    assert by_row[11].cell == "C11" and by_row[11].marks[0].where == "before the text"
    assert result.note[0] == 7
    assert not pinned(result)     # a note and stars: no info finding


def test_ref_stars_and_json(sample, tmp_path):
    path = sample("barking")
    edit(path, {"A8": "1.2*", "A9": "*1.3", "A10": "1.4 (*)", "A11": "1.5**", "A20": "3.1＊", "A21": "3.2"})
    runner = CliRunner()
    res = runner.invoke(cli, ["carried", str(path), "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    rows = {(s["row"], s["ref"], s["marker"]) for s in data["starred"]}
    assert rows == {(8, "1.2", "*"), (9, "1.3", "*"), (10, "1.4", "(*)"), (11, "1.5", "**"), (20, "3.1", "＊")}
    first = next(s for s in data["starred"] if s["row"] == 8)
    assert first["item"] is None and first["lead"].startswith("Ann Graham") and first["timescale"] == "July 2014"
    assert first["section"].startswith("Area for Improvement (1)") and first["sheet"] == "LA Action Plan"
    assert first["cell"] == "A8"
    # stars but no note explaining them: an info finding
    assert [(f["code"], f["severity"], f["row"], f["column"]) for f in data["findings"]] == [("stars-without-note", "info", 8, "A")]


def test_note_without_stars_is_an_info_finding(sample):
    result = carried_forward(read_plan(sample("birmingham")), today=TODAY)
    assert result.starred == []
    assert [(f.code, f.severity, f.row) for f in result.report.sorted()] == [("star-note-without-stars", "info", 7)]


def test_timescale_star_in_start_end_columns(sample):
    path = edit(sample("city"), {"E10": "Jun-17*"})
    result = carried_forward(read_plan(path))
    [s] = result.starred
    assert (s.action.row, s.cell, s.marks[0].field) == (10, "E10", "end")


# ---------------------------------------------------------------- against the previous plan

INCOMPLETE = {4: "Amber", 10: "Green", 15: "Green", 19: "Green", 22: "Green", 47: "Green", 59: "Green"}


def previous_city(tmp_path):
    """The city plan as the previous plan: everything complete (Blue) except a few actions."""
    src = tmp_path / "previous"
    src.mkdir()
    path = src / "city_2016.xlsx"
    from tests.conftest import SAMPLES
    shutil.copyfile(SAMPLES["city"], path)
    wb = openpyxl.load_workbook(path)
    ws = wb.worksheets[0]
    for a in read_plan(SAMPLES["city"]).actions:
        ws[f"J{a.row}"] = INCOMPLETE.get(a.row, "Blue")
    wb.save(path)
    return path


def new_city(sample):
    path = sample("city")
    edit(path, {
        "B4": "1.1*", "E4": "Jun-17",                       # starred, end moved Feb-17 -> Jun-17: slippage 4 months
        # 1.7 (row 10) unchanged and not starred: carried-not-starred
        "B15": "2.9",                                       # ref changed and text reworded: still matched
        "C15": "All open cases in children social care where the family disengages will trigger the triple-lock "
               "mechanism to support decisions about closure or continuation of the case",
        "C12": "Commission an independent review of adolescent services",   # a new action (old 1.9 was complete)
        "C18": "Launch a foster carer recruitment campaign*",                # starred, not in the previous plan
        "B19": "2.6", "C19": "Quarterly compliance report to go to CSMT",   # reworded too far, new ref: weak match
        "C47": "*Commissioning service to complete review of sufficiency strategy options",  # starred, same timescale
    })
    clear_row(path, 22)                                     # 3.1 deleted while incomplete: dropped
    swap_rows(path, 59, 60)                                 # 7.1 moved down a row
    swap_rows(path, 5, 6)                                   # two complete actions swapped
    return path


def test_each_finding_pinned(sample, tmp_path):
    old_path, new_path = previous_city(tmp_path), new_city(sample)
    result = carried_forward(read_plan(new_path), read_plan(old_path), today=TODAY, threshold=80)
    assert pinned(result) == {
        ("slippage", 4),
        ("carried-not-starred", 10),
        ("carried-not-starred", 15),
        ("new-action", 12),
        ("starred-not-found", 18),
        ("weak-match", 19), ("new-action", 19), ("dropped", 19),
        ("dropped", 22),
        ("timescale-not-amended", 47),
        ("carried-not-starred", 60),
        ("stars-without-note", 4),
    }
    by = {(f.code, f.row): f for f in result.report.findings}
    slip = by[("slippage", 4)]
    assert slip.value == "Jan-17 to Feb-17 -> Jan-17 to Jun-17 (4 months)" and slip.column == "E"
    assert "4 months" in slip.message and "February 2017" in slip.message and "June 2017" in slip.message
    drop = by[("dropped", 22)]
    assert drop.severity == "error" and drop.sheet == "previous plan: Improvement Plan" and drop.column == "C"
    assert "3.1" in drop.message and "city_2016.xlsx" in drop.message
    weak = by[("weak-match", 19)]
    assert 50 <= weak.value < 80 and "row 19" in weak.message and "2.5" in weak.message
    assert by[("timescale-not-amended", 47)].column == "E"
    assert by[("carried-not-starred", 15)].column == "B" and by[("carried-not-starred", 15)].severity == "warning"
    assert by[("new-action", 12)].severity == "info"
    # the reworded action with a changed ref is matched to old 2.1 with its score
    pair = next(p for p in result.pairs if p.new is not None and p.new.row == 15)
    assert pair.old.ref == "2.1" and 80 <= pair.score < 100
    # moved rows: new row 60 holds old 7.1 (row 59), the swapped complete actions pair up crosswise
    assert next(p for p in result.pairs if p.new is not None and p.new.row == 60).old.row == 59
    assert next(p for p in result.pairs if p.new is not None and p.new.row == 5).old.row == 6
    assert not result.report.valid


def test_threshold_decides_weak_matches(sample, tmp_path):
    old_path, new_path = previous_city(tmp_path), new_city(sample)
    result = carried_forward(read_plan(new_path), read_plan(old_path), threshold=75)
    assert ("weak-match", 19) not in pinned(result) and ("dropped", 19) not in pinned(result)
    assert ("carried-not-starred", 19) in pinned(result)
    strict = carried_forward(read_plan(new_path), read_plan(old_path), threshold=95)
    assert ("carried-not-starred", 15) not in pinned(strict) and ("weak-match", 15) in pinned(strict)


def test_repeated_refs_need_the_text_too(sample, tmp_path):
    """Barking repeats '2.' three times in one section and '5.1' in two sections: rows swapped
    within the repeats still pair with their own texts."""
    old_path = tmp_path / "old.xlsx"
    shutil.copyfile(sample("barking"), old_path)
    new_path = sample("barking")
    swap_rows(new_path, 15, 17, "A", "G")
    swap_rows(new_path, 33, 41, "A", "G")           # 5.1 of section 5 <-> 5.1 of section 6
    old, new = read_plan(old_path), read_plan(new_path)
    result = carried_forward(new, old)
    pairs = {p.new.row: p.old.row for p in result.pairs if p.matched}
    assert pairs[15] == 17 and pairs[17] == 15 and pairs[16] == 16
    assert pairs[33] == 41 and pairs[41] == 33
    assert not pinned(result, {"dropped", "new-action", "weak-match"})


def test_starred_item_checked_against_previous(sample, tmp_path):
    old_path = tmp_path / "old.xlsx"
    shutil.copyfile(sample("birmingham"), old_path)
    new_path = sample("birmingham")
    wb = openpyxl.load_workbook(new_path)
    ws = wb.worksheets[0]
    ws["C13"] = ws["C13"].value.replace("2. Ensure IROs", "2. *Ensure IROs")
    ws["E13"] = "Dec-23"                      # Jun-23 -> Dec-23
    ws["C14"] = ws["C14"].value + "\n6. Set up a new mentoring scheme for foster carers*"
    ws["C20"] = ws["C20"].value.replace("1. Embed", "1. *Embed")       # starred, timescale unchanged
    wb.save(new_path)
    result = carried_forward(read_plan(new_path), read_plan(old_path), today=TODAY)
    starred = {(s.action.row, s.item) for s in result.starred}
    assert starred == {(13, 2), (14, 6), (20, 1)}
    got = pinned(result, {"slippage", "starred-not-found", "timescale-not-amended", "carried-not-starred"})
    assert ("slippage", 13) in got and ("starred-not-found", 14) in got and ("timescale-not-amended", 20) in got
    assert ("carried-not-starred", 13) not in got and ("timescale-not-amended", 13) not in got
    assert ("carried-not-starred", 11) in got        # not complete in the previous plan (no status), no star
    slip = next(f for f in result.report.findings if f.code == "slippage" and f.row == 13)
    assert "6 months" in slip.message


def different_layout(path, old_plan, drop_rows=(), star_rows=()):
    """The city plan's actions rebuilt in another layout: other column order and header names, one timescale column."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Plan 2017-18"
    ws["A1"] = "City of London - Improvement Plan 2017/18"
    ws["A2"] = "Actions starred* are carried forward from the previous plan with amended timescales"
    headers = ["Status", "Timescale", "Description", "ID", "Lead officer", "Update"]
    for i, h in enumerate(headers, 1):
        ws.cell(4, i, h)
    r = 5
    rows = {}
    for a in old_plan.actions:
        if a.row in drop_rows or not a.text:
            continue
        ref = (a.ref or "") + ("*" if a.row in star_rows else "")
        timescale = a.raw.get("end") if a.row not in star_rows else "Dec-17"
        for c, v in enumerate([a.status.raw if a.status else "", timescale, a.text, ref or None, a.lead_text, a.update], 1):
            ws.cell(r, c, v)
        rows[a.row] = r
        r += 1
    wb.save(path)
    return rows


def test_different_layouts(sample, tmp_path):
    old_path = previous_city(tmp_path)
    old = read_plan(old_path)
    new_path = tmp_path / "new_layout.xlsx"
    rows = different_layout(new_path, old, drop_rows=(22,), star_rows=(4,))
    new = read_plan(new_path)
    assert new.column("ref").letter == "D" and new.column("action").letter == "C"
    result = carried_forward(new, old, today=TODAY)
    got = pinned(result)
    assert ("dropped", 22) in got and ("slippage", rows[4]) in got
    assert {("carried-not-starred", rows[r]) for r in (10, 15, 19, 47, 59)} <= got
    assert not pinned(result, {"new-action", "weak-match", "starred-not-found", "stars-without-note", "star-note-without-stars"})
    assert all(p.score == 100 for p in result.pairs if p.matched and p.new.text)


# ---------------------------------------------------------------- write, unmark, CLI, demo

def test_write_marks_sheets_and_keeps_everything(sample, tmp_path):
    old_path, new_path = previous_city(tmp_path), new_city(sample)
    before = snapshot(new_path)
    out = carried_file(new_path, previous=old_path, today=TODAY, write=True)
    assert out.saved.backup.exists() and out.sheet == "Carried forward" and out.validation_sheet == "Validation"
    assert snapshot(new_path, skip_sheets=("Validation", "Carried forward")) == before
    wb = openpyxl.load_workbook(new_path)
    assert wb.sheetnames == ["Improvement Plan", "Validation", "Carried forward"]
    ws = wb["Improvement Plan"]
    assert ws["B4"].comment.author == "xl_plan" and "Starred" in ws["B4"].comment.text
    assert "slipped 4 months" in ws["E4"].comment.text
    assert ws["C18"].comment.author == "xl_plan" and "Starred" in ws["C18"].comment.text
    cf = wb["Carried forward"]
    assert cf["A1"].value.startswith("xl_plan")
    header = [c.value for c in cf[5]]
    assert header[:4] == ["New row", "New ref", "New action", "New timescale"] and "Score" in header and "Finding" in header
    table = {r[0]: r for r in cf.iter_rows(min_row=6, values_only=True) if r[0]}
    assert table[15][7] == "2.1" and "carried-not-starred" in table[15][11]
    assert table[4][4] == "*" and "slippage" in table[4][11]
    dropped = [r for r in cf.iter_rows(min_row=6, values_only=True) if r[11] and "dropped" in r[11] and r[6] == 22]
    assert dropped and dropped[0][7] == "3.1"
    codes = {row[1] for row in wb["Validation"].iter_rows(min_row=6, values_only=True)}
    assert {"dropped", "slippage", "weak-match", "timescale-not-amended"} <= codes

    # unmark removes our comments and both sheets; the workbook is as before
    res = CliRunner().invoke(cli, ["unmark", str(new_path)])
    assert res.exit_code == 0, res.output
    assert snapshot(new_path) == before
    assert openpyxl.load_workbook(new_path).sheetnames == ["Improvement Plan"]


def test_write_without_previous_lists_starred(sample):
    path = edit(sample("barking"), {"A8": "1.2*"})
    before = snapshot(path)
    res = CliRunner().invoke(cli, ["carried", str(path), "--write", "--today", "2014-12-01"])
    assert res.exit_code == 0, res.output
    assert snapshot(path, skip_sheets=("Validation", "Carried forward")) == before
    wb = openpyxl.load_workbook(path)
    cf = wb["Carried forward"]
    assert [c.value for c in cf[5]][:5] == ["Row", "Cell", "Ref", "Item", "Star"]
    assert [c.value for c in cf[6]][:5] == [8, "A8", "1.2", None, "*"]
    assert wb["LA Action Plan"]["A8"].comment.author == "xl_plan"
    assert "stars-without-note" in {r[1] for r in wb["Validation"].iter_rows(min_row=6, values_only=True)}


def test_cli_table_and_exit_codes(sample, tmp_path):
    old_path, new_path = previous_city(tmp_path), new_city(sample)
    runner = CliRunner()
    res = runner.invoke(cli, ["carried", str(new_path), "--previous", str(old_path), "--today", "2017-06-01"])
    assert res.exit_code == 1, res.output                       # dropped actions are errors
    assert "Starred actions: 3" in res.output and "dropped" in res.output and "ERROR" in res.output
    assert "Compared with" in res.output and "threshold 80" in res.output
    res = runner.invoke(cli, ["carried", str(new_path), "--previous", str(old_path), "--json", "--threshold", "75"])
    data = json.loads(res.output)
    assert data["threshold"] == 75 and any(m["new"] and m["new"]["row"] == 15 and m["old"]["ref"] == "2.1" for m in data["matches"])
    # warnings only (carried-not-starred): still something for you, exit 1
    same = tmp_path / "same.xlsx"
    shutil.copyfile(old_path, same)
    assert runner.invoke(cli, ["carried", str(same), "--previous", str(old_path)]).exit_code == 1
    # unusable input: exit 2 with a plain message naming the previous plan
    res = runner.invoke(cli, ["carried", str(new_path), "--previous", str(tmp_path / "missing.xlsx")])
    assert res.exit_code == 2 and "previous plan" in res.output and "missing.xlsx" in res.output
    assert "Traceback" not in res.output
    res = runner.invoke(cli, ["carried", str(new_path), "--threshold", "120"])
    assert res.exit_code == 2


def test_write_refused_while_open(sample):
    path = edit(sample("barking"), {"A8": "1.2*"})
    (path.parent / f"~${path.name}").write_text("lock")
    before = path.read_bytes()
    res = CliRunner().invoke(cli, ["carried", str(path), "--write"])
    assert res.exit_code == 2 and "open in Excel" in res.output
    assert path.read_bytes() == before


@pytest.mark.slow
def test_demo_runs_the_starred_check(tmp_path):
    res = CliRunner().invoke(cli, ["demo", str(tmp_path / "demo"), "--today", "2023-06-01"])
    assert res.exit_code == 0, res.output
    assert "star-note-without-stars" in res.output and "starred" in res.output.lower()
