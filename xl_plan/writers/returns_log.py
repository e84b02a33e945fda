"""The master's hidden `Returns log` sheet, the month's record (read by xl_plan/returns/log.py):
rewritten whole, the events it had first, then the new ones."""
from __future__ import annotations

from openpyxl.styles import Font

from ..owned import RETURNS_LOG
from ..returns.log import LOG_HEADER, LOG_TITLE, read_returns_log
from ..sheets import owned_sheet, put


def write_returns_log(wb, new_rows: list[dict[str, str]]) -> None:
    """Add the events `new_rows` after the ones the log already has (the sheet is made when there is
    none; an old log gets the event columns). A row without `event` is a `made` event."""
    rows = read_returns_log(wb) + [{"event": "made", **r} for r in new_rows]
    ws = owned_sheet(wb, RETURNS_LOG, LOG_TITLE)
    for c, h in enumerate(LOG_HEADER, 1):
        put(ws, 2, c, h).font = Font(bold=True)
    for r, row in enumerate(rows, 3):
        for c, h in enumerate(LOG_HEADER, 1):
            put(ws, r, c, row.get(h, ""))
