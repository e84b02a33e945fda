"""The master's Leads sheet: xl_plan makes it when missing and adds the leads it does not list,
below the manager's rows; the manager fills in names and addresses (xl_plan/directory.py
reads it). The manager's rows are never deleted, rewritten or reordered."""
from __future__ import annotations

from openpyxl.styles import Alignment, Font, PatternFill

from ..directory import HEADERS, SHEET, lookup_key, read_directory
from ..sheets import print_landscape, put
from ..text import clean


def add_missing_leads(wb, leads: list[str]) -> list[str]:
    """Add a row for each of `leads` the `Leads` sheet does not list (creating the sheet when the
    workbook has none), below the manager's last row. Returns the leads added."""
    if SHEET not in wb.sheetnames:
        ws = wb.create_sheet(SHEET)
        for c, h in enumerate(HEADERS, 1):
            cell = put(ws, 1, c, h)
            cell.font = Font(bold=True, color="FFFFFF")
            cell.fill = PatternFill("solid", fgColor="1F3864")
            cell.alignment = Alignment(vertical="top", wrap_text=True)
        for letter_, width in zip("ABCD", (28, 30, 36, 36)):
            ws.column_dimensions[letter_].width = width
        ws.freeze_panes = "A2"
        print_landscape(ws, "1:1")
    directory = read_directory(wb)
    ws = wb[SHEET]
    if directory.header_row is None:
        from ..errors import XlPlanError

        raise XlPlanError(directory.findings[0].message + " Nothing was changed.")
    col = directory.columns["lead"]
    last = directory.header_row
    for r in range((ws.max_row or 1), directory.header_row, -1):
        if any(clean(v) for v in next(ws.iter_rows(min_row=r, max_row=r, values_only=True))):
            last = r
            break
    added = []
    seen = set(directory.entries)
    for lead in leads:
        key = lookup_key(lead)
        if not key or key in seen:
            continue
        last += 1
        put(ws, last, col, lead)
        seen.add(key)
        added.append(lead)
    return added
