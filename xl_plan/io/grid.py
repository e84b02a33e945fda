"""Reading a sheet's values by row straight from openpyxl's cell store: iter_rows would create
an empty cell object for every blank position, which dominates the time on a large plan."""
from __future__ import annotations

from collections import defaultdict
from itertools import compress
from operator import attrgetter, itemgetter


def rows_of(ws, min_row: int = 1, max_row: int | None = None, min_col: int = 1, max_col: int | None = None) -> dict[int, dict[int, object]]:
    """{row: {column: value}} for the non-empty cells in the window (1-based, inclusive)."""
    max_row = max_row or ws.max_row or 1
    max_col = max_col or ws.max_column or 1
    out: dict[int, dict[int, object]] = defaultdict(dict)
    cells = ws._cells
    # A small window: look its cells up (a look-up costs about two steps of the walk over every cell).
    if 2 * (max_row - min_row + 1) * (max_col - min_col + 1) < len(cells):
        for r in range(min_row, max_row + 1):
            for c in range(min_col, max_col + 1):
                cell = cells.get((r, c))
                if cell is not None:
                    value = cell._value
                    if value is not None and value != "":
                        out[r][c] = value
        return out
    for (r, c), cell in cells.items():
        if min_row <= r <= max_row and min_col <= c <= max_col:
            value = cell._value
            if value is not None and value != "":
                out[r][c] = value
    return out


def formula_cells(ws, min_row: int = 1, max_row: int | None = None, min_col: int = 1, max_col: int | None = None) -> list[tuple[int, int]]:
    """(row, column) of the cells in the window that hold a formula: their value is the formula's text,
    not its result (see io.workbook.saved_results)."""
    cells = ws._cells
    found = list(compress(cells, map(_IS_FORMULA, map(_DATA_TYPE, cells.values()))))
    # No upper bound given is the sheet's own, which holds every cell: not worked out (a scan of them all).
    return sorted((r, c) for r, c in found if min_row <= r and min_col <= c
                  and (not max_row or r <= max_row) and (not max_col or c <= max_col))


def last_column(ws) -> int:
    """ws.max_column (1 for a sheet without cells), its scan of every cell made in C."""
    return max(map(_COLUMN_OF, ws._cells), default=1)


_COLUMN_OF = itemgetter(1)
_DATA_TYPE = attrgetter("data_type")
_IS_FORMULA = "f".__eq__
