"""Where returns are found (the one rule, used by merge, consolidate, `returns status`, reminders
and the ribbon): workbooks in a folder and its sub-folders, and the Excel attachments of saved
emails (.eml, read with the standard library's email parser; Outlook .msg, read with extract-msg).
Backups, hidden folders, Excel's lock files and xl_plan's temporary files are never candidates.

Attachments are written into a temporary folder (file names made safe, never outside it) and
merged from there. A return's time for "the later of two returns wins" is the file's
modification time, or for an attachment the date of the email that carried it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from ..io.files import safe_name

WORKBOOK_SUFFIXES = {".xlsx", ".xlsm", ".xls", ".xltx", ".xltm"}
EMAIL_SUFFIXES = {".eml", ".msg"}
_SPREADSHEET_TYPES = re.compile(r"spreadsheetml|ms-excel", re.I)


@dataclass
class Source:
    """A returned workbook: a file, or an attachment saved out of an email."""

    path: Path
    name: str = ""
    saved_at: datetime | None = None      # None: the file's modification time
    origin: Path | None = None            # the file in the folder it came from (the email, for an attachment)

    @property
    def when(self) -> datetime:
        return self.saved_at or datetime.fromtimestamp(self.path.stat().st_mtime)


@dataclass
class Collected:
    sources: list[Source] = field(default_factory=list)
    unreadable: list[tuple[str, str]] = field(default_factory=list)      # (name, message): emails that cannot be read
    skipped: list[tuple[str, str]] = field(default_factory=list)         # (name, why): not a return at all


def _local(dt) -> datetime | None:
    if dt is None:
        return None
    if dt.tzinfo is not None:
        dt = dt.astimezone().replace(tzinfo=None)
    return dt


class _Writer:
    def __init__(self, folder: Path):
        self.folder = folder
        self.n = 0

    def save(self, filename: str, data: bytes) -> Path:
        self.n += 1
        sub = self.folder / f"{self.n:04d}"
        sub.mkdir(parents=True, exist_ok=True)
        stem, suffix = Path(filename).stem, Path(filename).suffix.lower()
        target = sub / (safe_name(stem) + (suffix if suffix in WORKBOOK_SUFFIXES else ".xlsx"))
        target.write_bytes(data)
        return target


def _is_workbook_name(name: str, content_type: str = "") -> bool:
    return Path(name or "").suffix.lower() in WORKBOOK_SUFFIXES or bool(_SPREADSHEET_TYPES.search(content_type or ""))


def eml_attachments(path: Path, writer: _Writer, out: Collected, label: str | None = None) -> int:
    """The Excel attachments of a saved email (forwarded emails inside it included)."""
    from email import policy
    from email.parser import BytesParser
    from email.utils import parsedate_to_datetime

    label = label or path.name
    with open(path, "rb") as fh:
        msg = BytesParser(policy=policy.default).parse(fh)
    return _eml_message(msg, writer, out, label, path, parsedate_to_datetime)


def _eml_message(msg, writer, out, label, path, parse_date) -> int:
    try:
        when = _local(parse_date(msg["Date"])) if msg["Date"] else None
    except (TypeError, ValueError):
        when = None
    when = when or datetime.fromtimestamp(path.stat().st_mtime)
    found = 0
    for part in _leaf_parts(msg):
        ctype = part.get_content_type()
        if ctype == "message/rfc822":
            inner = part.get_payload()[0] if part.is_multipart() else part.get_content()
            found += _eml_message(inner, writer, out, f"{label} (forwarded email)", path, parse_date)
            continue
        try:
            name = part.get_filename() or ""
        except (TypeError, ValueError, LookupError):
            name = ""
        if part.get_content_maintype() in ("text", "multipart") and not _is_workbook_name(name, ctype):
            continue
        data = part.get_payload(decode=True) or b""
        if ctype == "application/ms-tnef" or name.lower() == "winmail.dat":
            for tname, tdata in _tnef_attachments(data):
                found += _keep(writer, out, tname, tdata, f"{label}, in winmail.dat", when, path)
            continue
        if _is_workbook_name(name, ctype) or _holds_return(data):
            found += _keep(writer, out, name if _is_workbook_name(name) else "", data, label, when, path)
    return found


def _leaf_parts(msg):
    """Every part of a message that may carry a workbook: the leaves of every multipart (a signed
    message's multipart/signed around multipart/mixed included), a forwarded message whole, and the
    message itself when it is a single part (its whole body may be the workbook)."""
    if msg.get_content_type() == "message/rfc822":
        yield msg
    elif msg.is_multipart():
        for part in msg.get_payload():
            yield from _leaf_parts(part)
    else:
        yield msg


def _keep(writer, out, name: str, data: bytes, label: str, when, path) -> int:
    saved = writer.save(name or "attachment.xlsx", data)
    out.sources.append(Source(saved, f"{name or 'attachment'} (in email {label})", when, path))
    return 1


def _holds_return(data: bytes) -> bool:
    """An attachment whose name or type says nothing (application/octet-stream, a name that cannot be
    decoded): a zip holding a workbook with xl_plan's return identity is a return."""
    import io
    import zipfile

    if not data.startswith(b"PK\x03\x04"):
        return False
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            names = set(z.namelist())
            if "xl/workbook.xml" not in names:
                return False
            book = z.read("xl/workbook.xml")
            custom = z.read("docProps/custom.xml") if "docProps/custom.xml" in names else b""
    except (zipfile.BadZipFile, OSError, KeyError, ValueError):
        return False
    return b"xl_plan_return" in book or b"xl_plan.return_id" in custom


def _tnef_attachments(data: bytes) -> list[tuple[str, bytes]]:
    """The attachments inside an Outlook winmail.dat (application/ms-tnef) that are workbooks."""
    import tnefparse

    try:
        tnef = tnefparse.TNEF(data, do_checksum=False)
    except Exception:  # noqa: BLE001 - a damaged TNEF stream holds nothing we can use
        return []
    out = []
    for att in tnef.attachments:
        name = att.long_filename() or att.name
        name = name.decode("utf-8", "replace") if isinstance(name, bytes) else str(name or "")
        name = name.strip("\x00")
        blob = bytes(att.data or b"")
        if _is_workbook_name(name) or _holds_return(blob):
            out.append((name if _is_workbook_name(name) else "", blob))
    return out


def msg_attachments(path: Path, writer: _Writer, out: Collected) -> int:
    """The Excel attachments of an Outlook .msg (attached Outlook items included)."""
    import extract_msg

    msg = extract_msg.openMsg(str(path))
    try:
        return _msg_message(msg, writer, out, path.name, path)
    finally:
        msg.close()


def _msg_message(msg, writer, out, label, path) -> int:
    try:
        when = _local(msg.date)
    except Exception:  # noqa: BLE001 - a missing or odd date: use the file's time
        when = None
    found = 0
    for att in msg.attachments:
        data = att.data
        if hasattr(data, "attachments"):                     # an attached Outlook item
            found += _msg_message(data, writer, out, f"{label} (attached email)", path)
            continue
        name = att.longFilename or att.shortFilename or ""
        if not isinstance(data, (bytes, bytearray)) or not _is_workbook_name(name, getattr(att, "mimetype", "") or ""):
            continue
        saved = writer.save(name or "attachment.xlsx", bytes(data))
        out.sources.append(Source(saved, f"{name or 'attachment'} (in email {label})",
                                  when or datetime.fromtimestamp(path.stat().st_mtime), path))
        found += 1
    return found


def candidate_files(folder: Path, *, recursive: bool = True, exclude=()):
    """The files in `folder` (and its sub-folders) that may be returns, in name order."""
    folder = Path(folder)
    exclude = {Path(x).resolve() for x in exclude}
    for p in sorted(folder.rglob("*") if recursive else folder.iterdir()):
        if not p.is_file():
            continue
        rel = p.relative_to(folder).parts
        if any(part.startswith(".") or part == "backups" for part in rel[:-1]):
            continue
        if p.name.startswith(("~$", "~xl_plan-", ".")):
            continue
        if p.resolve() in exclude:
            continue
        yield p


def collect_files(paths, tmp: Path, *, exclude=()) -> Collected:
    """Sources from a list of files: workbooks as they are, emails opened for their attachments; a
    folder in the list stands for every return in it (as `collect_folder`)."""
    out = Collected()
    writer = _Writer(tmp)
    for p in paths:
        p = Path(p)
        if p.is_dir():
            found = collect_folder(p, tmp / f"folder-{len(out.sources):04d}", exclude=exclude)
            out.sources += found.sources
            out.unreadable += found.unreadable
            out.skipped += found.skipped
            continue
        suffix = p.suffix.lower()
        if suffix in EMAIL_SUFFIXES:
            try:
                n = eml_attachments(p, writer, out) if suffix == ".eml" else msg_attachments(p, writer, out)
            except Exception as exc:  # noqa: BLE001 - a damaged or hostile email: say so, merge the others
                out.unreadable.append((p.name, f"{p.name} is an email that could not be read ({type(exc).__name__}: "
                                               f"{exc}). Open it in Outlook and save its attachment into the folder."))
                continue
            if not n:
                out.skipped.append((p.name, "an email with no Excel attachment"))
        else:                 # a workbook, or anything else named on the command line: read_return says why not
            out.sources.append(Source(p, p.name, None, p))
    return out


def collect_folder(folder: Path, tmp: Path, *, exclude=()) -> Collected:
    """Every workbook and saved email in `folder` (sub-folders included; backups, Excel lock
    files and xl_plan's temporary files left out). Other files are listed as skipped."""
    files, skipped = [], []
    for p in candidate_files(Path(folder), exclude=exclude):
        if p.suffix.lower() in WORKBOOK_SUFFIXES | EMAIL_SUFFIXES:
            files.append(p)
        else:
            skipped.append((p.name, "not a workbook or a saved email"))
    out = collect_files(files, tmp)
    out.skipped = skipped + out.skipped
    return out
