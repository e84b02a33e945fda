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
import weakref
from copy import copy
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from openpyxl import Workbook
from openpyxl.formatting.rule import CellIsRule
from openpyxl.styles import Alignment, Border, Font, PatternFill, Protection, Side
from openpyxl.utils import get_column_letter
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.datavalidation import DataValidation

from .. import rag
from ..errors import XlPlanError
from ..io.files import safe_name
from ..model import Action, Plan
from ..months import deadline_words, month_name, parse_month
from ..settings import SETTINGS_SHEET, settings_sheet_values
from ..sheets import MAX_ROW_HEIGHT, first_page_columns, fit_row_heights, print_landscape, put, text_height
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

_STYLES: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()   # return workbook -> style cache


def _copy_style(src, dst) -> None:
    """The master cell's font, fill, border, alignment and number format onto a return's cell. A style
    is copied into the return workbook once; the cells after it that share it take its indices."""
    if src is None or not src.has_style:
        return
    cache = _STYLES.setdefault(dst.parent.parent, {})
    before = getattr(dst, "_style", None)            # None: a new cell, no style yet
    key = (tuple(src._style), tuple(before) if before is not None else None)
    done = cache.get(key)
    if done is not None:
        dst._style = copy(done)
        return
    dst.font = copy(src.font)
    dst.fill = copy(src.fill)
    dst.border = copy(src.border)
    dst.alignment = copy(src.alignment)
    dst.number_format = src.number_format
    cache[key] = copy(dst._style)


def _merge_row(ws, row: int, first: int, last: int) -> None:
    """ws.merge_cells over one row, the same cells and styles, without openpyxl re-adding the protection
    (and borders) cell by cell: where the first cell has no border, the merged cells take its protection
    index as they would its protection."""
    from openpyxl.cell.cell import MergedCell
    from openpyxl.styles.cell_style import StyleArray
    from openpyxl.worksheet.merge import MergedCellRange

    mcr = MergedCellRange(ws, f"{get_column_letter(first)}{row}:{get_column_letter(last)}{row}")
    start = mcr.start_cell
    border = start.border
    if any(getattr(border, side) is not None and getattr(border, side).style is not None
           for side in ("top", "left", "right", "bottom")):
        ws.merged_cells.add(mcr)
        ws._clean_merge_range(mcr)
        return
    ws.merged_cells.add(mcr)
    protection = start._style.protectionId if start._style is not None else 0
    for col in range(first + 1, last + 1):
        cell = MergedCell(ws, row=row, column=col)
        if protection:
            cell._style = StyleArray()
            cell._style.protectionId = protection
        ws._cells[(row, col)] = cell


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


def _fit_long_cells(ws, r: int, columns: range) -> None:
    """A row Excel cannot make tall enough (409 points) for a long cell: that cell's text gets smaller,
    down to 8 point (the text itself is never changed: the merge compares it with the plan)."""
    for c in columns:
        cell = ws.cell(r, c)
        if not isinstance(cell.value, str) or not (cell.alignment and cell.alignment.wrap_text):
            continue
        width = ws.column_dimensions[get_column_letter(c)].width or 8.43
        size = cell.font.sz or 11
        if text_height(cell.value, width, size) <= MAX_ROW_HEIGHT:
            continue
        for smaller in (10, 9, 8):
            if smaller < size and text_height(cell.value, width, smaller) <= MAX_ROW_HEIGHT:
                break
        font = copy(cell.font)
        font.sz = min(size, smaller)
        cell.font = font


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


def _action_values(ws_master, action: Action, plan: Plan) -> dict[int, object]:
    """Master column -> the value the return shows for this action (continuation rows joined)."""
    out = {}
    for c in range(plan.first_column, plan.last_column + 1):
        if len(action.rows) == 1:
            value = ws_master.cell(action.row, c).value
            out[c] = value
        else:
            texts = [clean(ws_master.cell(r, c).value) for r in action.rows]
            out[c] = "\n".join(t for t in texts if t) or None
    return out


def build_return(wb_master, plan: Plan, lead: str, actions: list[Action], *, month: str, deadline: date | None,
                 identity_base: dict) -> tuple[Workbook, ReturnIdentity]:
    """A new workbook holding only `actions` (the lead's), in the master's layout, and its identity."""
    ws_m = wb_master[plan.sheet]
    cols = _plan_columns(plan)
    width = cols.last
    first = plan.first_column
    mname = month_name(month)
    update_header = f"Update for {mname}"

    wb = Workbook()
    if getattr(wb_master, "loaded_theme", None):
        wb.loaded_theme = wb_master.loaded_theme
    ws = wb.active
    ws.title = plan.sheet
    wb.properties.creator = "xl_plan"
    wb.properties.title = f"{mname} return - {lead}"
    widths = _master_widths(ws_m)
    hidden = _hidden_columns(ws_m)
    for c, t in cols.target.items():
        if c in widths:
            ws.column_dimensions[get_column_letter(t)].width = widths[c]
        if c in hidden and c >= first:
            ws.column_dimensions[get_column_letter(t)].hidden = True
    upd = plan.column("update")
    default_w = widths.get(upd.index, 40) if upd else 40
    ws.column_dimensions[get_column_letter(cols.new_update)].width = max(default_w, 30)
    if cols.status_added:
        ws.column_dimensions[get_column_letter(cols.status)].width = 14

    # ---- title and instructions
    plan_name = plan_title(plan)
    col_widths = {t: widths.get(c, 9.0) for c, t in cols.target.items()}
    col_widths[cols.new_update] = ws.column_dimensions[get_column_letter(cols.new_update)].width
    col_widths[cols.status] = ws.column_dimensions[get_column_letter(cols.status)].width or 14
    # the instructions wrap across the columns the first printed page shows
    shown = first_page_columns([col_widths.get(c, 9.0) for c in range(first, width + 1)])
    note_last = first + shown - 1
    table_width = sum(col_widths.get(c, 9.0) for c in range(first, note_last + 1))
    r = 1
    put(ws, r, first, f"{mname} return for {lead}").font = Font(bold=True, size=14)
    r += 1
    put(ws, r, first, f"From the plan: {plan_name} (file {Path(plan.path).name}, sheet '{plan.sheet}')").font = Font(italic=True)
    r += 1
    status_header = "Status" if cols.status_added else (plan.column("status").header or "Status")
    prev_header = upd.header if upd else ""
    n = len(actions)
    lines = [
        f"What to do: you lead the {n} action{'s' if n != 1 else ''} below. For each one, write this month's progress "
        f"in the yellow column '{update_header}' and choose the status from the drop-down in the column "
        f"'{status_header}'" + (f". The column '{prev_header}' shows last month's update, for reference." if prev_header else "."),
        f"By when: please send it back by {deadline_words(deadline)}." if deadline else
        "By when: please send it back as soon as you can.",
        "How to send it back: save this file (keep its name and do not copy your answers into another workbook, "
        "xl_plan recognises this file) and email it back as an attachment to the person who sent it to you.",
        "The other cells are locked so the plan's layout stays intact; if something else is wrong, say so in your email.",
    ]
    for line in lines:
        cell = put(ws, r, first, line)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        if note_last > first:
            _merge_row(ws, r, first, note_last)
        ws.row_dimensions[r].height = _height(line, table_width)
        r += 1
    for _row, text in plan.notes:
        if re.search(r"starred|carried forward", text, re.I):
            put(ws, r, first, text).font = Font(italic=True)
            r += 1

    # ---- RAG key
    r += 1
    put(ws, r, first, "RAG status key:").font = Font(bold=True)
    r += 1
    for e in plan.rag_key.entries:
        name_cell = put(ws, r, first, e.name)
        desc_cell = put(ws, r, first + 1, e.description)
        src = ws_m[f"{e.column}{e.row}"] if e.row and e.column else None
        if src is not None:
            _copy_style(src, name_cell)
            _copy_style(src, desc_cell)
            desc_cell.fill = PatternFill()
        if e.colour:
            name_cell.fill = PatternFill("solid", fgColor=e.colour)
        name_cell.font = Font(bold=True)
        r += 1

    # ---- header row
    r += 1
    header_row = r
    thin = Side(style="thin", color="808080")
    for c, t in cols.target.items():
        if c < first:
            continue
        src = ws_m.cell(plan.header_row, c)
        put(ws, r, t, src.value)
        _copy_style(src, ws.cell(r, t))
    model_header = ws_m.cell(plan.header_row, upd.index) if upd else ws_m.cell(plan.header_row, first)
    added = [(cols.new_update, update_header)] + ([(cols.status, "Status")] if cols.status_added else [])
    for t, text in added:
        cell = put(ws, r, t, text)
        _copy_style(model_header, cell)
        if not model_header.has_style:
            cell.font, cell.border = Font(bold=True), Border(left=thin, right=thin, top=thin, bottom=thin)
    for c in range(first, width + 1):        # headers wrap, so none is cut off
        cell = ws.cell(r, c)
        cell.alignment = Alignment(wrap_text=True, vertical=(cell.alignment.vertical if cell.alignment else None)
                                   or "center", horizontal=cell.alignment.horizontal if cell.alignment else None)
    fit_row_heights(ws, r, r)
    if ws_m.row_dimensions[plan.header_row].height:
        ws.row_dimensions[r].height = max(ws.row_dimensions[r].height, ws_m.row_dimensions[plan.header_row].height)
    ws.freeze_panes = ws.cell(r + 1, first)
    print_landscape(ws, f"{r}:{r}", title_columns=f"{get_column_letter(first)}:{get_column_letter(first + 1)}",
                    last_column=width)
    r += 1

    # ---- sections and actions
    section_rows = {s.title: s.row for s in plan.sections}
    rows_out: list[IdentityRow] = []
    master_heights: dict[int, float] = {}         # return row -> the master's own height for the action
    status_cells, edit_cells = [], []
    current_section = object()
    last_rec = None
    rec_col = plan.column("recommendation")
    status_col = plan.column("status")
    for a in actions:
        if a.section != current_section:
            current_section = a.section
            last_rec = None
            if a.section:
                src = ws_m.cell(section_rows.get(a.section, plan.header_row), first)
                cell = put(ws, r, first, a.section)
                _copy_style(src, cell)
                for c in range(first + 1, width + 1):
                    _copy_style(ws_m.cell(section_rows.get(a.section, plan.header_row), min(c, plan.last_column)), ws.cell(r, c))
                _merge_row(ws, r, first, width)
                h = ws_m.row_dimensions[section_rows.get(a.section, 0)].height if a.section in section_rows else None
                if h:
                    master_heights[r] = h
                r += 1
        values = _action_values(ws_m, a, plan)
        if rec_col and not clean(values.get(rec_col.index)) and a.recommendation and a.recommendation != last_rec:
            values[rec_col.index] = a.recommendation
        if rec_col:
            last_rec = a.recommendation
        for c in range(first, plan.last_column + 1):
            t = cols.target[c]
            value = values.get(c)
            src = ws_m.cell(a.row, c)
            if status_col and c == status_col.index:
                value = rag.status_name(a.status, plan.rag_key)
            cell = put(ws, r, t, value)
            _copy_style(src, cell)
        model = ws_m.cell(a.row, upd.index) if upd else ws_m.cell(a.row, first)
        new_cell = ws.cell(r, cols.new_update)
        _copy_style(model, new_cell)
        new_cell.fill = copy(EDIT_FILL)
        new_cell.alignment = Alignment(wrap_text=True, vertical="top")
        if cols.status_added:
            cell = put(ws, r, cols.status, rag.status_name(a.status, plan.rag_key) or None)
            _copy_style(model, cell)
        status_cell = ws.cell(r, cols.status)
        status_cell.fill = copy(EDIT_FILL)          # the two cells the lead fills in, in yellow
        status_cell.alignment = Alignment(horizontal="center", vertical="top", wrap_text=True)
        for cell in (new_cell, status_cell):
            cell.protection = Protection(locked=False)
        status_cells.append(status_cell.coordinate)
        edit_cells.append(new_cell.coordinate)
        # Excel and LibreOffice do not size the rows of a new file to their wrapped text: estimate it,
        # never below the master's own height for the row
        _fit_long_cells(ws, r, range(first, width + 1))
        if len(a.rows) == 1 and ws_m.row_dimensions[a.row].height:
            master_heights[r] = ws_m.row_dimensions[a.row].height
        rows_out.append(IdentityRow(
            key=a.key or "", return_row=r, master_row=a.row, ref=a.ref or "", text_sha256=text_hash(a.text),
            update_as_sent=a.update, status_as_sent=rag.status_name(a.status, plan.rag_key),
        ))
        r += 1

    fit_row_heights(ws, header_row + 1, r - 1)
    for row, height in master_heights.items():
        ws.row_dimensions[row].height = max(ws.row_dimensions[row].height, height)

    # ---- status drop-down, colours, protection
    names = _rag_names(plan)
    if status_cells:
        dv = DataValidation(
            type="list", formula1='"' + ",".join(names) + '"', allow_blank=True, showDropDown=False,
            showErrorMessage=True, errorTitle="Status", error=f"Choose one of: {', '.join(names)}.",
            showInputMessage=True, promptTitle="Status", prompt="Choose the status from the list.",
        )
        ws.add_data_validation(dv)
        for coord in status_cells:
            dv.add(coord)
        rng = f"{get_column_letter(cols.status)}{header_row + 1}:{get_column_letter(cols.status)}{r - 1}"
        for e, name in zip(plan.rag_key.entries, names):
            if e.colour:
                ws.conditional_formatting.add(
                    rng, CellIsRule(operator="equal", formula=[f'"{name}"'], fill=PatternFill("solid", fgColor=e.colour)))
    ws.protection.sheet = True
    ws.protection.formatColumns = False
    ws.protection.formatRows = False
    ws.protection.formatCells = False

    identity = ReturnIdentity(
        **identity_base, month=month, deadline=deadline.isoformat() if deadline else "", lead=lead,
        return_sheet=ws.title, header_row=header_row, update_column=get_column_letter(cols.new_update),
        previous_update_column=get_column_letter(cols.target[upd.index]) if upd else "",
        status_column=get_column_letter(cols.status), status_mode=plan.status_source, rag_names=names,
        rows=rows_out, return_id=uuid.uuid4().hex,
    )
    write_identity(wb, identity)
    wb.active = 0
    return wb, identity


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
            rwb, identity = build_return(wb, plan, lead, actions, month=month, deadline=deadline, identity_base=base)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                rwb.save(staging / name)
            made.append(ReturnFile(lead, out_dir / name, len(actions), identity))
        log_rows = [{
            "month": month, "lead": f.lead, "file": f.path.name, "folder": str(out_dir.resolve()),
            "return_id": f.identity.return_id, "actions": str(f.action_count),
            "deadline": deadline.isoformat() if deadline else "", "created": base["created"],
            "master_sha256": master_sha, "plan_id": plan_id,
        } for f in made]
        add_events(wb, log_rows)
        saved = edit.save()
        for f in made:
            if f.path.exists():
                f.replaced = make_backup(f.path)
            os.replace(staging / f.path.name, f.path)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    without = [a for a in plan.actions if not a.leads]
    return MakeResult(plan, month, deadline, out_dir, made, keys_added, plan_id, master_sha, without, saved)
