"""The jobs behind both doors: each CLI command and each ribbon button calls one of these.
They read a plan, run the checks, and write results through the safe save path."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from .errors import XlPlanError
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
    from .writers.carried import SHEET as CARRIED_SHEET
    from .writers.validation import SHEET

    path = Path(path)
    refuse_if_open(path)
    wb, plan, stamp = open_plan(path, sheet, columns)
    removed = remove_marks(wb[plan.sheet])
    owned = [SHEET, f"{SHEET} (xl_plan)"]
    owned += [CARRIED_SHEET, f"{CARRIED_SHEET} (xl_plan)"]
    for name in owned:
        if name in wb.sheetnames and is_owned(wb[name]):
            wb.remove(wb[name])
            removed += 1
    if not removed:
        return 0, None
    return removed, save_workbook(wb, path, read_stamp=stamp)


# ---------------------------------------------------------------- carried forward

@dataclass
class CarriedResult:
    plan: Plan
    result: "CarriedReport"  # noqa: F821 (xl_plan.carried.CarriedReport)
    previous: Plan | None = None
    saved: SaveResult | None = None
    sheet: str | None = None
    validation_sheet: str | None = None


def carried_file(path, *, previous=None, sheet=None, columns=None, today: date | None = None,
                 threshold: float | None = None, write: bool = False) -> CarriedResult:
    """Flag the starred actions of the plan at `path` and, with `previous` (the previous plan's path),
    check them against it. With `write`: mark starred cells, add the Carried forward sheet and the
    findings to the Validation sheet (backup first, atomic save)."""
    from .carried import DEFAULT_THRESHOLD, carried_forward
    from .layout.detect import read_plan
    from .validate import validate
    from .writers.carried import write_carried

    path = Path(path)
    if write:
        refuse_if_open(path)
    wb, plan, stamp = open_plan(path, sheet, columns)
    old = None
    if previous is not None:
        try:
            old = read_plan(previous)
        except XlPlanError as exc:
            raise type(exc)(f"The previous plan (--previous): {exc}") from None
    today = today or date.today()
    result = carried_forward(plan, old, today=today, threshold=DEFAULT_THRESHOLD if threshold is None else threshold)
    out = CarriedResult(plan, result, old)
    if write:
        out.sheet, out.validation_sheet = write_carried(wb, plan, result, validate(plan, today), today)
        out.saved = save_workbook(wb, path, read_stamp=stamp)
    return out
