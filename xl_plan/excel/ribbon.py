"""Ribbon entry points: the "Action Plan" tab's buttons call these through VBA
(`RunPython "import xl_plan.excel.ribbon as r; r.dispatch('validate')"`).

Each button is a plain function that takes the calling workbook (`xw.Book.caller()`), runs
the same job as the matching `xl-plan` command on a saved copy of it, writes the changes back
into the open workbook (xl_plan.excel.bridge), and says what happened in the status bar and a
message box. Errors become a plain message box, never a traceback window, and go to the log.

Imports are kept light: every click starts a new Python process, so the user waits for this
module's import each time (bench/bench_ribbon.py measures it)."""
from __future__ import annotations

import sys
from datetime import date

TITLE = "xl_plan"

def _xlwings():
    """Import xlwings (and openpyxl) without letting them import pandas and numpy, which they
    load when present and the buttons do not need: that saves most of the wait on every click.
    A job that needs numpy later still imports it normally."""
    if "xlwings" in sys.modules:
        return sys.modules["xlwings"]
    blocked = [name for name in ("pandas", "numpy") if name not in sys.modules]
    for name in blocked:
        sys.modules[name] = None  # makes `import pandas` raise ImportError inside xlwings
    try:
        import openpyxl  # noqa: F401
        import xlwings
    finally:
        for name in blocked:
            sys.modules.pop(name, None)
    return xlwings


def caller():
    return _xlwings().Book.caller()


def dispatch(tag: str) -> None:
    """Run the button with this tag; unknown tags and every error end in a plain message box."""
    from ..template import BUTTON_TAGS  # the one list of tags, shared with customUI14.xml

    if tag not in BUTTON_TAGS:
        _alert(caller(), f"This button ({tag!r}) is not known to this version of xl_plan. "
                         "Rebuild the workbook's ribbon with `xl-plan template attach`.")
        return
    globals()[tag]()


# ---------------------------------------------------------------- the buttons

def validate() -> None:
    _run(caller(), "Validating the RAG statuses", _validate)


def carried() -> None:
    _run(caller(), "Checking carried-forward actions", _carried)


def gantt() -> None:
    _run(caller(), "Building the Gantt sheet", _gantt)


def returns_make() -> None:
    _run(caller(), "Making the lead returns", _returns_make)


def returns_send() -> None:
    _run(caller(), "Preparing the return emails", _returns_send)


def merge() -> None:
    _run(caller(), "Merging the returns", _merge)


def consolidate() -> None:
    _run(caller(), "Running the monthly consolidation", _consolidate)


def report() -> None:
    _run(caller(), "Making the board report", _report)


def open_log() -> None:
    _run(caller(), "Opening the log", _open_log)


def help() -> None:  # noqa: A001 - the button is called Help
    _run(caller(), "Help", _help)


# ---------------------------------------------------------------- what each button does

def _validate(book) -> str:
    from ..jobs import validate_file

    result = _on_copy(book, lambda path, policy: validate_file(path, write=True, policy=policy))
    return (f"Checked {len(result.plan.actions)} actions: {result.report.summary_line()}. "
            f"See the '{result.sheet}' sheet; cells with a problem have a comment from xl_plan.")


def _carried(book) -> str:
    from ..jobs import carried_file

    previous = _pick_file(book, "Choose the PREVIOUS plan to compare with (Cancel: only list the starred actions)")
    result = _on_copy(book, lambda path, policy: carried_file(path, previous=previous or None, write=True,
                                                                       policy=policy))
    return (f"{len(result.result.starred)} starred actions. {result.result.report.summary_line()}. "
            f"See the '{result.sheet}' sheet.")


def _gantt(book) -> str:
    from ..jobs import gantt_file

    result = _on_copy(book, lambda path, policy: gantt_file(path, policy=policy))
    return f"Built the '{result.sheet}' sheet for {len(result.plan.actions)} actions."


def _returns_make(book) -> str:
    from ..jobs import make_returns_file
    from ..months import month_of

    path = _path(book)
    month = month_of(date.today())
    folder = returns_folder(path, month)
    result = _on_copy(book, lambda copy, policy: make_returns_file(copy, month, folder, master_path=path,
                                                                         policy=policy))
    return (f"Made {len(result.returns)} return workbooks for {month} in {folder}. Next: click 'Email returns' "
            "to prepare one email per lead.")


def _returns_send(book) -> str:
    from ..jobs import send_returns
    from ..months import month_of

    path = _path(book)
    month = month_of(date.today())
    folder = returns_folder(path, month)
    drafts = folder / "emails"
    _, result = send_returns(folder, drafts=drafts, master=path, month=month)
    return f"{result.summary()} The emails are in {drafts}: open each one and press Send."


def _merge(book) -> str:
    from pathlib import Path

    from ..jobs import merge_returns
    from ..merge.summary import summary_lines

    folder = _pick_folder(book, "Choose the folder holding the returned workbooks (or the emails they came in)")
    if not folder:
        return "Nothing merged: no folder was chosen."
    result = _on_copy(book, lambda path, policy: merge_returns(path, [Path(folder)], policy=policy))
    return "\n".join(summary_lines(result))


def _consolidate(book) -> str:
    from ..jobs import consolidate
    from ..merge.summary import summary_lines

    folder = _pick_folder(book, "Choose the folder holding this month's returns (workbooks or saved emails)")
    if not folder:
        return "Nothing done: no folder was chosen."
    result = _on_copy(book, lambda path, policy: consolidate(path, folder, policy=policy))
    lines = summary_lines(result.merge)
    lines.append(f"See the '{result.summary_sheet}' and '{result.validation_sheet}' sheets.")
    return "\n".join(lines)


def _report(book) -> str:
    from ..jobs import board_report
    from ..months import month_of

    book.save()                              # the report reads the saved plan; nothing is written into it
    path = _path(book)
    month = month_of(date.today())
    result = board_report(path, month, reports_folder(path, month))
    return result.message


def _open_log(book) -> str:
    import os
    import subprocess

    from ..log import log_path

    path = log_path()
    if not path.exists():
        return f"There is no log yet ({path}): nothing has gone wrong so far."
    if sys.platform == "win32":
        os.startfile(str(path))  # noqa: S606 - opens the log in the user's editor
    else:
        subprocess.Popen(["open", str(path)])  # noqa: S603,S607
    return f"Opened the log {path}."


HELP_TEXT = """The Action Plan tab:
- Validate RAG: checks every status against the plan's own RAG key; see the Validation sheet.
- Flag carried forward: lists starred actions and compares them with the previous plan.
- Build Gantt: draws the Gantt sheet from the timescales.
- Make lead returns: one workbook per lead in a 'returns' folder beside this plan.
- Email returns: one email per lead, ready to send, in the returns folder.
- Merge returns / Monthly consolidation: bring the leads' returns into this plan.
- Board report: this month's report for the board as an A4 PDF, in a 'reports' folder beside this plan.
xl_plan saves this workbook before each button and keeps a copy in the 'backups' folder.
If something goes wrong, 'Open log' shows the details to send to support."""


def _help(book) -> str:
    return HELP_TEXT


# ---------------------------------------------------------------- plumbing

def _run(book, doing: str, action) -> None:
    from ..errors import XlPlanError
    from ..log import get_logger, log_exception, log_path

    app = book.app
    app.status_bar = f"xl_plan: {doing}..."
    try:
        message = action(book)
        get_logger().info("%s: %s", doing, message)
        _alert(book, message)
    except XlPlanError as exc:
        get_logger().warning("%s: %s", doing, exc)
        _alert(book, str(exc))
    except Exception as exc:  # never a traceback window: log it and say where
        log_exception(exc)
        _alert(book, f"Something unexpected went wrong ({type(exc).__name__}: {exc}). Your workbook was not "
                     f"changed. The details are in {log_path()}: please send that file to support.")
    finally:
        app.status_bar = False  # give the status bar back to Excel


def _on_copy(book, job):
    """Run `job(path_of_copy, save_policy)` on a saved copy of the workbook and write its changes back."""
    from ..io.diff import diff_workbooks
    from ..io.save import WORKING_COPY
    from .bridge import apply_changes, working_copy

    with working_copy(book) as (_, before, after):
        result = job(after, WORKING_COPY)
        apply_changes(book, diff_workbooks(before, after), after)
    return result


def returns_folder(plan_path, month: str):
    """Where the ribbon puts a month's returns: a 'returns' folder beside the plan."""
    return plan_path.parent / "returns" / month


def reports_folder(plan_path, month: str):
    """Where the ribbon puts a month's board report: a 'reports' folder beside the plan."""
    return plan_path.parent / "reports" / month


def _path(book):
    from .bridge import book_path

    return book_path(book)


def _alert(book, message: str) -> None:
    book.app.alert(message, title=TITLE)


def _pick_file(book, title: str) -> str:
    return book.macro("XlPlanPickFile")(title) or ""


def _pick_folder(book, title: str) -> str:
    return book.macro("XlPlanPickFolder")(title) or ""
