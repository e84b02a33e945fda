"""Build ``workbook_template.xlsm``: a new, empty plan in the familiar layout, with the
"Action Plan" ribbon and its macros.

Reproducible: the same sources give the same bytes. openpyxl writes the workbook into
memory with fixed document dates; the package is then made macro-enabled (see
:mod:`xl_plan.template.attach`) and written as a zip with a fixed member order, fixed
timestamps and no compression (so the bytes do not depend on the zlib build either).
The VBA project is built by :mod:`xl_plan.template.ovba`, which has no randomness.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import zipfile
from pathlib import Path

from openpyxl import Workbook
from openpyxl.formatting.rule import FormulaRule
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.writer.excel import ExcelWriter

from xl_plan.io.files import write_atomic
from xl_plan.io.package import Package
from xl_plan.sheets import print_landscape

from . import TemplateError
from .attach import make_macro_enabled, template_path
from .sources import REPO_ROOT

DEFAULT_OUT = REPO_ROOT / "workbook_template.xlsm"
FIXED_DATE = dt.datetime(2024, 1, 1, 0, 0, 0)

PLAN_SHEET = "Action Plan"
LEADS_SHEET = "Leads"
SETTINGS_SHEET = "xl_plan"

COLUMNS = ("Ofsted Finding", "Ref", "Action", "Lead", "Time-scale", "Update", "Status")
WIDTHS = (40, 8, 48, 14, 14, 48, 12)
FIRST_COL = 2  # column B, as in the councils' plans
KEY_ROW = 1
NOTE_ROW = 7
HEADER_ROW = 9
STATUS_ROWS = 500

RAG = (  # (status, key text, fill, font colour)
    ("Green", "GREEN On Target for delivery", "00B050", "000000"),
    ("Amber", "AMBER Delays / Issues but delivery on course", "FFC000", "000000"),
    ("Red", "RED Major Issues preventing delivery", "FF0000", "FFFFFF"),
    ("Blue", "BLUE Complete", "0070C0", "FFFFFF"),
)
CARRIED_NOTE = "Actions starred* are carried forward from the previous plan with amended timescales"
HEADER_FILL = "1F3864"
SECTION_FILL = "D9E1F2"

LEADS_COLUMNS = ("As written in plan", "Full name", "Email", "Deputy / cc")

# The hidden settings sheet: (setting, default value). Empty means "not set".
SETTINGS = (
    ("column_finding", None),
    ("column_ref", None),
    ("column_action", None),
    ("column_lead", None),
    ("column_timescale", None),
    ("column_update", None),
    ("column_status", None),
    ("smtp_host", None),
    ("smtp_port", 587),
    ("smtp_starttls", True),
    ("smtp_user", None),
    ("from_address", None),
    ("deadline_day", None),
)


def _letter(col: int) -> str:
    from openpyxl.utils import get_column_letter
    return get_column_letter(col)


def _plan_sheet(ws) -> None:
    thin = Side(style="thin", color="808080")
    border = Border(left=thin, right=thin, top=thin, bottom=thin)
    last_col = FIRST_COL + len(COLUMNS) - 1
    first, last = _letter(FIRST_COL), _letter(last_col)

    ws.cell(KEY_ROW, FIRST_COL, "RAG status Key:").font = Font(bold=True)
    for i, (_, text, fill, font) in enumerate(RAG, start=1):
        c = ws.cell(KEY_ROW + i, FIRST_COL, text)
        c.fill = PatternFill("solid", fgColor=fill)
        c.font = Font(bold=True, color=font)
        c.border = border
    ws.cell(NOTE_ROW, FIRST_COL, CARRIED_NOTE).font = Font(italic=True)

    for i, (name, width) in enumerate(zip(COLUMNS, WIDTHS)):
        col = FIRST_COL + i
        ws.column_dimensions[_letter(col)].width = width
        c = ws.cell(HEADER_ROW, col, name)
        c.fill = PatternFill("solid", fgColor=HEADER_FILL)
        c.font = Font(bold=True, color="FFFFFF")
        c.alignment = Alignment(wrap_text=True, vertical="center")
        c.border = border
    ws.column_dimensions["A"].width = 3

    section = HEADER_ROW + 1
    c = ws.cell(section, FIRST_COL, "Theme 1: type the Ofsted recommendation or theme here")
    c.font = Font(bold=True)
    for col in range(FIRST_COL, last_col + 1):
        cell = ws.cell(section, col)
        cell.fill = PatternFill("solid", fgColor=SECTION_FILL)
        cell.border = border
    ws.merge_cells(f"{first}{section}:{last}{section}")

    for row in range(section + 1, section + 6):
        for col in range(FIRST_COL, last_col + 1):
            cell = ws.cell(row, col)
            cell.border = border
            cell.alignment = Alignment(wrap_text=True, vertical="top")
        ws.row_dimensions[row].height = 45

    status = _letter(last_col)
    rng = f"{status}{section}:{status}{section + STATUS_ROWS - 1}"
    dv = DataValidation(type="list", formula1='"Green,Amber,Red,Blue"', allow_blank=True,
                        showDropDown=False, showErrorMessage=True, errorStyle="warning",
                        errorTitle="RAG status",
                        error="Please choose Green, Amber, Red or Blue from the list.",
                        promptTitle="RAG status", showInputMessage=True,
                        prompt="Green: on target. Amber: delays but on course. "
                               "Red: major issues. Blue: complete.")
    dv.add(rng)
    ws.add_data_validation(dv)
    top = f"{status}{section}"
    for name, _, fill, font in RAG:
        formula = f'OR(UPPER(TRIM({top}))="{name.upper()}",UPPER(TRIM({top}))="{name[0]}")'
        ws.conditional_formatting.add(rng, FormulaRule(
            formula=[formula], fill=PatternFill("solid", fgColor=fill, bgColor=fill),
            font=Font(color=font), stopIfTrue=True))

    ws.freeze_panes = f"A{HEADER_ROW + 1}"
    print_landscape(ws, f"{HEADER_ROW}:{HEADER_ROW}", always_fit=True)
    ws.print_options.gridLines = False
    ws.page_margins.left = ws.page_margins.right = 0.4
    ws.oddFooter.center.text = "Page &P of &N"


def _leads_sheet(ws) -> None:
    for i, (name, width) in enumerate(zip(LEADS_COLUMNS, (22, 30, 36, 36)), start=1):
        c = ws.cell(1, i, name)
        c.fill = PatternFill("solid", fgColor=HEADER_FILL)
        c.font = Font(bold=True, color="FFFFFF")
        ws.column_dimensions[_letter(i)].width = width
    ws.freeze_panes = "A2"
    ws.page_setup.orientation = "landscape"


def _settings_sheet(ws) -> None:
    ws.cell(1, 1, "Setting").font = Font(bold=True)
    ws.cell(1, 2, "Value").font = Font(bold=True)
    for row, (name, value) in enumerate(SETTINGS, start=2):
        ws.cell(row, 1, name)
        if value is not None:
            ws.cell(row, 2, value)
    ws.column_dimensions["A"].width = 20
    ws.column_dimensions["B"].width = 40
    ws.sheet_state = "hidden"


def template_workbook() -> Workbook:
    """The template's content as an openpyxl workbook (no macros yet)."""
    wb = Workbook()
    wb.code_name = "ThisWorkbook"
    plan = wb.active
    plan.title = PLAN_SHEET
    plan.sheet_properties.codeName = "Sheet1"
    _plan_sheet(plan)
    leads = wb.create_sheet(LEADS_SHEET)
    leads.sheet_properties.codeName = "Sheet2"
    _leads_sheet(leads)
    settings = wb.create_sheet(SETTINGS_SHEET)
    settings.sheet_properties.codeName = "Sheet3"
    _settings_sheet(settings)
    wb.active = 0
    props = wb.properties
    props.creator = "xl_plan"
    props.lastModifiedBy = "xl_plan"
    props.title = "Improvement action plan"
    props.created = FIXED_DATE
    props.modified = FIXED_DATE
    return wb


def template_bytes() -> bytes:
    """The bytes of ``workbook_template.xlsm``."""
    wb = template_workbook()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        # ExcelWriter directly: save_workbook() would stamp the current time.
        ExcelWriter(wb, zf).write_data()
    pkg = Package.from_bytes(buf.getvalue())
    make_macro_enabled(pkg, "the template")
    return pkg.to_bytes(compress_type=zipfile.ZIP_STORED)


def build_template(out_path: str | os.PathLike = DEFAULT_OUT) -> Path:
    """Build the template into ``out_path`` (written atomically); return the path."""
    out = Path(out_path)
    write_atomic(out, template_bytes())
    return out


def new_plan(dest: str | os.PathLike, *, overwrite: bool = False) -> Path:
    """Start a new plan at ``dest`` (.xlsm): a copy of the committed template (built
    afresh, with identical bytes, if the template file is not at hand)."""
    dest = Path(dest)
    if dest.suffix.lower() != ".xlsm":
        raise TemplateError(f"{dest.name}: a new plan must be saved as .xlsm (macro-enabled).")
    if dest.exists() and not overwrite:
        raise TemplateError(f"{dest} already exists. Choose another name, or move it away first.")
    src = template_path()
    if src.is_file():
        write_atomic(dest, src.read_bytes())
    else:
        build_template(dest)
    return dest
