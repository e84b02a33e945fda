"""Formula findings: formulas in the plan's columns that have no saved result to read."""
from __future__ import annotations

from openpyxl.utils import get_column_letter

from ..model import Plan
from ..report import Finding


def unsaved_formula_cells(plan: Plan) -> set[tuple[int, int]]:
    """(row, column) of the plan's formula cells that have no saved result."""
    return {k for k, v in plan.formulas.items() if v is None}


def check_formulas(plan: Plan) -> list[Finding]:
    """One finding for the whole plan when formulas in its columns have no saved result (the file was
    written by a program that does not calculate): their statuses, timescales or leads are unknown."""
    missing = sorted(unsaved_formula_cells(plan))
    if not missing:
        return []
    fields = {c.index: f for f, cols in plan.columns.items() for c in cols}
    columns = sorted({c for _, c in missing})
    named = ", ".join(f"{get_column_letter(c)} ({fields.get(c, 'column')})" for c in columns)
    r, c = missing[0]
    n = len(missing)
    return [Finding(
        "formula-without-value",
        f"{n} formula cell{'s' if n != 1 else ''} in column{'s' if len(columns) != 1 else ''} {named} "
        f"{'have' if n != 1 else 'has'} no saved result, so xl_plan cannot see {'their values' if n != 1 else 'its value'}: "
        "the file was written by a program that does not calculate formulas. Open the file in Excel, save it, "
        "and run this again.",
        plan.sheet, r, get_column_letter(c), n,
    )]
