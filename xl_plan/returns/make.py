"""Making one return workbook per lead from the master plan.

Each return is a NEW workbook built from the plan model and the master's cell styles
(never a copy of the master with rows deleted), so nothing of another lead's actions can
hide in it: not in hidden rows or sheets, names, comments or cached strings.

Layout of a return (sheet named like the master's plan sheet):

* a title, a short plain-English instructions block (what to fill, by when, how to send
  back) and the plan's RAG key, above the table;
* the master's header row: same header names, column order, column widths, fonts, fills,
  borders, wrap. One column is added right after the master's update column:
  "Update for <Month YYYY>" (editable, light yellow). The master's update column stays
  as it was and holds LAST month's text, read-only, for reference. When the master has no
  status column, an editable "Status" column is added at the end of the table; when it
  has no update column, the new one goes after the last column.
* a section row for each section the lead has actions in, styled like the master's;
* one row per action of the lead (an action spanning continuation rows becomes one row),
  styled like the master's action row. The status cell holds the status as a word of the
  plan's RAG key and has a drop-down of the key's names; conditional formatting colours it.

The sheet is protected without a password (a guide, not security): only the new update
cells and the status cells of action rows are unlocked. The identity (see identity.py) is
in the veryHidden sheet `xl_plan_return` and the custom document properties.
"""
from __future__ import annotations

import os
import re
import uuid
from contextlib import contextmanager
from copy import copy
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path

from openpyxl import Workbook
from openpyxl.formatting.rule import CellIsRule
from openpyxl.styles import Alignment, Border, Font, PatternFill, Protection, Side
from openpyxl.utils import get_column_letter
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.cell_range import MultiCellRange
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.dimensions import ColumnDimension

from .. import rag
from ..errors import XlPlanError
from ..io.files import safe_name
from ..model import Action, Plan
from ..months import deadline_words, month_name, parse_month
from ..settings import SETTINGS_SHEET, settings_sheet_values
from ..sheets import (
    MAX_ROW_HEIGHT,
    CellStyles,
    first_page_columns,
    fit_row_heights,
    print_landscape,
    put,
    text_height,
)
from ..text import clean
from .identity import (
    PLAN_ID_SETTING,
    IdentityRow,
    ReturnIdentity,
    key_name,
    new_action_key,
    new_plan_id,
    text_hash,
    write_identity,
)
from .log import add_events

EDIT_FILL = PatternFill("solid", fgColor="FFF2CC")


@dataclass
class ReturnFile:
    lead: str
    path: Path
    action_count: int
    identity: ReturnIdentity
    replaced: Path | None = None        # the earlier file of that name, moved to backups/


@dataclass
class MakeResult:
    plan: Plan
    month: str
    deadline: date | None
    out_dir: Path
    returns: list[ReturnFile]
    keys_added: int
    plan_id: str
    master_sha256: str
    without_lead: list[Action] = field(default_factory=list)
    saved: object = None                 # SaveResult of the master


# ---------------------------------------------------------------- small helpers

def return_filename(month: str, lead: str, plan_path) -> str:
    return f"{month} return - {safe_name(lead)} - {safe_name(Path(plan_path).stem, 80)}.xlsx"


def plan_title(plan) -> str:
    """What the plan is called in a return and in the emails: its title above the table (not a RAG
    key's heading), else its file name without the extension."""
    title = plan.title
    return title if title and not re.search(r"\bkey\b|\brag\b", title, re.I) else Path(plan.path).stem


def leads_of(plan: Plan) -> dict[str, list[Action]]:
    """Lead -> their actions, leads in order of first appearance; an action with several leads
    goes to each of them."""
    out: dict[str, list[Action]] = {}
    for a in plan.actions:
        for lead in a.leads:
            out.setdefault(lead, []).append(a)
    return out


# ---------------------------------------------------------------- keys and plan id in the master

def assign_keys(wb, plan: Plan) -> int:
    """Give each action without a key a new one, stored as the defined name `_xlp_<key>` pointing
    at the action's first cell. Returns how many were added."""
    taken = {a.key for a in plan.actions if a.key}
    taken |= {n[5:].upper() for n in wb.defined_names.keys() if n.lower().startswith("_xlp_")}
    sheet = plan.sheet.replace("'", "''")
    col = plan.column("action") or plan.column("ref")
    letter = col.letter if col else get_column_letter(plan.first_column)
    added = 0
    for a in plan.actions:
        if a.key:
            continue
        a.key = new_action_key(taken)
        taken.add(a.key)
        name = key_name(a.key)
        wb.defined_names[name] = DefinedName(name, attr_text=f"'{sheet}'!${letter}${a.row}")
        added += 1
    return added


def ensure_plan_id(wb) -> str:
    """The plan's id from the hidden `xl_plan` settings sheet, adding one when there is none."""
    current = settings_sheet_values(wb).get(PLAN_ID_SETTING)
    if current:
        return current
    if SETTINGS_SHEET in wb.sheetnames:
        ws = wb[SETTINGS_SHEET]
        row = (ws.max_row or 0) + 1
        if row == 2 and ws.cell(1, 1).value is None:
            row = 1
    else:
        ws = wb.create_sheet(SETTINGS_SHEET)
        ws.sheet_state = "hidden"
        row = 1
    plan_id = new_plan_id()
    put(ws, row, 1, PLAN_ID_SETTING)
    put(ws, row, 2, plan_id)
    return plan_id


# ---------------------------------------------------------------- one return workbook

# A workbook's style tables (openpyxl 3.1): every return of one run shares those of the first.
_STYLE_TABLES = ("_fonts", "_alignments", "_borders", "_fills", "_number_formats", "_date_formats",
                 "_timedelta_formats", "_protections", "_colors", "_cell_styles", "_named_styles",
                 "_table_styles", "_differential_styles")

_TITLE_FONT = Font(bold=True, size=14)
_ITALIC = Font(italic=True)
_BOLD = Font(bold=True)
_WRAP_TOP = Alignment(wrap_text=True, vertical="top")
_STATUS_ALIGN = Alignment(horizontal="center", vertical="top", wrap_text=True)
_UNLOCKED = Protection(locked=False)
_THIN = Side(style="thin", color="808080")


class _ReturnStyles:
    """The looks of one run's returns. Setting a font, fill, border or alignment on a cell makes openpyxl
    hash it against the workbook's style tables, and a return has every master style to copy onto every
    cell: most of the cost of a return. So all the returns of a run share one set of style tables (the
    first return workbook's), and each look (a master cell's style copied, the yellow fill, the unlocked
    protection, ... from a given starting style) is worked out once and given to every later cell as a
    copy of its style array (sheets.CellStyles). The cells get the very same styles as set one by one;
    each return's styles part lists the looks of the returns made before it too (looks only, no text)."""

    def __init__(self):
        self.tables: dict | None = None
        self.looks = CellStyles()
        self.styles_part: dict = {}              # the last styles part written: "key" (state), "part" (text)
        self._sizes: dict = {}

    def new_workbook(self) -> Workbook:
        if self.tables is None:
            wb = Workbook()
            self.tables = {name: getattr(wb, name) for name in _STYLE_TABLES}
            tables = self.tables

            class ReturnWorkbook(Workbook):
                def _setup_styles(self):          # the run's tables, not a new set to throw away
                    for name, table in tables.items():
                        setattr(self, name, table)

            self.workbook_class = ReturnWorkbook
            return wb
        return self.workbook_class()

    def state(self, wb) -> tuple | None:
        """What a workbook's styles part is written from, as far as it changes: the tables only grow."""
        if self.tables is None or wb._cell_styles is not self.tables["_cell_styles"]:
            return None
        return (len(wb._fonts), len(wb._alignments), len(wb._borders), len(wb._fills), len(wb._number_formats),
                len(wb._protections), len(wb._colors), len(wb._cell_styles), len(wb._named_styles),
                len(wb._table_styles.tableStyle), len(wb._differential_styles.dxf))

    @contextmanager
    def styles_part_once(self):
        """Within the block, openpyxl (3.1) writes a return's styles part (xl/styles.xml) anew only when the
        shared tables have grown since the last return: otherwise it is the same text as the last one."""
        from xml.etree.ElementTree import Element

        from openpyxl.writer import excel

        write_stylesheet, tostring = excel.write_stylesheet, excel.tostring
        marker = Element("styleSheet")
        last = self.styles_part

        def stylesheet(wb):
            key = self.state(wb)
            if key is None or last.get("key") != key:
                last["key"], last["part"] = key, tostring(write_stylesheet(wb))
            return marker

        def text(element):
            return last["part"] if element is marker else tostring(element)

        excel.write_stylesheet, excel.tostring = stylesheet, text
        try:
            yield
        finally:
            excel.write_stylesheet, excel.tostring = write_stylesheet, tostring

    def copy_from(self, src, dst) -> None:
        """The master cell `src`'s font, fill, border, alignment and number format onto a return's cell."""
        if src is None or src._style is None or not src.has_style:
            return
        self.looks.apply_with(dst, ("master", tuple(src._style)), lambda cell: _copy_style(src, cell))

    def set(self, cell, look: str, **attrs) -> None:
        self.looks.apply(cell, look, **attrs)

    def wrapped_size(self, cell) -> float | None:
        """The font size of a cell whose text wraps, None when it does not wrap."""
        style = cell._style
        if style is None:
            return None
        key = (style.alignmentId, style.fontId)
        size = self._sizes.get(key, False)
        if size is False:
            wraps = self.tables["_alignments"][style.alignmentId].wrap_text
            size = self._sizes[key] = (self.tables["_fonts"][style.fontId].sz or 11) if wraps else None
        return size


def _save_return(wb, path) -> None:
    """openpyxl's save_workbook (3.1), each worksheet written in memory rather than into a temporary file
    that is then copied into the package and removed (for a small workbook, a good part of its save)."""
    from io import BytesIO
    from zipfile import ZIP_DEFLATED, ZipFile

    from openpyxl.drawing.spreadsheet_drawing import SpreadsheetDrawing
    from openpyxl.worksheet._writer import WorksheetWriter
    from openpyxl.writer.excel import ExcelWriter

    class InMemory(ExcelWriter):
        def write_worksheet(self, ws):                   # ExcelWriter.write_worksheet, less the temporary file
            ws._drawing = SpreadsheetDrawing()
            ws._drawing.charts = ws._charts
            ws._drawing.images = ws._images
            writer = WorksheetWriter(ws, out=BytesIO())
            writer.write()
            ws._rels = writer._rels
            self._archive.writestr(ws.path[1:], writer.out.getvalue())
            self.manifest.append(ws)

    wb.properties.modified = datetime.now(tz=timezone.utc).replace(tzinfo=None)
    with ZipFile(path, "w", ZIP_DEFLATED, allowZip64=True) as archive:
        InMemory(wb, archive).write_data()


def _copy_style(src, dst) -> None:
    """The master cell's font, fill, border, alignment and number format onto a return's cell."""
    dst.font = copy(src.font)
    dst.fill = copy(src.fill)
    dst.border = copy(src.border)
    dst.alignment = copy(src.alignment)
    dst.number_format = src.number_format


def _merged_start_border(start, end) -> None:
    """What openpyxl's merge does to the first cell: it takes the right and bottom borders of the last."""
    start.border += Border(right=end.border.right, bottom=end.border.bottom)


def _merge_row(ws, row: int, first: int, last: int, styles: _ReturnStyles) -> None:
    """ws.merge_cells over one row, saved the same, without openpyxl's cost cell by cell: the first cell
    takes the last one's right and bottom borders (as openpyxl's merge does); where it then has no border,
    the other cells of the merge are removed (an empty cell is not saved, so a merged one need not be
    made) or, when the first cell has a protection, merged cells take its protection index as they
    would its protection; with a border, openpyxl's own merge formatting adds it round the edges."""
    from openpyxl.cell.cell import MergedCell
    from openpyxl.styles.cell_style import StyleArray
    from openpyxl.worksheet.cell_range import CellRange
    from openpyxl.worksheet.merge import MergedCellRange

    cells = ws._cells
    start = cells.get((row, first)) or ws.cell(row, first)
    end = cells.get((row, last))
    if end is not None:
        styles.looks.apply_with(start, ("merged", tuple(end._style) if end._style is not None else None),
                                lambda cell: _merged_start_border(cell, end))
    mcr = MergedCellRange.__new__(MergedCellRange)       # MergedCellRange(ws, ref), its borders done above
    mcr.ws = ws
    CellRange.__init__(mcr, min_col=first, min_row=row, max_col=last, max_row=row)
    mcr.start_cell = start
    ws.merged_cells.ranges.add(mcr)                      # one row each, none inside another
    border = styles.tables["_borders"][start._style.borderId] if start._style is not None else None
    if border is not None and any(getattr(border, side) is not None and getattr(border, side).style is not None
                                  for side in ("top", "left", "right", "bottom")):
        ws._clean_merge_range(mcr)
        return
    protection = start._style.protectionId if start._style is not None else 0
    for col in range(first + 1, last + 1):
        if protection:
            cell = MergedCell(ws, row=row, column=col)
            cell._style = StyleArray()
            cell._style.protectionId = protection
            cells[(row, col)] = cell
        else:
            cells.pop((row, col), None)


def _master_widths(ws) -> dict[int, float]:
    out = {}
    for dim in ws.column_dimensions.values():
        if dim.width and dim.min and dim.max:
            for i in range(dim.min, min(dim.max, 200) + 1):
                out[i] = dim.width
    return out


def _hidden_columns(ws) -> set[int]:
    out = set()
    for dim in ws.column_dimensions.values():
        if dim.hidden and dim.min and dim.max:
            out.update(range(dim.min, min(dim.max, 200) + 1))
    return out


def _rag_names(plan: Plan) -> list[str]:
    names = []
    for e in plan.rag_key.entries:
        name = re.sub(r'[,"]', " ", rag.key_word(e)).strip() or e.code
        if name not in names:
            names.append(name)
    return names


def _height(value, width: float) -> float:
    """Points for a wrapped cell of `width` characters holding `value` (at most Excel's 409)."""
    return min(MAX_ROW_HEIGHT, text_height(clean(value), width))


def _smaller_font(cell, size: float) -> None:
    font = copy(cell.font)
    font.sz = size
    cell.font = font


def _fit_long_cells(ws, r: int, columns: range, widths: dict[int, float], styles: _ReturnStyles) -> None:
    """A row Excel cannot make tall enough (409 points) for a long cell: that cell's text gets smaller,
    down to 8 point (the text itself is never changed: the merge compares it with the plan)."""
    cells = ws._cells
    for c in columns:
        cell = cells.get((r, c))
        if cell is None or not isinstance(cell._value, str):
            continue
        size = styles.wrapped_size(cell)
        if size is None:
            continue
        width = widths[c]
        text = cell._value
        # at most a line per newline and per half a line of text (sheets.text_lines breaks at words)
        most = text.count("\n") + 2 + 2 * len(text) // max(int((width - 1) * 11 / size * 0.95), 3)
        if most * size * 1.32 + 3 <= MAX_ROW_HEIGHT or text_height(text, width, size) <= MAX_ROW_HEIGHT:
            continue
        for smaller in (10, 9, 8):
            if smaller < size and text_height(text, width, smaller) <= MAX_ROW_HEIGHT:
                break
        size = min(size, smaller)
        styles.looks.apply_with(cell, ("font size", size), lambda x, s=size: _smaller_font(x, s))


@dataclass
class _Columns:
    """Where each master column lands in the return, and the added columns."""
    target: dict[int, int]              # master column index -> return column index
    new_update: int
    status: int
    status_added: bool
    last: int


def _plan_columns(plan: Plan) -> _Columns:
    update = plan.column("update")
    status = plan.column("status")
    target, shift = {}, 0
    new_update = None
    for c in range(1, plan.last_column + 1):
        target[c] = c + shift
        if update and c == update.index:
            new_update = c + shift + 1
            shift += 1
    last = plan.last_column + shift
    if new_update is None:
        last += 1
        new_update = last
    if status:
        return _Columns(target, new_update, target[status.index], False, last)
    last += 1
    return _Columns(target, new_update, last, True, last)


def _action_values(cells: dict, action: Action, plan: Plan) -> dict[int, object]:
    """Master column -> the value the return shows for this action (continuation rows joined).
    `cells`: the master sheet's cells by (row, column)."""
    out = {}
    for c in range(plan.first_column, plan.last_column + 1):
        if len(action.rows) == 1:
            cell = cells.get((action.row, c))
            out[c] = cell.value if cell is not None else None
        else:
            texts = [clean(cells[(r, c)].value) if (r, c) in cells else "" for r in action.rows]
            out[c] = "\n".join(t for t in texts if t) or None
    return out


class ReturnMaker:
    """Makes the returns of one plan: what every return shares (the columns, widths, the RAG key, the
    status names, the style tables) is worked out once, then `build(lead, actions)` makes each."""

    def __init__(self, wb_master, plan: Plan, *, month: str, deadline: date | None, identity_base: dict):
        self.plan, self.month, self.deadline, self.identity_base = plan, month, deadline, identity_base
        self.ws_m = wb_master[plan.sheet]
        self.master_cells = self.ws_m._cells
        self.theme = getattr(wb_master, "loaded_theme", None)
        self.cols = cols = _plan_columns(plan)
        self.widths = _master_widths(self.ws_m)
        self.hidden = _hidden_columns(self.ws_m)
        self.upd = plan.column("update")
        self.status_col = plan.column("status")
        self.rec_col = plan.column("recommendation")
        self.new_update_width = max(self.widths.get(self.upd.index, 40) if self.upd else 40, 30)
        col_widths = {t: self.widths.get(c, 9.0) for c, t in cols.target.items()}
        col_widths[cols.new_update] = self.new_update_width
        if cols.status_added:
            col_widths[cols.status] = 14
        # the instructions wrap across the columns the first printed page shows
        first, width = plan.first_column, cols.last
        shown = first_page_columns([col_widths.get(c, 9.0) for c in range(first, width + 1)])
        self.note_last = first + shown - 1
        self.table_width = sum(col_widths.get(c, 9.0) for c in range(first, self.note_last + 1))
        self.names = _rag_names(plan)
        # the status colours: the same rules in every return (their priorities and styles come out the same)
        self.colour_rules = [CellIsRule(operator="equal", formula=[f'"{name}"'], fill=PatternFill("solid", fgColor=e.colour))
                             for e, name in zip(plan.rag_key.entries, self.names) if e.colour]
        self.status_source = plan.status_source
        self.section_rows = {s.title: s.row for s in plan.sections}
        self.styles = _ReturnStyles()
        self.return_widths: dict[int, float] | None = None      # return column -> width, from the first return

    def _cell(self, row: int, column: int):
        """The master's cell, or None (never adding one to the master)."""
        return self.master_cells.get((row, column))

    def build(self, lead: str, actions: list[Action]) -> tuple[Workbook, ReturnIdentity]:
        """A new workbook holding only `actions` (the lead's), in the master's layout, and its identity."""
        plan, cols, styles = self.plan, self.cols, self.styles
        width = cols.last
        first = plan.first_column
        mname = month_name(self.month)
        update_header = f"Update for {mname}"
        upd, status_col, rec_col = self.upd, self.status_col, self.rec_col
        master = self._cell

        wb = styles.new_workbook()
        if self.theme:
            wb.loaded_theme = self.theme
        ws = wb.active
        ws.title = plan.sheet
        wb.properties.creator = "xl_plan"
        wb.properties.title = f"{mname} return - {lead}"
        for c, t in cols.target.items():
            if c in self.widths:
                ws.column_dimensions[get_column_letter(t)].width = self.widths[c]
            if c in self.hidden and c >= first:
                ws.column_dimensions[get_column_letter(t)].hidden = True
        ws.column_dimensions[get_column_letter(cols.new_update)].width = self.new_update_width
        if cols.status_added:
            ws.column_dimensions[get_column_letter(cols.status)].width = 14
        if self.return_widths is None:               # as ws.column_dimensions[letter].width would say, unadded
            default = ColumnDimension(ws).width
            dims = ws.column_dimensions
            self.return_widths = {c: (dims[get_column_letter(c)].width if get_column_letter(c) in dims else default)
                                  or 8.43 for c in range(first, width + 1)}

        # ---- title and instructions
        plan_name = plan_title(plan)
        r = 1
        styles.set(put(ws, r, first, f"{mname} return for {lead}"), "title", font=_TITLE_FONT)
        r += 1
        styles.set(put(ws, r, first, f"From the plan: {plan_name} (file {Path(plan.path).name}, sheet '{plan.sheet}')"),
                   "italic", font=_ITALIC)
        r += 1
        status_header = "Status" if cols.status_added else (status_col.header or "Status")
        prev_header = upd.header if upd else ""
        n = len(actions)
        lines = [
            f"What to do: you lead the {n} action{'s' if n != 1 else ''} below. For each one, write this month's "
            f"progress in the yellow column '{update_header}' and choose the status from the drop-down in the column "
            f"'{status_header}'" + (f". The column '{prev_header}' shows last month's update, for reference."
                                    if prev_header else "."),
            f"By when: please send it back by {deadline_words(self.deadline)}." if self.deadline else
            "By when: please send it back as soon as you can.",
            "How to send it back: save this file (keep its name and do not copy your answers into another workbook, "
            "xl_plan recognises this file) and email it back as an attachment to the person who sent it to you.",
            "The other cells are locked so the plan's layout stays intact; if something else is wrong, say so in your "
            "email.",
        ]
        for line in lines:
            styles.set(put(ws, r, first, line), "wrap top", alignment=_WRAP_TOP)
            if self.note_last > first:
                _merge_row(ws, r, first, self.note_last, styles)
            ws.row_dimensions[r].height = _height(line, self.table_width)
            r += 1
        for _row, text in plan.notes:
            if re.search(r"starred|carried forward", text, re.I):
                styles.set(put(ws, r, first, text), "italic", font=_ITALIC)
                r += 1

        # ---- RAG key
        r += 1
        styles.set(put(ws, r, first, "RAG status key:"), "bold", font=_BOLD)
        r += 1
        for e in plan.rag_key.entries:
            name_cell = put(ws, r, first, e.name)
            desc_cell = put(ws, r, first + 1, e.description)
            src = self.ws_m[f"{e.column}{e.row}"] if e.row and e.column else None
            if src is not None:
                styles.copy_from(src, name_cell)
                styles.copy_from(src, desc_cell)
                styles.set(desc_cell, "no fill", fill=PatternFill())
            if e.colour:
                styles.set(name_cell, ("key fill", e.colour), fill=PatternFill("solid", fgColor=e.colour))
            styles.set(name_cell, "bold", font=_BOLD)
            r += 1

        # ---- header row
        r += 1
        header_row = r
        for c, t in cols.target.items():
            if c < first:
                continue
            src = master(plan.header_row, c)
            styles.copy_from(src, put(ws, r, t, src.value if src is not None else None))
        model_header = master(plan.header_row, upd.index if upd else first)
        added = [(cols.new_update, update_header)] + ([(cols.status, "Status")] if cols.status_added else [])
        for t, text in added:
            cell = put(ws, r, t, text)
            styles.copy_from(model_header, cell)
            if model_header is None or not model_header.has_style:
                styles.set(cell, "added header", font=_BOLD,
                           border=Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN))
        for c in range(first, width + 1):        # headers wrap, so none is cut off
            styles.looks.apply_with(ws.cell(r, c), "header wrap", _wrap_header)
        fit_row_heights(ws, r, r)
        master_height = self.ws_m.row_dimensions[plan.header_row].height if \
            plan.header_row in self.ws_m.row_dimensions else None
        if master_height:
            ws.row_dimensions[r].height = max(ws.row_dimensions[r].height, master_height)
        ws.freeze_panes = ws.cell(r + 1, first)
        print_landscape(ws, f"{r}:{r}", title_columns=f"{get_column_letter(first)}:{get_column_letter(first + 1)}",
                        last_column=width)
        r += 1

        # ---- sections and actions
        rows_out: list[IdentityRow] = []
        master_heights: dict[int, float] = {}         # return row -> the master's own height for the action
        master_dims = self.ws_m.row_dimensions
        status_cells = []
        current_section = object()
        last_rec = None
        section_rows = self.section_rows
        last_master = plan.last_column
        fit_columns = range(first, width + 1)
        for a in actions:
            if a.section != current_section:
                current_section = a.section
                last_rec = None
                if a.section:
                    srow = section_rows.get(a.section, plan.header_row)
                    styles.copy_from(master(srow, first), put(ws, r, first, a.section))
                    # the cells the merge covers: only the last one's style counts (its borders, in the
                    # first cell), the others are merged away
                    styles.copy_from(master(srow, min(width, last_master)), ws.cell(r, width))
                    _merge_row(ws, r, first, width, styles)
                    own = section_rows.get(a.section)
                    h = master_dims[own].height if own is not None and own in master_dims else None
                    if h:
                        master_heights[r] = h
                    r += 1
            values = _action_values(self.master_cells, a, plan)
            if rec_col and not clean(values.get(rec_col.index)) and a.recommendation and a.recommendation != last_rec:
                values[rec_col.index] = a.recommendation
            if rec_col:
                last_rec = a.recommendation
            status_name = rag.status_name(a.status, plan.rag_key)
            for c in range(first, last_master + 1):
                value = status_name if status_col and c == status_col.index else values.get(c)
                styles.copy_from(master(a.row, c), put(ws, r, cols.target[c], value))
            model = master(a.row, upd.index if upd else first)
            new_cell = ws.cell(r, cols.new_update)
            styles.copy_from(model, new_cell)
            styles.set(new_cell, "to fill in", fill=EDIT_FILL, alignment=_WRAP_TOP, protection=_UNLOCKED)
            if cols.status_added:
                styles.copy_from(model, put(ws, r, cols.status, status_name or None))
            status_cell = ws.cell(r, cols.status)      # the two cells the lead fills in, in yellow
            styles.set(status_cell, "status to fill in", fill=EDIT_FILL, alignment=_STATUS_ALIGN, protection=_UNLOCKED)
            status_cells.append(status_cell.coordinate)
            # Excel and LibreOffice do not size the rows of a new file to their wrapped text: estimate it,
            # never below the master's own height for the row
            _fit_long_cells(ws, r, fit_columns, self.return_widths, styles)
            if len(a.rows) == 1 and a.row in master_dims and master_dims[a.row].height:
                master_heights[r] = master_dims[a.row].height
            rows_out.append(IdentityRow(
                key=a.key or "", return_row=r, master_row=a.row, ref=a.ref or "", text_sha256=text_hash(a.text),
                update_as_sent=a.update, status_as_sent=status_name,
            ))
            r += 1

        fit_row_heights(ws, header_row + 1, r - 1)
        for row, height in master_heights.items():
            ws.row_dimensions[row].height = max(ws.row_dimensions[row].height, height)

        # ---- status drop-down, colours, protection
        names = self.names
        if status_cells:
            dv = DataValidation(
                type="list", formula1='"' + ",".join(names) + '"', allow_blank=True, showDropDown=False,
                showErrorMessage=True, errorTitle="Status", error=f"Choose one of: {', '.join(names)}.",
                showInputMessage=True, promptTitle="Status", prompt="Choose the status from the list.",
            )
            ws.add_data_validation(dv)
            dv.sqref = MultiCellRange(" ".join(status_cells))     # as dv.add(cell) for each
            rng = f"{get_column_letter(cols.status)}{header_row + 1}:{get_column_letter(cols.status)}{r - 1}"
            for rule in self.colour_rules:
                ws.conditional_formatting.add(rng, rule)
        ws.protection.sheet = True
        ws.protection.formatColumns = False
        ws.protection.formatRows = False
        ws.protection.formatCells = False

        identity = ReturnIdentity(
            **self.identity_base, month=self.month, deadline=self.deadline.isoformat() if self.deadline else "",
            lead=lead, return_sheet=ws.title, header_row=header_row, update_column=get_column_letter(cols.new_update),
            previous_update_column=get_column_letter(cols.target[upd.index]) if upd else "",
            status_column=get_column_letter(cols.status), status_mode=self.status_source, rag_names=names,
            rows=rows_out, return_id=uuid.uuid4().hex,
        )
        write_identity(wb, identity)
        wb.active = 0
        return wb, identity


def _wrap_header(cell) -> None:
    cell.alignment = Alignment(wrap_text=True, vertical=(cell.alignment.vertical if cell.alignment else None)
                               or "center", horizontal=cell.alignment.horizontal if cell.alignment else None)


# ---------------------------------------------------------------- the job

def make_returns(path, month: str, out_dir, *, deadline: date | None = None, sheet=None, columns=None,
                 now: datetime | None = None, leads: list[str] | None = None, master_path=None,
                 policy=None, progress=None) -> MakeResult:
    """Write one return per lead into `out_dir`, give actions their stable keys in the master and
    record what was sent in the master's hidden `Returns log` sheet (backup + atomic save).
    `master_path`: the master's real path when `path` is a working copy (the ribbon)."""
    import shutil
    import tempfile
    import warnings

    from .. import __version__
    from ..directory import lookup_key
    from ..io.fastwrite import fast_cells
    from ..io.save import DEFAULT_POLICY, make_backup
    from ..plan_file import edit_plan
    from .identity import file_sha256

    month = parse_month(month)
    path = Path(path)
    out_dir = Path(out_dir)
    edit = edit_plan(path, sheet=sheet, columns=columns, policy=policy or DEFAULT_POLICY)
    master_sha = file_sha256(path)
    wb, plan = edit.wb, edit.plan
    now = (now or datetime.now()).astimezone()
    by_lead = leads_of(plan)
    if leads:
        wanted = {lookup_key(x) for x in leads}
        unknown = [x for x in leads if lookup_key(x) not in {lookup_key(k) for k in by_lead}]
        if unknown:
            raise XlPlanError(
                f"{path.name}: no action names the lead{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}. "
                f"The leads in the plan are: {', '.join(by_lead)}."
            )
        by_lead = {k: v for k, v in by_lead.items() if lookup_key(k) in wanted}
    if not by_lead:
        raise XlPlanError(f"{path.name}: no action in sheet '{plan.sheet}' names a lead, so there is no return to make.")

    keys_added = assign_keys(wb, plan)
    plan_id = ensure_plan_id(wb)
    base = dict(
        plan_id=plan_id, plan_file=path.name, plan_path=str(Path(master_path or path).resolve()), plan_sheet=plan.sheet,
        master_sha256=master_sha, created=now.isoformat(timespec="seconds"), xl_plan_version=__version__,
    )
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise XlPlanError(f"Cannot create the folder {out_dir} for the returns ({exc.strerror}). Choose another folder.") from exc

    maker = ReturnMaker(wb, plan, month=month, deadline=deadline, identity_base=base)
    staging = Path(tempfile.mkdtemp(prefix=".xl_plan-returns-", dir=out_dir))
    made: list[ReturnFile] = []
    used_names: set[str] = set()
    try:
        for lead, actions in by_lead.items():
            if progress:
                progress(f"{lead}'s return")
            name = return_filename(month, lead, path)
            n = 2
            while name.lower() in used_names:
                name = return_filename(month, f"{lead} ({n})", path)
                n += 1
            used_names.add(name.lower())
            rwb, identity = maker.build(lead, actions)
            with warnings.catch_warnings(), fast_cells(), maker.styles.styles_part_once():
                warnings.simplefilter("ignore")
                _save_return(rwb, staging / name)
            made.append(ReturnFile(lead, out_dir / name, len(actions), identity))
        log_rows = [{
            "month": month, "lead": f.lead, "file": f.path.name, "folder": str(out_dir.resolve()),
            "return_id": f.identity.return_id, "actions": str(f.action_count),
            "deadline": deadline.isoformat() if deadline else "", "created": base["created"],
            "master_sha256": master_sha, "plan_id": plan_id,
        } for f in made]
        add_events(wb, log_rows, records=True)       # saved through io/save.py below
        saved = edit.save()
        for f in made:
            if f.path.exists():
                f.replaced = make_backup(f.path)
            os.replace(staging / f.path.name, f.path)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    without = [a for a in plan.actions if not a.leads]
    return MakeResult(plan, month, deadline, out_dir, made, keys_added, plan_id, master_sha, without, saved)
