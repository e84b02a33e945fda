"""The sheets as a manager prints them: rendered with LibreOffice headless (xl_plan/render.py), every
page is A4, no cell shows ###, and the page counts stay small. Also the monthly board report
(`xl-plan report`): one to four A4 pages, its figures equal to the plan's counts, the trend one
column per month of History, the RAG-by-section chart in the table's order with every label."""
from __future__ import annotations

import re
import shutil
import zipfile
from collections import Counter
from datetime import date
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.board import board_master
from tests.conftest import SAMPLES
from xl_plan import read_plan, render
from xl_plan.checks.status import key_choices
from xl_plan.cli import cli
from xl_plan.jobs import board_report, carried_file, gantt_file, leads_file, make_returns_file, validate_file
from xl_plan.merge.summary import NO_STATUS, OTHER
from xl_plan.sheets import MAX_ROW_HEIGHT

TODAY = {"birmingham": date(2023, 10, 15), "barking": date(2014, 12, 15), "city": date(2016, 12, 15)}
pytestmark = pytest.mark.slow          # every test here renders through LibreOffice
needs_lo = pytest.mark.skipif(not (render.soffice() and shutil.which("pdftoppm")),
                              reason="LibreOffice (soffice) and poppler are not installed")


def printed(path: Path, sheet: str, out: Path) -> tuple[list, str]:
    """Page sizes and text of one sheet of `path` printed to PDF."""
    wb = openpyxl.load_workbook(path)
    for name in wb.sheetnames:
        if name != sheet:
            wb.remove(wb[name])
    safe = re.sub(r"\W+", "_", sheet)
    only = out / f"{path.stem}-{safe}.xlsx"
    wb.save(only)
    pdf = render.to_pdf(only, out)
    return render.page_sizes(pdf), render.pdf_text(pdf)


def assert_a4_no_hashes(sizes, text):
    assert sizes and all(render.is_a4(s) and s[0] > s[1] for s in sizes), sizes      # A4, landscape
    assert "###" not in text


@needs_lo
@pytest.mark.slow
@pytest.mark.parametrize("name", ["birmingham", "barking", "city"])
def test_written_sheets_print_on_a4_without_hashes(sample, tmp_path, name):
    path = sample(name)
    validate_file(path, write=True, today=TODAY[name])
    carried_file(path, write=True, today=TODAY[name])
    leads_file(path, write=True)
    gantt_file(path, today=TODAY[name])
    wb = openpyxl.load_workbook(path)
    for sheet, most in (("Validation", 12), ("Carried forward", 3), ("Leads", 1), ("Gantt", 12)):
        sizes, text = printed(path, sheet, tmp_path)
        assert_a4_no_hashes(sizes, text)
        assert len(sizes) <= most, (sheet, len(sizes))
        ws = wb[sheet]
        setup = ws.page_setup
        # one page wide, or at a readable 70 % across pages with the label columns repeated
        assert (ws.sheet_properties.pageSetUpPr.fitToPage and setup.fitToWidth == 1) or \
            (setup.scale == 70 and ws.print_title_cols), sheet
    v = wb["Validation"]
    assert v.sheet_properties.pageSetUpPr.fitToPage and v.page_setup.fitToWidth == 1     # "What to do" on the page
    assert all(v.row_dimensions[r].height for r in range(6, v.max_row + 1))      # heights from the text
    # the key is printed once, in row 4, not in every message
    key = key_choices(read_plan(path))
    assert v.cell(4, 1).value == f"The plan's RAG key: {key}."
    assert not any(key in str(v.cell(r, 6).value) for r in range(6, v.max_row + 1))


@needs_lo
@pytest.mark.slow
@pytest.mark.parametrize("name", ["birmingham", "barking", "city"])
def test_returns_print_on_a4_with_rows_tall_enough(sample, tmp_path, name):
    path = sample(name)
    made = make_returns_file(path, "2026-11", tmp_path / "r")
    biggest = max(made.returns, key=lambda f: len(f.identity.rows))
    ws = openpyxl.load_workbook(biggest.path).worksheets[0]
    ident = biggest.identity
    for row in ident.rows:
        assert 0 < ws.row_dimensions[row.return_row].height <= MAX_ROW_HEIGHT
        assert ws[f"{ident.status_column}{row.return_row}"].fill.fgColor.rgb.endswith("FFF2CC")   # the lead fills it
    pdf = render.to_pdf(biggest.path, tmp_path / "pdf")
    assert_a4_no_hashes(render.page_sizes(pdf), render.pdf_text(pdf))


@pytest.fixture(scope="module")
def board(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("board")
    return board_master(SAMPLES["birmingham"], tmp), tmp


def _codes(plan) -> Counter:
    keys = {e.code for e in plan.rag_key.entries}
    return Counter(NO_STATUS if a.status is None else (a.status.code if a.status.code in keys else OTHER)
                   for a in plan.actions)


def test_summary_chart_in_the_tables_order_with_every_label(board):
    master, _ = board
    wb = openpyxl.load_workbook(master)
    ws = wb["Summary"]
    with zipfile.ZipFile(master) as zf:
        charts = [zf.read(n).decode() for n in zf.namelist() if n.startswith("xl/charts/chart")]
    bars = next(x for x in charts if 'barDir val="bar"' in x)
    assert 'orientation val="maxMin"' in bars and 'tickLblSkip val="1"' in bars
    ref = re.search(r"<(?:c:)?cat>.*?<(?:c:)?f>[^<]*\$A\$(\d+):\$A\$(\d+)</(?:c:)?f>", bars, re.S)
    first, last = int(ref.group(1)), int(ref.group(2))
    labels = [ws.cell(r, 1).value for r in range(first, last + 1)]
    plan = read_plan(master)
    assert labels == list(dict.fromkeys(a.section or "(no section)" for a in plan.actions))
    trend = next(x for x in charts if 'barDir val="col"' in x)
    months = sorted({r[0] for r in wb["History"].iter_rows(min_row=3, values_only=True) if r[0]})
    cat = re.search(r"<(?:c:)?cat>.*?<(?:c:)?f>[^<]*\$A\$(\d+):\$A\$(\d+)</(?:c:)?f>", trend, re.S)
    assert int(cat.group(2)) - int(cat.group(1)) + 1 == len(months) == 2        # one column per month
    flat = [str(v) for row in ws.iter_rows(values_only=True) for v in row if v is not None]
    assert "Returns in" in flat and "On track (green or complete)" in flat
    assert any("@council.gov.uk" in v for v in flat)                 # the chase list's addresses


@needs_lo
@pytest.mark.slow
def test_board_report_pdf_pages_figures_and_trend(board, tmp_path):
    master, _ = board
    plan = read_plan(master)
    r = board_report(master, "2026-11", tmp_path / "report", today=date(2026, 11, 20))
    sizes = render.page_sizes(r.pdf)
    assert 1 <= len(sizes) <= 4 and all(render.is_a4(s) for s in sizes)
    text = render.pdf_text(r.pdf)
    assert "###" not in text
    assert len(r.pngs) == len(sizes) and all(p.stat().st_size > 1000 for p in r.pngs)
    # the figures equal the plan's counts, by pandas and by the Summary alike
    assert {k: v for k, v in r.analytics.counts.items() if v} == dict(_codes(plan))
    assert Counter(r.summary.counts) == _codes(plan)
    by_section = Counter()
    for _, counts in r.analytics.by_section:
        by_section.update(counts)
    assert by_section == _codes(plan)
    # the trend: one column per month of History, the last month's equal to the counts now
    wb = openpyxl.load_workbook(master)
    months = sorted({row[0] for row in wb["History"].iter_rows(min_row=3, values_only=True) if row[0]})
    assert [m for m, _ in r.analytics.trend] == months == ["2026-10", "2026-11"]
    assert Counter(r.analytics.trend[-1][1]) == _codes(plan)
    assert [(m, Counter(c)) for m, c in r.analytics.trend] == [(m, Counter({k: v for k, v in c.items() if v}))
                                                               for m, c in r.summary.trend]
    with zipfile.ZipFile(r.workbook) as zf:
        charts = [zf.read(n).decode() for n in zf.namelist() if n.startswith("xl/charts/chart")]
    trend = next(x for x in charts if 'barDir val="col"' in x)
    cat = re.search(r"<(?:c:)?cat>.*?<(?:c:)?f>[^<]*\$I\$(\d+):\$I\$(\d+)</(?:c:)?f>", trend, re.S)
    assert int(cat.group(2)) - int(cat.group(1)) + 1 == len(months)
    # every section's label, in the table's order, on the dashboard page
    page1 = text.split("\f")[0]
    assert "Dashboard" in page1 and "RAG trend by month" in page1
    for section, _ in r.analytics.by_section:
        assert section.split()[0] in page1
    assert "Gantt overview" in text.split("\f")[1]
    assert "Overdue actions" in text and "Returns still missing" in text
    # returns in and the chase list come from the month's record, as `returns status` and merge say them
    from xl_plan.returns.log import chase_list, month_record, read_returns_log, sent_leads

    record = month_record(read_returns_log(wb), "2026-11")
    assert r.analytics.sent == sent_leads(record)
    assert r.analytics.returned == [rec.lead for rec in record.values() if rec.returned or rec.merged]
    assert [c.lead for c in r.summary.chase] == chase_list(record)


def test_board_report_without_libreoffice_writes_the_workbook_and_says_how_to_print(board, tmp_path, monkeypatch):
    master, _ = board
    monkeypatch.setattr(render, "soffice", lambda: None)
    r = board_report(master, "2026-11", tmp_path / "report", today=date(2026, 11, 20))
    assert r.pdf is None and r.pngs == [] and r.workbook.exists()
    assert "LibreOffice is not installed" in r.message and "Export > PDF" in r.message
    assert openpyxl.load_workbook(r.workbook).sheetnames == ["Dashboard", "Gantt overview", "What changed", "Decisions"]


def test_report_command(board, tmp_path, monkeypatch):
    master, _ = board
    monkeypatch.setattr(render, "soffice", lambda: None)
    res = CliRunner().invoke(cli, ["report", str(master), "--month", "2026-11", "--out", str(tmp_path / "o"),
                                   "--today", "2026-11-20"])
    assert res.exit_code == 0, res.output
    assert "board report workbook" in res.output
    bad = CliRunner().invoke(cli, ["report", str(master), "--month", "November", "--out", str(tmp_path / "o")])
    assert bad.exit_code == 2 and "YYYY-MM" in bad.output


def starred_copy(src: Path, dst: Path) -> Path:
    """The plan with its first five actions starred as carried forward and their timescales moved on."""
    shutil.copyfile(src, dst)
    wb = openpyxl.load_workbook(dst)
    plan = read_plan(dst)
    ws = wb[plan.sheet]
    for a in plan.actions[:5]:
        cell = ws[a.cells["action"]]
        cell.value = f"{cell.value}*"
        if a.cells.get("timescale"):
            ws[a.cells["timescale"]] = "Mar-25"
    wb.save(dst)
    return dst


@needs_lo
@pytest.mark.slow
def test_carried_forward_against_the_previous_plan_prints_on_a4(tmp_path):
    path = starred_copy(SAMPLES["birmingham"], tmp_path / "new plan.xlsx")
    result = carried_file(path, previous=SAMPLES["birmingham"], write=True, today=date(2024, 1, 15))
    assert len(result.result.starred) == 5
    sizes, text = printed(path, "Carried forward", tmp_path)
    assert_a4_no_hashes(sizes, text)
    assert len(sizes) <= 10                       # 27 actions side by side with the previous plan's
    assert "slippage" in text


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=st.sampled_from("ab c\n"), max_size=300) | st.text(max_size=200), st.integers(4, 90))
def test_row_heights_count_a_wrapped_texts_lines_as_the_word_by_word_fill_does(text, width):
    """sheets.text_lines finds most lines' breaks a line at a time; every text gets the count of the
    word-by-word fill (`_greedy_lines` on each line longer than a line)."""
    from xl_plan.sheets import _greedy_lines, chars_per_line, text_lines

    per_line = chars_per_line(width)
    expected = 1 if not text.strip() else sum(1 if len(line) <= per_line else _greedy_lines(line, per_line)
                                              for line in text.split("\n"))
    assert text_lines(text, width) == expected
