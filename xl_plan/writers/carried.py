"""The Carried forward sheet, the star marks on starred cells, and the carried findings on the
Validation sheet (the validation report merged with them)."""
from __future__ import annotations

from datetime import date
from pathlib import Path

from openpyxl.styles import Alignment, Font

from .. import rag
from ..carried import CarriedForward
from ..finding_codes import CATALOGUE
from ..model import Action, Plan
from ..owned import CARRIED, OWNER
from ..report import Report
from ..sheets import (
    SEVERITY_FILL,
    cell_link,
    fit_row_heights,
    mark_cells,
    owned_sheet,
    print_landscape,
    put,
    write_table,
)
from ..stars import strip_stars
from .validation import write_validation

SHEET = CARRIED.name


def write_carried(wb, plan: Plan, result: CarriedForward, validation: Report, today: date, *,
                  records: bool = False) -> tuple[str, str]:
    """Write the Validation sheet (validation + carried findings, with its cell marks), mark every starred
    cell, and replace xl_plan's Carried forward sheet. Returns (carried sheet name, validation sheet name).
    `records`: the Validation table as cell records (writers/validation.py)."""
    merged = Report(list(validation.findings) + list(result.report.findings),
                    counts_by_status=dict(validation.counts_by_status), title="Validation")
    validation_sheet = write_validation(wb, plan, merged, today, records=records)
    _mark_stars(wb[plan.sheet], result)
    ws = owned_sheet(wb, CARRIED, "Carried-forward (starred) actions")
    put(ws, 2, 1, _summary(plan, result))
    put(ws, 3, 1, "Starred cells carry a comment by xl_plan; `xl-plan unmark` removes them and this sheet. "
                  "Run the check again after changes: this sheet is replaced each time.").font = Font(italic=True)
    if result.previous is None:
        rows = [["Row", "Cell", "Ref", "Item", "Star", "Where", "Section", "Lead", "Timescale", "Action"]]
        for s in result.starred:
            a = s.action
            rows.append([a.row, s.cell or "", strip_stars(a.ref or ""), s.item or "", s.marker,
                         "; ".join(m.where for m in s.marks), a.section or "", a.lead_text,
                         strip_stars(a.timescale_text), s.item_text or strip_stars(a.text)])
        last = write_table(ws, 5, rows, widths=(6, 6, 6, 5, 5, 16, 22, 12, 13, 60), wrap_columns=(6, 7, 8, 9, 10))
        _links(ws, plan, [(r, s.action.row, s.cell) for r, s in zip(range(6, last + 1), result.starred)], column=1)
    else:
        rows = [["New row", "New ref", "New action", "New timescale", "Star", "Score", "Previous row", "Previous ref",
                 "Previous action", "Previous timescale", "Previous status", "Finding"]]
        for p in result.pairs:
            n = p.new
            rows.append([
                n.row if n else "", strip_stars(n.ref or "") if n else "", _text(n), strip_stars(n.timescale_text) if n else "",
                ", ".join(s.marker + (f" item {s.item}" if s.item else "") for s in p.starred),
                "" if p.score is None else round(p.score),
                p.old.row if p.old else (f"({p.candidate.row}?)" if p.candidate is not None and n is not None else ""),
                strip_stars(p.old.ref or "") if p.old else "", _text(p.old),
                strip_stars(p.old.timescale_text) if p.old else "", rag.status_name(p.old.status, result.previous.rag_key) if p.old else "",
                p.outcome,
            ])
        last = write_table(ws, 5, rows, widths=(6, 6, 34, 11, 6, 6, 7, 6, 34, 11, 9, 18),
                           wrap_columns=(3, 4, 5, 9, 10, 11, 12))
        links = [(r, p.new.row, p.new.cells.get("action")) for r, p in zip(range(6, last + 1), result.pairs) if p.new]
        _links(ws, plan, links, column=1)
        for r, p in zip(range(6, last + 1), result.pairs):
            severities = [CATALOGUE[c].severity for c in p.codes if c in CATALOGUE]
            if severities:
                worst = min(severities, key=lambda sev: ("error", "warning", "info").index(sev))
                ws.cell(r, 12).fill = SEVERITY_FILL[worst]
    width = len(rows[0])
    for r in (2, 3):                      # the notes above the table wrap across its width
        ws.merge_cells(start_row=r, start_column=1, end_row=r, end_column=width)
        ws.cell(r, 1).alignment = Alignment(wrap_text=True, vertical="top")
    fit_row_heights(ws, 2, last)
    ws.row_dimensions[1].height = 21
    print_landscape(ws, "5:5", title_columns="A:C")
    return ws.title, validation_sheet


def _summary(plan: Plan, result: CarriedForward) -> str:
    starred = f"{len(result.starred)} starred action{'s' if len(result.starred) != 1 else ''} in '{plan.sheet}'"
    note = f"; note at row {result.note[0]}" if result.note else "; no note explains the star"
    counts = ", ".join(f"{code} {n}" for code, n in result.report.counts_by_code().items())
    if result.previous is None:
        return f"{starred}{note}. {counts}".rstrip(". ") + "."
    return (f"{starred}{note}. Compared with the previous plan {Path(result.previous.path).name} "
            f"(matches need a score of at least {result.threshold:.0f}). Findings: {counts or 'none'}.")


def _text(a: Action | None) -> str:
    if a is None:
        return ""
    text = strip_stars(a.text)
    return text if len(text) <= 300 else text[:299] + "…"


def _links(ws, plan: Plan, targets, column: int) -> None:
    for r, row, cell in targets:
        c = ws.cell(r, column)
        c.hyperlink = cell_link(plan.sheet, cell or f"A{row}")
        c.font = Font(color="0563C1", underline="single")


def _mark_stars(plan_ws, result: CarriedForward) -> None:
    """A comment on each starred cell, kept together with any comment xl_plan already put there."""
    notes: dict[str, list[str]] = {}
    for s in result.starred:
        for m in s.marks:
            if not m.cell:
                continue
            what = f"item {s.item}" if s.item else "this action"
            notes.setdefault(m.cell, []).append(
                f"Starred ({m.marker}, {m.where}): {what} is carried forward from the previous plan.")
    for coord in list(notes):
        existing = plan_ws[coord].comment
        if existing is not None and existing.author == OWNER:
            lines = [ln[2:] for ln in existing.text.splitlines() if ln.startswith("• ")]
            notes[coord] = lines + [n for n in notes[coord] if n not in lines]
    mark_cells(plan_ws, notes)
