"""Saving into a user's workbook without ever losing it. xl_plan never writes the user's whole
workbook back: the job's openpyxl workbook only tells what changed (io/diff.py), and the package
writer (io/graft.py) puts just that into the ORIGINAL package, part by part, so charts, pictures,
pivots, macros, the ribbon, x14 formatting, threaded comments and formula results stay byte for
byte as they were.

The save path: refuse while Excel has the file open or when it changed on disk since it was read;
clean up temporary files a killed run left; write the new package to a temporary file beside the
original; check it (every original part still there and unchanged or only extended, every XML part
parses, every relationship resolves); keep a timestamped backup; check again that nobody saved the
file meanwhile; rename over the original in one step."""
from __future__ import annotations

import os
import re
import shutil
import tempfile
import time
import warnings
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from ..errors import WorkbookLockedError, WriteError
from .workbook import file_stamp, refuse_if_open

BACKUP_DIR = "backups"
TEMP_PREFIX = "~xl_plan-"
_TEMP_NAME = re.compile(rf"^{re.escape(TEMP_PREFIX)}(\d+)-")
STALE_AFTER = 24 * 3600          # a temporary file this old is left over whatever its process


@dataclass(frozen=True)
class SavePolicy:
    """How a save is made, passed in by whoever asks for the save (never set globally)."""

    backup: bool = True                 # keep a timestamped copy in backups/ first


DEFAULT_POLICY = SavePolicy()
# The ribbon's working copy (xl_plan.excel.bridge): the ribbon backs up the real file itself.
WORKING_COPY = SavePolicy(backup=False)


@dataclass
class SaveResult:
    path: Path
    backup: Path | None
    changes: object = None       # io.diff.WorkbookChanges written (None for a new file)


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
    return path.with_name(f"{TEMP_PREFIX}{os.getpid()}-{path.name}")


def remove_stale_temp_files(folder: Path) -> list[Path]:
    """Temporary files beside a workbook that a killed xl_plan run left behind (its process is gone,
    or the file is a day old): removed, so they never pile up or get mistaken for returns."""
    removed = []
    try:
        entries = list(Path(folder).iterdir())
    except OSError:
        return removed
    for p in entries:
        m = _TEMP_NAME.match(p.name)
        if not m or not p.is_file() or int(m.group(1)) == os.getpid():
            continue
        try:
            old = time.time() - p.stat().st_mtime > STALE_AFTER
            if old or not _running(int(m.group(1))):
                p.unlink()
                removed.append(p)
        except OSError:
            continue
    return removed


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def _refuse_if_changed(path: Path, read_stamp) -> None:
    if read_stamp is not None and path.exists() and file_stamp(path) != read_stamp:
        raise WorkbookLockedError(
            f"{path.name} changed on disk after xl_plan read it (someone saved it meanwhile). "
            "Nothing was written: run the command again so it works on the latest version."
        )


def refuse_if_read_only(path: Path) -> None:
    """A read-only workbook, or a folder xl_plan cannot write into, is refused before anything is
    written (a rename would replace a read-only file, so its mode is checked, not only the rename)."""
    import stat

    folder = path.parent
    if path.exists() and (not os.access(path, os.W_OK) or not path.stat().st_mode & stat.S_IWUSR):
        raise WriteError(f"{path.name} is read-only, so xl_plan cannot save it. Nothing was changed. Untick "
                         "'Read-only' in the file's properties (or copy it to a folder of your own), then try again.")
    if not os.access(folder, os.W_OK):
        raise WriteError(f"xl_plan cannot write into the folder {folder} (no permission), so {path.name} cannot be "
                         "saved. Nothing was changed. Copy the workbook to a folder you can write to, then try again.")


def save_workbook(wb, path, *, read_stamp: tuple[int, int] | None = None, policy: SavePolicy = DEFAULT_POLICY,
                  baseline=None) -> SaveResult:
    """Save what a job changed in openpyxl workbook `wb` into the workbook at `path`, safely.
    `read_stamp` is file_stamp(path) taken when the workbook was read, `baseline` the
    io.diff.Baseline taken then (without it the changes are found by comparing files). A new
    file (`path` does not exist yet) is simply written. The workbook `wb` is used up."""
    path = Path(path)
    refuse_if_open(path)
    refuse_if_read_only(path)
    _refuse_if_changed(path, read_stamp)
    remove_stale_temp_files(path.parent)
    tmp = temp_path(path)
    changes = None
    try:
        with tempfile.TemporaryDirectory(prefix="xl_plan-save-") as work:
            if path.exists():
                original = Path(work) / ("original" + path.suffix)      # one read: what is grafted and checked
                shutil.copyfile(path, original)
                data, changes = _grafted(wb, original, Path(work), baseline, path.name)
                tmp.write_bytes(data)
            else:
                from .fastwrite import fast_cells

                with warnings.catch_warnings(), fast_cells():    # writes cell records too (writers/gantt.py)
                    warnings.simplefilter("ignore")
                    wb.save(tmp)
            _pause("after-temp-write")
            if changes is not None:
                _check(original, tmp, changes, path.name)
        _fsync(tmp)
        _pause("after-check")
        saved_backup = make_backup(path) if policy.backup and path.exists() else None
        _pause("after-backup")
        _refuse_if_changed(path, read_stamp)     # a colleague's save while xl_plan wrote is never overwritten
        os.replace(tmp, path)
        _pause("after-rename")
    except BaseException:
        if tmp.exists():
            tmp.unlink()
        raise
    return SaveResult(path, saved_backup, changes)


def _grafted(wb, original: Path, work: Path, baseline, name: str):
    """(bytes of the new package, the changes written): the job's changes put into the original."""
    from . import graft
    from .diff import diff_against, diff_workbooks
    from .fastwrite import detach, save_scratch
    from .package import PackageError

    scratch = work / ("scratch" + original.suffix)
    changes, detached = None, None
    if baseline is not None:
        changes = diff_against(baseline, wb)
        _only_sheets(wb, set(changes.sheets))       # the scratch file needs only xl_plan's sheets
        detached = detach(wb)                       # rows of records: graft writes them, not the scratch save
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        save_scratch(wb, scratch)
    if changes is None:
        changes = diff_workbooks(original, scratch)
    try:
        return graft.graft(original, scratch, changes, detached), changes
    except PackageError as exc:
        why = str(exc).replace(original.name, name)      # graft saw the working copy, the user knows their file
        if name not in why:
            why = f"xl_plan could not write its changes into {name}: {why}"
        raise WriteError(f"{why.rstrip('.')}. Nothing was changed: {name} is as it was. If Excel opens the file, "
                         "save it there once and run this again; if it still fails, please send this message "
                         "to support.") from exc


def _only_sheets(wb, keep: set[str]) -> None:
    """Drop every sheet but `keep` from the job's workbook before it is saved as the scratch file
    (one sheet stays: a workbook needs one), and its workbook-wide names: graft takes those from the
    changes, and of the scratch file's names only those of its sheets (a master holds one per action)."""
    wb.defined_names.clear()
    sheets = wb.worksheets
    if not keep:
        keep = {sheets[0].title}
    for ws in list(sheets):
        if ws.title not in keep:
            wb.remove(ws)
    if all(ws.sheet_state != "visible" for ws in wb.worksheets):
        wb.create_sheet("~xl_plan scratch")             # openpyxl saves no workbook without a visible sheet
    wb.active = next(i for i, ws in enumerate(wb.worksheets) if ws.sheet_state == "visible")
    for ws in wb.worksheets:
        ws.sheet_view.tabSelected = False


def _check(original: Path, written: Path, changes, name: str) -> None:
    """Refuse the new package unless it keeps everything the original had."""
    from . import graft
    from .package import check_macros_and_ribbon, has_macros

    problems = graft.check_grafted(original, written.read_bytes(), changes)
    if has_macros(original):
        problems += check_macros_and_ribbon(original, written)
    if problems:
        raise WriteError(
            f"xl_plan's check of the new {name} failed, so nothing was changed ({name} is as it was): "
            + "; ".join(problems[:5]) + ("" if len(problems) <= 5 else f" (and {len(problems) - 5} more)")
            + ". This is a fault in xl_plan, not in your workbook: please send this message to support."
        )


def _pause(point: str) -> None:
    """Test hook for the kill-while-saving tests: with XL_PLAN_SAVE_PAUSE=<point> the save stops at that
    point (after writing XL_PLAN_SAVE_PAUSE_MARKER) so a test can kill the process there."""
    if os.environ.get("XL_PLAN_SAVE_PAUSE") != point:
        return
    marker = os.environ.get("XL_PLAN_SAVE_PAUSE_MARKER")
    if marker:
        Path(marker).write_text(point)
    time.sleep(600)


def _fsync(path: Path) -> None:
    with open(path, "rb+") as fh:
        fh.flush()
        os.fsync(fh.fileno())
