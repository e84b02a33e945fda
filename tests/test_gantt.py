"""The Gantt sheet: the model built from free-text timescales, the sheet's conditional-formatting bars
(evaluated here in Python to prove where the bars fall), replacing its own sheet, keeping the rest of the
workbook, 5,000-action plans, the CLI, and a LibreOffice rendering of each sample plan checked by pixel."""
from __future__ import annotations

import re
import shutil
import struct
import subprocess
import zlib
from calendar import monthrange
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from bench.generate import generate
from tests.workbook_compare import snapshot
from xl_plan.cli import cli
from xl_plan.gantt import build_gantt
from xl_plan.jobs import gantt_file, open_plan
from xl_plan.writers.gantt import (
    COLUMNS,
    FIRST_MONTH,
    KEY_ROWS,
    KEY_TOP,
    NO_STATUS_COLOUR,
    SHEET,
    gantt_rows,
    key_colour,
)

TODAY = date(2024, 1, 15)

# (ref, action, lead, timescale, status)
ROWS = [
    ("Area for Improvement (1): Strategy discussions",),
    ("1.1", "Audit strategy discussions", "GT", "Mar-24", "Green"),
    ("1.2", "Train managers", "LH", "May 2023 to March 2024", "Amber"),
    ("1.3", "Recruit IROs", "DM", "By March 2024", "Red"),
    ("1.4", "Track children", "AxB", "From July 2023", "Green"),
    ("Area for Improvement (2): Permanence",),
    ("2.1", "Report to the board", "MW", "Quarterly 2023/24", "Green"),
    ("2.2", "Introduce the scorecard", "RB", "December 2023: Scorecard introduced. March 2024: Impact evident.", "Amber"),
    ("2.3*", "Review panel process", "GT", "Jul-23", "Green"),          # overdue, starred ref
    ("2.4", "Close the old policy", "GT", "Jun-23", "Blue"),           # past its end but complete
    ("2.5", "*Keep the register", "LH", "Ongoing", "Green"),           # undated, starred text
    ("2.6", "Supervision audit", "LH", "Monthly: Reviewed", "Green"),  # undated, recurs monthly
    ("2.7", "Phase 2", "JoR", "TBC", ""),                               # undated, no status
]


def small_plan(path: Path) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Plan"
    ws["A1"] = "Anytown Council improvement plan"
    for i, h in enumerate(["Ref", "Action", "Lead", "Timescale", "Update", "Status"], 1):
        ws.cell(3, i, h)
    for r, row in enumerate(ROWS, 4):
        if len(row) == 1:
            ws.cell(r, 1, row[0])
            ws.merge_cells(start_row=r, start_column=1, end_row=r, end_column=6)
            continue
        ref, action, lead, ts, status = row
        for c, v in zip((1, 2, 3, 4, 5, 6), (ref, action, lead, ts, "Update given.", status or None)):
            if v is not None:
                ws.cell(r, c, v)
    wb.save(path)
    return path


def items_by_ref(gantt):
    return {i.action.ref: i for i in gantt.items}


# ---------------------------------------------------------------- the model

def test_the_gantt_flags_stars_by_the_same_rules_as_carried(tmp_path):
    from xl_plan.carried import find_stars

    path = small_plan(tmp_path / "plan.xlsx")
    wb = openpyxl.load_workbook(path)
    ws = wb["Plan"]
    # a footnote marker, **bold** markup and a '* ' bullet list are not stars; a star after the text is
    ws["B5"] = "Audit discussions as required*\n* required by statute"
    ws["B6"] = "**Important** train managers"
    ws["B7"] = "* Recruit IROs\n* Induct them"
    ws["B8"] = "Track children (*)"
    wb.save(path)
    _, plan, _ = open_plan(path)
    gantt = {i.action.ref: i.starred for i in build_gantt(plan, TODAY).items}
    carried = {s.action.ref for s in find_stars(plan)}
    assert {ref for ref, starred in gantt.items() if starred} == carried
    assert not gantt["1.1"] and not gantt["1.2"] and not gantt["1.3"] and gantt["1.4"]



def test_model_dates_milestones_recurrence_flags(tmp_path):
    _, plan, _ = open_plan(small_plan(tmp_path / "plan.xlsx"))
    g = build_gantt(plan, TODAY)
    it = items_by_ref(g)
    assert g.start == date(2023, 4, 1) and g.end == date(2024, 3, 31)
    assert g.months[0] == date(2023, 3, 1) and g.months[-1] == date(2024, 4, 1) and len(g.months) == 14
    assert [grp.title for grp in g.groups] == ["Area for Improvement (1): Strategy discussions",
                                               "Area for Improvement (2): Permanence"]
    assert [i.action.ref for i in g.groups[0].items] == ["1.1", "1.2", "1.3", "1.4"]

    assert (it["1.1"].start, it["1.1"].end) == (date(2024, 3, 1), date(2024, 3, 31))
    assert not (it["1.1"].start_derived or it["1.1"].end_derived or it["1.1"].overdue)
    assert (it["1.2"].start, it["1.2"].end) == (date(2023, 5, 1), date(2024, 3, 31))
    # only an end date: the bar starts at the plan start, with a due marker
    assert (it["1.3"].start, it["1.3"].end, it["1.3"].start_derived) == (date(2023, 4, 1), date(2024, 3, 31), True)
    assert "no start date" in it["1.3"].flags
    # only a start date: runs on to the plan end, never overdue
    assert (it["1.4"].start, it["1.4"].end, it["1.4"].end_derived) == (date(2023, 7, 1), date(2024, 3, 31), True)
    assert not it["1.4"].overdue
    # quarterly over a financial year: every 3 months from April
    assert it["2.1"].recurrence == "quarterly"
    assert it["2.1"].recurs == [date(2023, 4, 1), date(2023, 7, 1), date(2023, 10, 1), date(2024, 1, 1)]
    assert [d for d, _ in it["2.2"].milestones] == [date(2023, 12, 31), date(2024, 3, 31)]
    assert [label for _, label in it["2.2"].milestones] == ["Scorecard introduced", "Impact evident"]
    # overdue: end before today and not complete; starred from the ref or the text
    assert it["2.3*"].overdue and it["2.3*"].starred and it["2.3*"].flags[:2] == ["OVERDUE", "★ carried forward"]
    assert not it["2.4"].overdue and it["2.4"].complete
    assert [i.action.ref for i in g.overdue] == ["2.3*"]
    # undated: kept apart, with the parser's reason; never given a bar
    assert [i.action.ref for i in g.undated] == ["2.5", "2.6", "2.7"]
    assert it["2.5"].starred and it["2.5"].reason == "'Ongoing' commits to no date"
    assert it["2.7"].reason == "'TBC' commits to no date"
    assert all(i.start is None and i.end is None for i in g.undated)
    # a monthly action with no date recurs in every month of the plan (no month guessed)
    assert it["2.6"].recurs == g.months[1:-1]
    assert not it["2.5"].recurs


def test_plan_with_nothing_dated(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    for i, h in enumerate(["Ref", "Action", "Timescale", "Status"], 1):
        ws.cell(1, i, h)
    ws.append(["1", "Keep going", "Ongoing", "Green"])
    ws.append(["2", "Do it", "TBC", "Red"])
    path = tmp_path / "undated.xlsx"
    wb.save(path)
    result = gantt_file(path, today=TODAY)
    assert result.gantt.months == [] and len(result.gantt.undated) == 2
    g = openpyxl.load_workbook(path)[SHEET]
    assert g["A1"].value.startswith("xl_plan")
    assert "Undated: 2 actions" in g.cell(gantt_rows(result.gantt).first, 1).value


# ---------------------------------------------------------------- the sheet, and its formulas evaluated

def serial(d) -> int:
    if isinstance(d, datetime):
        d = d.date()
    return (d - date(1899, 12, 30)).days


def from_serial(n: int) -> date:
    return date.fromordinal(date(1899, 12, 30).toordinal() + int(n))


class Blank(int):
    """A blank cell: 0 in a comparison, as in Excel, but not a number for ISNUMBER."""


def _cell_value(ws, col: str, row: int):
    v = ws[f"{col}{row}"].value
    if v is None:
        return Blank(0)
    if isinstance(v, (date, datetime)):
        return serial(v)
    if isinstance(v, str):
        return v.lower()             # Excel compares text without case
    return v


class _Excel:
    @staticmethod
    def AND(*a):
        return all(a)

    @staticmethod
    def OR(*a):
        return any(a)

    @staticmethod
    def ISNUMBER(v):
        return type(v) in (int, float)

    @staticmethod
    def EOMONTH(n, months):
        d = from_serial(n)
        y, m = divmod(d.month - 1 + months, 12)
        y, m = d.year + y, m + 1
        return serial(date(y, m, monthrange(y, m)[1]))

    @staticmethod
    def DATE(y, m, d):
        return serial(date(y, m, d))

    @staticmethod
    def YEAR(n):
        return from_serial(n).year

    @staticmethod
    def MONTH(n):
        return from_serial(n).month


def evaluate(formula: str, anchor: str, ws, cell: str) -> bool:
    """Evaluate a conditional-formatting formula written for `anchor` (the range's top-left cell) at `cell`,
    shifting relative references the way Excel does, over the values saved in `ws`."""
    a_col, a_row = openpyxl.utils.cell.coordinate_from_string(anchor)
    c_col, c_row = openpyxl.utils.cell.coordinate_from_string(cell)
    dc = openpyxl.utils.column_index_from_string(c_col) - openpyxl.utils.column_index_from_string(a_col)
    dr = c_row - a_row

    def ref(m):
        col_abs, col, row_abs, row = m.groups()
        col_i = openpyxl.utils.column_index_from_string(col) + (0 if col_abs else dc)
        row_i = int(row) + (0 if row_abs else dr)
        return f"_v({openpyxl.utils.get_column_letter(col_i)!r},{row_i})"

    parts = re.split(r'("(?:[^"]|"")*")', formula)         # keep string literals apart
    out = []
    for p in parts:
        if p.startswith('"'):
            out.append(repr(p[1:-1].replace('""', '"').lower()))
            continue
        p = re.sub(r"(\$?)([A-Z]{1,3})(\$?)(\d+)(?![\w(])", ref, p)
        p = p.replace("<>", "!=").replace("<=", "≤").replace(">=", "≥")
        p = p.replace("=", "==").replace("≤", "<=").replace("≥", ">=")
        out.append(p)

    def _v(col, row):
        return _cell_value(ws, col, row)

    env = {name: getattr(_Excel, name) for name in ("AND", "OR", "ISNUMBER", "EOMONTH", "DATE", "YEAR", "MONTH")}
    env["_v"] = _v
    return bool(eval("".join(out), {"__builtins__": {}}, env))


def rules_of(ws):
    """[(sqref, formula, fill colour or None, has border)] in priority order."""
    out = []
    for rng, rules in ws.conditional_formatting._cf_rules.items():
        for rule in rules:
            fill = rule.dxf.fill.fgColor.rgb[-6:] if rule.dxf and rule.dxf.fill is not None else None
            out.append((rule.priority, str(rng.sqref), rule.formula[0], fill, bool(rule.dxf and rule.dxf.border)))
    return [r[1:] for r in sorted(out)]


def selected(ws, formula, anchor, row, months):
    """The month columns (as first days) whose cell in `row` the formula selects."""
    return [m for i, m in enumerate(months)
            if evaluate(formula, anchor, ws, f"{openpyxl.utils.get_column_letter(FIRST_MONTH + i)}{row}")]


def row_of(ws, ref, first):
    for r in range(first, ws.max_row + 1):
        if ws.cell(r, 1).value == ref:
            return r
    raise AssertionError(f"no row for {ref}")


def months_between(a: date, b: date) -> list[date]:
    out, m = [], a.replace(day=1)
    while m <= b:
        out.append(m)
        m = date(m.year + m.month // 12, m.month % 12 + 1, 1)
    return out


def test_sheet_rows_cells_and_bar_formulas(tmp_path):
    path = small_plan(tmp_path / "plan.xlsx")
    result = gantt_file(path, today=TODAY)
    rows, g = gantt_rows(result.gantt), result.gantt
    assert (rows.year, rows.head, rows.first) == (7, 8, 9)
    ws = openpyxl.load_workbook(path)[SHEET]

    # headings, months as real dates, frozen labels, print setup
    assert [ws.cell(rows.head, c).value for c in range(1, FIRST_MONTH)] == [
        "Ref", "Action", "Lead", "Status", "Timescale (as written)", "Start", "End", "Flags"]
    months = [ws.cell(rows.head, FIRST_MONTH + i).value.date() for i in range(len(g.months))]
    assert months == g.months
    assert ws.cell(rows.year, FIRST_MONTH).value == 2023 and ws.cell(rows.year, FIRST_MONTH + 10).value == 2024
    assert ws.freeze_panes == f"I{rows.first}"
    assert ws.page_setup.orientation == "landscape" and int(ws.page_setup.paperSize) == 9
    # one page wide, or (when that would print below 8 point) at 70 % across pages, the labels repeated
    assert (ws.page_setup.fitToWidth == 1 and ws.page_setup.fitToHeight == 0
            and ws.sheet_properties.pageSetUpPr.fitToPage) or \
        (ws.page_setup.scale == 70 and ws.print_title_cols == "$A:$B")
    assert ws.print_title_rows == f"${rows.year}:${rows.head}"
    today_col = FIRST_MONTH + g.months.index(date(2024, 1, 1))
    assert "▼" in ws.cell(rows.head, today_col).number_format
    assert ws["B2"].value.date() == TODAY

    # section rows, action rows, undated group at the bottom
    assert ws.cell(rows.first, 1).value == "Area for Improvement (1): Strategy discussions"
    r11 = row_of(ws, "1.1", rows.first)
    assert r11 == rows.first + 1
    assert [ws.cell(r11, c).value for c in range(1, 6)] == ["1.1", "Audit strategy discussions", "GT", "Green", "Mar-24"]
    assert ws.cell(r11, 6).value.date() == date(2024, 3, 1) and ws.cell(r11, 7).value.date() == date(2024, 3, 31)
    assert ws.cell(r11, 6).is_date and ws.cell(r11, 6).number_format == "dd/mm/yyyy"
    r23 = row_of(ws, "2.3*", rows.first)
    assert ws.cell(r23, 2).font.b and ws.cell(r23, 2).font.color.rgb.endswith("C00000")      # overdue: red bold
    assert ws.cell(r23, 8).value == "OVERDUE · ★ carried forward"
    r13 = row_of(ws, "1.3", rows.first)
    assert ws.cell(r13, 6).font.i and "no start date" in ws.cell(r13, 8).value            # derived start shown as such
    undated_title = row_of(ws, "2.5", rows.first) - 1
    assert ws.cell(undated_title, 1).value.startswith("Undated: 3 actions")
    assert ws.cell(undated_title + 1, 8).value == "★ carried forward · 'Ongoing' commits to no date"
    assert ws.cell(undated_title + 3, 8).value == "'TBC' commits to no date"
    assert ws.cell(undated_title + 1, 6).value is None and ws.cell(undated_title + 1, 7).value is None

    # markers are characters in their month cells
    def marks(r):
        return {g.months[i]: ws.cell(r, FIRST_MONTH + i).value for i in range(len(g.months))
                if ws.cell(r, FIRST_MONTH + i).value}
    assert marks(row_of(ws, "2.2", rows.first)) == {date(2023, 12, 1): "◆", date(2024, 3, 1): "◆"}
    assert marks(row_of(ws, "2.1", rows.first)) == {date(2023, 4, 1): "↻", date(2023, 7, 1): "↻",
                                                   date(2023, 10, 1): "↻", date(2024, 1, 1): "↻"}
    assert marks(r13) == {date(2024, 3, 1): "▶"}
    assert marks(row_of(ws, "1.4", rows.first)) == {date(2024, 3, 1): "→"}
    assert set(marks(row_of(ws, "2.6", rows.first)).values()) == {"↻"} and len(marks(row_of(ws, "2.6", rows.first))) == 12
    assert not marks(r11)
    # no per-cell fills anywhere in the month grid
    for row in ws.iter_rows(min_row=rows.first, min_col=FIRST_MONTH):
        for c in row:
            assert c.fill.fill_type is None, c.coordinate

    # the conditional formatting: one bar rule per key colour, then grey, reading F, G and D of the row
    last_col = openpyxl.utils.get_column_letter(FIRST_MONTH + len(g.months) - 1)
    grid = f"I{rows.first}:{last_col}{ws.max_row}"
    rules = rules_of(ws)
    bars = [r for r in rules if r[0] == grid and r[1] != "TRUE"]          # "TRUE": the month gridlines
    key = result.plan.rag_key.entries
    assert [fill for _, _, fill, _ in bars] == [key_colour(e) for e in key] + [NO_STATUS_COLOUR]
    assert bars[0][1] == 'AND(ISNUMBER($F9),ISNUMBER($G9),$F9<=EOMONTH(I$8,0),$G9>=I$8,$D9="red")'
    assert bars[-1][1] == "AND(ISNUMBER($F9),ISNUMBER($G9),$F9<=EOMONTH(I$8,0),$G9>=I$8)"
    today_rule = [r for r in rules if r[2] is None and r[3]]
    assert today_rule and today_rule[0][1] == "I$8=DATE(YEAR($B$2),MONTH($B$2),1)"

    # evaluate the rules cell by cell: the bar of each action covers exactly its months, in its colour
    green = next(f for _, f, fill, _ in bars if fill == "00B050")
    amber = next(f for _, f, fill, _ in bars if fill == "FFC000")
    grey = bars[-1][1]
    anchor = f"I{rows.first}"
    assert selected(ws, green, anchor, r11, g.months) == [date(2024, 3, 1)]
    assert selected(ws, amber, anchor, r11, g.months) == []
    r12 = row_of(ws, "1.2", rows.first)
    assert selected(ws, amber, anchor, r12, g.months) == months_between(date(2023, 5, 1), date(2024, 3, 1))
    assert selected(ws, green, anchor, r12, g.months) == []
    assert selected(ws, green, anchor, row_of(ws, "1.4", rows.first), g.months) == months_between(date(2023, 7, 1), date(2024, 3, 1))
    for r in (rows.first, undated_title, undated_title + 1, undated_title + 3):   # sections and undated: no bar
        assert selected(ws, grey, anchor, r, g.months) == []
    # the today rule marks only January 2024's column, on every row
    assert selected(ws, today_rule[0][1], anchor, r11, g.months) == [date(2024, 1, 1)]


def test_editing_a_start_date_moves_the_bar(tmp_path):
    path = small_plan(tmp_path / "plan.xlsx")
    result = gantt_file(path, today=TODAY)
    rows, months = gantt_rows(result.gantt), result.gantt.months
    wb = openpyxl.load_workbook(path)
    ws = wb[SHEET]
    green = next(r[1] for r in rules_of(ws) if r[2] == "00B050" and r[0].startswith("I"))
    anchor = f"I{rows.first}"
    r = row_of(ws, "1.1", rows.first)
    assert selected(ws, green, anchor, r, months) == [date(2024, 3, 1)]
    # a manager brings the start forward to October 2023 and saves: the same rule now selects Oct-Mar
    ws.cell(r, 6).value = datetime(2023, 10, 10)
    wb.save(path)
    ws = openpyxl.load_workbook(path)[SHEET]
    assert selected(ws, green, anchor, r, months) == months_between(date(2023, 10, 1), date(2024, 3, 1))
    # and changing the status to Amber takes the bar to the amber rule
    amber = next(r_[1] for r_ in rules_of(ws) if r_[2] == "FFC000" and r_[0].startswith("I"))
    ws.cell(r, 4).value = "AMBER"
    assert selected(ws, green, anchor, r, months) == []
    assert selected(ws, amber, anchor, r, months) == months_between(date(2023, 10, 1), date(2024, 3, 1))


def test_replaces_its_own_sheet_and_keeps_the_rest(sample):
    from tests.test_write import decorate

    path = decorate(sample("birmingham"))
    before = snapshot(path)
    first = gantt_file(path, today=date(2023, 7, 15))
    assert first.saved.backup.exists() and first.saved.backup.parent.name == "backups"
    assert snapshot(path, skip_sheets=(SHEET,)) == before
    names = openpyxl.load_workbook(path).sheetnames
    assert names == ["Improvement Plan", "Board notes", "Gantt"]

    gantt_file(path, today=date(2023, 8, 15))         # again: replaced in place, not duplicated
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == names
    assert wb[SHEET]["B2"].value.date() == date(2023, 8, 15)
    assert snapshot(path, skip_sheets=(SHEET,)) == before
    assert not list(path.parent.glob("~xl_plan-*"))


def test_a_users_own_gantt_sheet_is_left_alone(sample):
    path = sample("city")
    wb = openpyxl.load_workbook(path)
    wb.create_sheet("Gantt")["A1"] = "My own hand-made Gantt"
    wb.save(path)
    before = snapshot(path)
    result = gantt_file(path, today=date(2017, 1, 15))
    assert result.sheet == "Gantt (xl_plan)"
    assert snapshot(path, skip_sheets=("Gantt (xl_plan)",)) == before
    gantt_file(path, today=date(2017, 1, 15))
    assert openpyxl.load_workbook(path).sheetnames == ["Improvement Plan", "Gantt", "Gantt (xl_plan)"]


@pytest.mark.parametrize("name", ["birmingham", "barking", "city"])
def test_sample_plans(sample, name):
    path = sample(name)
    before = snapshot(path)
    result = gantt_file(path, today=date(2016, 12, 15))
    g = result.gantt
    assert snapshot(path, skip_sheets=(SHEET,)) == before
    ws = openpyxl.load_workbook(path)[SHEET]
    rows = gantt_rows(g)
    titles = [r for r in range(rows.first, ws.max_row + 1) if ws.cell(r, 1).fill.fill_type == "solid"]
    assert ws.max_row - rows.first + 1 - len(titles) == len(result.plan.actions)   # every action has its row
    assert len(titles) == len(g.groups) + (1 if g.undated else 0)
    assert len(g.items) == len(result.plan.actions)
    for item in g.items:
        if not item.undated:
            assert item.start <= item.end
    # the legend names every key colour with the key's own description
    legend = [ws.cell(r, 2).value for r in range(KEY_TOP, KEY_TOP + max(KEY_ROWS, len(result.plan.rag_key.entries)))]
    for e in result.plan.rag_key.entries:
        assert any(e.description in (t or "") for t in legend)


def test_sample_plan_specifics(sample):
    barking = gantt_file(sample("barking"), today=date(2015, 1, 15)).gantt
    it = {i.action.row: i for i in barking.items}
    assert it[11].timescale.text == "Quarterly (review March 2016)"
    assert it[11].start_derived and it[11].start == barking.start == date(2014, 4, 1)   # "Quarterly 2014/15" starts the plan
    assert it[11].recurs[-1] == date(2016, 3, 1) and it[11].recurs[-2] == date(2015, 12, 1)
    assert it[21].undated and it[21].reason == "'Ongoing' commits to no date"
    assert it[89].undated and "annual" in it[89].reason      # 'Annual': no month is guessed
    assert not it[89].recurs
    city = gantt_file(sample("city"), today=date(2017, 4, 15)).gantt
    first = city.groups[0].items[0]
    assert (first.start, first.end) == (date(2017, 1, 1), date(2017, 2, 28))   # from the Start and End columns
    assert first.overdue


@pytest.mark.slow
@pytest.mark.parametrize("layout", ["birmingham", "barking", "city"])
def test_5000_actions(tmp_path, layout):
    path = generate(layout, 5000, tmp_path / f"{layout}.xlsx")
    result = gantt_file(path, today=date(2024, 1, 15))
    assert len(result.gantt.items) == 5000
    ws = openpyxl.load_workbook(path, read_only=True)[SHEET]
    rows = gantt_rows(result.gantt)
    titles = len(result.gantt.groups) + (1 if result.gantt.undated else 0)
    assert ws.max_row == rows.first - 1 + 5000 + titles


# ---------------------------------------------------------------- CLI

def test_cli(sample):
    path = sample("barking")
    res = CliRunner().invoke(cli, ["gantt", str(path), "--today", "2015-01-15"])
    assert res.exit_code == 0, res.output
    assert f"Wrote the 'Gantt' sheet into {path}: 54 actions drawn from April 2014 to March 2016, 7 undated" in res.output
    assert "row 21    3.2    'Ongoing' commits to no date" in res.output
    assert "The original is kept in" in res.output
    res = CliRunner().invoke(cli, ["gantt", "--help"])
    assert res.exit_code == 0 and "--today" in res.output and "Gantt sheet" in res.output


def test_cli_bad_input(tmp_path):
    missing = tmp_path / "nope.xlsx"
    res = CliRunner().invoke(cli, ["gantt", str(missing)])
    assert res.exit_code == 2 and "nope.xlsx" in res.output and "Traceback" not in res.output
    bad = tmp_path / "plan.xlsx"
    shutil.copyfile(Path(__file__).parent / "fixtures" / "city_of_london_2017_plan.xlsx", bad)
    res = CliRunner().invoke(cli, ["gantt", str(bad), "--today", "15/01/2024"])
    assert res.exit_code == 2 and "2026-11-30" in res.output
    lock = tmp_path / "~$plan.xlsx"
    lock.write_bytes(b"x")
    before = bad.read_bytes()
    res = CliRunner().invoke(cli, ["gantt", str(bad)])
    assert res.exit_code == 2 and bad.read_bytes() == before


# ---------------------------------------------------------------- rendered by LibreOffice

def read_png(path: Path):
    """(width, height, rows of RGB bytes) of an 8-bit RGB/RGBA PNG, with zlib and struct only."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat = 8, b""
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunk = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", chunk[:10])
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    assert depth == 8 and colour in (2, 6)
    bpp = 3 if colour == 2 else 4
    raw = zlib.decompress(idat)
    stride = width * bpp
    rows, prev = [], bytearray(stride)
    for y in range(height):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        if f == 1:
            for i in range(bpp, stride):
                line[i] = (line[i] + line[i - bpp]) & 255
        elif f == 2:
            for i in range(stride):
                line[i] = (line[i] + prev[i]) & 255
        elif f == 3:
            for i in range(stride):
                line[i] = (line[i] + ((line[i - bpp] if i >= bpp else 0) + prev[i]) // 2) & 255
        elif f == 4:
            for i in range(stride):
                a = line[i - bpp] if i >= bpp else 0
                b, c = prev[i], prev[i - bpp] if i >= bpp else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        prev = line
        rows.append(bytes(line) if bpp == 3 else bytes(b for i, b in enumerate(line) if i % 4 != 3))
    return width, height, rows


def _rgb(hex6: str):
    return tuple(int(hex6[i:i + 2], 16) for i in (0, 2, 4))


def count_colour(rows, colour, x0=0, x1=None, y0=0, y1=None, tol=6):
    r0, g0, b0 = _rgb(colour)
    n = 0
    for line in rows[y0:y1]:
        end = len(line) // 3 if x1 is None else x1
        for x in range(x0, end):
            r, g, b = line[3 * x], line[3 * x + 1], line[3 * x + 2]
            if abs(r - r0) <= tol and abs(g - g0) <= tol and abs(b - b0) <= tol:
                n += 1
    return n


def render_gantt(path: Path, out: Path) -> tuple[Path, str]:
    """A copy of the workbook holding only the Gantt sheet, converted to PDF by LibreOffice, first page as PNG."""
    wb = openpyxl.load_workbook(path)
    for name in wb.sheetnames:
        if name != SHEET:
            wb.remove(wb[name])
    wb.active = 0
    only = out / f"{path.stem}-gantt.xlsx"
    wb.save(only)
    profile = (out / "lo-profile").as_uri()          # own profile: never clashes with another soffice
    subprocess.run(["soffice", f"-env:UserInstallation={profile}", "--headless", "--convert-to", "pdf",
                    "--outdir", str(out), str(only)], check=True, capture_output=True, timeout=180)
    pdf = out / f"{only.stem}.pdf"
    subprocess.run(["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", str(pdf), str(out / only.stem)],
                   check=True, timeout=60)
    png = next(out.glob(f"{only.stem}*.png"))
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True,
                          text=True, timeout=60).stdout
    return png, text


_no_soffice = pytest.mark.skipif(not (shutil.which("soffice") and shutil.which("pdftoppm") and shutil.which("pdftotext")),
                                 reason="LibreOffice (soffice) and poppler (pdftoppm, pdftotext) are not installed")


def needs_soffice(test):
    """Renders with LibreOffice: skipped without it, and slow (left out of the quick run)."""
    return pytest.mark.slow(_no_soffice(test))


@needs_soffice
@pytest.mark.parametrize("name", ["birmingham", "barking", "city"])
def test_rendered_bars_colours_and_legend(sample, tmp_path, name):
    path = sample(name)
    today = {"birmingham": date(2023, 10, 15), "barking": date(2014, 12, 15), "city": date(2016, 12, 15)}[name]
    result = gantt_file(path, today=today)
    g = result.gantt
    png, text = render_gantt(path, tmp_path)
    width, height, rows = read_png(png)

    # the legend, in words: the key's own descriptions and the markers
    flat = " ".join(text.split())
    for e in result.plan.rag_key.entries:
        assert e.description in flat
    for words in ("milestone", "recurs", "carried forward", "today's month", "OVERDUE", "no status"):
        assert words in flat

    # find the table by its dark-blue heading row; the month grid is its right-hand part
    head = "1F3864"
    counts = [count_colour([line], head) for line in rows]
    head_y = max(range(height), key=counts.__getitem__)
    xs = [x for x in range(width) if count_colour([rows[head_y]], head, x, x + 1)]
    left, right = min(xs), max(xs)
    label_width = sum(w for _, w in COLUMNS)
    grid_x = left + int((right - left) * label_width / (label_width + 5.0 * len(g.months))) + 2
    # every bar colour the plan's statuses call for shows in the grid, below the headings
    first_page = [i for i in g.items if not i.undated][:40]
    wanted = {key_colour(result.plan.rag_key.entry(i.status_code)) if i.status_code and result.plan.rag_key.entry(i.status_code)
              else NO_STATUS_COLOUR for i in first_page}
    for colour in wanted:
        assert count_colour(rows, colour, grid_x, right, head_y + 3, None) > 200, (name, colour)
    # the key's colours show as swatches above the table
    for e in result.plan.rag_key.entries:
        assert count_colour(rows, key_colour(e), 0, grid_x, 0, head_y - 2) > 50, (name, e.code)
    # today's month: the red heading cell and the red lines down its column (on the first page when the
    # chart prints one page wide; a long plan runs across pages and today's month may be on a later one)
    ws = openpyxl.load_workbook(path)[SHEET]
    if not ws.print_title_cols:
        assert count_colour(rows, "C00000", grid_x, right, head_y - 3, head_y + 3, tol=30) > 5
    assert "###" not in text


@pytest.mark.slow
def test_demo_builds_the_gantt(tmp_path):
    from xl_plan.demo import run_demo

    lines = []
    plan = run_demo(tmp_path / "demo", today=date(2023, 10, 15), echo=lines.append)
    out = "\n".join(lines)
    assert "Rolled the free-text timescales into a Gantt chart: 25 actions drawn, 2 undated" in out
    assert f"Wrote the 'Gantt' sheet into {plan}" in out
    wb = openpyxl.load_workbook(plan)
    assert "Gantt" in wb.sheetnames and wb["Gantt"]["A1"].value.startswith("xl_plan")


@pytest.mark.parametrize("name", ["barking_dagenham_2014_plan", "birmingham_2023_plan", "city_of_london_2017_plan"])
def test_chart_rows_kept_as_records_save_as_openpyxl_cells(name):
    """The jobs keep the chart's rows as cell records (`write_gantt(records=True)`), which io/save.py's
    scratch save writes: the package is byte for byte the one openpyxl cells give."""

    from tests.package_compare import saved_parts
    from xl_plan.writers.gantt import write_gantt

    def parts(records: bool) -> dict:
        wb, plan, _ = open_plan(Path(__file__).parent / "fixtures" / f"{name}.xlsx")
        write_gantt(wb, build_gantt(plan, date(2016, 12, 15)), records=records)
        return saved_parts(wb, records)

    cells, records = parts(False), parts(True)
    assert sorted(cells) == sorted(records)
    for part in cells:
        assert cells[part] == records[part], part


def test_a_gantt_kept_as_records_survives_a_save_to_a_new_file(tmp_path):
    """The safe save path writes a new file through the fast writer too: rows kept as records are never
    dropped (a plain openpyxl save would leave them out)."""
    from xl_plan.io.save import save_workbook
    from xl_plan.plan_file import open_plan
    from xl_plan.writers.gantt import write_gantt

    wb, plan, _ = open_plan(Path(__file__).parent / "fixtures" / "city_of_london_2017_plan.xlsx")
    name = write_gantt(wb, build_gantt(plan, date(2016, 12, 15)), records=True)
    out = tmp_path / "new.xlsx"
    save_workbook(wb, out)
    ws = openpyxl.load_workbook(out)[name]
    refs = {ws.cell(r, 1).value for r in range(1, ws.max_row + 1)}
    assert {a.ref for a in plan.actions if a.ref} <= refs
