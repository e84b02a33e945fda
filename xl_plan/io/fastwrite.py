"""A faster save of xl_plan's scratch workbook (io/save.py): the owned sheets a job writes (a long
Validation or Gantt sheet, the History) are most of what is saved, and openpyxl serialises every
cell through et_xmlfile's element writer, one Python-level tree walk per cell. `fast_cells()`
makes openpyxl's worksheet writer emit the cells of the common kinds (text, numbers, booleans,
dates, errors, styled blanks) as the very same XML text directly; formulas, rich text and anything
else still go through openpyxl's own cell writer. tests/test_fastwrite.py checks that a workbook
saved either way has byte-identical parts.

openpyxl is pinned to 3.1 (pyproject.toml); this relies on its worksheet writer's `write_row` and
its cell writer's `_set_attributes`, and is used only around the scratch save."""
from __future__ import annotations

from contextlib import contextmanager
from xml.etree.ElementTree import _escape_attrib, _escape_cdata

from openpyxl import LXML
from openpyxl.cell import _writer as cell_writer
from openpyxl.cell.rich_text import CellRichText
from openpyxl.comments.comment_sheet import CommentRecord
from openpyxl.compat import safe_string
from openpyxl.worksheet import _writer as ws_writer

_set_attributes = cell_writer._set_attributes


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
        stripped = value.strip()
        space = ' xml:space="preserve"' if stripped and value != stripped else ""
        return f"{head}><is><t{space}>{_escape_cdata(value)}</t></is></c>"
    text = safe_string(value)
    if not text:
        return f"{head}><v /></c>"
    return f"{head}><v>{_escape_cdata(text)}</v></c>"


def _write_row(self, xf, row, row_idx):
    """openpyxl's WorksheetWriter.write_row, with the cells written as text where they can be: a row
    whose cells all can is written in one piece (as et_xmlfile writes the row element)."""
    attrs = {"r": f"{row_idx}"}
    dims = self.ws.row_dimensions
    attrs.update(dims.get(row_idx, {}))
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
    write = xf._file
    with xf.element("row", attrs):
        for cell in row:
            if cell._comment is not None:
                self.ws._comments.append(CommentRecord.from_cell(cell))
            if cell._value is None and not cell.has_style and not cell._comment:
                continue
            styled = cell.has_style
            xml = _cell_xml(cell, styled)
            if xml is None:
                ws_writer.write_cell(xf, self.ws, cell, styled)
            else:
                write(xml)


@contextmanager
def fast_cells():
    """Within the block, openpyxl saves worksheet cells through `_write_row` (not with lxml, whose
    writer is another path: then nothing changes)."""
    if LXML:
        yield
        return
    original = ws_writer.WorksheetWriter.write_row
    ws_writer.WorksheetWriter.write_row = _write_row
    try:
        yield
    finally:
        ws_writer.WorksheetWriter.write_row = original
