"""Writing the sheets and cell marks xl_plan owns inside a user's workbook (which sheets those
are, and how they are recognised, is xl_plan/owned.py). A writer replaces only what xl_plan
created before: its sheets carry the marker 'xl_plan · <title>' in A1, its cell comments the
author 'xl_plan'."""
from __future__ import annotations

from copy import copy
from datetime import date, datetime, time, timedelta
from typing import Iterable

from openpyxl.cell.cell import ERROR_CODES, ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.hyperlink import Hyperlink

from .io.fastwrite import RowCells, row_cells
from .owned import MARK, OWNER, OwnedSheet, find_owned

TITLE_FONT = Font(bold=True, size=14)
HEADER_FONT = Font(bold=True, color="FFFFFF")
HEADER_FILL = PatternFill("solid", fgColor="1F3864")
SEVERITY_FILL = {
    "error": PatternFill("solid", fgColor="F8CBAD"),
    "warning": PatternFill("solid", fgColor="FFE699"),
    "info": PatternFill("solid", fgColor="DDEBF7"),
}


class CellStyles:
    """Cells of one look share one style. Setting a Font, Fill or Alignment on a cell makes openpyxl
    hash it against the workbook's style tables every time (most of the cost of writing a long
    table), so the first cell of a look (from a given starting style) is styled the ordinary way and
    later ones get a copy of its style array (openpyxl 3.1). The result is the same style, cell for
    cell. One instance per workbook: the arrays index that workbook's style tables."""

    def __init__(self):
        self._arrays: dict[tuple, object] = {}

    def apply(self, cell, look: str, **attrs) -> None:
        before = cell._style                      # None for a cell never styled
        key = (look, tuple(before) if before is not None else None)   # e.g. a date's number format
        array = self._arrays.get(key)
        if array is None:
            for name, value in attrs.items():
                setattr(cell, name, value)
            self._arrays[key] = copy(cell._style)
        else:
            cell._style = copy(array)

    def apply_with(self, cell, look, style) -> None:
        """As `apply`, for a look that `style(cell)` gives the cell (called only for the first cell of
        the look from a given starting style): e.g. another workbook's cell style copied."""
        before = cell._style
        key = (look, tuple(before) if before is not None else None)
        array = self._arrays.get(key)
        if array is None:
            style(cell)
            self._arrays[key] = copy(cell._style)
        else:
            cell._style = copy(array)


_DATE_TYPES = (date, datetime, time, timedelta)
_ILLEGAL_SEARCH = ILLEGAL_CHARACTERS_RE.search


class CellWriter:
    """Writes a sheet's cells, each in a named look (`attrs`: font, fill, alignment, number_format,
    the same look always with the same attrs): as openpyxl cells (`put`, then `CellStyles`), or with
    `records` as io/fastwrite.py `RowCells` records holding the very values and styles those cells
    would hold. Records cost a fraction of an openpyxl cell to make and to save, but only a
    save through `fast_cells()` (io/save.py) writes them: a writer makes them for a job's sheet,
    never for a workbook saved otherwise or edited cell by cell afterwards."""

    def __init__(self, ws, records: bool = False):
        self.ws = ws
        self.styles = CellStyles()
        self.records = (row_cells(ws) or RowCells(ws)) if records else None     # a sheet's records are one set
        self._probe = Cell(ws)
        self._numbers: dict[tuple, int] = {}    # (look, kind of value) -> style number of the records
        self._restyled: dict[tuple, int] = {}   # (look, style number) -> style number with the look added
        self._rows = self.records.rows if records else None

    def put(self, row: int, column: int, value, look: str | None = None, **attrs) -> None:
        self.put_look(row, column, value, (look, attrs) if look is not None else None)

    def put_look(self, row: int, column: int, value, look: tuple[str, dict] | None) -> None:
        """As `put`, the look given as (name, attrs): no keyword arguments gathered for every cell of
        a long table (the attrs matter only for a look's first cell)."""
        if self.records is None:
            cell = put(self.ws, row, column, value)
            if look is not None:
                self.styles.apply(cell, look[0], **look[1])
            return
        kind = type(value)
        plain = kind is str or kind is int or kind is float or value is None
        if kind is str:                         # Cell.check_string, less its finditer
            if len(value) > 32767:
                value = value[:32767]
            if _ILLEGAL_SEARCH(value) is not None:
                value = self._probe.check_string(value)     # raises openpyxl's own error
            dt = "e" if value in ERROR_CODES else "s"
        elif plain:
            dt = "n"
        elif kind in _DATE_TYPES:
            dt = "d"
        else:                                   # the rest: as the value setter keeps them
            probe = Cell(self.ws)
            probe.value = value
            value, dt = probe._value, ("s" if probe.data_type == "f" else probe.data_type)
        key = (look[0] if look is not None else None, kind)
        n = self._numbers.get(key)
        if n is None:                           # the look on a new cell of this kind of value
            probe = Cell(self.ws)
            if not plain:
                probe.value = value             # e.g. a date's number format, as the value setter sets it
            for name, v in (look[1].items() if look is not None else ()):
                setattr(probe, name, v)
            n = self._numbers[key] = self.records.style_number(copy(probe._style) if probe._style is not None else None)
        cells = self._rows.get(row)
        if cells is None:
            cells = self._rows[row] = []
        cells.append((column, value, dt, n))
        if row > self.records.max_row:
            self.records.max_row = row

    def _record_at(self, row: int, column: int) -> tuple[list, int | None]:
        """The row's records and where the record of `column` is among them (None: not written)."""
        cells = self._rows.get(row, [])
        for i, rec in enumerate(cells):
            if rec[0] == column:
                return cells, i
        return cells, None

    def restyle(self, row: int, column: int, look: str, **attrs) -> None:
        """Give a written cell a further look on top of its own (e.g. a fill on a table's cell): as
        `CellStyles.apply` on `ws.cell(row, column)`, for records too. A cell not written yet is made
        blank with the look, as `ws.cell` would make it."""
        if self.records is None:
            self.styles.apply(self.ws.cell(row, column), look, **attrs)
            return
        cells, at = self._record_at(row, column)
        if at is None:
            self.put(row, column, None, look, **attrs)
            return
        c, value, dt, n = cells[at]
        key = (look, n)
        new = self._restyled.get(key)
        if new is None:
            probe = Cell(self.ws)
            probe._style = copy(self.records.styles[n]) if n else None
            for name, v in attrs.items():
                setattr(probe, name, v)
            new = self._restyled[key] = self.records.style_number(copy(probe._style))
        cells[at] = (c, value, dt, new)

    def link(self, row: int, column: int, sheet: str, cell: str) -> None:
        """A link on a written cell to `cell` of `sheet` in this workbook (as `cell.hyperlink = cell_link(...)`)."""
        if self.records is None:
            self.ws.cell(row, column).hyperlink = cell_link(sheet, cell)
            return
        location = cell_location(sheet, cell)
        cells, at = self._record_at(row, column)
        if at is None:
            self.put(row, column, location)
        elif cells[at][1] is None:                  # the setter shows the place in an empty cell
            cells[at] = (column, location, "s", cells[at][3])
        self.records.links[(row, column)] = location

    @property
    def max_row(self) -> int:
        """The last row holding a cell, records included (ws.max_row counts openpyxl cells only)."""
        rows = self.records.max_row if self.records is not None else 0
        return max(rows, self.ws.max_row if self.ws._cells else 0) or 1


def cell_location(sheet: str, cell: str) -> str:
    """Where a link to `cell` of `sheet` in the same workbook points: 'Plan''s sheet'!G11."""
    return "'{}'!{}".format(sheet.replace("'", "''"), cell)


def cell_link(sheet: str, cell: str) -> Hyperlink:
    """A hyperlink to a cell of the same workbook, written as a location ('Plan'!G11): Excel and
    LibreOffice follow it, a copied sheet keeps it, and it needs no relationship entry (a Validation
    sheet has one per finding)."""
    return Hyperlink(ref="", location=cell_location(sheet, cell))


_TOP = Alignment(vertical="top")
_WRAP_TOP = Alignment(wrap_text=True, vertical="top")


# A4 landscape: 297 mm less the margins below; a column of width w (characters of the default
# 11-point font) is about 7w + 5 pixels, 0.75 pt a pixel, and more in the fonts plans use.
A4_LANDSCAPE_WIDTH_PT = (297 / 25.4 - 2 * 0.4) * 72
MIN_SCALE = 70                  # 11-point text printed at 70 % is under 8 point: below that it is not read
MAX_ROW_HEIGHT = 409            # Excel's limit for one row, in points


WIDTH_SLACK = 1.3               # plans' default fonts (Arial, Carlito for Calibri) print wider than 7 px a
                                # character: measured on LibreOffice's PDFs of the sample plans' returns


def column_points(width: float) -> float:
    return (7 * width + 5) * 0.75 * WIDTH_SLACK


def print_scale(widths: Iterable[float]) -> int:
    """The scale (percent) at which columns of these widths print one A4 landscape page wide."""
    total = sum(column_points(w) for w in widths)
    return 100 if total <= A4_LANDSCAPE_WIDTH_PT else int(100 * A4_LANDSCAPE_WIDTH_PT / total)


def first_page_columns(widths: list[float]) -> int:
    """How many of these columns (from the first) print on the first page across (at least 1)."""
    room = A4_LANDSCAPE_WIDTH_PT * 100 / max(print_scale(widths), MIN_SCALE)
    n, used = 0, 0.0
    for w in widths:
        used += column_points(w)
        if used > room:
            break
        n += 1
    return max(n, 1)


def sheet_widths(ws, last_column: int | None = None) -> list[float]:
    """The widths of columns A.. (the last used one, or `last_column`), 8.43 where none is set."""
    last = last_column or ws.max_column or 1
    return [ws.column_dimensions[get_column_letter(c)].width or 8.43 for c in range(1, last + 1)]


def print_landscape(ws, title_rows: str | None = None, *, title_columns: str | None = None,
                    last_column: int | None = None, always_fit: bool = False) -> None:
    """Printable: A4 landscape, one page wide and as many long as needed, `title_rows` (e.g. "5:5")
    repeated on every page. When one page wide would print the text smaller than 8 point, it prints at
    that size instead and runs onto further pages across, `title_columns` (e.g. "A:B") repeated;
    `always_fit`: one page wide whatever the size (a new plan's own sheet, whose widths the council sets)."""
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_margins.left = ws.page_margins.right = 0.4
    ws.page_margins.top = ws.page_margins.bottom = 0.5
    ws.page_margins.header = ws.page_margins.footer = 0.25
    scale = print_scale(sheet_widths(ws, last_column))
    if scale >= MIN_SCALE or always_fit:
        ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
        ws.sheet_properties.pageSetUpPr.fitToPage = True
    else:
        ws.sheet_properties.pageSetUpPr.fitToPage = False
        ws.page_setup.scale = MIN_SCALE
        if title_columns:
            ws.print_title_cols = title_columns
    if title_rows:
        ws.print_title_rows = title_rows


def chars_per_line(width: float, size: float = 11) -> int:
    """Characters a line of a wrapped cell `width` characters wide holds in a font of `size` points."""
    return max(int((width - 1) * 11 / size * 0.95), 3)


def text_lines(value, width: float, size: float = 11) -> int:
    """Lines a wrapped cell `width` characters wide needs for `value` (a generous estimate: Excel and
    LibreOffice break lines at words, and a line of capitals is wider than one of digits)."""
    text = "" if value is None else str(value)
    if not text.strip():
        return 1
    per_line = chars_per_line(width, size)
    if len(text) <= per_line and "\n" not in text:
        return 1
    lines = 0
    for line in text.split("\n"):
        if len(line) <= per_line:               # what the loop below counts for a line this short
            lines += 1
        elif "  " not in line and line[0] != " " and line[-1] != " ":
            lines += _filled_lines(line, per_line) or _greedy_lines(line, per_line)
        else:
            lines += _greedy_lines(line, per_line)
    return lines


def _filled_lines(line: str, per_line: int) -> int:
    """_greedy_lines of a line of words single-spaced, without a word longer than a line (0 for one
    that has one): each line of the fill ends at the last space its width reaches, found in C a line
    at a time rather than a word at a time."""
    n, start, end = 1, 0, len(line)
    while end - start > per_line:
        space = line.rfind(" ", start, start + per_line + 1)
        if space < 0:
            return 0                            # a word longer than the line
        start, n = space + 1, n + 1
    return n


def _greedy_lines(line: str, per_line: int) -> int:
    """Lines of `per_line` characters one line of text fills, word after word."""
    n, used = 1, 0
    for word in line.split(" "):
        w = len(word)
        if used and used + 1 + w > per_line:
            n, used = n + 1, 0
        while w > per_line:                     # a word longer than the line breaks anywhere
            n, w = n + 1, w - per_line
        used = used + (1 if used else 0) + w
    return n


def text_height(value, width: float, size: float = 11) -> float:
    """Points a wrapped cell needs to show all of `value`."""
    return text_lines(value, width, size) * size * 1.32 + 3


def fit_row_heights(ws, first_row: int, last_row: int, *, minimum: float = 15) -> None:
    """Set each row's height from its wrapped cells, so Excel and LibreOffice (which do not size
    the rows of a file they did not lay out) show all of the text. Merged cells count with the
    width of the whole merge; cells that do not wrap count as one line. Cells kept as records
    (`CellWriter(records=True)`) count as the openpyxl cells they stand for."""
    widths: dict[int, float] = {}
    merged = {(rng.min_row, rng.min_col): rng.max_col for rng in ws.merged_cells.ranges if rng.min_row == rng.max_row}
    heights = {r: minimum for r in range(first_row, last_row + 1)}
    measured: dict[tuple, float] = {}
    wb = ws.parent

    def look_of(style) -> float:
        """Font size, negative when the cell wraps."""
        key = (style.fontId, style.alignmentId) if style is not None else (0, 0)
        look = measured.get(key)
        if look is None:
            font, alignment = wb._fonts[key[0]], wb._alignments[key[1]]
            size = font.sz if font is not None and font.sz else 11
            look = measured[key] = -size if alignment is not None and alignment.wrap_text else size
        return look

    def width_of(r: int, c: int) -> float:
        last = merged.get((r, c), c)
        total = 0.0
        for i in range(c, last + 1):
            w = widths.get(i)
            if w is None:
                w = widths[i] = ws.column_dimensions[get_column_letter(i)].width or 8.43
            total += w
        return total

    wrapped: dict[tuple, float] = {}                   # most texts of a long sheet repeat (leads, statuses)

    def wrapped_height(value, width: float, size: float) -> float:
        key = (type(value), value, width, size)         # 1, 1.0 and True are equal keys, not equal texts
        h = wrapped.get(key)
        if h is None:
            h = wrapped[key] = text_height(value, width, size)
        return h

    def need(r: int, c: int, value, look: float) -> float:
        if look < 0:                                    # wraps: lines of the text in the cell's width
            return wrapped_height(value, width_of(r, c), -look)
        return look * 1.32 + 3

    for (r, c), cell in ws._cells.items():
        if r not in heights or cell._value is None:
            continue
        h = need(r, c, cell._value, look_of(cell._style))
        if h > heights[r]:
            heights[r] = h
    records = row_cells(ws)
    if records is not None:
        # (column, style number) -> (its look, the characters a line holds, one line's height, the width);
        # a text that fits on one line (most of a table's cells) needs no more (as text_lines counts it)
        columns: dict[tuple[int, int], tuple[float, int, float, float]] = {}
        merged_rows = {r for r, _ in merged}
        for r, cells in records.rows.items():
            if r not in heights:
                continue
            top = heights[r]
            row_merged = r in merged_rows
            for c, value, _, n in cells:
                if value is None:
                    continue
                if row_merged and (r, c) in merged:
                    look = look_of(records.styles[n])
                    h = wrapped_height(value, width_of(r, c), -look) if look < 0 else look * 1.32 + 3
                else:
                    column = columns.get((c, n))
                    if column is None:          # (a width looked up makes a column entry: wrapped cells only)
                        look = look_of(records.styles[n])
                        size = abs(look)
                        width = width_of(r, c) if look < 0 else 0.0
                        per_line = chars_per_line(width, size) if look < 0 else 0
                        column = columns[(c, n)] = (look, per_line, size * 1.32 + 3, width)
                    look, per_line, one_line, width = column
                    if look > 0 or (type(value) is str and len(value) <= per_line and "\n" not in value):
                        h = one_line
                    else:
                        h = wrapped_height(value, width, -look)
                if h > top:
                    top = h
            heights[r] = top
    for r, height in heights.items():
        height = round(min(height, MAX_ROW_HEIGHT), 1)
        if records is not None and r in records.rows and r not in ws.row_dimensions:
            records.heights[r] = height          # written as a row dimension's height (io/fastwrite.py)
        else:
            ws.row_dimensions[r].height = height


def owned_sheet(wb, kind: OwnedSheet | str, title: str):
    """A fresh sheet for xl_plan, replacing xl_plan's previous one of that kind in the same tab
    position. A user's own sheet of that name is left alone and ours is called '<name> (xl_plan)'.
    `kind` is one of xl_plan/owned.py's, or a name for a sheet the registry does not list."""
    kind = kind if isinstance(kind, OwnedSheet) else OwnedSheet(kind)
    index = None
    old = find_owned(wb, kind)
    if old is not None:
        target = old.title
        index = wb.sheetnames.index(target)
        wb.remove(old)
    else:
        target = kind.names[0] if kind.names[0] not in wb.sheetnames else kind.names[-1]
    ws = wb.create_sheet(target, index)
    ws.cell(1, 1, f"{MARK}{title}").font = TITLE_FONT
    if kind.state != "visible":
        ws.sheet_state = kind.state
    return ws


def write_table(ws, top: int, rows: list[list], widths: Iterable[int] = (), wrap_columns: Iterable[int] = (),
                *, filter_and_freeze: bool = True, left: int = 1, out: CellWriter | None = None) -> int:
    """Header row + data rows from row `top` (and column `left`; `wrap_columns` count from the table's
    first column); returns the last row written. `filter_and_freeze`: an autofilter on the table and
    frozen panes under its header (for a sheet holding one table). `out`: the sheet's CellWriter (its
    cells as records when it keeps them), else the cells are openpyxl cells."""
    wrap = {c + left - 1 for c in wrap_columns}
    out = out if out is not None else CellWriter(ws)
    for i, width in enumerate(widths, 1):
        ws.column_dimensions[get_column_letter(i)].width = width
    put_cell = out.put_look
    header = ("header", {"font": HEADER_FONT, "fill": HEADER_FILL, "alignment": _WRAP_TOP})
    wrapped, top_aligned = ("wrap", {"alignment": _WRAP_TOP}), ("top", {"alignment": _TOP})
    for r, row in enumerate(rows, top):
        for c, value in enumerate(row, left):
            if r == top:                  # headers wrap: none is cut off by the next column
                put_cell(r, c, value, header)
            elif c in wrap:
                put_cell(r, c, value, wrapped)
            else:
                put_cell(r, c, value, top_aligned)
    last = top + len(rows) - 1
    if filter_and_freeze:
        if len(rows) > 1:
            ws.auto_filter.ref = f"A{top}:{get_column_letter(len(rows[0]))}{last}"
        held = out.records is not None and any(rec[0] == 1 for rec in out.records.rows.get(top + 1, ()))
        ws.freeze_panes = f"A{top + 1}" if held else ws.cell(top + 1, 1)     # never a second cell at a record's place
    return last


def put(ws, row: int, column: int, value):
    """Write a value as data: text that starts with '=' stays text, never a formula (formula injection)."""
    cell = ws._cells.get((row, column))
    if cell is None:                     # ws.cell(row, column), less its checks (openpyxl 3.1)
        if not (0 < row < 1048577 and column > 0):
            raise ValueError(f"No cell at row {row}, column {column}.")
        cell = ws._cells[(row, column)] = Cell(ws, row=row, column=column)
        if row > ws._current_row:
            ws._current_row = row
    kind = type(value)
    if kind is str:                      # what openpyxl's value setter does for text, less its formula test
        value = cell.check_string(value)
        cell._value, cell.data_type = value, ("e" if value in ERROR_CODES else "s")
    elif kind is int or kind is float or value is None:
        cell._value, cell.data_type = value, "n"
    else:
        cell.value = value
        if cell.data_type == "f":
            cell.data_type = "s"
    return cell


def remove_marks(ws) -> int:
    """Remove the comments xl_plan added to cells; returns how many."""
    removed = 0
    for cell in list(ws._cells.values()):
        if cell.comment is not None and cell.comment.author == OWNER:
            cell.comment = None
            removed += 1
    return removed


def mark_cells(ws, notes: dict[str, list[str]]) -> int:
    """Add a comment from xl_plan to each cell (coordinate -> messages), never over a user's comment."""
    marked = 0
    for coord, messages in notes.items():
        cell = ws[coord]
        if cell.comment is not None and cell.comment.author != OWNER:
            continue
        text = "\n".join(f"• {m}" for m in messages)
        comment = Comment(f"{OWNER}:\n{text}", OWNER)
        comment.width, comment.height = 320, min(60 + 40 * len(messages), 300)
        cell.comment = comment
        marked += 1
    return marked
