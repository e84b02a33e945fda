"""The Summary sheet the monthly consolidation writes (replaced each time): RAG counts overall and
by section with a stacked bar chart in the key's colours, what moved since last month (from
History), overdue actions, the returns still missing, and what the merge could not apply."""
from __future__ import annotations

from collections import Counter
from datetime import date

from openpyxl.chart import BarChart, Reference
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from .. import rag
from ..timescales import action_end
from ..model import Plan
from ..months import month_name
from ..sheets import SEVERITY_FILL, owned_sheet, print_landscape, put, write_table
from ..text import clean
from .history import APPLIED, read_history

SHEET = "Summary"
NO_STATUS = "none"
SUBTITLE = Font(bold=True, size=12)


def _table(ws, top: int, rows: list[list], wrap=()) -> int:
    """One of the Summary's several tables: no filter or frozen panes, which belong to a whole sheet."""
    return write_table(ws, top, rows, wrap_columns=wrap, filter_and_freeze=False)


def _heading(ws, r: int, text: str) -> int:
    put(ws, r, 1, text).font = SUBTITLE
    return r + 1


def status_code(word: str, plan: Plan) -> str:
    word = clean(word).split(" (cell colour")[0]
    return rag.status_from_text(word, plan.rag_key).code if word else NO_STATUS


def movement(wb, plan: Plan, month: str) -> Counter:
    """(old code, new code) -> number of actions whose status moved this month, from History."""
    moved = Counter()
    last: dict[str, tuple[str, str]] = {}
    first_old: dict[str, str] = {}
    for h in read_history(wb):
        if h.month == month and h.field == "status" and h.outcome == APPLIED:
            first_old.setdefault(h.key, h.old)
            last[h.key] = (first_old[h.key], h.new)
    for old, new in last.values():
        a, b = status_code(old, plan), status_code(new, plan)
        if a != b:
            moved[(a, b)] += 1
    return moved


def write_summary(wb, plan: Plan, month: str, today: date, merge=None) -> str:
    """Replace xl_plan's Summary sheet; returns its name. `merge` is the MergeResult of this run."""
    ws = owned_sheet(wb, SHEET, f"Summary for {month_name(month)}")
    print_landscape(ws)                     # printable for the board
    codes = [e.code for e in plan.rag_key.entries]
    names = {e.code: e.name for e in plan.rag_key.entries}
    colours = {e.code: e.colour for e in plan.rag_key.entries}

    def code_of(a):
        if a.status is None:
            return NO_STATUS
        return a.status.code if a.status.code in codes else "other"

    counts = Counter(code_of(a) for a in plan.actions)
    extra = [c for c in ("other", NO_STATUS) if counts.get(c)]
    cols = codes + extra
    label = {**names, "other": "Not in key", NO_STATUS: "No status"}
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
    r = _table(ws, r, [["Status", "Actions"]] + [[label[c], counts.get(c, 0)] for c in cols] +
               [["Total", len(plan.actions)]]) + 2
    for i, c in enumerate(cols):
        if colours.get(c):
            ws.cell(r - 2 - len(cols) + i, 1).fill = rag_fill(colours[c])

    r = _heading(ws, r, "RAG status by section")
    sections = []
    by_section: dict[str, Counter] = {}
    for a in plan.actions:
        s = a.section or "(no section)"
        if s not in by_section:
            sections.append(s)
            by_section[s] = Counter()
        by_section[s][code_of(a)] += 1
    top = r
    rows = [["Section"] + [label[c] for c in cols] + ["Total"]]
    for s in sections:
        rows.append([s[:120]] + [by_section[s].get(c, 0) for c in cols] + [sum(by_section[s].values())])
    r = _table(ws, top, rows, wrap=(1,))
    if sections:
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
        chart.height = max(7.5, 0.9 * len(sections) + 3)
        chart.width = 22
        ws.add_chart(chart, f"{get_column_letter(len(cols) + 4)}5")
    r += 2

    r = _heading(ws, r, f"Movement in {month_name(month)} (from the History sheet)")
    moved = movement(wb, plan, month)
    if moved:
        r = _table(ws, r, [["From", "To", "Actions"]] + [[label.get(a, a.capitalize()), label.get(b, b.capitalize()), n]
                                                       for (a, b), n in sorted(moved.items())]) + 2
    else:
        put(ws, r, 1, "No status changed this month.")
        r += 2

    r = _heading(ws, r, f"Overdue actions (timescale passed by {today:%d %B %Y}, not complete)")
    overdue = []
    for a in plan.actions:
        if a.status is not None and a.status.complete:
            continue
        end = action_end(a, today)
        if end and end < today:
            overdue.append([a.short_text(90), a.ref or f"row {a.row}", a.lead_text, a.timescale_text,
                            f"{end:%d/%m/%Y}", label.get(code_of(a), a.status.raw if a.status else "")])
    if overdue:
        r = _table(ws, r, [["Action", "Ref", "Lead", "Timescale", "Due by", "Status"]] + overdue) + 2
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
        todo = [f for f in merge.report.sorted() if f.severity != "info"]
        if todo:
            first = r
            r = _table(ws, r, [["Details", "What", "Where"]] + [[f.message, f.code, f.cell and f"{f.sheet}!{f.cell}" or
                                                               (f"{f.sheet} row {f.row}" if f.row else "")]
                                                              for f in todo], wrap=(1,))
            for i, f in enumerate(todo, first + 1):
                ws.cell(i, 2).fill = SEVERITY_FILL.get(f.severity, SEVERITY_FILL["info"])
        else:
            put(ws, r, 1, "Nothing: every return merged cleanly.")
    return ws.title


def rag_fill(rgb: str):
    from openpyxl.styles import PatternFill

    return PatternFill("solid", fgColor=rgb)


def summary_lines(r) -> list[str]:
    """The printed summary of a merge (MergeResult): returned and missing leads (the chase list),
    actions updated, status changes, conflicts, rejected edits and everything else to decide."""
    import textwrap

    out = [f"Returns for {month_name(r.month)}: {len(r.returned)} merged" + (f" of {len(r.sent)} sent" if r.sent else "") + "."]
    if r.missing:
        out.append(f"Missing ({len(r.missing)}), to chase: {', '.join(r.missing)}")
    updates = sum(1 for c in r.changes if c.field == "update")
    out.append(f"Actions updated: {r.actions_updated} ({updates} update(s), {len(r.status_changes)} status change(s)).")
    for c in r.status_changes:
        out.append(f"  {c.ref or c.cell}: {c.old or 'no status'} to {c.new}  ({' / '.join(c.leads)})")
    out.append(f"Conflicts: {len(r.conflicts)}. Rejected edits (proposed changes for you): {len(r.rejected_edits)}.")
    todo = [f for f in r.report.sorted() if f.severity != "info"]
    if todo:
        out.append("For you to decide (not applied; every value is kept in the History sheet):")
        for f in todo:
            out.extend(textwrap.wrap(f"{f.code}: {f.message}", 100, initial_indent="  - ", subsequent_indent="    "))
    for name, why in getattr(r, "skipped", []) or []:
        out.append(f"  skipped {name}: {why}")
    return out
