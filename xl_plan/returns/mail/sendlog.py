"""The CSV send log of :func:`send_smtp <xl_plan.returns.mail.smtp.send_smtp>`: one row per lead
per run, read back to retry only the leads that failed.

Send log format
---------------
CSV (UTF-8 with BOM so Excel opens it cleanly), one row per lead per run, appended,
header written when the file is new. Columns: see :data:`LOG_FIELDS`. ``status`` is
``sent``, ``failed`` or ``skipped``; ``reason`` is plain English (empty when sent
without remarks). ``kind`` is ``return`` or ``reminder``. A dry run writes no log.
Cells that Excel would read as a formula are prefixed with ``'`` (removed on reading).
"""

from __future__ import annotations

import csv
from datetime import datetime
from pathlib import Path

from .errors import MailError
from .message import Outgoing, one_line

LOG_FIELDS = [
    "time", "plan", "month", "kind", "lead", "full_name",
    "to", "cc", "attachment", "status", "reason",
]

# Excel treats a CSV cell starting with one of these as a formula.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _csv_cell(value: object) -> str:
    s = "" if value is None else str(value)
    return "'" + s if s.startswith(_FORMULA_START) else s


def _csv_uncell(value: str | None) -> str:
    s = value or ""
    return s[1:] if s.startswith("'") and s[1:].startswith(_FORMULA_START) else s


class SendLog:
    def __init__(self, path: Path | None):
        self.path = Path(path) if path is not None else None

    def check_writable(self) -> None:
        if self.path is None:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a", encoding="utf-8-sig", newline=""):
                pass
        except OSError as exc:
            raise MailError(
                f"The send log {self.path} cannot be written ({exc.strerror or exc}). "
                "If it is open in Excel, close it and try again. Nothing was sent.") from None

    def write(self, out: Outgoing, kind: str, status: str, reason: str) -> str | None:
        """Append one row; return a problem description instead of raising."""
        if self.path is None:
            return None
        row = {
            "time": datetime.now().astimezone().isoformat(timespec="seconds"),
            "plan": one_line(out.plan_name),
            "month": one_line(out.month),
            "kind": kind,
            "lead": one_line(out.lead),
            "full_name": one_line(out.full_name),
            "to": one_line(out.email or ""),
            "cc": "; ".join(one_line(c) for c in out.cc if c),
            "attachment": str(out.attachment),
            "status": status,
            "reason": one_line(reason),
        }
        try:
            new = not self.path.exists() or self.path.stat().st_size == 0
            with open(self.path, "a", encoding="utf-8-sig", newline="") as f:
                w = csv.DictWriter(f, fieldnames=LOG_FIELDS)
                if new:
                    w.writeheader()
                w.writerow({k: _csv_cell(v) for k, v in row.items()})
        except OSError as exc:
            return (f"could not be recorded in the send log {self.path} "
                    f"({exc.strerror or exc}); it was {status}")
        return None


def read_send_log(path: Path) -> list[dict[str, str]]:
    """Read a send log written by :func:`send_smtp`, oldest row first."""
    p = Path(path)
    try:
        with open(p, encoding="utf-8-sig", newline="") as f:
            rows = list(csv.DictReader(f))
    except FileNotFoundError:
        raise MailError(f"The send log {p} was not found, so there is nothing to retry. "
                        "Check the path, or send to everyone.") from None
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise MailError(f"The send log {p} could not be read ({exc}). If it is open in "
                        "Excel, close it and try again.") from None
    missing = [c for c in ("lead", "status", "month") if rows and c not in rows[0]]
    if missing:
        raise MailError(f"The file {p} is not an xl_plan send log (it has no "
                        f"{', '.join(missing)} column).")
    return [{k: _csv_uncell(v) for k, v in row.items() if k is not None} for row in rows]


def log_key(plan: str, month: str, kind: str, lead: str) -> tuple[str, str, str, str]:
    return (one_line(plan), one_line(month), kind, one_line(lead))


def latest_entries(path: Path) -> dict[tuple[str, str, str, str], dict[str, str]]:
    latest: dict[tuple[str, str, str, str], dict[str, str]] = {}
    for row in read_send_log(path):
        key = log_key(row.get("plan", ""), row.get("month", ""),
                       row.get("kind", "") or "return", row.get("lead", ""))
        latest[key] = row  # later rows win
    return latest
