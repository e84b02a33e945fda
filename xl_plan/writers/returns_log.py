"""The master's hidden `Returns log` sheet, the month's record (xl_plan/returns/log.py says what its
rows mean and adds events through here): rewritten whole, a title, the header, then every event."""
from __future__ import annotations

from openpyxl.styles import Font

from ..owned import RETURNS_LOG
from ..sheets import CellWriter, owned_sheet, put


def write_returns_log(wb, rows: list[dict[str, str]], header: list[str], title: str, *, records: bool = False) -> None:
    """Replace xl_plan's Returns log with `rows` (column name -> text) under `header`. `records`: the
    event rows are kept as cell records (sheets.CellWriter), for a workbook saved through io/save.py."""
    ws = owned_sheet(wb, RETURNS_LOG, title)
    for c, h in enumerate(header, 1):
        put(ws, 2, c, h).font = Font(bold=True)
    out = CellWriter(ws, records=records)
    for r, row in enumerate(rows, 3):
        for c, h in enumerate(header, 1):
            out.put(r, c, row.get(h, ""))
