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


class SheetCells:
    """A sheet's cells when a baseline was taken, in the sheet's order: their places, values and (on a
    user's sheet) fill numbers as lists, made in C; as dicts by place only when a comparison needs them
    (a plan's tens of thousands of cells are nearly all untouched by a job)."""

    def __init__(self, cells: dict, user_sheet: bool):
        self.places = list(cells)
        self.values = list(map(_VALUE, cells.values()))
        self.fill_ids = _fills_of(cells.values()) if user_sheet else None
        # the cells with a note (xl_plan's or the user's), by place: where each is in the lists
        self.noted = {self.places[i]: i for i in compress(range(len(self.places)),
                                                           map(is_not, map(_COMMENT, cells.values()), repeat(None)))} \
            if user_sheet else {}
        self._values, self._fills = None, None

    def value_by_place(self) -> dict:
        if self._values is None:
            self._values = dict(zip(self.places, self.values))
        return self._values

    def fill_by_place(self) -> dict:
        if self._fills is None:
            self._fills = dict(zip(self.places, self.fill_ids))
        return self._fills


@dataclass
class Baseline:
    """What a loaded workbook held, to tell later what a job changed in it (taken right after the
    load: values of every sheet, and for the user's sheets each cell's fill index and xl_plan note)."""

    sheets: list[str]
    states: dict[str, str]
    cells: dict[str, SheetCells]
    fills: dict[str, dict[tuple[int, int], str | None]]     # only for a diff against another file
    notes: dict[str, dict[tuple[int, int], str | None]]
    names: dict[str, str]


def baseline_of(wb) -> Baseline:
    base = Baseline(list(wb.sheetnames), {}, {}, {}, {}, _names(wb))
    for ws in wb.worksheets:
        name = ws.title
        base.states[name] = ws.sheet_state
        cells = ws._cells
        user_sheet = not is_owned(ws)
        snap = base.cells[name] = SheetCells(cells, user_sheet)
        if user_sheet:
            base.notes[name] = {rc: _note(cells[rc]) for rc in snap.noted}
    return base


def _names(wb) -> dict[str, str]:
    return {n: str(d.attr_text) for n, d in wb.defined_names.items()}


def diff_against(base: Baseline, wb1) -> WorkbookChanges:
    """What changed in `wb1` since `base` was taken (of the same workbook, or of a copy of it)."""
    out = WorkbookChanges()
    out.removed_sheets = [name for name in base.sheets if name not in wb1.sheetnames]
    for ws1 in wb1.worksheets:
        name = ws1.title
        snap = base.cells.get(name)
        if snap is None or is_owned(ws1):
            if snap is None or _sheet_differs(snap.value_by_place(), ws1):
                out.sheets.append(name)
            if ws1.sheet_state != "visible":
                out.hidden_sheets[name] = ws1.sheet_state
            continue
        if base.states[name] != ws1.sheet_state:
            out.hidden_sheets[name] = ws1.sheet_state
        notes0 = base.notes.get(name, {})
        fills0 = base.fills.get(name)
        cells1 = ws1._cells
        fill_of = _FillsOf(wb1)
        if fills0 is None:
            candidates = _candidates(snap, notes0, cells1)
        else:
            values0 = snap.value_by_place()
            candidates = {rc: (values0.get(rc, _GONE), 0) for rc in set(values0) | set(cells1)}
        found = []
        for rc, (v0, fill0) in candidates.items():
            c1 = cells1.get(rc)
            had = v0 is not _GONE
            if (c1 is not None and had and c1._value is v0 and c1.comment is None
                    and rc not in notes0 and fills0 is None
                    and (c1._style.fillId if c1._style is not None else 0) == fill0):
                continue        # the very value it had, its fill and no note: unchanged (most cells)
            v0, v1 = (v0 if had else None), (c1.value if c1 else None)
            f0 = f1 = None
            if fills0 is not None:          # another file: its fill indexes mean nothing here
                f0, f1 = fills0.get(rc), (_fill(c1) if c1 is not None else None)
            elif (c1._style.fillId if c1 is not None and c1._style is not None else 0) != fill0:
                f0, f1 = fill_of[fill0], (fill_of.cell(c1) if c1 is not None else None)
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


def _candidates(snap: SheetCells, notes0: dict, cells1: dict) -> dict:
    """The cells of a user's sheet that may have changed, each with (its value then, or _GONE for a cell
    made since; its fill number then): all but those holding the very value object they had, the same
    fill and no note (found in bulk: most of a large plan is untouched)."""
    places, values0, fills0 = snap.places, snap.values, snap.fill_ids
    n = len(places)
    if n <= len(cells1) and list(islice(cells1, n)) == places:
        # the cells the baseline saw, in its order, and any made since after them (as a job makes
        # cells): compared in C, column by column; each of values, notes and fills all as they were
        # (one comparison of lists), or the cells that are not (an equal value is no change:
        # diff_against says so of it too)
        now = list(islice(cells1.values(), n))
        values, fills = list(map(_VALUE, now)), _fills_of(now)
        at = set(compress(range(n), map(is_not, map(_COMMENT, now), repeat(None))))
        if values != values0:
            at.update(compress(range(n), map(is_not, values, values0)))
        if fills != fills0:
            at.update(compress(range(n), map(ne, fills, fills0)))
        at.update(snap.noted.values())
        out = {places[i]: (values0[i], fills0[i]) for i in at}
        out.update((rc, (_GONE, 0)) for rc in islice(cells1, n, None))
        return out
    by_place, fill_by_place = snap.value_by_place(), snap.fill_by_place()
    out = {rc: (by_place.get(rc, _GONE), fill_by_place.get(rc, 0)) for rc, c in cells1.items()
           if by_place.get(rc, _GONE) is not c._value or c._comment is not None
           or (c._style[_FILL_ID] if c._style is not None else 0) != fill_by_place.get(rc, 0)}
    for rc in by_place.keys() - cells1.keys():
        out[rc] = (by_place[rc], fill_by_place[rc])
    for rc in notes0:
        out[rc] = (by_place.get(rc, _GONE), fill_by_place.get(rc, 0))
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
    base.fills = {name: {rc: _fill(c) for rc, c in wb0[name]._cells.items()} for name in base.notes}
    return diff_against(base, load(after))


def _sheet_differs(values0: dict, ws1) -> bool:
    records = row_cells(ws1)
    if records is not None and records.rows:        # cells kept as records are cells written
        return True
    if set(values0) != set(ws1._cells):
        return True
    return any(values0[rc] != c.value for rc, c in ws1._cells.items())
