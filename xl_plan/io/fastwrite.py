"""A faster save of xl_plan's scratch workbook (io/save.py): the owned sheets a job writes (a long
Validation or Gantt sheet, the History) are most of what is saved, and openpyxl serialises every
cell through et_xmlfile's element writer, one Python-level tree walk per cell. `fast_cells()`
makes openpyxl's worksheet writer emit the cells of the common kinds (text, numbers, booleans,
dates, errors, styled blanks) as the very same XML text directly; formulas, rich text and anything
else still go through openpyxl's own cell writer. tests/test_fastwrite.py checks that a workbook
saved either way has byte-identical parts.

A writer may also keep whole rows as plain cell records (`RowCells`: column, value, type, style
array) instead of openpyxl cell objects, which cost more to make than to write: within
`fast_cells()` they are written at their place among the sheet's rows as the same XML text an
openpyxl cell of that value and style gives (tests/test_fastwrite.py and tests/test_gantt.py
compare whole packages). Records are only for a workbook saved through `fast_cells()` (io/save.py):
a plain `wb.save` does not see them, so a writer makes them only when asked (`materialize` turns
them into openpyxl cells).

For a job's save (io/save.py), `detach` leaves a sheet's rows of records out of the scratch file
altogether and io/graft.py writes them straight into the user's package (`Detached`), with the same
writer and the user's cell format numbers.

openpyxl is pinned to 3.1 (pyproject.toml); this relies on its worksheet writer's `rows`,
`write_row`, `write_dimensions`, `write_hyperlinks` and `write_top`, and its cell writer's
`_set_attributes`, and is used only around the scratch save."""
from __future__ import annotations

from contextlib import contextmanager
from copy import copy
from datetime import date, datetime, time, timedelta
from itertools import chain
from operator import itemgetter
from typing import NamedTuple
from xml.etree.ElementTree import _escape_attrib, _escape_cdata

from openpyxl import LXML
from openpyxl.cell import _writer as cell_writer
from openpyxl.cell.cell import Cell
from openpyxl.cell.rich_text import CellRichText
from openpyxl.comments.comment_sheet import CommentRecord
from openpyxl.compat import safe_string
from openpyxl.utils import get_column_letter
from openpyxl.utils.datetime import to_excel, to_ISO8601
from openpyxl.worksheet import _writer as ws_writer
from openpyxl.worksheet.dimensions import SheetDimension
from openpyxl.worksheet.hyperlink import Hyperlink

_set_attributes = cell_writer._set_attributes
_column = itemgetter(0)                 # of a record
_ATTR = "_xl_plan_row_cells"
_W = ws_writer.WorksheetWriter
_original = {name: getattr(_W, name) for name in ("rows", "write_row", "write_dimensions", "write_top", "write_hyperlinks")}


class RowCells:
    """Cells of a sheet kept as records `(column, value, data_type, style number)` by row, for
    `fast_cells()` to write. `value` and `data_type` are what an openpyxl cell would hold (`_value`,
    `data_type`); the style number indexes `styles`, the cells' style arrays (`cell._style`; 0: none).
    A record holds no object the garbage collector tracks, so a long sheet of them adds nothing to
    its full collections. Records and openpyxl cells may share a row, never a cell."""

    def __init__(self, ws):
        self.ws = ws
        self.rows: dict[int, list[tuple]] = {}
        self.heights: dict[int, float] = {}     # row heights of rows not in ws.row_dimensions
        self.links: dict[tuple[int, int], str] = {}     # (row, column) -> where the cell links to in the workbook
        self.max_row = 0
        self.detached = False                   # its rows go straight into the package (`detach`), not the save
        self.styles: list = [None]
        self._numbers: dict[int, int] = {}
        setattr(ws, _ATTR, self)

    def style_number(self, style) -> int:
        """The number records use for a style array (kept: records of a look share one)."""
        if style is None:
            return 0
        n = self._numbers.get(id(style))
        if n is None:
            n = self._numbers[id(style)] = len(self.styles)
            self.styles.append(style)
        return n

    def add(self, row: int, column: int, value, data_type: str, style=None) -> None:
        """A cell of a value openpyxl keeps as it is (text, number, bool, date, error: no formula)."""
        self.rows.setdefault(row, []).append((column, value, data_type, self.style_number(style)))
        self.max_row = max(self.max_row, row)

    def extent(self) -> tuple[int, int, int, int] | None:
        """(min row, min column, max row, max column) of the records, None when there are none."""
        rows = [r for r, cells in self.rows.items() if cells]
        if not rows:
            return None
        cols = list(map(_column, chain.from_iterable(self.rows[r] for r in rows)))
        return min(rows), min(cols), max(rows), max(cols)


def row_cells(ws) -> RowCells | None:
    return getattr(ws, _ATTR, None)


def record_values(ws, width: int) -> list[tuple]:
    """The values of the sheet's rows of records, in row order, each row `width` columns wide (None
    where empty), as `ws.iter_rows(values_only=True)` gives the rows of openpyxl cells."""
    rc = row_cells(ws)
    out = []
    for r in sorted(rc.rows) if rc is not None else ():
        values = [None] * width
        for c, value, _, _ in rc.rows[r]:
            if c <= width:
                values[c - 1] = value
        out.append(tuple(values))
    return out


def materialize(ws) -> None:
    """Turn the sheet's records into openpyxl cells (the same values and styles)."""
    rc = row_cells(ws)
    if rc is None:
        return
    for r, records in rc.rows.items():
        for c, value, dt, n in records:
            cell = Cell(ws, row=r, column=c)
            cell._value, cell.data_type = value, dt
            if n:
                cell._style = copy(rc.styles[n])
            location = rc.links.get((r, c))
            if location is not None:
                cell._hyperlink = Hyperlink(ref=cell.coordinate, location=location)
            ws._cells[(r, c)] = cell
    for r, height in rc.heights.items():
        ws.row_dimensions[r].height = height
    delattr(ws, _ATTR)


def _text_xml(head: str, value: str) -> str:
    stripped = value.strip()
    space = ' xml:space="preserve"' if stripped and value != stripped else ""
    return f"{head}><is><t{space}>{_escape_cdata(value)}</t></is></c>"


def _cell_xml(cell, styled) -> str | None:
    """The XML openpyxl's etree cell writer writes for `cell`, or None to leave it to that writer."""
    value = cell._value
    dt = cell.data_type
    if dt == "f" or isinstance(value, CellRichText):
        return None
    value, attrs = _set_attributes(cell, styled)      # the same attributes, hyperlink and date handling
    head = "<c" + "".join(f' {k}="{v}"' for k, v in attrs.items())
    if value is None or value == "":
        return head + " />"
    if dt == "s":
        return _text_xml(head, value)
    text = safe_string(value)
    if not text:
        return f"{head}><v /></c>"
    return f"{head}><v>{_escape_cdata(text)}</v></c>"


class _RecordWriter:
    """Writes one sheet's records as `_cell_xml` writes an openpyxl cell holding the same; a record's
    cell format is `number_of(style number)` (the scratch workbook's, or the user's package's)."""

    def __init__(self, arrays, number_of, iso: bool, epoch, links=None, on_link=None, utf8: bool = False):
        self.arrays, self.number_of = arrays, number_of
        self.links, self.on_link = links, on_link
        self.iso, self.epoch = iso, epoch
        self.utf8 = utf8                        # cells() gives UTF-8 bytes: no wide text joined and encoded
        self.texts = _CellTexts(self)           # record -> its cell's XML, _ROW for its row number
        self.heads: dict[float, bytes] = {}     # a row's height -> the rest of its start tag
        self.attrs: dict[tuple, str] = {}       # (style number, data type) -> ' s="n" t="x"', once added
        self.serials: dict = {}

    @classmethod
    def for_sheet(cls, ws) -> _RecordWriter:
        """The writer of a sheet's records in the workbook being saved."""
        wb, rc = ws.parent, row_cells(ws)
        styles, arrays = wb._cell_styles, rc.styles
        return cls(arrays, lambda n: styles.add(arrays[n]), wb.iso_dates, wb.epoch, rc.links,
                   lambda link: ws._hyperlinks.append(link))

    def _attrs(self, n: int, dt: str) -> str:
        key = (n, dt)
        attrs = self.attrs.get(key)
        if attrs is None:       # the style is added where openpyxl adds a cell's: when the cell is written
            style = self.arrays[n]
            attrs = f' s="{self.number_of(n)}"' if style is not None and any(style) else ""
            if dt == "s":
                attrs += ' t="inlineStr"'
            elif dt == "d":
                attrs += ' t="d"' if self.iso else ' t="n"'
            else:
                attrs += f' t="{dt}"'
            self.attrs[key] = attrs
        return attrs

    def row(self, row: int, attrs: dict, records) -> str:
        """A whole row of records, as openpyxl writes a <row> holding such cells."""
        head = f'<row r="{row}"' + "".join(f' {k}="{_escape_attrib(v)}"' for k, v in attrs.items() if k != "r") + ">"
        return head + self.cells(row, records) + "</row>"

    def cells(self, row: int, records) -> str | bytes:
        """The records of a row (in column order), as openpyxl writes cells holding the same (as UTF-8
        bytes for a `utf8` writer)."""
        links = self.links
        if links:                               # listed as openpyxl lists a cell's link: when it is written
            for rec in records:
                if (row, rec[0]) in links:
                    self.on_link(_PlaceLink(f"{get_column_letter(rec[0])}{row}", links[(row, rec[0])]))
        # each record's cell text is made once (most repeat), then a row is joined and numbered in C
        if self.utf8:
            return b"".join(map(self.texts.__getitem__, records)).replace(_ROW_UTF8, b"%d" % row)
        return "".join(map(self.texts.__getitem__, records)).replace(_ROW, str(row))

    def _end(self, n: int, dt: str, value) -> str | None:
        """What a record's cell is after its r="A1 (its other attributes, its value): None when it is
        not written (a blank cell with no style)."""
        a = self.attrs.get((n, dt))
        if a is None:
            if value is None and not (n and any(self.arrays[n])):
                return None                     # a blank cell with no style is not written
            a = self._attrs(n, dt)
        if dt == "s":
            if not value:
                return f'"{a} />'
            stripped = value.strip()
            space = ' xml:space="preserve"' if stripped and value != stripped else ""
            return f'"{a}><is><t{space}>{_escape_cdata(value)}</t></is></c>'
        if value is None or value == "":
            if value is None and not a.startswith(" s="):
                return None
            return f'"{a} />'
        if dt == "d":
            if getattr(value, "tzinfo", None) is not None:
                raise TypeError("Excel does not support timezones in datetimes.")
            if self.iso and not isinstance(value, timedelta):
                value = to_ISO8601(value)
            else:
                if self.iso:                    # a duration is a number, even with ISO dates
                    a = a.replace(' t="d"', ' t="n"')
                serial = self.serials.get(value)
                if serial is None:
                    serial = self.serials[value] = to_excel(value, self.epoch)
                value = serial
        text = safe_string(value)
        return f'"{a}><v>{_escape_cdata(text)}</v></c>' if text else f'"{a}><v /></c>'


_ROW = "<#>"            # where a cell's text has its row number: no text or attribute holds a raw "<"
_ROW_UTF8 = _ROW.encode()
# values only equal to values that write the same text (not numbers: 0 and -0.0 are equal)
_SAME_TEXT = (str, type(None), date, datetime, time, timedelta)


class _CellTexts(dict):
    """A record's cell as `_RecordWriter` writes it, by record, made when first asked for (which is when
    a cell of its look is first written: its style is added then), kept for records of `_SAME_TEXT`."""

    def __init__(self, writer: _RecordWriter):
        super().__init__()
        self.writer = writer

    def __missing__(self, record: tuple) -> str | bytes:
        c, value, dt, n = record
        end = self.writer._end(n, dt, value)
        text = "" if end is None else f'<c r="{get_column_letter(c)}{_ROW}{end}'
        if self.writer.utf8:
            text = text.encode()
        if type(value) in _SAME_TEXT:
            self[record] = text
        return text


def _height_attrs(height: float) -> dict[str, str]:
    """A row of records' height, as the attributes a RowDimension of that height writes."""
    return {"ht": safe_string(float(height)), "customHeight": "1"}


class _PlaceLink(NamedTuple):
    """A record's link to a place in the workbook, in a sheet's list of links while it is written:
    an openpyxl Hyperlink costs more to make and to write than the cell it is on."""
    ref: str
    location: str


def _write_hyperlinks(self):
    """openpyxl's WorksheetWriter.write_hyperlinks; when every link is a record's, as the same text."""
    rc = row_cells(self.ws)
    if rc is not None and rc.detached and rc.links:     # its rows are not written here: their links, in order
        self.ws._hyperlinks = [_PlaceLink(f"{get_column_letter(c)}{r}", rc.links[(r, c)])
                               for r, c in sorted(rc.links)] + self.ws._hyperlinks
    links = self.ws._hyperlinks
    if not links or not all(type(link) is _PlaceLink for link in links):
        self.ws._hyperlinks = [Hyperlink(ref=link.ref, location=link.location) if type(link) is _PlaceLink else link
                               for link in links]
        return _original["write_hyperlinks"](self)
    xf = self.xf.send(True)
    xf._file("<hyperlinks>" + "".join(f'<hyperlink ref="{ref}" location="{_escape_attrib(location)}" />'
                                      for ref, location in links) + "</hyperlinks>")
    self.xf.send(None)


class Detached:
    """A sheet's rows of records left out of the scratch save (`detach`), for io/graft.py to write
    straight into the user's package at their places among the sheet's other rows."""

    def __init__(self, rc: RowCells, scratch_xf: dict[int, int], iso: bool, epoch):
        self.rows, self.heights, self.arrays = rc.rows, rc.heights, rc.styles
        self.scratch_xf, self.iso, self.epoch = scratch_xf, iso, epoch

    def writer(self, xf_of) -> _RecordWriter:
        """A writer of the rows in the package's numbering: `xf_of(the scratch's cell format)`."""
        return _RecordWriter(self.arrays, lambda n: xf_of(self.scratch_xf[n]), self.iso, self.epoch, utf8=True)

    def row_xml(self, writer: _RecordWriter, r: int) -> bytes:
        """Row `r` as the scratch save would have written it, but for the cell formats' numbers: UTF-8."""
        height = self.heights.get(r)
        head = writer.heads.get(height) if height else None       # 0.0 and -0.0: equal keys, not equal texts
        if head is None:
            attrs = _height_attrs(height) if r in self.heights else {}
            head = ("".join(f' {k}="{_escape_attrib(v)}"' for k, v in attrs.items()) + ">").encode()
            if height:
                writer.heads[height] = head
        return b'<row r="%d"%s%s</row>' % (r, head, writer.cells(r, sorted(self.rows[r], key=_column)))


def detach(wb) -> dict[str, Detached]:
    """Take the rows of records out of the scratch save of `wb`, by sheet title, where every row of a
    sheet holds records only or openpyxl cells only, no row of records has a dimension of its own and
    no openpyxl cell has a link: the save writes the sheet's other rows, its dimension (records
    counted) and its records' links; graft writes those rows. Their cell formats are added to the
    workbook's (the scratch's styles part then has them) in the order the rows would use them."""
    out: dict[str, Detached] = {}
    if LXML:                                # that writer makes the records openpyxl cells first
        return out
    for ws in wb.worksheets:
        rc = row_cells(ws)
        if rc is None or not rc.rows:
            continue
        cell_rows = {r for r, _ in ws._cells}
        if cell_rows & set(rc.rows) or set(rc.rows) & set(ws.row_dimensions) or \
                any(getattr(c, "_hyperlink", None) is not None for c in ws._cells.values()):
            continue
        scratch_xf: dict[int, int] = {}
        styles, arrays = wb._cell_styles, rc.styles
        for r in sorted(rc.rows):
            for _, _, _, n in sorted(rc.rows[r], key=_column):
                if n not in scratch_xf and arrays[n] is not None and any(arrays[n]):
                    scratch_xf[n] = styles.add(arrays[n])
        rc.detached = True
        out[ws.title] = Detached(rc, scratch_xf, wb.iso_dates, wb.epoch)
    return out


def _rows(self):
    """openpyxl's WorksheetWriter.rows, with the rows that hold only records."""
    rows = _original["rows"](self)
    rc = row_cells(self.ws)
    if rc is None or rc.detached:
        return rows
    have = {r for r, _ in rows}
    extra = [(r, []) for r in set(rc.rows) | set(rc.heights) if r not in have]
    return sorted(rows + extra) if extra else rows


def _write_dimensions(self):
    """openpyxl's WorksheetWriter.write_dimensions, counting the records' cells too."""
    rc = row_cells(self.ws)
    extent = rc.extent() if rc is not None else None
    if extent is None:
        return _original["write_dimensions"](self)
    r0, c0, r1, c1 = extent
    for r, c in self.ws._cells:
        r0, c0, r1, c1 = min(r0, r), min(c0, c), max(r1, r), max(c1, c)
    self.xf.send(SheetDimension(f"{get_column_letter(c0)}{r0}:{get_column_letter(c1)}{r1}").to_tree())


def _write_row(self, xf, row, row_idx):
    """openpyxl's WorksheetWriter.write_row, with the cells written as text where they can be: a row
    whose cells all can is written in one piece (as et_xmlfile writes the row element); a row's
    records at their places."""
    attrs = {"r": f"{row_idx}"}
    dims = self.ws.row_dimensions
    rc = row_cells(self.ws)
    if rc is not None and row_idx not in dims and row_idx in rc.heights:
        attrs.update(_height_attrs(rc.heights[row_idx]))
    else:
        attrs.update(dims.get(row_idx, {}))
    records = rc.rows.get(row_idx) if rc is not None and not rc.detached else None
    if records:
        _write_row_with_records(self, xf, row, row_idx, attrs, records)
        return
    cells = []
    for cell in row:
        if cell._value is None and not cell.has_style and not cell._comment:
            continue
        xml = _cell_xml(cell, cell.has_style)
        if xml is None:                               # a formula or rich text: openpyxl's cell writer
            _write_row_elements(self, xf, row, attrs)
            return
        cells.append(xml)
    for cell in row:
        if cell._comment is not None:
            self.ws._comments.append(CommentRecord.from_cell(cell))
    head = "".join(f' {k}="{_escape_attrib(v)}"' for k, v in attrs.items())
    xf._file(f"<row{head}>{''.join(cells)}</row>")


def _write_row_elements(self, xf, row, attrs):
    with xf.element("row", attrs):
        for cell in row:
            _write_cell(self, xf, cell)


def _write_cell(self, xf, cell) -> None:
    """One openpyxl cell of a row being written: as text where it can be, else by openpyxl's writer."""
    if cell._comment is not None:
        self.ws._comments.append(CommentRecord.from_cell(cell))
    if cell._value is None and not cell.has_style and not cell._comment:
        return
    styled = cell.has_style
    xml = _cell_xml(cell, styled)
    if xml is None:
        ws_writer.write_cell(xf, self.ws, cell, styled)
    else:
        xf._file(xml)


def _write_row_with_records(self, xf, row, row_idx, attrs, records):
    """A row holding records (and perhaps openpyxl cells), the cells in column order."""
    write = xf._file
    if not hasattr(self, "_xl_plan_records"):
        self._xl_plan_records = _RecordWriter.for_sheet(self.ws)
    if not row:
        write(self._xl_plan_records.row(row_idx, attrs, sorted(records, key=_column)))
        return
    row = sorted([(cell.column, cell) for cell in row] + [(r[0], r) for r in records], key=_column)
    with xf.element("row", attrs):
        for _, cell in row:
            if type(cell) is tuple:
                write(self._xl_plan_records.cells(row_idx, [cell]))
            else:
                _write_cell(self, xf, cell)


def _materialize_first(self):
    materialize(self.ws)
    _original["write_top"](self)


@contextmanager
def fast_cells():
    """Within the block, openpyxl saves worksheet cells through `_write_row`, records included.
    With lxml (openpyxl's other writer, which takes no text) the records are made openpyxl cells
    first and nothing else changes."""
    W = _W
    saved = {name: getattr(W, name) for name in _original}
    if LXML:
        W.write_top = _materialize_first
    else:
        W.rows, W.write_row, W.write_dimensions, W.write_hyperlinks = _rows, _write_row, _write_dimensions, _write_hyperlinks
    try:
        yield
    finally:
        for name, fn in saved.items():
            setattr(W, name, fn)


def save_scratch(wb, path) -> None:
    """Save `wb` as io/save.py's scratch file: cells through `fast_cells()`, as `wb.save` would write
    them, and the parts stored rather than compressed (the scratch file is read once, by graft, which
    compresses what it copies into the user's package)."""
    import datetime
    from zipfile import ZIP_STORED, ZipFile

    from openpyxl.writer.excel import ExcelWriter

    if wb.read_only:
        raise TypeError("a read-only workbook cannot be saved")
    wb.properties.modified = datetime.datetime.now(tz=datetime.timezone.utc).replace(tzinfo=None)
    with fast_cells():
        ExcelWriter(wb, ZipFile(path, "w", ZIP_STORED, allowZip64=True)).save()
