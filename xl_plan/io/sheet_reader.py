"""Loading a workbook with openpyxl, its cells read several times faster.

xl_plan never saves a user's sheet through openpyxl (io/save.py grafts only what a job changed), so
a load needs the cells, styles, merges, notes, names and sheet settings, and nothing openpyxl builds
only to write them out again. Two costs are cut, everything else is openpyxl's own reader:

* the cells: openpyxl builds an element tree of every cell and runs Python code per element; here
  the text between `<sheetData>` and `</sheetData>`, which holds only rows of cells, is read in one
  pass of regular expressions when it holds nothing but rows, cells, values, formulas and inline
  strings (anything else, such as a comment or an extension element, and openpyxl's parser reads
  the part). Each cell gets exactly the value and type openpyxl's `WorkSheetParser.parse_cell`
  gives (formulas, shared and array formulas through openpyxl's own code). The rest of the sheet XML (columns,
  merges, validation, formatting, print settings...) goes through openpyxl's parser unchanged.
  tests/test_sheet_reader.py compares the two readers cell by cell on many workbooks.
* the pictures, charts and pivot tables of the sheets, which openpyxl decodes to save them again:
  not read (they stay in the package byte for byte); nor the borders openpyxl copies onto the
  cells a merged range covers, for the same reason.

A sheet part this reader does not follow is read by openpyxl's own parser, so nothing that loaded
before is refused.
"""
from __future__ import annotations

import re
import warnings
from array import array
from io import BytesIO
from operator import itemgetter

from openpyxl.cell import Cell, MergedCell
from openpyxl.comments.comment_sheet import CommentSheet
from openpyxl.packaging.relationship import RelationshipList, get_dependents, get_rels_path
from openpyxl.reader.excel import ExcelReader
from openpyxl.styles import Border
from openpyxl.styles.cell_style import StyleArray
from openpyxl.utils.cell import column_index_from_string, coordinate_to_tuple
from openpyxl.utils.datetime import from_excel, from_ISO8601
from openpyxl.worksheet._reader import WorkSheetParser, WorksheetReader, _cast_number
from openpyxl.worksheet.cell_range import MultiCellRange
from openpyxl.worksheet.merge import MergedCellRange
from openpyxl.worksheet.table import Table
from openpyxl.xml.constants import COMMENTS_NS, SHEET_MAIN_NS
from openpyxl.xml.functions import Element, SubElement, fromstring

from ..owned import FIRST_ROWS, REGISTRY, owned_kind
from .package import read_part
from .xml_text import character_data

_SHEET_DATA = re.compile(rb"<((?:[A-Za-z_][\w.\-]*:)?)sheetData\b[^>]*?(/?)>")


def _cells_bounds(data: bytes) -> tuple[bytes, int, int, int] | None:
    """(namespace prefix, where <sheetData> starts, where its content starts, where </sheetData>
    ends) in a sheet part; None when it has no cells (<sheetData/>) or no closed <sheetData>."""
    m = _SHEET_DATA.search(data)
    if m is None or m.group(2):
        return None
    close = b"</" + m.group(1) + b"sheetData>"
    end = data.find(close, m.end())
    return None if end < 0 else (m.group(1), m.start(), m.end(), end + len(close))


_ROOT_TAG = re.compile(rb"<(?:[A-Za-z_][\w.\-]*:)?worksheet\b(?:[^>\"']|\"[^\"]*\"|'[^']*')*>")


def cells_apart(data: bytes) -> tuple[bytes, bytes] | None:
    """(the sheet part with an empty <sheetData/>, the part with its cells only: the root element
    around <sheetData>), or None when the part does not have that plain shape. For a reader that
    wants something of the rest (the merged ranges) without openpyxl's parse of all of it."""
    root = _ROOT_TAG.search(data)
    bounds = _cells_bounds(data)
    if root is None or bounds is None or bounds[1] < root.end():
        return None
    prefix, start, _, end = bounds
    root_close = data.rfind(b"</")
    if root_close < end:
        return None
    return data[:start] + b"<" + prefix + b"sheetData/>" + data[end:], data[:root.end()] + data[start:end] + data[root_close:]


def _cells_text(data: bytes, start: int, end: int) -> str:
    """data[start:end] decoded, without a copy of a large sheet's bytes first."""
    return str(memoryview(data)[start:end], "utf-8")


class _Unsupported(Exception):
    """The fast path cannot read this part: openpyxl's parser reads it."""


class FastSheetParser(WorkSheetParser):
    """openpyxl's WorkSheetParser; `cells()` gives every cell as (row, column, value, data_type,
    style_id), the values parse_cell gives, read by `_fast_rows` where it can."""

    def parse(self):
        """openpyxl's interface: (row number, [cell dicts]) per row."""
        for r, cells in self._rows():
            yield r, [{"row": a, "column": b, "value": v, "data_type": t, "style_id": s} for a, b, v, t, s in cells]

    def cells(self):
        for _, cells in self._rows():
            yield from cells

    def _rows(self):
        data = self.source.read()
        bounds = _cells_bounds(data)
        if bounds is None:                                   # no cells, or a shape not followed here
            yield from self._openpyxl(data)
            return
        prefix, start, body, end = bounds
        # Everything but the cells, through openpyxl (and defusedxml, which refuses entity tricks).
        for _ in self._openpyxl(data[:start] + b"<" + prefix + b"sheetData/>" + data[end:]):
            pass
        try:
            rows = self._fast_rows(prefix.decode("ascii"), _cells_text(data, body, end - len(prefix) - len(b"</sheetData>")))
        except (_Unsupported, ValueError, IndexError, KeyError):
            # read the whole part again: forget what the first pass gathered
            self.row_counter = self.col_counter = 0
            self.row_dimensions, self.shared_formulae, self.formatting = {}, {}, []
            yield from self._openpyxl(data)
            return
        yield from rows

    def values_of_cells_part(self, data: bytes):
        """cells() of a part that is only the root element around <sheetData> (io/values.py), whose root
        the caller has parsed already: the fast reader alone, without openpyxl's parse of the empty rest,
        and without the rows' attributes (a values reader has no use for row heights)."""
        bounds = _cells_bounds(data)
        if bounds is not None:
            prefix, _, body, end = bounds
            self.values_only = True
            try:
                rows = self._fast_rows(prefix.decode("ascii"), _cells_text(data, body, end - len(prefix) - len(b"</sheetData>")))
            except (_Unsupported, ValueError, IndexError, KeyError):
                self.row_counter = self.col_counter = 0
                self.row_dimensions, self.shared_formulae, self.formatting = {}, {}, []
            else:
                for _, cells in rows:
                    yield from cells
                return
            finally:
                self.values_only = False
        self.source = BytesIO(data)
        yield from self.cells()

    values_only = False

    def _openpyxl(self, data: bytes):
        self.source = BytesIO(data)
        for r, cells in super().parse():
            yield r, [(c["row"], c["column"], c["value"], c["data_type"], c["style_id"]) for c in cells]

    def _fast_rows(self, prefix: str, body: str) -> list:
        """(row number, [cells as `cells()` gives them]) for every <row> in `body`, the text between
        <sheetData> and </sheetData>."""
        if "xmlns" in body:
            raise _Unsupported("namespace declarations among the cells")
        grammar = _grammar(prefix)
        foreign = grammar.foreign
        rows: list = []
        cells: list | None = None
        row_now, row_text = 0, None
        strings, date_formats, cast = self.shared_strings, self.date_formats, _cast_number
        columns = _COLUMNS
        # Elements other than rows and cells (and comments, CDATA, instructions: their "<!" and "<?" are
        # not cells' elements) send the part to openpyxl: found by the token pattern's last branch
        # between the tokens, and in the text of the rows and uncommon cells; the common cell's branch
        # holds only cells' elements. One pass, rather than a search of the whole text beforehand.
        for t in grammar.token.finditer(body):
            letters, number, style, kind, v, inline, row_attrs, attrs, content, other = t.groups()
            if letters is not None:
                # the common cell: r, s and t as Excel writes them, and a plain value or inline text
                if cells is None:
                    raise _Unsupported("a cell outside a row")
                column = columns.get(letters) or _column(letters)
                self.col_counter = column
                r = row_now if number == row_text else int(number)      # its row as the row says it: no int()
                style_id = int(style) if style else 0
                if v is not None and ("&" in v or "\r" in v):
                    v = _text(v)
                if kind is None or kind == "n":
                    if not v:
                        cells.append((r, column, None, "n", style_id))
                    elif style_id in date_formats:
                        cells.append(self._cell({"r": letters + number, "s": style}, (v, None, None)))
                    else:
                        cells.append((r, column, cast(v), "n", style_id))
                elif kind == "s":
                    cells.append((r, column, strings[int(v)] if v else None, "s", style_id))
                elif kind == "inlineStr":
                    if inline is None:
                        cells.append((r, column, None, "inlineStr", style_id))
                    else:
                        if "&" in inline or "\r" in inline:
                            inline = _text(inline)
                        cells.append((r, column, inline, "s", style_id))
                else:
                    cells.append(self._cell({"r": letters + number, "s": style, "t": kind}, (v, None, None)))
                continue
            if row_attrs is not None:
                plain_row = _PLAIN_ROW.fullmatch(row_attrs)
                if plain_row is not None:           # most rows: all _start_row does with r and spans
                    self.row_counter, self.col_counter = int(plain_row.group(1)), 0
                else:
                    if row_attrs and (not row_attrs[0].isspace() or "<" in row_attrs) and foreign.search(t.group()):
                        raise _Unsupported("elements other than rows and cells among the cells")
                    number = _ROW_NUMBER.fullmatch(row_attrs) if self.values_only else None
                    if number is not None:          # a values reader has no use for the row's height
                        self.row_counter, self.col_counter = int(number.group(1)), 0
                    else:
                        self._start_row(_attributes(row_attrs))
                cells = []
                rows.append((self.row_counter, cells))
                row_now = self.row_counter
                row_text = str(row_now)
                continue
            if other is not None or foreign.search(t.group()):
                raise _Unsupported("elements other than rows and cells among the cells")
            if cells is None:
                raise _Unsupported("a cell outside a row")
            plain = _PLAIN_CELL.fullmatch(attrs)
            attrs = {"r": plain.group(1), "s": plain.group(2), "t": plain.group(3)} if plain else _attributes(attrs)
            cells.append(self._cell(attrs, grammar.content(content)))
        return rows

    def _start_row(self, attrs: dict) -> None:
        """What openpyxl's parse_row does with a row's attributes."""
        if "r" in attrs:
            try:
                self.row_counter = int(attrs["r"])
            except ValueError:
                val = float(attrs["r"])
                if not val.is_integer():
                    raise ValueError(f"{attrs['r']} is not a valid row number") from None
                self.row_counter = int(val)
        else:
            self.row_counter += 1
        self.col_counter = 0
        keys = {k for k in attrs if not k.startswith("{")}
        if keys - {"r", "spans"}:
            self.row_dimensions[str(self.row_counter)] = attrs

    def _cell(self, attrs: dict, content) -> dict:
        """openpyxl's parse_cell, from a cell's attributes and its content (value, formula, text)."""
        value, formula, inline = content
        data_type = attrs.get("t") or "n"
        coordinate = attrs.get("r")
        style_id = attrs.get("s") or 0
        if style_id:
            style_id = int(style_id)
        if data_type == "inlineStr":
            value = None
        else:
            value = value or None
        if coordinate:
            row, column = _position(coordinate)
            self.col_counter = column
        else:
            self.col_counter += 1
            row, column = self.row_counter, self.col_counter

        if not self.data_only and formula is not None:
            data_type = "f"
            f_attrs, f_text = formula
            element = Element(_C_TAG, attrs)
            SubElement(element, _F_TAG, f_attrs).text = f_text
            value = self.parse_formula(element)
        elif value is not None:
            if data_type == "n":
                value = _cast_number(value)
                if style_id in self.date_formats:
                    data_type = "d"
                    try:
                        value = from_excel(value, self.epoch, timedelta=style_id in self.timedelta_formats)
                    except (OverflowError, ValueError):
                        warnings.warn(f"Cell {coordinate} is marked as a date but the serial value {value} is "
                                      "outside the limits for dates. The cell will be treated as an error.", stacklevel=2)
                        data_type, value = "e", "#VALUE!"
            elif data_type == "s":
                value = self.shared_strings[int(value)]
            elif data_type == "b":
                value = bool(int(value))
            elif data_type == "str":
                data_type = "s"
            elif data_type == "d":
                value = from_ISO8601(value)
        elif data_type == "inlineStr" and inline is not None:
            if self.rich_text:
                raise _Unsupported("rich text")
            data_type, value = "s", inline
        return row, column, value, data_type, style_id


# ---------------------------------------------------------------- the cells' grammar

# Inside <sheetData> a worksheet holds rows of cells; a cell holds at most a formula, a value and an
# inline string. Read as text with these patterns, in one pass. Anything else that may appear in
# XML there (comments, CDATA, processing instructions, entity or namespace declarations) sends the
# part to openpyxl's parser instead.
_CELL_ELEMENTS = ("row", "c", "v", "f", "is", "t", "r", "rPh", "rPr", "b", "i", "u", "strike", "sz", "color",
                  "rFont", "family", "scheme", "charset", "outline", "shadow", "condense", "extend", "vertAlign")
_ATTRIBUTE = re.compile(r"""([A-Za-z_][\w.\-]*(?::[A-Za-z_][\w.\-]*)?)\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_C_TAG = "{%s}c" % SHEET_MAIN_NS
# A cell's attributes as Excel, openpyxl and most programs write them: r, then s and t when present.
_PLAIN_CELL = re.compile(r' r="([A-Z]{1,3}[0-9]+)"(?: s="([0-9]+)")?(?: t="([a-zA-Z]+)")?\s*')
# A row's attributes as Excel and openpyxl write a row without its own height or format.
_PLAIN_ROW = re.compile(r' r="([0-9]+)"(?: spans="[0-9:]*")?\s*')
_COORDINATE = re.compile(r"([A-Z]{1,3})([0-9]+)")
_ROW_NUMBER = re.compile(r' r="([0-9]+)"(?:\s[^>]*)?')     # a row's number first, as Excel writes it
_COLUMNS: dict[str, int] = {}
_ROW_OF = itemgetter(0)


def _column(letters: str) -> int:
    column = _COLUMNS.get(letters)
    if column is None:
        column = _COLUMNS[letters] = column_index_from_string(letters)
    return column


def _position(coordinate: str) -> tuple[int, int]:
    m = _COORDINATE.fullmatch(coordinate)
    if m is None:
        return coordinate_to_tuple(coordinate)
    return int(m.group(2)), _column(m.group(1))
_F_TAG = "{%s}f" % SHEET_MAIN_NS


def _text(raw: str) -> str:
    """Character data as an XML parser gives it (io/xml_text.py); another entity's reference is
    left to openpyxl's parser."""
    out = character_data(raw)
    if out is None:
        raise _Unsupported("an entity reference")
    return out


def _attributes(raw: str) -> dict[str, str]:
    """A start tag's attributes as ElementTree names them ('{prefix}name' stands in for a namespaced
    name: openpyxl only ever tests that such a name starts with '{')."""
    out = {}
    for name, double, single in _ATTRIBUTE.findall(raw):
        value = double if double or not single else single
        if "&" in value or "\t" in value or "\n" in value or "\r" in value:
            value = _text(value.replace("\r\n", " ").replace("\t", " ").replace("\n", " ").replace("\r", " "))
        if ":" in name:
            prefix, local = name.split(":", 1)
            name = "{%s}%s" % (prefix, local)
        out[name] = value
    return out


class _Grammar:
    def __init__(self, p: str):
        e = re.escape(p)
        # a start or end tag whose name (up to a space, '>' or '/') is not one of the cells' elements
        names = "|".join(re.escape(name) for name in sorted(_CELL_ELEMENTS, key=len, reverse=True))
        foreign = rf"</?(?!{e}(?:{names})(?:[\s>/]|$))[^\s>/]"
        self.foreign = re.compile(foreign)
        # the common cell; a row; any other cell; a foreign tag (the last: only where no other matches)
        self.token = re.compile(
            rf'<{e}c r="([A-Z]{{1,3}})([0-9]+)"(?: s="([0-9]+)")?(?: t="([a-zA-Z]+)")?\s*'
            rf'(?:/>|>(?:<{e}v>([^<]*)</{e}v>|<{e}is><{e}t(?: xml:space="preserve")?>([^<]*)</{e}t></{e}is>)</{e}c>)'
            rf"|<{e}row\b([^>]*?)/?>|<{e}c\b([^>]*?)(?:/>|>(.*?)</{e}c>)|({foreign})", re.S)
        self.value = re.compile(rf"<{e}v\b[^>]*?(?:/>|>(?P<v>[^<]*)</{e}v>)")
        self.formula = re.compile(rf"<{e}f\b(?P<attrs>[^>]*?)(?:/>|>(?P<f>[^<]*)</{e}f>)")
        self.inline = re.compile(rf"<{e}is\b[^>]*?(?:/>|>(?P<is>.*?)</{e}is>)", re.S)
        self.phonetic = re.compile(rf"<{e}rPh\b.*?</{e}rPh>|<{e}rPh\b[^>]*/>", re.S)
        self.run = re.compile(rf"<{e}r\b[^>]*>(?P<r>.*?)</{e}r>", re.S)
        self.t = re.compile(rf"<{e}t\b[^>]*?(?:/>|>(?P<t>[^<]*)</{e}t>)")
        self.simple_value = f"<{p}v>"
        self.simple_inline = re.compile(rf'<{e}is><{e}t(?: xml:space="preserve")?>([^<]*)</{e}t></{e}is>')
        self.simple_end = f"</{p}v>"

    def content(self, raw: str | None):
        """(value text or None, (formula attributes, formula text) or None, inline string or None)."""
        if not raw:
            return None, None, None
        if raw.startswith(self.simple_value) and raw.endswith(self.simple_end) and raw.count("<") == 2:
            return _text(raw[len(self.simple_value):-len(self.simple_end)]), None, None   # most cells
        m = self.simple_inline.fullmatch(raw)
        if m is not None:
            return None, None, _text(m.group(1))
        value = formula = inline = None
        m = self.value.search(raw)
        if m is not None:
            value = _text(m.group("v")) if m.group("v") is not None else ""
        m = self.formula.search(raw)
        if m is not None:
            text = m.group("f")
            formula = (_attributes(m.group("attrs")), _text(text) if text else None)
        m = self.inline.search(raw)
        if m is not None:
            inline = self._inline_text(m.group("is") or "")
        return value, formula, inline

    def _inline_text(self, raw: str) -> str:
        """openpyxl's Text.content: the plain <t>, then each run's <t>; phonetic runs left out."""
        raw = self.phonetic.sub("", raw)
        runs = [self._t(m.group("r")) for m in self.run.finditer(raw)]
        plain = self._t(self.run.sub("", raw))
        return "".join(([plain] if plain is not None else []) + [r for r in runs if r is not None])

    def _t(self, raw: str) -> str | None:
        found = None
        for m in self.t.finditer(raw):
            found = _text(m.group("t") or "")
        return found


_GRAMMARS: dict[str, _Grammar] = {}


def _grammar(prefix: str) -> _Grammar:
    if prefix not in _GRAMMARS:
        _GRAMMARS[prefix] = _Grammar(prefix)
    return _GRAMMARS[prefix]


class FastWorksheetReader(WorksheetReader):
    def __init__(self, ws, xml_source, shared_strings, data_only, rich_text):
        super().__init__(ws, xml_source, shared_strings, data_only, rich_text)
        parent = ws.parent
        self.parser = FastSheetParser(xml_source, shared_strings, data_only, parent.epoch,
                                      parent._date_formats, parent._timedelta_formats, rich_text)

    def bind_cells(self):
        ws = self.ws
        styles = ws.parent._cell_styles
        store = ws._cells
        new, new_array = Cell.__new__, array.__new__
        last = 0
        for _, cells in self.parser._rows():
            if cells:
                last = max(last, *map(_ROW_OF, cells))
            for row, column, value, data_type, style_id in cells:
                # what Cell(ws, row, column, style_array=...) makes, without its two __init__ calls (and
                # StyleArray's copy without its Python __new__)
                c = new(Cell)
                c.parent, c.row, c.column, c._style = ws, row, column, new_array(StyleArray, "i", styles[style_id])
                c._value, c.data_type, c._hyperlink, c._comment = value, data_type, None, None
                store[(row, column)] = c
        if store:
            ws._current_row = last          # ws.max_row, without its scan of every cell


    def bind_merged_cells(self):
        """openpyxl's, less most of MergedCellRange.format(): the borders and protection it copies
        onto the covered cells are for writing them (half the load of a plan with a few hundred merged section
        rows); xl_plan never writes a covered cell of a user's sheet."""
        if not self.parser.merged_cells:
            return
        ws = self.ws
        store = ws._cells
        new_array, new_merged = array.__new__, MergedCell.__new__
        ranges = []
        bordered: dict[tuple, int] = {}            # (border number, edges) -> the border number format() gives
        for cr in self.parser.merged_cells.mergeCell:
            mcr = MergedCellRange(ws, cr.ref)
            covered = mcr.cells
            next(covered)
            for row, col in covered:
                # MergedCell(ws, row, col), less its two __init__ calls, with a style array of its own, as
                # openpyxl's format() gives the covered cells on a merge's edges: a sheet's fills are then
                # read in C (io/diff.py _fills_of)
                cell = store[(row, col)] = new_merged(MergedCell)
                cell.parent, cell.row, cell.column = ws, row, col
                cell._style = new_array(StyleArray, "i", _NO_STYLE)
            start = mcr.start_cell         # format() gives it its own borders again, on the edges it is on
            edges = ("top", "left") + (("right",) if mcr.min_col == mcr.max_col else ()) \
                + (("bottom",) if mcr.min_row == mcr.max_row else ())
            if start._style is None:
                start._style = StyleArray()         # as its border's getter makes one
            key = (start._style.borderId, edges)    # the border it ends with: the same for the same two
            border = bordered.get(key)
            if border is None:
                for name in edges:
                    side = getattr(start.border, name)
                    if not side or side.style is not None:
                        start.border += Border(**{name: side})
                bordered[key] = start._style.borderId
            else:
                start._style.borderId = border
            ranges.append(mcr)
        ws.merged_cells = MultiCellRange(ranges)


_NO_STYLE = StyleArray()
_REPLACED_NAMES = {name for kind in REGISTRY if kind.replaced for name in kind.names}
_ROW_START = re.compile(rb"<((?:[A-Za-z_][\w.\-]*:)?)row\b[^>]*?(/?)>")


_HYPERLINKS = re.compile(rb"<((?:[A-Za-z_][\w.\-]*:)?)hyperlinks\b(?:[^>]*/>|.*?</\1hyperlinks>)", re.DOTALL)


def first_rows(data: bytes, n: int) -> bytes | None:
    """The sheet part with only its first `n` rows of cells (and no links, which openpyxl would bind
    to cells past them), None when it has no more than that."""
    bounds = _cells_bounds(data)
    if bounds is None:
        return None
    prefix, _, pos, end = bounds
    close = b"</" + prefix + b"row>"
    for _ in range(n):
        m = _ROW_START.search(data, pos, end)
        if m is None:
            return None
        pos = m.end() if m.group(2) else data.find(close, m.end()) + len(close)
        if pos < len(close):
            return None
    if _ROW_START.search(data, pos, end) is None:
        return None
    return data[:pos] + b"</" + prefix + b"sheetData>" + _HYPERLINKS.sub(b"", data[end:])


class FastExcelReader(ExcelReader):
    """openpyxl's ExcelReader reading worksheets with FastWorksheetReader and leaving out the
    pictures, charts and pivot tables (never saved from here: they stay in the package).
    `read_replaced=False`: xl_plan's sheets that every job writing them makes anew (owned.py,
    `replaced`) are read to their first rows only, which say what they are: a job changing the
    workbook replaces them or leaves their part as it is, and never reads their cells."""

    read_replaced = True

    def read_workbook(self):
        """openpyxl's ExcelReader.read_workbook, the workbook part read by io/defined_names.py's parser
        (the same names, made faster)."""
        from zipfile import ZIP_DEFLATED, ZipFile

        from openpyxl.reader.excel import XLTM, XLTX, _find_workbook_part

        from .defined_names import WorkbookParser

        wb_part = _find_workbook_part(self.package)
        self.parser = WorkbookParser(self.archive, wb_part.PartName[1:], keep_links=self.keep_links)
        self.parser.parse()
        wb = self.parser.wb
        wb._sheets = []
        wb._data_only = self.data_only
        wb._read_only = self.read_only
        wb.template = wb_part.ContentType in (XLTX, XLTM)
        if self.keep_vba:
            wb.vba_archive = ZipFile(BytesIO(), "a", ZIP_DEFLATED)
            for name in self.valid_files:
                wb.vba_archive.writestr(name, self.archive.read(name))
        if self.read_only:
            wb._archive = self.archive
        self.wb = wb

    def _source(self, name: str, fh):
        """The sheet part to read: the whole of it, or the first rows of one of xl_plan's replaced sheets."""
        if self.read_replaced or name not in _REPLACED_NAMES:
            return fh
        data = fh.read()
        head = first_rows(data, FIRST_ROWS)
        if head is None:
            return BytesIO(data)
        wb = self.wb
        parser = FastSheetParser(BytesIO(head), self.shared_strings, self.data_only, wb.epoch,
                                 wb._date_formats, wb._timedelta_formats, self.rich_text)
        column_a = {r: v for r, c, v, _, _ in parser.cells() if c == 1}
        kind = owned_kind(name, [column_a.get(r) for r in range(1, FIRST_ROWS + 1)])
        return BytesIO(head if kind is not None and kind.replaced else data)

    def read_worksheets(self):
        for sheet, rel in self.parser.find_sheets():
            if rel.target not in self.valid_files:
                continue
            if "chartsheet" in rel.Type:
                self.read_chartsheet(sheet, rel)
                continue
            rels_path = get_rels_path(rel.target)
            rels = RelationshipList()
            if rels_path in self.valid_files:
                rels = get_dependents(self.archive, rels_path)
            with BytesIO(read_part(self.archive, rel.target)) as fh:
                ws = self.wb.create_sheet(sheet.name)
                ws._rels = rels
                reader = FastWorksheetReader(ws, self._source(sheet.name, fh), self.shared_strings, self.data_only,
                                             self.rich_text)
                reader.bind_all()
            for r in rels.find(COMMENTS_NS):
                comments = CommentSheet.from_tree(fromstring(self.archive.read(r.target)))
                for ref, comment in comments.comments:
                    cell = ws[ref]
                    if isinstance(cell, MergedCell):
                        continue              # as openpyxl: a covered cell holds no note
                    cell.comment = comment
            if self.wb.vba_archive and ws.legacy_drawing:
                ws.legacy_drawing = rels.get(ws.legacy_drawing).target
            else:
                ws.legacy_drawing = None
            for t in reader.tables:
                ws.add_table(Table.from_tree(fromstring(self.archive.read(t))))
            ws.sheet_state = sheet.state
