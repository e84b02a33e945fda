"""The jobs behind both doors: each CLI command and each ribbon button calls one of these.
They read a plan, run the checks, and write results through the safe save path."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from .io.save import SaveResult, save_workbook
from .io.workbook import file_stamp, load, refuse_if_open
from .layout.detect import plan_from_workbook
from .model import Plan
from .report import Report
from .settings import remembered_columns


def open_plan(path, sheet: str | None = None, columns: dict | None = None):
    """(workbook, plan, stamp): the workbook is kept so writers can save into it."""
    path = Path(path)
    wb = load(path)
    stamp = file_stamp(path)
    overrides = dict(remembered_columns(path, wb))
    overrides.update(columns or {})
    return wb, plan_from_workbook(wb, str(path), sheet=sheet, columns=overrides), stamp


@dataclass
class ValidateResult:
    plan: Plan
    report: Report
    saved: SaveResult | None = None
    sheet: str | None = None


def validate_file(path, *, sheet=None, columns=None, today: date | None = None, write: bool = False) -> ValidateResult:
    from .validate import validate
    from .writers.validation import write_validation

    path = Path(path)
    if write:
        refuse_if_open(path)
    wb, plan, stamp = open_plan(path, sheet, columns)
    today = today or date.today()
    report = validate(plan, today)
    result = ValidateResult(plan, report)
    if write:
        result.sheet = write_validation(wb, plan, report, today)
        result.saved = save_workbook(wb, path, read_stamp=stamp)
    return result


def unmark_file(path, *, sheet=None, columns=None) -> tuple[int, SaveResult | None]:
    """Remove xl_plan's cell comments and its Validation sheet."""
    from .sheets import is_owned, remove_marks
    from .writers.validation import SHEET

    path = Path(path)
    refuse_if_open(path)
    wb, plan, stamp = open_plan(path, sheet, columns)
    removed = remove_marks(wb[plan.sheet])
    for name in (SHEET, f"{SHEET} (xl_plan)"):
        if name in wb.sheetnames and is_owned(wb[name]):
            wb.remove(wb[name])
            removed += 1
    if not removed:
        return 0, None
    return removed, save_workbook(wb, path, read_stamp=stamp)


# ---- gantt
from .gantt import Gantt  # noqa: E402


@dataclass
class GanttResult:
    plan: Plan
    gantt: Gantt
    saved: SaveResult
    sheet: str


def gantt_file(path, *, sheet=None, columns=None, today: date | None = None) -> GanttResult:
    """Write (or replace) the Gantt sheet in the workbook at `path`; backup first, atomic save."""
    from .gantt import build_gantt
    from .writers.gantt import write_gantt

    path = Path(path)
    refuse_if_open(path)
    wb, plan, stamp = open_plan(path, sheet, columns)
    gantt = build_gantt(plan, today or date.today())
    name = write_gantt(wb, gantt)
    saved = save_workbook(wb, path, read_stamp=stamp)
    return GanttResult(plan, gantt, saved, name)
