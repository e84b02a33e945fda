"""The master's `Returns log`: a hidden sheet, one row per return `returns make` wrote (which
month, which lead, which file where, its return id, ...). `returns status` and the merge of
returns read it back."""
from __future__ import annotations

from openpyxl.styles import Font

from ..sheets import owned_sheet, put
from ..text import clean

LOG_SHEET = "Returns log"
LOG_TITLE = "returns sent (used by xl-plan returns status; do not edit)"
LOG_HEADER = ["month", "lead", "file", "folder", "return_id", "actions", "deadline", "created", "master_sha256", "plan_id"]


def read_returns_log(wb) -> list[dict[str, str]]:
    """The log's rows (column name -> text), oldest first; [] when the workbook has no log."""
    for name in (LOG_SHEET, f"{LOG_SHEET} (xl_plan)"):
        if name in wb.sheetnames:
            ws = wb[name]
            rows = list(ws.iter_rows(min_row=2, values_only=True))
            if not rows or [clean(v) for v in rows[0][: len(LOG_HEADER)]] != LOG_HEADER:
                continue
            return [{h: clean(v) for h, v in zip(LOG_HEADER, row)} for row in rows[1:] if any(v is not None for v in row)]
    return []


def write_returns_log(wb, new_rows: list[dict[str, str]]) -> None:
    """Add `new_rows` after the rows the log already has (the sheet is made when there is none)."""
    rows = read_returns_log(wb) + new_rows
    ws = owned_sheet(wb, LOG_SHEET, LOG_TITLE)
    for c, h in enumerate(LOG_HEADER, 1):
        put(ws, 2, c, h).font = Font(bold=True)
    for r, row in enumerate(rows, 3):
        for c, h in enumerate(LOG_HEADER, 1):
            put(ws, r, c, row.get(h, ""))
    ws.sheet_state = "hidden"
