"""The Summary sheet the monthly consolidation writes (replaced each time), from a
merge.summary.Summary: RAG counts overall and by section with a stacked bar chart in the key's
colours, what moved since last month, overdue actions, the returns still missing, and what the
merge could not apply."""
from __future__ import annotations

from typing import TYPE_CHECKING

from openpyxl.chart import BarChart, Reference
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from ..months import month_name
from ..owned import SUMMARY
from ..sheets import SEVERITY_FILL, CellWriter, fit_row_heights, owned_sheet, print_landscape, put, write_table

if TYPE_CHECKING:                   # the figures come from merge/summary.py; writers import nothing above them
    from ..merge.summary import Summary

SHEET = SUMMARY.name
SUBTITLE = Font(bold=True, size=12)


_CENTRE = Alignment(horizontal="center", vertical="top")
_WRAP = Alignment(wrap_text=True, vertical="top")
FIGURE = Font(bold=True, size=20, color="1F3864")
WIDTHS = (44, 14, 14, 14, 14, 14, 14, 14)
CM_PER_ROW = 0.53                           # a 15-point row


def _table(out: CellWriter, top: int, rows: list[list], wrap=(), numeric=()) -> int:
    """One of the Summary's several tables: no filter or frozen panes, which belong to a whole sheet.
    Numeric columns are centred, their headers with them."""
    last = write_table(out.ws, top, rows, wrap_columns=wrap, filter_and_freeze=False, out=out)
    for c in numeric:
        for r in range(top, last + 1):
            out.restyle(r, c, "centre", alignment=_CENTRE)
    return last


def _heading(ws, r: int, text: str) -> int:
    put(ws, r, 1, text).font = SUBTITLE
    return r + 1


def rag_fill(rgb: str) -> PatternFill:
    return PatternFill("solid", fgColor=rgb)


def _colour(s: Summary, c: str) -> str:
    return s.series_colours[c]


def place_chart(ws, chart, anchor_row: int, height: float, width: float = 24) -> int:
    """Place a chart at column A of `anchor_row`; returns the first row below it."""
    chart.height, chart.width = height, width
    ws.add_chart(chart, f"A{anchor_row}")
    return anchor_row + int(height / CM_PER_ROW) + 2


def colour_series(chart, s: Summary) -> None:
    for series, c in zip(chart.series, s.codes):
        series.graphicalProperties.solidFill = _colour(s, c)
        series.graphicalProperties.line.solidFill = _colour(s, c)


def headline(s: Summary) -> list[tuple[str, object]]:
    """The figures at the top of the Summary (and of the board report)."""
    figures = [("Actions", len(s.plan.actions)), ("On track (green or complete)", f"{s.on_track_share:.0%}"),
               ("Overdue", len(s.overdue)), ("Complete", s.complete)]
    if s.returns_in is not None:
        figures.append(("Returns in", f"{s.returns_in[0]} of {s.returns_in[1]}"))
    return figures


def trend_chart(s: Summary, data, categories) -> BarChart:
    """The RAG trend by month, a stacked column per month in the key's colours (the Summary sheet and
    the board report draw it alike). `data` holds a column per status with its header, `categories` the months."""
    chart = BarChart()
    chart.type, chart.grouping, chart.overlap = "col", "stacked", 100
    chart.title = "RAG trend by month"
    chart.y_axis.title = "Actions"
    chart.add_data(data, titles_from_data=True)
    chart.set_categories(categories)
    chart.x_axis.tickLblSkip = 1
    chart.x_axis.delete = chart.y_axis.delete = False
    chart.legend.position = "b"
    colour_series(chart, s)
    return chart


def write_summary(wb, s: Summary, *, records: bool = False) -> str:
    """Replace xl_plan's Summary sheet; returns its name. `records`: the tables' cells are kept as
    cell records (sheets.CellWriter), for a workbook saved through io/save.py (the jobs)."""
    plan, month, today, merge = s.plan, s.month, s.today, s.merge
    ws = owned_sheet(wb, SUMMARY, f"Summary for {month_name(month)}")
    out = CellWriter(ws, records=records)
    cols, label = s.codes, s.labels
    width = max(len(WIDTHS), len(cols) + 2)
    for i in range(1, width + 1):
        ws.column_dimensions[get_column_letter(i)].width = WIDTHS[i - 1] if i <= len(WIDTHS) else 14
    line = f"Plan sheet '{plan.sheet}', {len(plan.actions)} actions, as of {today:%d %B %Y}."
    if merge is not None:
        line += (f" Returns for {month_name(month)}: {len(merge.returned)} merged"
                 + (f" of {len(merge.sent)} sent" if merge.sent else "")
                 + f"; {merge.actions_updated} action(s) updated.")
    put(ws, 2, 1, line)
    put(ws, 3, 1, "This sheet is replaced each time the returns are consolidated.").font = Font(italic=True)
    for r in (2, 3):
        ws.merge_cells(start_row=r, start_column=1, end_row=r, end_column=6)
        ws.cell(r, 1).alignment = _WRAP

    # the headline figures
    for i, (name, value) in enumerate(headline(s)):
        c = 1 if i == 0 else i + 1
        put(ws, 5, c, name).alignment = Alignment(horizontal="center", wrap_text=True)
        cell = put(ws, 6, c, value)
        cell.font, cell.alignment = FIGURE, Alignment(horizontal="center")
    ws.row_dimensions[6].height = 30

    r = _heading(ws, 8, "RAG status, whole plan")
    r = _table(out, r, [["Status", "Actions"]] + [[label[c], s.counts.get(c, 0)] for c in cols] +
               [["Total", len(plan.actions)]], numeric=(2,)) + 2
    for i, c in enumerate(cols):
        if s.colours.get(c):
            out.restyle(r - 2 - len(cols) + i, 1, f"rag {s.colours[c]}", fill=rag_fill(s.colours[c]))

    r = _heading(ws, r, "RAG status by section")
    top = r
    rows = [["Section"] + [label[c] for c in cols] + ["Total"]]
    for name, counts in s.sections:
        rows.append([name[:120]] + [counts.get(c, 0) for c in cols] + [sum(counts.values())])
    r = _table(out, top, rows, wrap=(1,), numeric=range(2, len(cols) + 3))
    if s.sections:
        chart = BarChart()
        chart.type, chart.grouping, chart.overlap = "bar", "stacked", 100
        chart.title = "Actions by RAG status and section"
        chart.y_axis.title = "Actions"
        data = Reference(ws, min_col=2, max_col=1 + len(cols), min_row=top, max_row=r)
        chart.add_data(data, titles_from_data=True)
        chart.set_categories(Reference(ws, min_col=1, min_row=top + 1, max_row=r))
        chart.x_axis.scaling.orientation = "maxMin"     # the sections top-down, in the table's order
        chart.x_axis.tickLblSkip = 1                      # every section's label
        chart.x_axis.delete = chart.y_axis.delete = False
        chart.legend.position = "b"
        colour_series(chart, s)
        r = place_chart(ws, chart, r + 2, max(8.0, 1.3 * len(s.sections) + 4))
    else:
        r += 2

    r = _heading(ws, r, f"Movement in {month_name(month)} (from the History sheet)")
    if s.moved:
        r = _table(out, r, [["From", "To", "Actions"]] + [[label.get(a, a.capitalize()), label.get(b, b.capitalize()), n]
                                                       for (a, b), n in sorted(s.moved.items())], numeric=(3,)) + 2
    else:
        put(ws, r, 1, "No status changed this month.")
        r += 2

    if s.trend:
        r = _heading(ws, r, "RAG trend: the statuses at the end of each month (from the History sheet)")
        top = r
        r = _table(out, top, [["Month"] + [label[c] for c in cols]] +
                   [[month_name(m)] + [counts.get(c, 0) for c in cols] for m, counts in s.trend],
                   numeric=range(2, len(cols) + 2))
        chart = trend_chart(s, Reference(ws, min_col=2, max_col=1 + len(cols), min_row=top, max_row=r),
                            Reference(ws, min_col=1, min_row=top + 1, max_row=r))
        r = place_chart(ws, chart, r + 2, 8.0)

    r = _heading(ws, r, f"Overdue actions (timescale passed by {today:%d %B %Y}, not complete)")
    if s.overdue:
        r = _table(out, r, [["Action", "Ref", "Lead", "Timescale", "Due by", "Status"]] +
                   [[o.action.short_text(90), o.action.ref or f"row {o.action.row}", o.action.lead_text,
                     o.action.timescale_text, f"{o.end:%d/%m/%Y}", o.status] for o in s.overdue],
                   wrap=(1, 2, 3, 4, 6), numeric=(5,)) + 2
    else:
        put(ws, r, 1, "None.")
        r += 2

    if merge is not None:
        r = _heading(ws, r, f"Returns still missing for {month_name(month)} (the chase list)")
        if s.chase:      # openpyxl cells: merged ranges start in them
            r = _table(CellWriter(ws), r, [["Lead (as in the plan)", "Name", "Email"]] +
                       [[x.lead, x.name or "(no name in the Leads sheet)", x.email] for x in s.chase], wrap=(1, 2)) + 2
            for i in range(r - 1 - len(s.chase), r - 1):
                ws.merge_cells(start_row=i, start_column=3, end_row=i, end_column=5)
        else:
            put(ws, r, 1, "None: every lead sent theirs back." if merge.sent else "No returns were recorded as sent.")
            r += 2
        r = _heading(ws, r, "For you to decide (not applied; details in the History sheet)")
        if s.to_decide:
            first = r
            r = _table(out, r, [["Details", "What", "Where"]] + [[f.message, f.code, f.cell and f"{f.sheet}!{f.cell}" or
                                                               (f"{f.sheet} row {f.row}" if f.row else "")]
                                                              for f in s.to_decide], wrap=(1, 2, 3))
            for i, f in enumerate(s.to_decide, first + 1):
                severity = f.severity if f.severity in SEVERITY_FILL else "info"
                out.restyle(i, 2, f"severity {severity}", fill=SEVERITY_FILL[severity])
        else:
            put(ws, r, 1, "Nothing: every return merged cleanly.")
    fit_row_heights(ws, 7, out.max_row)
    ws.row_dimensions[1].height = 21
    ws.row_dimensions[5].height = 30
    ws.row_dimensions[6].height = 30
    print_landscape(ws, last_column=width)
    return ws.title
