"""Saving a user's workbook without ever losing it: refuse while Excel has it open or it
changed on disk, keep a timestamped backup, write a temporary file beside it, check that
nothing the user had is gone, then rename over the original in one step."""
from __future__ import annotations

import os
import shutil
import warnings
import zipfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from ..errors import WorkbookLockedError, WriteError
from .workbook import file_stamp, refuse_if_open

BACKUP_DIR = "backups"

# Parts openpyxl may drop, by what a user would call them.
_KEPT_PARTS = {
    "xl/charts/": "charts",
    "xl/media/": "pictures",
    "xl/embeddings/": "embedded objects",
    "xl/pivotTables/": "pivot tables",
    "xl/slicers/": "slicers",
    "xl/activeX/": "ActiveX controls",
    "xl/ctrlProps/": "form controls",
    "xl/vbaProject.bin": "macros",
    "customUI/": "the ribbon",
}


@dataclass(frozen=True)
class SavePolicy:
    """How a save is checked, passed in by whoever asks for the save (never set globally)."""

    backup: bool = True                 # keep a timestamped copy in backups/ first
    refuse_lost_parts: bool = True      # refuse when openpyxl would drop charts, pictures, ...


DEFAULT_POLICY = SavePolicy()
# The ribbon's working copy (xl_plan.excel.bridge): only xl_plan's sheets and the changed cells are
# taken from it into the open workbook, which keeps everything, and the ribbon backs up the real file.
WORKING_COPY = SavePolicy(backup=False, refuse_lost_parts=False)


@dataclass
class SaveResult:
    path: Path
    backup: Path | None


def backup_path(path: Path, now: datetime | None = None) -> Path:
    now = now or datetime.now()
    folder = path.parent / BACKUP_DIR
    stamp = now.strftime("%Y%m%d-%H%M%S")
    candidate = folder / f"{path.stem}.{stamp}{path.suffix}"
    n = 1
    while candidate.exists():
        n += 1
        candidate = folder / f"{path.stem}.{stamp}-{n}{path.suffix}"
    return candidate


def make_backup(path: Path) -> Path:
    target = backup_path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(path, target)
    return target


def temp_path(path: Path) -> Path:
    return path.with_name(f"~xl_plan-{os.getpid()}-{path.name}")


def save_workbook(wb, path, *, read_stamp: tuple[int, int] | None = None,
                  policy: SavePolicy = DEFAULT_POLICY) -> SaveResult:
    """Save openpyxl workbook `wb` over `path` safely. `read_stamp` is file_stamp(path) taken when
    the workbook was read: if the file changed since, nothing is written."""
    path = Path(path)
    refuse_if_open(path)
    if read_stamp is not None and path.exists() and file_stamp(path) != read_stamp:
        raise WorkbookLockedError(
            f"{path.name} changed on disk after xl_plan read it (someone saved it meanwhile). "
            "Nothing was written: run the command again so it works on the latest version."
        )
    tmp = temp_path(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            wb.save(tmp)
        _pause("after-temp-write")
        if path.exists():
            _repair_and_check(path, tmp, policy)
        _fsync(tmp)
        _pause("after-check")
        saved_backup = make_backup(path) if policy.backup and path.exists() else None
        _pause("after-backup")
        os.replace(tmp, path)
        _pause("after-rename")
    except BaseException:
        if tmp.exists():
            tmp.unlink()
        raise
    return SaveResult(path, saved_backup)


def _pause(point: str) -> None:
    """Test hook for the kill-while-saving tests: with XL_PLAN_SAVE_PAUSE=<point> the save stops at that
    point (after writing XL_PLAN_SAVE_PAUSE_MARKER) so a test can kill the process there."""
    if os.environ.get("XL_PLAN_SAVE_PAUSE") != point:
        return
    import time

    marker = os.environ.get("XL_PLAN_SAVE_PAUSE_MARKER")
    if marker:
        Path(marker).write_text(point)
    time.sleep(600)


def _repair_and_check(original: Path, saved: Path, policy: SavePolicy) -> None:
    if _has_part(original, "customUI"):
        from .package import check_macros_and_ribbon, restore_ribbon

        restore_ribbon(original, saved)
        problems = check_macros_and_ribbon(original, saved)
        if problems:
            raise WriteError(
                f"Saving {original.name} would lose part of it ({'; '.join(problems)}). Nothing was changed."
            )
    if not policy.refuse_lost_parts:
        return
    lost = lost_parts(original, saved)
    if lost:
        raise WriteError(
            f"{original.name} has {', '.join(lost)} that xl_plan cannot keep when it writes into the file, "
            "so nothing was changed. Use the button on xl_plan's ribbon tab in Excel instead (Excel then "
            "keeps everything), or run the command without --write to see the results here."
        )


def _has_part(path: Path, prefix: str) -> bool:
    with zipfile.ZipFile(path) as zf:
        return any(n.startswith(prefix) for n in zf.namelist())


def lost_parts(original: Path, saved: Path) -> list[str]:
    """What the user had in `original` that is missing from `saved`, in words."""
    def counts(p):
        with zipfile.ZipFile(p) as zf:
            names = zf.namelist()
        return {label: sum(1 for n in names if n.startswith(prefix)) for prefix, label in _KEPT_PARTS.items()}

    before, after = counts(original), counts(saved)
    return [label for label in before if after[label] < before[label]]


def _fsync(path: Path) -> None:
    with open(path, "rb+") as fh:
        fh.flush()
        os.fsync(fh.fileno())
