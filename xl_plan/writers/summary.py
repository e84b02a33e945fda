"""The Summary sheet the monthly consolidation writes (replaced each time), from a
merge.summary.Summary: RAG counts overall and by section with a stacked bar chart in the key's
colours, what moved since last month, overdue actions, the returns still missing, and what the
merge could not apply."""
from __future__ import annotations

from openpyxl.chart import BarChart, Reference
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter

from ..merge.summary import NO_STATUS, Summary
from ..months import month_name
from ..owned import SUMMARY
from ..sheets import SEVERITY_FILL, owned_sheet, print_landscape, put, write_table

SHEET = SUMMARY.name
SUBTITLE = Font(bold=True, size=12)


def _table(ws, top: int, rows: list[list], wrap=()) -> int:
    """One of the Summary's several tables: no filter or frozen panes, which belong to a whole sheet."""
    return write_table(ws, top, rows, wrap_columns=wrap, filter_and_freeze=False)


def _heading(ws, r: int, text: str) -> int:
    put(ws, r, 1, text).font = SUBTITLE
    return r + 1


def rag_fill(rgb: str) -> PatternFill:
    return PatternFill("solid", fgColor=rgb)


def write_summary(wb, s: Summary) -> str:
    """Replace xl_plan's Summary sheet; returns its name."""
    plan, month, today, merge = s.plan, s.month, s.today, s.merge
    ws = owned_sheet(wb, SUMMARY, f"Summary for {month_name(month)}")
    print_landscape(ws)                     # printable for the board
    cols, label, colours = s.codes, s.labels, s.colours
    line = f"Plan sheet '{plan.sheet}', {len(plan.actions)} actions, as of {today:%d %B %Y}."
    if merge is not None:
        line += (f" Returns for {month_name(month)}: {len(merge.returned)} merged"
                 + (f" of {len(merge.sent)} sent" if merge.sent else "")
                 + f"; {merge.actions_updated} action(s) updated.")
    put(ws, 2, 1, line)
    put(ws, 3, 1, "This sheet is replaced each time the returns are consolidated.").font = Font(italic=True)
    ws.column_dimensions["A"].width = 70
    for i in range(2, 12):
        ws.column_dimensions[get_column_letter(i)].width = 16

    r = _heading(ws, 5, "RAG status, whole plan")
    r = _table(ws, r, [["Status", "Actions"]] + [[label[c], s.counts.get(c, 0)] for c in cols] +
               [["Total", len(plan.actions)]]) + 2
    for i, c in enumerate(cols):
        if colours.get(c):
            ws.cell(r - 2 - len(cols) + i, 1).fill = rag_fill(colours[c])

    r = _heading(ws, r, "RAG status by section")
    top = r
    rows = [["Section"] + [label[c] for c in cols] + ["Total"]]
    for name, counts in s.sections:
        rows.append([name[:120]] + [counts.get(c, 0) for c in cols] + [sum(counts.values())])
    r = _table(ws, top, rows, wrap=(1,))
    if s.sections:
        chart = BarChart()
        chart.type, chart.grouping, chart.overlap = "bar", "stacked", 100
        chart.title = "Actions by RAG status and section"
        chart.y_axis.title = "Actions"
        data = Reference(ws, min_col=2, max_col=1 + len(cols), min_row=top, max_row=r)
        chart.add_data(data, titles_from_data=True)
        chart.set_categories(Reference(ws, min_col=1, min_row=top + 1, max_row=r))
        for series, c in zip(chart.series, cols):
            colour = colours.get(c) or ("A6A6A6" if c == NO_STATUS else "7F7F7F")
            series.graphicalProperties.solidFill = colour
            series.graphicalProperties.line.solidFill = colour
        chart.height = max(7.5, 0.9 * len(s.sections) + 3)
        chart.width = 22
        ws.add_chart(chart, f"{get_column_letter(len(cols) + 4)}5")
    r += 2

    r = _heading(ws, r, f"Movement in {month_name(month)} (from the History sheet)")
    if s.moved:
        r = _table(ws, r, [["From", "To", "Actions"]] + [[label.get(a, a.capitalize()), label.get(b, b.capitalize()), n]
                                                       for (a, b), n in sorted(s.moved.items())]) + 2
    else:
        put(ws, r, 1, "No status changed this month.")
        r += 2

    r = _heading(ws, r, f"Overdue actions (timescale passed by {today:%d %B %Y}, not complete)")
    if s.overdue:
        r = _table(ws, r, [["Action", "Ref", "Lead", "Timescale", "Due by", "Status"]] +
                   [[o.action.short_text(90), o.action.ref or f"row {o.action.row}", o.action.lead_text,
                     o.action.timescale_text, f"{o.end:%d/%m/%Y}", o.status] for o in s.overdue]) + 2
    else:
        put(ws, r, 1, "None.")
        r += 2

    if merge is not None:
        r = _heading(ws, r, f"Returns still missing for {month_name(month)} (the chase list)")
        if merge.missing:
            r = _table(ws, r, [["Lead"]] + [[x] for x in merge.missing]) + 2
        else:
            put(ws, r, 1, "None: every lead sent theirs back." if merge.sent else "No returns were recorded as sent.")
            r += 2
        r = _heading(ws, r, "For you to decide (not applied; details in the History sheet)")
        if s.to_decide:
            first = r
            r = _table(ws, r, [["Details", "What", "Where"]] + [[f.message, f.code, f.cell and f"{f.sheet}!{f.cell}" or
                                                               (f"{f.sheet} row {f.row}" if f.row else "")]
                                                              for f in s.to_decide], wrap=(1,))
            for i, f in enumerate(s.to_decide, first + 1):
                ws.cell(i, 2).fill = SEVERITY_FILL.get(f.severity, SEVERITY_FILL["info"])
        else:
            put(ws, r, 1, "Nothing: every return merged cleanly.")
    return ws.title
