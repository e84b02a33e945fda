"""The monthly board report (`xl-plan report MASTER --month YYYY-MM --out DIR`, the ribbon's Board
report button): an A4 PDF of four pages, drawn from the master as it is after the month's
consolidation, and a PNG of each page:

1. the dashboard: the headline figures, RAG by section (chart and table, in the plan's order) and the
   RAG trend over the months History records (a stacked column per month);
2. a Gantt overview (one line per action; the Gantt sheet in the master has the detail);
3. what changed this month (status movement, each status change) and the overdue actions;
4. decisions waiting for the manager (what the merges did not apply) and the returns to chase.

The History analytics (trend, movement, counts by section) are computed with pandas, imported
here only when the report is made: nothing the ribbon imports on a click loads it. Printing is
LibreOffice headless (xl_plan/render.py); without it the report workbook is written and the
result says how to print it.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from .months import month_name

PAGES = ("Dashboard", "Gantt overview", "What changed", "Decisions")


@dataclass
class Analytics:
    """The figures of the report, from pandas over the plan and its History."""
    counts: dict[str, int]                       # code -> actions, now
    by_section: list[tuple[str, dict[str, int]]]  # in the plan's order
    trend: list[tuple[str, dict[str, int]]]       # (YYYY-MM, code -> actions at the month's end), oldest first
    moved: dict[tuple[str, str], int]             # (old code, new code) -> actions, this month
    changes: list[dict] = field(default_factory=list)   # this month's applied status changes
    not_applied: list[dict] = field(default_factory=list)  # this month's History rows not applied
    returned: list[str] = field(default_factory=list)      # leads whose returns were merged this month
    sent: list[str] = field(default_factory=list)          # leads the Returns log says were sent one


@dataclass
class ReportResult:
    workbook: Path
    pdf: Path | None
    pngs: list[Path]
    analytics: Analytics
    summary: object                              # merge.summary.Summary
    message: str


def analyse(plan, history, month: str, log_rows=()) -> Analytics:
    """The report's figures, with pandas."""
    import pandas as pd

    from .merge.summary import NO_STATUS, OTHER, status_code
    from .returns.log import month_record, sent_leads
    from .writers.history import APPLIED, HEADER

    keys = [e.code for e in plan.rag_key.entries]

    def code(a) -> str:
        if a.status is None:
            return NO_STATUS
        return a.status.code if a.status.code in keys else OTHER

    def word_code(word: str) -> str:
        c = status_code(word, plan)
        return c if c in keys or c == NO_STATUS else OTHER

    actions = pd.DataFrame({"key": [(a.key or f"row {a.row}").upper() for a in plan.actions],
                            "section": [a.section or "(no section)" for a in plan.actions],
                            "code": [code(a) for a in plan.actions]})
    counts = actions["code"].value_counts().to_dict()
    table = pd.crosstab(actions["section"], actions["code"])
    order = list(dict.fromkeys(actions["section"]))
    by_section = [(s, {c: int(n) for c, n in table.loc[s].items() if n}) for s in order]

    cols = ["month", "key", "ref", "field", "old", "new", "lead", "source", "time", "outcome"]
    assert len(cols) == len(HEADER)
    h = pd.DataFrame([r.values() for r in history], columns=cols) if history else pd.DataFrame(columns=cols)
    h["key"] = h["key"].str.upper()
    status = h[(h["field"] == "status") & (h["outcome"] == APPLIED) & (h["key"] != "")]
    now = actions.set_index("key")["code"]
    trend = []
    for m in sorted(h["month"].dropna().unique()):
        later = status[status["month"] > m].sort_values("month", kind="stable").groupby("key")["old"].first()
        at_end = now.copy()
        undone = later[later.index.isin(at_end.index)].map(word_code)
        at_end.update(undone)
        trend.append((m, {c: int(n) for c, n in at_end.value_counts().items()}))
    this = status[status["month"] == month]
    first_old = this.groupby("key")["old"].first()
    last_new = this.groupby("key")["new"].last()
    pairs = pd.DataFrame({"a": first_old.map(word_code), "b": last_new.map(word_code)})
    pairs = pairs[pairs["a"] != pairs["b"]]
    moved = {(a, b): int(n) for (a, b), n in pairs.value_counts().items()}
    changes = this.to_dict("records")
    not_applied = h[(h["month"] == month) & (h["outcome"] != APPLIED)].to_dict("records")
    record = month_record(log_rows, month)           # the month's record: the one rule for sent and merged
    sent = sent_leads(record)
    returned = [rec.lead for rec in record.values() if rec.returned or rec.merged]     # came back this month
    return Analytics(counts, by_section, trend, moved, changes, not_applied, returned, sent)


def make_report(master, month: str, out_dir, *, today: date | None = None, sheet=None, columns=None,
                render: bool = True) -> ReportResult:
    """Write `<month> board report.xlsx` into `out_dir` and, with LibreOffice, its PDF and a PNG per page."""
    from openpyxl import Workbook

    from . import render as rendering
    from .directory import read_directory
    from .gantt import build_gantt
    from .merge.summary import chase_list, summarise
    from .months import month_of
    from .plan_file import open_plan
    from .returns.log import chase_list as record_chase_list
    from .returns.log import month_record, read_returns_log
    from .writers.history import read_history

    today = today or date.today()
    month = month or month_of(today)
    wb_master, plan, _ = open_plan(master, sheet, columns)
    history = read_history(wb_master)
    log = read_returns_log(wb_master)
    stats = analyse(plan, history, month, log)
    summary = summarise(plan, history, month, today)
    summary.chase = chase_list(record_chase_list(month_record(log, month)), read_directory(wb_master))

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    wb = Workbook()
    wb.remove(wb.active)
    _dashboard(wb, summary, stats)
    _gantt_overview(wb, build_gantt(plan, today))
    _changes(wb, summary, stats)
    _decisions(wb, summary, stats)
    path = out_dir / f"{month} board report.xlsx"
    wb.save(path)
    pdf, pngs = None, []
    if render and rendering.soffice():
        pdf = rendering.to_pdf(path, out_dir)
        try:
            pngs = rendering.to_pngs(pdf, out_dir, dpi=80)
        except Exception:                         # noqa: BLE001 - pictures are a convenience
            pngs = []
        message = (f"Wrote the board report for {month_name(month)}: {pdf} ({len(pngs)} page(s)), "
                   f"a picture of each page beside it, and the workbook {path.name}.")
    else:
        message = (f"Wrote the board report workbook {path}. LibreOffice is not installed here, so no PDF was "
                   "made: open the workbook in Excel and choose File > Export > PDF (each sheet prints on one A4 "
                   "page), or install LibreOffice and run the report again.")
    return ReportResult(path, pdf, pngs, stats, summary, message)


# ---------------------------------------------------------------- the pages

def _page(wb, title: str, subtitle: str, widths):
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    from .sheets import TITLE_FONT, put

    ws = wb.create_sheet(title)
    put(ws, 1, 1, title).font = TITLE_FONT
    put(ws, 2, 1, subtitle).font = Font(italic=True)
    for i, w in enumerate(widths, 1):
        ws.column_dimensions[get_column_letter(i)].width = w
    return ws


def _one_page(ws, last_column: int) -> None:
    """The report's pages: A4 landscape, the whole sheet on one page."""
    from .sheets import print_landscape

    print_landscape(ws, last_column=last_column)
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_setup.fitToWidth = ws.page_setup.fitToHeight = 1
    ws.page_setup.scale = None
    ws.print_title_cols = None
    ws.oddFooter.left.text = ws.title
    ws.oddFooter.right.text = "xl_plan board report"


def _dashboard(wb, s, stats: Analytics) -> None:
    from openpyxl.chart import BarChart, Reference
    from openpyxl.styles import Alignment, Font

    from .sheets import fit_row_heights, put, write_table
    from .writers.summary import colour_series, headline, place_chart, trend_chart

    cols, label = s.codes, s.labels
    ws = _page(wb, "Dashboard", f"{s.plan.sheet}: {month_name(s.month)}, as of {s.today:%d %B %Y}",
               (34, 12, 12, 12, 12, 12, 12, 4, 34, 12, 12, 12, 12, 12))
    figures = headline(s)
    if stats.sent:
        figures.append(("Returns in", f"{len(stats.returned)} of {len(stats.sent)}"))
    for i, (name, value) in enumerate(figures):
        put(ws, 4, 1 + 2 * i, name).alignment = Alignment(horizontal="center", wrap_text=True)
        cell = put(ws, 5, 1 + 2 * i, value)
        cell.font, cell.alignment = Font(bold=True, size=20, color="1F3864"), Alignment(horizontal="center")
    ws.row_dimensions[4].height, ws.row_dimensions[5].height = 45, 30
    top = 7
    rows = [["Section"] + [label[c] for c in cols] + ["Total"]]
    for name, counts in stats.by_section:
        rows.append([name[:90]] + [counts.get(c, 0) for c in cols] + [sum(counts.values())])
    rows.append(["Whole plan"] + [stats.counts.get(c, 0) for c in cols] + [sum(stats.counts.values())])
    last = write_table(ws, top, rows, wrap_columns=(1,), filter_and_freeze=False)
    for r in range(top, last + 1):
        for c in range(2, len(cols) + 3):
            ws.cell(r, c).alignment = Alignment(horizontal="center", vertical="top")
    chart = BarChart()
    chart.type, chart.grouping, chart.overlap = "bar", "stacked", 100
    chart.title = "RAG status by section"
    chart.add_data(Reference(ws, min_col=2, max_col=1 + len(cols), min_row=top, max_row=last - 1), titles_from_data=True)
    chart.set_categories(Reference(ws, min_col=1, min_row=top + 1, max_row=last - 1))
    chart.x_axis.scaling.orientation = "maxMin"
    chart.x_axis.tickLblSkip = 1
    chart.x_axis.delete = chart.y_axis.delete = False
    chart.legend.position = "b"
    colour_series(chart, s)
    below = place_chart(ws, chart, last + 2, max(8.0, 1.2 * len(stats.by_section) + 4), width=20)

    # the trend, right of the section table
    put(ws, top - 1, 9, "RAG trend: statuses at each month's end (History)").font = Font(bold=True)
    trows = [["Month"] + [label[c] for c in cols]]
    for m, counts in stats.trend:
        trows.append([month_name(m)] + [counts.get(c, 0) for c in cols])
    if len(trows) == 1:
        trows.append([month_name(s.month)] + [stats.counts.get(c, 0) for c in cols])
    tlast = write_table(ws, top, trows, filter_and_freeze=False, left=9)
    for r in range(top, tlast + 1):
        for c in range(10, 10 + len(cols)):
            ws.cell(r, c).alignment = Alignment(horizontal="center", vertical="top")
    fit_row_heights(ws, top, max(last, tlast))
    trend = trend_chart(s, Reference(ws, min_col=10, max_col=9 + len(cols), min_row=top, max_row=tlast),
                        Reference(ws, min_col=9, min_row=top + 1, max_row=tlast))
    trend.height, trend.width = max(8.0, 1.2 * len(stats.by_section) + 4), 16
    ws.add_chart(trend, f"I{last + 2}")
    _one_page(ws, 14)
    ws.print_area = f"A1:N{below}"


def _gantt_overview(wb, gantt) -> None:
    """The Gantt sheet's writer, cut down to one line per action so the plan fits one page."""
    from openpyxl.styles import Alignment

    from .writers.gantt import ACTION, FLAGS, LEAD, TIMESCALE, gantt_rows, write_gantt

    name = write_gantt(wb, gantt)
    ws = wb[name]
    ws.title = "Gantt overview"
    ws["A1"].value = "Gantt overview (the plan's Gantt sheet has the detail)"
    rows = gantt_rows(gantt)
    one_line = Alignment(vertical="top", wrap_text=False, shrink_to_fit=False)
    for r in range(rows.first, ws.max_row + 1):
        for c in (ACTION, LEAD, TIMESCALE, FLAGS):
            cell = ws.cell(r, c)
            room = {ACTION: 38, LEAD: 10, TIMESCALE: 15, FLAGS: 15}[c]   # bold text is wider
            if isinstance(cell.value, str) and len(cell.value) > room:
                cell.value = cell.value[: room - 1] + "…"
            cell.alignment = one_line
        ws.row_dimensions[r].height = 15
    ws.freeze_panes = None
    _one_page(ws, ws.max_column)


def _changes(wb, s, stats: Analytics) -> None:
    from openpyxl.styles import Alignment, Font

    from .sheets import fit_row_heights, put, write_table

    label = s.labels
    ws = _page(wb, "What changed", f"Status changes merged in {month_name(s.month)}, and the overdue actions",
               (12, 50, 14, 14, 14, 14, 12))
    r = 4
    put(ws, r, 1, "Movement this month").font = Font(bold=True)
    if stats.moved:
        r = write_table(ws, r + 1, [["From", "To", "Actions"]] + [
            [label.get(a, a), label.get(b, b), n] for (a, b), n in sorted(stats.moved.items())],
            filter_and_freeze=False)
        for i in range(r - len(stats.moved), r + 1):
            ws.cell(i, 3).alignment = Alignment(horizontal="center")
        r += 2
    else:
        put(ws, r + 1, 1, "No status changed this month.")
        r += 3
    put(ws, r, 1, "Each status change").font = Font(bold=True)
    if stats.changes:
        by_key = {(a.key or "").upper(): a for a in s.plan.actions}
        r = write_table(ws, r + 1, [["Ref", "Action", "From", "To", "Lead"]] + [
            [c["ref"], by_key[c["key"]].short_text(80) if c["key"] in by_key else "", c["old"], c["new"], c["lead"]]
            for c in stats.changes], wrap_columns=(2,), filter_and_freeze=False) + 2
    else:
        put(ws, r + 1, 1, "None.")
        r += 3
    put(ws, r, 1, f"Overdue actions ({len(s.overdue)}: timescale passed by {s.today:%d %B %Y}, not complete)").font = \
        Font(bold=True)
    if s.overdue:
        r = write_table(ws, r + 1, [["Ref", "Action", "Lead", "Timescale", "Due by", "Status"]] + [
            [o.action.ref or f"row {o.action.row}", o.action.short_text(80), o.action.lead_text, o.action.timescale_text,
             f"{o.end:%d/%m/%Y}", o.status] for o in s.overdue], wrap_columns=(2, 3, 4), filter_and_freeze=False)
    else:
        put(ws, r + 1, 1, "None.")
    fit_row_heights(ws, 4, ws.max_row)
    _one_page(ws, 7)


def _decisions(wb, s, stats: Analytics) -> None:
    from openpyxl.styles import Font

    from .sheets import fit_row_heights, put, write_table

    ws = _page(wb, "Decisions", "What the merges did not apply (every value is kept in the master's History sheet), "
               "and the returns to chase", (12, 14, 40, 40, 16, 30))
    r = 4
    put(ws, r, 1, f"Waiting for your decision ({len(stats.not_applied)})").font = Font(bold=True)
    if stats.not_applied:
        r = write_table(ws, r + 1, [["Ref", "Field", "Proposed value", "What happened", "Lead", "From"]] + [
            [d["ref"], d["field"], d["new"][:300], d["outcome"], d["lead"], d["source"]] for d in stats.not_applied],
            wrap_columns=(3, 4, 6), filter_and_freeze=False) + 2
    else:
        put(ws, r + 1, 1, "Nothing: every return merged cleanly.")
        r += 3
    put(ws, r, 1, f"Returns still missing for {month_name(s.month)} ({len(s.chase)} to chase)").font = Font(bold=True)
    if s.chase:
        write_table(ws, r + 1, [["Lead", "", "Name", "Email"]] + [[x.lead, "", x.name or "(no name in the Leads sheet)",
                                                                    x.email] for x in s.chase],
                    wrap_columns=(3, 4), filter_and_freeze=False)
    else:
        put(ws, r + 1, 1, "None." if stats.sent else "No returns were recorded as sent this month.")
    fit_row_heights(ws, 4, ws.max_row)
    _one_page(ws, 6)


def counts_equal(a: Counter | dict, b: Counter | dict) -> bool:
    return {k: v for k, v in a.items() if v} == {k: v for k, v in b.items() if v}
