"""Writing the sheets and cell marks xl_plan owns inside a user's workbook (which sheets those
are, and how they are recognised, is xl_plan/owned.py). A writer replaces only what xl_plan
created before: its sheets carry the marker 'xl_plan · <title>' in A1, its cell comments the
author 'xl_plan'."""
from __future__ import annotations

from copy import copy
from typing import Iterable

from openpyxl.cell.cell import ERROR_CODES
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from .owned import MARK, OWNER, OwnedSheet, find_owned

TITLE_FONT = Font(bold=True, size=14)
HEADER_FONT = Font(bold=True, color="FFFFFF")
HEADER_FILL = PatternFill("solid", fgColor="1F3864")
SEVERITY_FILL = {
    "error": PatternFill("solid", fgColor="F8CBAD"),
    "warning": PatternFill("solid", fgColor="FFE699"),
    "info": PatternFill("solid", fgColor="DDEBF7"),
}


class CellStyles:
    """Cells of one look share one style. Setting a Font, Fill or Alignment on a cell makes openpyxl
    hash it against the workbook's style tables every time (most of the cost of writing a long
    table), so the first cell of a look (from a given starting style) is styled the ordinary way and
    later ones get a copy of its style array (openpyxl 3.1). The result is the same style, cell for
    cell. One instance per workbook: the arrays index that workbook's style tables."""

    def __init__(self):
        self._arrays: dict[tuple, object] = {}

    def apply(self, cell, look: str, **attrs) -> None:
        before = cell._style                      # None for a cell never styled
        key = (look, tuple(before) if before is not None else None)   # e.g. a date's number format
        array = self._arrays.get(key)
        if array is None:
            for name, value in attrs.items():
                setattr(cell, name, value)
            self._arrays[key] = copy(cell._style)
        else:
            cell._style = copy(array)


_TOP = Alignment(vertical="top")
_WRAP_TOP = Alignment(wrap_text=True, vertical="top")


def print_landscape(ws, title_rows: str | None = None, *, a4: bool = False) -> None:
    """Printable: landscape, one page wide and as many long as needed, `title_rows` (e.g. "5:5")
    repeated on every page."""
    ws.page_setup.orientation = "landscape"
    if a4:
        ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    if title_rows:
        ws.print_title_rows = title_rows


def owned_sheet(wb, kind: OwnedSheet | str, title: str):
    """A fresh sheet for xl_plan, replacing xl_plan's previous one of that kind in the same tab
    position. A user's own sheet of that name is left alone and ours is called '<name> (xl_plan)'.
    `kind` is one of xl_plan/owned.py's, or a name for a sheet the registry does not list."""
    kind = kind if isinstance(kind, OwnedSheet) else OwnedSheet(kind)
    index = None
    old = find_owned(wb, kind)
    if old is not None:
        target = old.title
        index = wb.sheetnames.index(target)
        wb.remove(old)
    else:
        target = kind.names[0] if kind.names[0] not in wb.sheetnames else kind.names[-1]
    ws = wb.create_sheet(target, index)
    ws.cell(1, 1, f"{MARK}{title}").font = TITLE_FONT
    if kind.state != "visible":
        ws.sheet_state = kind.state
    return ws


def write_table(ws, top: int, rows: list[list], widths: Iterable[int] = (), wrap_columns: Iterable[int] = (),
                *, filter_and_freeze: bool = True) -> int:
    """Header row + data rows from row `top`; returns the last row written. `filter_and_freeze`: an
    autofilter on the table and frozen panes under its header (for a sheet holding one table)."""
    wrap = set(wrap_columns)
    styles = CellStyles()
    for i, width in enumerate(widths, 1):
        ws.column_dimensions[get_column_letter(i)].width = width
    for r, row in enumerate(rows, top):
        for c, value in enumerate(row, 1):
            cell = put(ws, r, c, value)
            if r == top:
                styles.apply(cell, "header", font=HEADER_FONT, fill=HEADER_FILL)
            elif c in wrap:
                styles.apply(cell, "wrap", alignment=_WRAP_TOP)
            else:
                styles.apply(cell, "top", alignment=_TOP)
    last = top + len(rows) - 1
    if filter_and_freeze:
        if len(rows) > 1:
            ws.auto_filter.ref = f"A{top}:{get_column_letter(len(rows[0]))}{last}"
        ws.freeze_panes = ws.cell(top + 1, 1)
    return last


def put(ws, row: int, column: int, value):
    """Write a value as data: text that starts with '=' stays text, never a formula (formula injection)."""
    cell = ws.cell(row, column)
    kind = type(value)
    if kind is str:                      # what openpyxl's value setter does for text, less its formula test
        value = cell.check_string(value)
        cell._value, cell.data_type = value, ("e" if value in ERROR_CODES else "s")
    elif kind is int or kind is float or value is None:
        cell._value, cell.data_type = value, "n"
    else:
        cell.value = value
        if cell.data_type == "f":
            cell.data_type = "s"
    return cell


def remove_marks(ws) -> int:
    """Remove the comments xl_plan added to cells; returns how many."""
    removed = 0
    for cell in list(ws._cells.values()):
        if cell.comment is not None and cell.comment.author == OWNER:
            cell.comment = None
            removed += 1
    return removed


def mark_cells(ws, notes: dict[str, list[str]]) -> int:
    """Add a comment from xl_plan to each cell (coordinate -> messages), never over a user's comment."""
    marked = 0
    for coord, messages in notes.items():
        cell = ws[coord]
        if cell.comment is not None and cell.comment.author != OWNER:
            continue
        text = "\n".join(f"• {m}" for m in messages)
        comment = Comment(f"{OWNER}:\n{text}", OWNER)
        comment.width, comment.height = 320, min(60 + 40 * len(messages), 300)
        cell.comment = comment
        marked += 1
    return marked
