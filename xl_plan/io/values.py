"""The cell values of a workbook's sheets, without building an openpyxl workbook.

Merging a month's returns reads a few hundred small workbooks, and of each only the values of
two sheets. A full `openpyxl.load_workbook` also builds every style, a cell object per cell and a
merged-cell object per covered position: several times the cost of the values. `ValuesReader`
reads just the parts that hold values (shared strings, number formats that mean dates, the sheets
asked for) with openpyxl's own part parsers and the fast cell reader of io/sheet_reader.py, so each
value comes back exactly as load_workbook gives it (tests/test_values_reader.py compares the two on every kind of cell), and through
openpyxl's XML functions, which use defusedxml when it is installed.

`OpenpyxlValues` offers the same view of an already loaded openpyxl workbook.
"""
from __future__ import annotations

import zipfile
from dataclasses import dataclass, field
from functools import lru_cache
from io import BytesIO

from openpyxl.packaging.custom import CustomPropertyList
from openpyxl.packaging.manifest import Manifest
from openpyxl.packaging.relationship import get_dependents, get_rels_path
from openpyxl.packaging.workbook import WorkbookPackage
from openpyxl.reader.excel import _find_workbook_part
from openpyxl.reader.strings import read_string_table
from openpyxl.styles.numbers import builtin_format_code, is_date_format, is_timedelta_format
from openpyxl.utils.cell import range_boundaries
from openpyxl.utils.datetime import CALENDAR_MAC_1904, WINDOWS_EPOCH
from openpyxl.xml.constants import ARC_CONTENT_TYPES, ARC_CUSTOM, ARC_STYLE, SHARED_STRINGS, SHEET_MAIN_NS
from openpyxl.xml.functions import fromstring

from .sheet_reader import FastSheetParser, cells_apart


@dataclass
class SheetValues:
    title: str
    cells: dict[int, dict[int, object]]             # row -> column -> value, non-empty cells only
    merged: list[tuple[int, int, int, int]] = field(default_factory=list)   # (min_col, min_row, max_col, max_row)

    @property
    def max_row(self) -> int:
        return max(self.cells, default=0)

    def rows(self, max_col: int) -> list[list[object]]:
        """Rows 1..max_row as lists of `max_col` values (None where empty)."""
        return [[self.cells.get(r, {}).get(c) for c in range(1, max_col + 1)] for r in range(1, self.max_row + 1)]


def _without_merged_cells(cells: dict[int, dict[int, object]], merged) -> None:
    """Only the top-left cell of a merged range holds a value (as in Excel and openpyxl)."""
    for min_col, min_row, max_col, max_row in merged:
        for r in range(min_row, max_row + 1):
            row = cells.get(r)
            if not row:
                continue
            for c in range(min_col, max_col + 1):
                if (r, c) != (min_row, min_col):
                    row.pop(c, None)
            if not row:
                del cells[r]


_MERGE_TAG = "{%s}mergeCells" % SHEET_MAIN_NS
_MERGE_CELL_TAG = "{%s}mergeCell" % SHEET_MAIN_NS
class ValuesReader:
    """Values of the sheets of an .xlsx/.xlsm on disk. Raises what the zip or XML parsers raise
    (including defusedxml's refusals); callers decide what to tell the user."""

    def __init__(self, path):
        self.archive = zipfile.ZipFile(path)
        try:
            self.manifest = _manifest(self.archive.read(ARC_CONTENT_TYPES))
            part = _find_workbook_part(self.manifest).PartName[1:]
            date1904, sheets = _workbook(self.archive.read(part))
            rels_path = get_rels_path(part)
            rels = dict(_targets(self.archive.read(rels_path), rels_path))
            self.epoch = CALENDAR_MAC_1904 if date1904 else WINDOWS_EPOCH
            parts = set(self.archive.namelist())
            self._targets = {name: rels[rid] for name, rid in sheets if rid and rid in rels and rels[rid] in parts}
            self.sheetnames = [name for name, _ in sheets if name in self._targets]
            self._strings = self._shared_strings()
            self._date_styles, self._timedelta_styles = self._number_formats()
        except BaseException:
            self.archive.close()
            raise

    def close(self) -> None:
        self.archive.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _shared_strings(self) -> list[str]:
        ct = self.manifest.find(SHARED_STRINGS)
        if ct is None:
            return []
        with self.archive.open(ct.PartName[1:]) as src:
            return read_string_table(src)

    def _number_formats(self) -> tuple[frozenset[int], frozenset[int]]:
        """Indexes of the cell styles whose number format shows a date (or a duration), which
        turn a stored number into a datetime (timedelta): openpyxl's Stylesheet rule, without
        building the fonts, fills and borders."""

        try:
            return _number_formats(self.archive.read(ARC_STYLE))
        except KeyError:
            return frozenset(), frozenset()

    def sheet(self, name: str) -> SheetValues:
        data = self.archive.read(self._targets[name])
        split = cells_apart(data)
        if split is not None:
            # Of everything but the cells only the merged ranges are wanted: the rest of the part is
            # parsed (defusedxml refuses entity tricks there as everywhere) without openpyxl building
            # its validation, formatting and print settings; the cells go to the fast reader alone.
            rest, data = split
            refs = None
            for merges in fromstring(rest).iter(_MERGE_TAG):       # openpyxl keeps the last one
                refs = [m.get("ref") for m in merges.iterfind(_MERGE_CELL_TAG)]
        parser = FastSheetParser(BytesIO(data), self._strings, epoch=self.epoch, date_formats=self._date_styles,
                                 timedelta_formats=self._timedelta_styles)
        cells: dict[int, dict[int, object]] = {}
        for r, c, value, _, _ in (parser.cells() if split is None else parser.values_of_cells_part(data)):
            if value is not None and value != "":
                cells.setdefault(r, {})[c] = value
        if split is None:
            refs = [m.ref for m in parser.merged_cells.mergeCell] if parser.merged_cells is not None else None
        merged = [range_boundaries(ref) for ref in refs or () if ref]
        _without_merged_cells(cells, merged)
        return SheetValues(name, cells, merged)

    def custom_properties(self) -> dict[str, object]:
        try:
            src = self.archive.read(ARC_CUSTOM)
        except KeyError:
            return {}
        return {p.name: p.value for p in CustomPropertyList.from_tree(fromstring(src)) if p.name}


# The returns of one month are made from one master: their content types, workbook, relationships
# and styles parts are mostly the very same bytes. What is read from such a part depends on its
# bytes alone, so it is parsed (defused) once and looked up for the next return holding the same.

@lru_cache(maxsize=32)
def _manifest(data: bytes) -> Manifest:
    return Manifest.from_tree(fromstring(data))        # only read from, never changed


@lru_cache(maxsize=32)
def _workbook(data: bytes) -> tuple[bool, tuple[tuple[str, str | None], ...]]:
    """(date1904, ((sheet name, relationship id), ...)) of a workbook part."""
    package = WorkbookPackage.from_tree(fromstring(data))
    return bool(package.properties and package.properties.date1904), tuple((s.name, s.id) for s in package.sheets)


class _OnePart:
    def __init__(self, data: bytes):
        self.data = data

    def read(self, _name):
        return self.data


@lru_cache(maxsize=32)
def _targets(data: bytes, rels_path: str) -> tuple[tuple[str, str], ...]:
    """(id, target part) of each relationship in the part at rels_path, as openpyxl resolves them."""
    return tuple((rid, rel.target) for rid, rel in get_dependents(_OnePart(data), rels_path).to_dict().items())


@lru_cache(maxsize=32)
def _number_formats(data: bytes) -> tuple[frozenset[int], frozenset[int]]:
    """See ValuesReader._number_formats."""
    root = fromstring(data)
    ns = "{%s}" % SHEET_MAIN_NS
    custom = {int(f.get("numFmtId")): f.get("formatCode") for f in root.iterfind(f"{ns}numFmts/{ns}numFmt")}
    dates, durations = set(), set()
    for idx, xf in enumerate(root.iterfind(f"{ns}cellXfs/{ns}xf")):
        fmt_id = int(xf.get("numFmtId") or 0)
        fmt = custom[fmt_id] if fmt_id in custom else builtin_format_code(fmt_id)
        if is_date_format(fmt):
            dates.add(idx)
        if is_timedelta_format(fmt):
            durations.add(idx)
    return frozenset(dates), frozenset(durations)


class OpenpyxlValues:
    """The ValuesReader view of a workbook openpyxl has loaded."""

    def __init__(self, wb):
        self.wb = wb
        self.sheetnames = wb.sheetnames

    def sheet(self, name: str) -> SheetValues:
        from .grid import rows_of

        ws = self.wb[name]
        cells = {r: row for r, row in rows_of(ws).items() if row}
        return SheetValues(ws.title, cells, [rng.bounds for rng in ws.merged_cells.ranges])

    def custom_properties(self) -> dict[str, object]:
        return {p.name: p.value for p in getattr(self.wb, "custom_doc_props", []) or [] if p.name}
