"""The master's `Returns log`: a hidden sheet, one row per return `returns make` wrote (which
month, which lead, which file where, its return id, ...). `returns status` and the merge of
returns read it back (xl_plan/writers/returns_log.py writes it)."""
from __future__ import annotations

from ..owned import RETURNS_LOG, find_owned
from ..text import clean

LOG_SHEET = RETURNS_LOG.name
LOG_TITLE = "returns sent (used by xl-plan returns status; do not edit)"
LOG_HEADER = ["month", "lead", "file", "folder", "return_id", "actions", "deadline", "created", "master_sha256", "plan_id"]


def read_returns_log(wb) -> list[dict[str, str]]:
    """The log's rows (column name -> text), oldest first; [] when the workbook has no log."""
    ws = find_owned(wb, RETURNS_LOG)
    if ws is None:
        return []
    rows = list(ws.iter_rows(min_row=2, values_only=True))
    if not rows or [clean(v) for v in rows[0][: len(LOG_HEADER)]] != LOG_HEADER:
        return []
    return [{h: clean(v) for h, v in zip(LOG_HEADER, row)} for row in rows[1:] if any(v is not None for v in row)]
