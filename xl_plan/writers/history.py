"""The History sheet: an append-only record, in the master, of every value a merge wrote and of
everything a return proposed that was not applied (conflicts, edits to protected columns,
added rows...), so nothing a lead sent is ever lost.

It is created once (title in A1, header in row 2) and never recreated or cleared: a merge only
appends rows. A row equal to one already there (same month, key, field, new value, lead and
outcome) is not added again, so merging the same return twice adds nothing.
"""
from __future__ import annotations

from dataclasses import dataclass

from openpyxl.styles import Alignment, Font

from ..io.fastwrite import record_values
from ..owned import HISTORY, MARK, find_owned
from ..sheets import HEADER_FILL, HEADER_FONT, TITLE_FONT, CellWriter, fit_row_heights, print_landscape, put
from ..text import clean

SHEET = HISTORY.name
TITLE = f"{MARK}History (every change merged from the leads' returns; xl_plan only adds rows, never removes any)"
HEADER = ["month", "action key", "ref", "field", "old value", "new value", "lead", "source file", "time", "outcome"]
WIDTHS = (9, 12, 8, 12, 50, 50, 14, 40, 18, 40)
APPLIED = "applied"
HEADER_ROW = 2
_WRAP = Alignment(wrap_text=True, vertical="top")
_NOT_APPLIED = Font(color="C00000")
_TOP = Alignment(vertical="top")


@dataclass
class HistoryRow:
    month: str
    key: str
    ref: str
    field: str
    old: str
    new: str
    lead: str
    source: str
    time: str
    outcome: str = APPLIED

    def values(self) -> list[str]:
        return [self.month, self.key, self.ref, self.field, self.old, self.new, self.lead, self.source, self.time,
                self.outcome]

    @property
    def identity(self) -> tuple:
        return (self.month, self.key.upper(), self.field, " ".join(self.new.split()), self.lead.casefold(), self.outcome)


def find_sheet(wb):
    """xl_plan's History sheet, or None. A user's own sheet called History is never taken."""
    return find_owned(wb, HISTORY)


def read_history(wb) -> list[HistoryRow]:
    """Every row recorded, oldest first: those read from the workbook, then those appended in this run
    (kept as cell records when the job asked for them)."""
    ws = find_sheet(wb)
    if ws is None:
        return []
    out = []
    for values in ws.iter_rows(min_row=HEADER_ROW + 1, max_col=len(HEADER), values_only=True):
        _add_row(out, values)
    for values in record_values(ws, len(HEADER)):
        _add_row(out, values)
    return out


def _add_row(out: list[HistoryRow], values) -> None:
    texts = [clean(v) if not isinstance(v, str) else v for v in values] + [""] * len(HEADER)
    if any(texts[: len(HEADER)]):
        out.append(HistoryRow(*[t or "" for t in texts[: len(HEADER)]]))


def _create(wb):
    name = HISTORY.names[0] if HISTORY.names[0] not in wb.sheetnames else HISTORY.names[-1]
    ws = wb.create_sheet(name)
    ws.cell(1, 1, TITLE).font = TITLE_FONT
    for c, h in enumerate(HEADER, 1):
        cell = put(ws, HEADER_ROW, c, h)
        cell.font, cell.fill = HEADER_FONT, HEADER_FILL
    from openpyxl.utils import get_column_letter

    for i, w in enumerate(WIDTHS, 1):
        ws.column_dimensions[get_column_letter(i)].width = w
    ws.freeze_panes = f"A{HEADER_ROW + 1}"       # ws.cell would make an empty A3, and the rows would start below it
    return ws


def append_history(wb, rows: list[HistoryRow], existing: list[HistoryRow] | None = None, *,
                   records: bool = False) -> int:
    """Append the rows not already recorded; returns how many were added. Creates the sheet once.
    `records`: the new rows are kept as cell records (sheets.CellWriter), for a workbook saved through
    io/save.py (the jobs)."""
    existing = read_history(wb) if existing is None else existing
    seen = {r.identity for r in existing}
    new = []
    for r in rows:
        if r.identity not in seen:
            seen.add(r.identity)
            new.append(r)
    if not new:
        return 0
    ws = find_sheet(wb) or _create(wb)
    out = CellWriter(ws, records=records)
    last = max([HEADER_ROW] + [r for (r, _c) in ws._cells] + [out.records.max_row if records else 0])
    put_cell = out.put
    for i, row in enumerate(new, last + 1):
        for c, value in enumerate(row.values(), 1):
            if c in (5, 6) and len(value) > 40:
                put_cell(i, c, value, "wrap", alignment=_WRAP)
            elif c == 10 and value != APPLIED:
                put_cell(i, c, value, "not applied", font=_NOT_APPLIED, alignment=_TOP)
            else:
                put_cell(i, c, value, "top", alignment=_TOP)      # text, never a formula; level with the wrapped
    fit_row_heights(ws, last + 1, last + len(new))             # a long update prints whole
    print_landscape(ws, f"{HEADER_ROW}:{HEADER_ROW}", title_columns="A:C")
    return len(new)
