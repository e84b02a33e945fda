"""A plan's workbook opened to be changed and saved once: the skeleton every writing job shares
(refuse while Excel has it open, read it, write, save through the safe save path with the
policy the caller passes). Jobs (xl_plan/jobs.py) and `returns make` use it; nothing here
knows which job it serves."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .io.save import DEFAULT_POLICY, SavePolicy, SaveResult, save_workbook
from .io.workbook import file_stamp, load, refuse_if_open
from .layout.detect import plan_from_workbook
from .model import Plan
from .settings import remembered_columns


def open_plan(path, sheet: str | None = None, columns: dict | None = None, *, read_replaced: bool = True):
    """(workbook, plan, stamp): the workbook is kept so writers can write into it; the stamp says
    whether the file changed on disk before it is saved. `read_replaced=False`: for a job changing it,
    xl_plan's sheets that jobs make anew are read to their first rows only (io/workbook.load)."""
    path = Path(path)
    wb = load(path, read_replaced=read_replaced)
    stamp = file_stamp(path)
    overrides = dict(remembered_columns(path, wb))
    overrides.update(columns or {})
    return wb, plan_from_workbook(wb, str(path), sheet=sheet, columns=overrides), stamp


def _baseline(wb):
    from .io.diff import baseline_of

    return baseline_of(wb)


@dataclass
class PlanEdit:
    path: Path
    wb: object                   # the openpyxl workbook the writers write into
    plan: Plan
    stamp: tuple[int, int]
    policy: SavePolicy = DEFAULT_POLICY
    baseline: object = None      # io.diff.Baseline: what the workbook held when read
    saved: SaveResult | None = None

    def save(self) -> SaveResult:
        """Save once: the safe save path, refused if the file changed on disk since it was read."""
        if self.saved is not None:
            raise RuntimeError(f"{self.path.name} was saved already: a job saves once")
        self.saved = save_workbook(self.wb, self.path, read_stamp=self.stamp, policy=self.policy,
                                   baseline=self.baseline)
        return self.saved


def edit_plan(path, *, sheet=None, columns=None, policy: SavePolicy = DEFAULT_POLICY) -> PlanEdit:
    """Open the plan at `path` to change it (refused while it is open in Excel)."""
    path = Path(path)
    refuse_if_open(path)
    wb, plan, stamp = open_plan(path, sheet, columns, read_replaced=False)
    return PlanEdit(path, wb, plan, stamp, policy, _baseline(wb))
