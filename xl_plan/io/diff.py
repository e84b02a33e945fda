"""What a job changed in a workbook, as data: the ribbon runs a job on a saved copy of the
open workbook, then replays these changes into Excel through xlwings, so that Excel keeps
everything it had (the job's own sheets are copied across whole; on the user's sheets only
the changed cells are written)."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..owned import OWNER, is_owned
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


def diff_workbooks(before: Path, after: Path) -> WorkbookChanges:
    wb0, wb1 = load(before), load(after)
    out = WorkbookChanges()
    for name in wb0.sheetnames:
        if name not in wb1.sheetnames:
            out.removed_sheets.append(name)
    for ws1 in wb1.worksheets:
        name = ws1.title
        if name not in wb0.sheetnames or is_owned(ws1):
            if name not in wb0.sheetnames or _sheet_differs(wb0[name], ws1):
                out.sheets.append(name)
            if ws1.sheet_state != "visible":
                out.hidden_sheets[name] = ws1.sheet_state
            continue
        ws0 = wb0[name]
        if ws0.sheet_state != ws1.sheet_state:
            out.hidden_sheets[name] = ws1.sheet_state
        coords = set(ws0._cells) | set(ws1._cells)
        for rc in sorted(coords):
            c0, c1 = ws0._cells.get(rc), ws1._cells.get(rc)
            v0, v1 = (c0.value if c0 else None), (c1.value if c1 else None)
            f0, f1 = (_fill(c0) if c0 else None), (_fill(c1) if c1 else None)
            n0, n1 = (_note(c0) if c0 else None), (_note(c1) if c1 else None)
            changed = frozenset(k for k, a, b in (("value", v0, v1), ("fill", f0, f1), ("note", n0, n1)) if a != b)
            if changed:
                coord = (c1 or c0).coordinate
                out.cells.append(CellChange(name, coord, v1, f1, n1, changed))
    names0 = {n: str(d.attr_text) for n, d in wb0.defined_names.items()}
    names1 = {n: str(d.attr_text) for n, d in wb1.defined_names.items()}
    out.names_added = {n: ref for n, ref in names1.items() if names0.get(n) != ref}
    out.names_removed = [n for n in names0 if n not in names1]
    return out


def _sheet_differs(ws0, ws1) -> bool:
    if set(ws0._cells) != set(ws1._cells):
        return True
    return any(ws0._cells[rc].value != c.value for rc, c in ws1._cells.items())
