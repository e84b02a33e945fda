"""The Gantt sheet: one row per action under its section, Start / End date cells, a month
grid whose bars are CONDITIONAL FORMATTING rules reading those cells (edit a date in Excel
and the bar moves), markers as characters, a legend, and a printable page setup.

Sheet layout (`gantt_rows(gantt)` says where the rows are; formulas and tests rely on it):

    1  title (xl_plan owns the sheet)
    2  "As of" + today's date (B2, a real date: the today marker reads it) + a summary
    3-6 the key: RAG colours with the key's descriptions, and the markers
        (a key of more than four colours takes a row more per colour)
    7  years over the month columns                         (GanttRows.year)
    8  column headings; month columns hold the first day of their month, a real date (.head)
    9+ section title rows and one row per action; the undated group last           (.first)
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from openpyxl.formatting.rule import FormulaRule
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter

from .. import rag
from ..gantt import Gantt, GanttItem
from ..model import RagEntry
from ..owned import GANTT
from ..rag import STANDARD_COLOURS
from ..sheets import (
    HEADER_FILL,
    HEADER_FONT,
    CellWriter,
    fit_row_heights,
    owned_sheet,
    print_landscape,
    put,
    text_lines,
)

SHEET = GANTT.name

# Columns of the labels, then the month grid.
COLUMNS = [  # (heading, width)
    ("Ref", 6), ("Action", 40), ("Lead", 12), ("Status", 9), ("Timescale (as written)", 18),
    ("Start", 10.5), ("End", 10.5), ("Flags", 18),
]
REF, ACTION, LEAD, STATUS, TIMESCALE, START, END, FLAGS = range(1, 9)
FIRST_MONTH = len(COLUMNS) + 1          # column I
MONTH_WIDTH = 5.0
TODAY_CELL = "$B$2"
KEY_TOP = 3
KEY_ROWS = 4

MILESTONE, DUE, CONTINUES, RECURS, STAR = "◆", "▶", "→", "↻", "★"
NO_STATUS_COLOUR = "A6A6A6"
SECTION_FILL = PatternFill("solid", fgColor="D9E1F2")
UNDATED_FILL = PatternFill("solid", fgColor="EDEDED")
TODAY_FILL = PatternFill("solid", fgColor="C00000")
TODAY_SIDE = Side(style="thin", color="C00000")
BAR_EDGE = Side(style="thin", color="FFFFFF")     # a white line between the bars of adjacent rows
DATE_FORMAT = "dd/mm/yyyy"

_BOLD = Font(bold=True)
_OVERDUE = Font(bold=True, color="C00000")
_DERIVED = Font(italic=True, color="808080")
_MARK_FONT = Font(size=9)
_BAR_BORDER = Border(top=BAR_EDGE, bottom=BAR_EDGE)
_CENTRE = Alignment(horizontal="center", vertical="center")
_WRAP = Alignment(wrap_text=True, vertical="top")
_TOP = Alignment(vertical="top")
TODAY_WIDTH = 7.5                       # "▼Sep" in bold fits: never ###
BAND_FILL = PatternFill("solid", fgColor="F2F2F2")
GRID_SIDE = Side(style="thin", color="D9D9D9")


def _month_col(i: int) -> str:
    return get_column_letter(FIRST_MONTH + i)


def key_colour(entry: RagEntry) -> str:
    return (entry.colour or STANDARD_COLOURS.get(entry.code) or NO_STATUS_COLOUR).upper()[-6:]


def _dark(rgb: str) -> bool:
    r, g, b = (int(rgb[i:i + 2], 16) for i in (0, 2, 4))
    return 0.299 * r + 0.587 * g + 0.114 * b < 150


@dataclass(frozen=True)
class GanttRows:
    """Where things are on the sheet: the year row, the headings row (month dates) and the first chart row."""

    key_rows: int

    @property
    def year(self) -> int:
        return KEY_TOP + self.key_rows

    @property
    def head(self) -> int:
        return self.year + 1

    @property
    def first(self) -> int:
        return self.head + 1


def gantt_rows(gantt: Gantt) -> GanttRows:
    return GanttRows(max(KEY_ROWS, len(gantt.plan.rag_key.entries)))


def bar_formula(rows: GanttRows, entry: RagEntry | None) -> str:
    """The bar rule, written for the grid's top-left cell (I<first row>): Excel and LibreOffice shift
    the relative references for every other cell. A month cell is in the bar when the Start cell is
    on or before the month's last day and the End cell on or after its first day."""
    r, m, h = rows.first, _month_col(0), rows.head
    dates = f"ISNUMBER($F{r}),ISNUMBER($G{r}),$F{r}<=EOMONTH({m}${h},0),$G{r}>={m}${h}"
    if entry is None:
        return f"AND({dates})"
    return f"AND({dates},{status_test(r, entry)})"


def status_test(r: int, entry: RagEntry) -> str:
    """Status cell says the key's word or code (text comparison in Excel ignores case)."""
    words = [entry.code]
    if entry.name and entry.name.lower() != entry.code.lower():
        words.append(entry.name)
    tests = [f'$D{r}="{_q(w)}"' for w in words]
    return tests[0] if len(tests) == 1 else f"OR({','.join(tests)})"


def _q(text: str) -> str:
    return text.replace('"', '""')


def today_formula(rows: GanttRows) -> str:
    """The today marker: red edges down the column of today's month (B2 holds today)."""
    m = _month_col(0)
    return f"{m}${rows.head}=DATE(YEAR({TODAY_CELL}),MONTH({TODAY_CELL}),1)"


def write_gantt(wb, gantt: Gantt, *, records: bool = False) -> str:
    """Replace xl_plan's Gantt sheet in `wb` with the chart of `gantt`; returns the sheet's name.
    `records`: the chart's rows are kept as cell records (sheets.CellWriter), for a workbook saved
    through io/save.py (the jobs); without it they are openpyxl cells (the board report edits them)."""
    plan = gantt.plan
    rows = gantt_rows(gantt)
    ws = owned_sheet(wb, GANTT, "Gantt chart (made again each time; edits here are not kept)")
    months = gantt.months
    last_col = FIRST_MONTH + len(months) - 1 if months else FLAGS
    col_of = {m: FIRST_MONTH + i for i, m in enumerate(months)}

    for c, (_, width) in enumerate(COLUMNS, 1):
        ws.column_dimensions[get_column_letter(c)].width = width
    for i in range(len(months)):
        ws.column_dimensions[_month_col(i)].width = MONTH_WIDTH

    # row 2: today (a date cell the today marker reads) and a summary
    put(ws, 2, REF, "As of").font = _BOLD
    today_cell = ws.cell(2, ACTION, gantt.today)
    today_cell.number_format = "d mmmm yyyy"
    today_cell.font = _BOLD
    today_cell.alignment = Alignment(horizontal="left")
    drawn = sum(len(g.items) for g in gantt.groups)
    summary = (f"'{plan.sheet}': {len(plan.actions)} actions, {drawn} drawn, {len(gantt.undated)} undated, "
               f"{len(gantt.overdue)} overdue. Bars follow the Start, End and Status cells: edit one and the bar moves.")
    if months and not (months[0] <= gantt.today.replace(day=1) <= months[-1]):
        summary += f" Today is outside the plan's months ({months[0]:%b %Y} to {months[-1]:%b %Y})."
    put(ws, 2, LEAD, summary).font = Font(italic=True)

    _write_key(ws, gantt, rows)

    # years and headings
    for c, (heading, _) in enumerate(COLUMNS, 1):
        cell = put(ws, rows.head, c, heading)
        cell.font, cell.fill = HEADER_FONT, HEADER_FILL
        cell.alignment = Alignment(vertical="center", wrap_text=True)     # a long heading wraps, never cut off
    longest = max(text_lines(heading, width) for heading, width in COLUMNS)
    if longest > 1:
        ws.row_dimensions[rows.head].height = max(ws.row_dimensions[rows.head].height or 15, 15 * longest)
    today_month = gantt.today.replace(day=1)
    year_start = None
    for i, m in enumerate(months):
        c = FIRST_MONTH + i
        cell = ws.cell(rows.head, c, m)
        cell.number_format = "mmm"
        cell.font, cell.fill, cell.alignment = HEADER_FONT, HEADER_FILL, _CENTRE
        if m == today_month:
            cell.number_format = '"▼"mmm'
            cell.fill = TODAY_FILL
            ws.column_dimensions[get_column_letter(c)].width = TODAY_WIDTH
        if year_start is None or m.month == 1:
            if year_start is not None and c - 1 > year_start:
                ws.merge_cells(start_row=rows.year, start_column=year_start, end_row=rows.year, end_column=c - 1)
            year_start = c
            ycell = ws.cell(rows.year, c, m.year)
            ycell.font, ycell.alignment = _BOLD, Alignment(horizontal="left")
    if year_start is not None and last_col > year_start:
        ws.merge_cells(start_row=rows.year, start_column=year_start, end_row=rows.year, end_column=last_col)

    # sections, actions, then the undated group
    out = CellWriter(ws, records=records)
    r = rows.first
    for group in gantt.groups:
        _section_row(out, r, group.title, SECTION_FILL)
        r += 1
        for item in group.items:
            _action_row(out, r, item, gantt)
            _markers(out, r, item, col_of)
            r += 1
    if gantt.undated:
        _section_row(out, r, f"Undated: {len(gantt.undated)} actions whose timescale gives no date, so no bar is "
                             "drawn (Flags says why; give them a date in the plan to draw them)", UNDATED_FILL)
        r += 1
        for item in gantt.undated:
            _action_row(out, r, item, gantt)
            _markers(out, r, item, col_of)
            r += 1
    last_row = max(r - 1, rows.first)

    # bars and the today marker: conditional formatting over the grid, no per-cell fills
    if months:
        grid = f"{_month_col(0)}{rows.first}:{get_column_letter(last_col)}{last_row}"
        for entry in plan.rag_key.entries:
            ws.conditional_formatting.add(grid, FormulaRule(formula=[bar_formula(rows, entry)],
                                                            fill=_solid(key_colour(entry)), border=_BAR_BORDER))
        ws.conditional_formatting.add(grid, FormulaRule(formula=[bar_formula(rows, None)],
                                                        fill=_solid(NO_STATUS_COLOUR), border=_BAR_BORDER))
        today_range = f"{_month_col(0)}{rows.head}:{get_column_letter(last_col)}{last_row}"
        ws.conditional_formatting.add(today_range, FormulaRule(
            formula=[today_formula(rows)], border=Border(left=TODAY_SIDE, right=TODAY_SIDE)))
        # month gridlines (a hairline at each month's left edge) and light banding of every other row:
        # added after the bars, so a bar's colour wins
        ws.conditional_formatting.add(grid, FormulaRule(formula=["TRUE"], border=Border(left=GRID_SIDE)))
    status_range = f"D{rows.first}:D{last_row}"
    for entry in plan.rag_key.entries:
        colour = key_colour(entry)
        ws.conditional_formatting.add(status_range, FormulaRule(
            formula=[status_test(rows.first, entry)], fill=_solid(colour),
            font=Font(color="FFFFFF" if _dark(colour) else "000000", bold=True)))

    if last_row >= rows.first:                # after the bars and status colours, which win over it
        band = f"A{rows.first}:{get_column_letter(last_col)}{last_row}"
        ws.conditional_formatting.add(band, FormulaRule(formula=["MOD(ROW(),2)=0"], fill=BAND_FILL))
    fit_row_heights(ws, KEY_TOP, rows.year - 1)
    fit_row_heights(ws, rows.first, last_row)
    # view and print
    ws.freeze_panes = f"{get_column_letter(FIRST_MONTH)}{rows.first}"     # no empty cell made in a row of records
    ws.auto_filter.ref = f"A{rows.head}:{get_column_letter(FLAGS)}{last_row}"
    ws.print_area = f"A1:{get_column_letter(last_col)}{last_row}"
    print_landscape(ws, f"{rows.year}:{rows.head}", title_columns="A:B", last_column=last_col)
    ws.oddFooter.left.text = "xl_plan Gantt chart"
    ws.oddFooter.center.text = "Page &P of &N"
    return ws.title


def _solid(rgb: str) -> PatternFill:
    return PatternFill(start_color=rgb, end_color=rgb, fill_type="solid")


def _write_key(ws, gantt: Gantt, rows: GanttRows) -> None:
    """The legend: RAG colours with the key's own descriptions in column B, markers in C and E."""
    put(ws, KEY_TOP, REF, "Key").font = _BOLD
    for i, e in enumerate(gantt.plan.rag_key.entries):
        name = e.name.upper() if e.name == e.code else e.name
        colour = key_colour(e)
        cell = put(ws, KEY_TOP + i, ACTION, f"{name}: {e.description}" if e.description else name)
        cell.fill = PatternFill("solid", fgColor=colour)
        cell.font = Font(bold=True, color="FFFFFF" if _dark(colour) else "000000")
        cell.alignment = _WRAP
    short = [f"{MILESTONE} milestone", f"{RECURS} recurs", f"{STAR} carried forward (*)", "▼ today's month"]
    long = [f"{DUE} due: no start date written, so the bar starts at the plan start",
            f"{CONTINUES} continues: no end date written",
            "OVERDUE (red bold): end date passed and not complete",
            "grey bar: no status, or a status not in the key"]
    for i in range(KEY_ROWS):
        put(ws, KEY_TOP + i, LEAD, short[i])
        cell = put(ws, KEY_TOP + i, TIMESCALE, long[i])
        if long[i].startswith("OVERDUE"):
            cell.font = _OVERDUE


def _section_row(out: CellWriter, r: int, title: str, fill: PatternFill) -> None:
    title = " ".join(title.split())
    if len(title) > 150:
        title = title[:149] + "…"
    rgb = fill.fgColor.rgb
    out.put(r, REF, title, f"section-title-{rgb}", font=_BOLD, fill=fill)
    for c in range(REF + 1, FLAGS + 1):
        out.put(r, c, None, f"section-{rgb}", fill=fill)


_BREAKS = re.compile("[\n\r\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")      # where str.splitlines breaks


def _one_line(text: str, width: int) -> str:
    if not text:
        return ""
    if _BREAKS.search(text) is None:
        text = text.strip()
    else:
        text = " / ".join([p for part in text.splitlines() if (p := part.strip())])
    return text if len(text) <= width else text[: width - 1] + "…"


_L_TOP = ("top", {"alignment": _TOP})
_L_WRAP = ("wrap", {"alignment": _WRAP})
_L_OVERDUE = ("overdue", {"font": _OVERDUE})
_L_OVERDUE_TOP = ("overdue-top", {"font": _OVERDUE, "alignment": _TOP})
_L_OVERDUE_WRAP = ("overdue-wrap", {"font": _OVERDUE, "alignment": _WRAP})
_L_DATE = ("date", {"number_format": DATE_FORMAT, "alignment": _TOP})
_L_DERIVED = ("date-derived", {"number_format": DATE_FORMAT, "font": _DERIVED, "alignment": _TOP})
_L_MARKER = ("marker", {"font": _MARK_FONT, "alignment": _CENTRE})


_put = CellWriter.put_look             # _put(out, r, c, value, look)


def _action_row(out: CellWriter, r: int, item: GanttItem, gantt: Gantt) -> None:
    """Ref and status top-aligned, the texts wrapped (red bold when overdue), the dates."""
    a = item.action
    overdue = item.overdue
    ref = a.ref or ""
    _put(out, r, REF, ref, (_L_OVERDUE_TOP if ref else _L_OVERDUE) if overdue else (_L_TOP if ref else None))
    _wrapped(out, r, ACTION, _one_line(a.text, 120), overdue)
    _wrapped(out, r, LEAD, _one_line(a.lead_text, 30), False)
    status = rag.status_name(a.status, gantt.plan.rag_key, derived=True)
    _put(out, r, STATUS, status, _L_TOP if status else None)
    _wrapped(out, r, TIMESCALE, _one_line(a.timescale_text, 60), False)
    for c, d, derived in ((START, item.start, item.start_derived), (END, item.end, item.end_derived)):
        if d:
            _put(out, r, c, d, _L_DERIVED if derived else _L_DATE)
    flags = item.flags + ([item.reason] if item.undated else [])
    if flags:
        _wrapped(out, r, FLAGS, " · ".join(flags), overdue)


def _wrapped(out: CellWriter, r: int, c: int, text: str, overdue: bool) -> None:
    """A label cell that wraps when it holds text."""
    if overdue:
        _put(out, r, c, text, _L_OVERDUE_WRAP if text else _L_OVERDUE)
    else:
        _put(out, r, c, text, _L_WRAP if text else None)


def _markers(out: CellWriter, r: int, item: GanttItem, col_of: dict) -> None:
    """Characters in the month cells: milestones, recurrences, and the due / continues ends."""
    marks: dict[int, str] = {}

    def add(d: date | None, symbol: str) -> None:
        c = col_of.get(d.replace(day=1)) if d else None
        if c and symbol not in marks.get(c, ""):
            marks[c] = marks.get(c, "") + symbol

    for d, _ in item.milestones:
        add(d, MILESTONE)
    for d in item.recurs:
        add(d, RECURS)
    if item.start_derived and item.end:
        add(item.end, DUE)
    if item.end_derived and item.end:
        add(item.end, CONTINUES)
    for c, text in sorted(marks.items()):
        _put(out, r, c, text, _L_MARKER)
