"""The Validation sheet and the comments on offending cells."""
from __future__ import annotations

from collections import defaultdict
from datetime import date

from openpyxl.styles import Font

from ..model import Plan
from ..owned import VALIDATION
from ..report import INFO, Report
from ..sheets import SEVERITY_FILL, CellStyles, mark_cells, owned_sheet, print_landscape, put, remove_marks, write_table

SHEET = VALIDATION.name
_LINK = Font(color="0563C1", underline="single")


def write_validation(wb, plan: Plan, report: Report, today: date) -> str:
    """Replace xl_plan's Validation sheet and cell marks in `wb`; returns the sheet's name."""
    ws = owned_sheet(wb, VALIDATION, "Validation report")
    counts = ", ".join(f"{code.capitalize()}: {n}" for code, n in report.counts_by_status.items())
    put(ws, 2, 1, f"Plan sheet '{plan.sheet}', {len(plan.actions)} actions, checked {today:%d %B %Y}. "
                  f"{report.summary_line()}. Statuses: {counts or 'none'}.")
    put(ws, 3, 1, "Each row says where the problem is and what to do. Click the cell reference to go there. "
                  "Run Validate again after fixing; this sheet is replaced each time.").font = Font(italic=True)
    rows = report.rows()
    last = write_table(ws, 5, rows, widths=(10, 24, 18, 10, 30, 100), wrap_columns=(5, 6))
    print_landscape(ws, "5:5")
    plan_ws = wb[plan.sheet]
    styles = CellStyles()
    for r, finding in zip(range(6, last + 1), report.sorted()):
        severity = finding.severity if finding.severity in SEVERITY_FILL else INFO
        styles.apply(ws.cell(r, 1), f"severity {severity}", fill=SEVERITY_FILL[severity])
        if finding.cell and finding.sheet == plan.sheet:
            cell = ws.cell(r, 4)
            cell.hyperlink = f"#'{plan.sheet}'!{finding.cell}"
            styles.apply(cell, "link", font=_LINK)
    remove_marks(plan_ws)
    notes: dict[str, list[str]] = defaultdict(list)
    for f in report.findings:
        if f.severity != INFO and f.cell and f.sheet == plan.sheet:
            notes[f.cell].append(f.message)
    mark_cells(plan_ws, notes)
    return ws.title
