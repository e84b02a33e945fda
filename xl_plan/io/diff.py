"""What a job changed in a workbook, as data: the ribbon runs a job on a saved copy of the
open workbook, then replays these changes into Excel through xlwings, so that Excel keeps
everything it had (the job's own sheets are copied across whole; on the user's sheets only
the changed cells are written)."""
from __future__ import annotations

from dataclasses import dataclass, field
from itertools import compress, islice, repeat
from operator import attrgetter, is_not, itemgetter, ne
from pathlib import Path

from openpyxl.styles.cell_style import StyleArray
from openpyxl.utils import get_column_letter

from ..owned import OWNER, is_owned
from .fastwrite import row_cells
from .workbook import load


@dataclass(frozen=True)
class CellChange:
    sheet: str
    coordinate: str
    value: object = None
    fill: str | None = None          # "RRGGBB" solid fill, or None for no fill
    note: str | None = None          # xl_plan's note text, or None for no xl_plan note
    fields: frozenset = frozenset()   # which of "value", "fill", "note" changed


@dataclass
class WorkbookChanges:
    sheets: list[str] = field(default_factory=list)           # to copy across whole (new or xl_plan's)
    removed_sheets: list[str] = field(default_factory=list)
    hidden_sheets: dict[str, str] = field(default_factory=dict)  # sheet -> state after
    cells: list[CellChange] = field(default_factory=list)
    names_added: dict[str, str] = field(default_factory=dict)  # defined name -> reference
    names_removed: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.sheets or self.removed_sheets or self.cells or self.names_added or self.names_removed)


def _fill(cell) -> str | None:
    fill = cell.fill
    if fill is None or fill.fill_type != "solid":
        return None
    rgb = fill.fgColor.rgb if fill.fgColor is not None and fill.fgColor.type == "rgb" else None
    return rgb[-6:].upper() if isinstance(rgb, str) else None


def _note(cell) -> str | None:
    c = cell.comment
    return c.text if c is not None and c.author == OWNER else None


_VALUE = attrgetter("_value")
# A cell's fill index in its style array: what StyleArray.fillId gives, without a Python descriptor call per cell.
_FILL_ID = StyleArray.__dict__["fillId"].key
# Whole sheets of cells are compared in C (map, zip, compress): a plan's tens of thousands of cells
# are nearly all untouched by a job.
_COMMENT = attrgetter("_comment")
_STYLE = attrgetter("_style")
_FILL = itemgetter(_FILL_ID)


_NO_STYLE = StyleArray()        # how a cell without a style array (a covered cell of a merge) reads: fill 0


def _fills_of(cells) -> list[int]:
    styles = list(map(_STYLE, cells))
    try:
        return list(map(_FILL, styles))
    except TypeError:                   # a covered cell without a style array (one a job merged): fill 0
        return list(map(_FILL, [s if s is not None else _NO_STYLE for s in styles]))


def _fill_ids(cells: dict) -> dict:
    return dict(zip(cells, _fills_of(cells.values())))


def _with_comments(cells: dict):
    return compress(cells, map(is_not, map(_COMMENT, cells.values()), repeat(None)))


@dataclass
class Baseline:
    """What a loaded workbook held, to tell later what a job changed in it (taken right after the
    load: values of every sheet, and for the user's sheets each cell's fill index and xl_plan note)."""

    sheets: list[str]
    states: dict[str, str]
    values: dict[str, dict[tuple[int, int], object]]
    fill_ids: dict[str, dict[tuple[int, int], int]]
    fills: dict[str, dict[tuple[int, int], str | None]]     # only for a diff against another file
    notes: dict[str, dict[tuple[int, int], str | None]]
    names: dict[str, str]


def baseline_of(wb) -> Baseline:
    base = Baseline(list(wb.sheetnames), {}, {}, {}, {}, {}, _names(wb))
    for ws in wb.worksheets:
        name = ws.title
        base.states[name] = ws.sheet_state
        cells = ws._cells
        base.values[name] = dict(zip(cells, map(_VALUE, cells.values())))
        if is_owned(ws):
            continue
        base.fill_ids[name] = _fill_ids(cells)
        base.notes[name] = {rc: _note(cells[rc]) for rc in _with_comments(cells)}
    return base


def _names(wb) -> dict[str, str]:
    return {n: str(d.attr_text) for n, d in wb.defined_names.items()}


def diff_against(base: Baseline, wb1) -> WorkbookChanges:
    """What changed in `wb1` since `base` was taken (of the same workbook, or of a copy of it)."""
    out = WorkbookChanges()
    out.removed_sheets = [name for name in base.sheets if name not in wb1.sheetnames]
    for ws1 in wb1.worksheets:
        name = ws1.title
        if name not in base.values or is_owned(ws1):
            if name not in base.values or _sheet_differs(base.values[name], ws1):
                out.sheets.append(name)
            if ws1.sheet_state != "visible":
                out.hidden_sheets[name] = ws1.sheet_state
            continue
        if base.states[name] != ws1.sheet_state:
            out.hidden_sheets[name] = ws1.sheet_state
        values0, fill_ids0, notes0 = base.values[name], base.fill_ids.get(name, {}), base.notes.get(name, {})
        fills0 = base.fills.get(name)
        cells1 = ws1._cells
        fill_of = _FillsOf(wb1)
        found = []
        for rc in _candidates(values0, fill_ids0, notes0, cells1) if fills0 is None else set(values0) | set(cells1):
            c1 = cells1.get(rc)
            if (c1 is not None and rc in values0 and c1._value is values0[rc] and c1.comment is None
                    and rc not in notes0 and fills0 is None
                    and (c1._style.fillId if c1._style is not None else 0) == fill_ids0.get(rc, 0)):
                continue        # the very value it had, its fill and no note: unchanged (most cells)
            v0, v1 = values0.get(rc), (c1.value if c1 else None)
            f0 = f1 = None
            if fills0 is not None:          # another file: its fill indexes mean nothing here
                f0, f1 = fills0.get(rc), (_fill(c1) if c1 is not None else None)
            elif (c1._style.fillId if c1 is not None and c1._style is not None else 0) != fill_ids0.get(rc, 0):
                f0, f1 = fill_of[fill_ids0.get(rc, 0)], (fill_of.cell(c1) if c1 is not None else None)
            n0, n1 = notes0.get(rc), (_note(c1) if c1 is not None and c1.comment is not None else None)
            changed = frozenset(k for k, a, b in (("value", v0, v1), ("fill", f0, f1), ("note", n0, n1)) if a != b)
            if changed:
                found.append((rc, CellChange(name, _coordinate(rc), v1, fill_of.cell(c1) if c1 is not None else None,
                                             n1, changed)))
        out.cells.extend(change for _, change in sorted(found, key=lambda x: x[0]))
    names0, names1 = base.names, _names(wb1)
    out.names_added = {n: ref for n, ref in names1.items() if names0.get(n) != ref}
    out.names_removed = [n for n in names0 if n not in names1]
    return out


_GONE = object()


def _candidates(values0: dict, fill_ids0: dict, notes0: dict, cells1: dict) -> set:
    """The cells of a user's sheet that may have changed: all but those holding the very value
    object they had, the same fill and no note (found in bulk: most of a large plan is untouched)."""
    n = len(values0)
    if len(fill_ids0) == n <= len(cells1) and list(islice(cells1, n)) == list(values0):
        # the cells the baseline saw, in its order, and any made since after them (as a job makes
        # cells): compared in C, column by column
        now = list(islice(cells1.values(), n))
        # each of values, notes and fills: all as they were (one comparison of lists), or the cells that
        # are not (an equal value is no change: diff_against says so of it too)
        values, fills = list(map(_VALUE, now)), _fills_of(now)
        out = set(compress(values0, map(is_not, map(_COMMENT, now), repeat(None))))
        if values != list(values0.values()):
            out.update(compress(values0, map(is_not, values, values0.values())))
        if fills != list(fill_ids0.values()):
            out.update(compress(values0, map(ne, fills, fill_ids0.values())))
        out.update(islice(cells1, n, None))
        out.update(notes0)
        return out
    out = {rc for rc, c in cells1.items()
           if values0.get(rc, _GONE) is not c._value or c._comment is not None
           or (c._style[_FILL_ID] if c._style is not None else 0) != fill_ids0.get(rc, 0)}
    out.update(values0.keys() - cells1.keys())
    out.update(notes0)
    return out


class _FillsOf(dict):
    """fill number -> _fill_of_id(wb, number), each worked out once (a sheet's cells share a few fills)."""

    def __init__(self, wb):
        super().__init__()
        self.wb = wb

    def __missing__(self, fill_id: int) -> str | None:
        out = self[fill_id] = _fill_of_id(self.wb, fill_id)
        return out

    def cell(self, cell) -> str | None:
        """_fill(cell): the fill of the cell's style (a cell without one has the first)."""
        return self[cell._style.fillId if cell._style is not None else 0]


def _fill_of_id(wb, fill_id: int) -> str | None:
    """The solid colour of fill number `fill_id` of the workbook's style tables."""
    try:
        fill = wb._fills[fill_id]
    except (IndexError, AttributeError):
        return None
    if fill is None or getattr(fill, "fill_type", None) != "solid":
        return None
    rgb = fill.fgColor.rgb if fill.fgColor is not None and fill.fgColor.type == "rgb" else None
    return rgb[-6:].upper() if isinstance(rgb, str) else None


def _coordinate(rc: tuple[int, int]) -> str:
    return f"{get_column_letter(rc[1])}{rc[0]}"


def diff_workbooks(before: Path, after: Path) -> WorkbookChanges:
    """What a job changed: `after` is a copy of `before` that the job wrote (the ribbon's case)."""
    wb0 = load(before)
    base = baseline_of(wb0)
    base.fills = {name: {rc: _fill(c) for rc, c in wb0[name]._cells.items()} for name in base.fill_ids}
    return diff_against(base, load(after))


def _sheet_differs(values0: dict, ws1) -> bool:
    records = row_cells(ws1)
    if records is not None and records.rows:        # cells kept as records are cells written
        return True
    if set(values0) != set(ws1._cells):
        return True
    return any(values0[rc] != c.value for rc, c in ws1._cells.items())
