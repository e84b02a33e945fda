"""The Validation sheet and the comments on offending cells."""
from __future__ import annotations

from collections import defaultdict
from datetime import date

from openpyxl.styles import Alignment, Font

from ..checks.status import key_choices
from ..model import Plan
from ..owned import VALIDATION
from ..report import INFO, Report
from ..sheets import (
    SEVERITY_FILL,
    CellWriter,
    fit_row_heights,
    mark_cells,
    owned_sheet,
    print_landscape,
    put,
    remove_marks,
    write_table,
)

SHEET = VALIDATION.name
_LINK = Font(color="0563C1", underline="single")
WIDTHS = (9, 18, 12, 7, 12, 80)            # one A4 page wide at a readable size, "What to do" included
KEY_ROW = 4
_WRAP = Alignment(wrap_text=True, vertical="top")


def write_validation(wb, plan: Plan, report: Report, today: date, *, records: bool = False) -> str:
    """Replace xl_plan's Validation sheet and cell marks in `wb`; returns the sheet's name.
    `records`: the table's cells are kept as cell records (sheets.CellWriter), for a workbook saved
    through io/save.py (the jobs)."""
    ws = owned_sheet(wb, VALIDATION, "Validation report")
    counts = ", ".join(f"{code.capitalize()}: {n}" for code, n in report.counts_by_status.items())
    put(ws, 2, 1, f"Plan sheet '{plan.sheet}', {len(plan.actions)} actions, checked {today:%d %B %Y}. "
                  f"{report.summary_line()}. Statuses: {counts or 'none'}.")
    put(ws, 3, 1, "Each row says where the problem is and what to do. Click the cell reference to go there. "
                  "Run Validate again after fixing; this sheet is replaced each time.").font = Font(italic=True)
    key = key_choices(plan)
    put(ws, KEY_ROW, 1, f"The plan's RAG key: {key}.")
    findings = report.sorted()
    rows = report.rows(findings)
    long, short = f"one of: {key}", f"one of the statuses of the RAG key (row {KEY_ROW})"
    for row in rows[1:]:                  # the key is printed once, above, not in every message
        row[5] = row[5].replace(long, short)
    out = CellWriter(ws, records=records)
    last = write_table(ws, 5, rows, widths=WIDTHS, wrap_columns=(2, 3, 5, 6), out=out)
    for r in (2, 3, KEY_ROW):             # the notes above the table wrap across its width
        ws.merge_cells(start_row=r, start_column=1, end_row=r, end_column=len(WIDTHS))
        ws.cell(r, 1).alignment = _WRAP
    fit_row_heights(ws, 2, last)
    ws.row_dimensions[1].height = 21
    print_landscape(ws, "5:5", title_columns="A:D")
    plan_ws = wb[plan.sheet]
    for r, finding in zip(range(6, last + 1), findings):
        severity = finding.severity if finding.severity in SEVERITY_FILL else INFO
        out.restyle(r, 1, f"severity {severity}", fill=SEVERITY_FILL[severity])
        if finding.cell and finding.sheet == plan.sheet:
            out.link(r, 4, plan.sheet, finding.cell)
            out.restyle(r, 4, "link", font=_LINK)
    remove_marks(plan_ws)
    notes: dict[str, list[str]] = defaultdict(list)
    for f in report.findings:
        if f.severity != INFO and f.cell and f.sheet == plan.sheet:
            notes[f.cell].append(f.message)
    mark_cells(plan_ws, notes)
    return ws.title
