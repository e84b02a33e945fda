"""What a job changed (io/diff.py): the cells whose value, fill or xl_plan note changed, found the same
way whether the sheet's cells are compared in bulk (the cells the baseline saw, in its order, plus
new ones) or one by one (a cell deleted)."""
from __future__ import annotations

import openpyxl
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl.comments import Comment
from openpyxl.styles import PatternFill
from openpyxl.utils import get_column_letter

from xl_plan.io.diff import _fill, _note, baseline_of, diff_against
from xl_plan.owned import OWNER

ROWS, COLS = 8, 4
FILLS = [None, "FF0000", "00B050"]


def _sheet():
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Plan"
    for r in range(1, ROWS + 1):
        for c in range(1, COLS + 1):
            ws.cell(r, c, f"r{r}c{c}" if (r + c) % 3 else r * c)
    ws["B2"].fill = PatternFill("solid", fgColor="FFC000")
    ws["C3"].comment = Comment("the manager's own note", "Manager")
    ws["D4"].comment = Comment("an earlier xl_plan note", OWNER)
    ws.merge_cells("A8:B8")                     # a covered cell has no style array
    return wb, ws


def _snapshot(ws) -> dict:
    return {rc: (c.value, _fill(c), _note(c) if c.comment is not None else None) for rc, c in ws._cells.items()}


def _expected(before: dict, after: dict) -> dict:
    out = {}
    for rc in set(before) | set(after):
        a, b = before.get(rc, (None, None, None)), after.get(rc, (None, None, None))
        fields = frozenset(k for k, x, y in zip(("value", "fill", "note"), a, b) if x != y)
        if fields:
            out[rc] = (b[0], b[1], b[2], fields)
    return out


_cell = st.tuples(st.integers(1, ROWS + 2), st.integers(1, COLS + 1))
_edit = st.one_of(
    st.tuples(st.just("value"), _cell, st.sampled_from(["new text", 7, None, "r1c1"])),
    st.tuples(st.just("same value, new object"), _cell, st.none()),
    st.tuples(st.just("fill"), _cell, st.sampled_from(FILLS)),
    st.tuples(st.just("note"), _cell, st.sampled_from([None, "needs a date", "the manager's own note"])),
    st.tuples(st.just("delete"), _cell, st.none()),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(_edit, max_size=12))
def test_the_changes_found_are_exactly_the_cells_changed(edits):
    wb, ws = _sheet()
    base = baseline_of(wb)
    before = _snapshot(ws)
    for kind, (r, c), arg in edits:
        if kind == "delete":
            ws._cells.pop((r, c), None)
            continue
        cell = ws.cell(r, c)
        if type(cell).__name__ == "MergedCell":
            continue
        if kind == "value":
            cell.value = arg
        elif kind == "same value, new object" and isinstance(cell.value, str):
            cell.value = "".join(list(cell.value))         # equal, not the same object
        elif kind == "fill":
            cell.fill = PatternFill("solid", fgColor=arg) if arg else PatternFill()
        elif kind == "note":
            cell.comment = Comment(arg, OWNER) if arg else None
    found = {ch.coordinate: (ch.value, ch.fill, ch.note, ch.fields) for ch in diff_against(base, wb).cells}
    expected = {f"{get_column_letter(c)}{r}": change for (r, c), change in _expected(before, _snapshot(ws)).items()}
    assert found == expected
