"""Drafts: one ``.eml`` file per lead, marked ``X-Unsent: 1`` so that Outlook opens it as a
draft ready to send. Nothing leaves the machine."""

from __future__ import annotations

from pathlib import Path

from ...io.files import UNSAFE_CHAR, write_atomic
from .errors import MailError
from .message import Outgoing, message_bytes, one_line, render
from .result import Progress, SendResult, prepare


def _safe(text: str) -> str:
    """Each character a file name cannot hold becomes "_" (the name of a draft keeps its shape)."""
    s = UNSAFE_CHAR.sub("_", one_line(text))
    return " ".join(s.split()).strip(" .")


def draft_filename(out: Outgoing, reminder: bool = False) -> str:
    """e.g. '2026-11 return - Gwen Thomas (GT).eml', safe on Windows, macOS and Linux."""
    kind = "reminder" if reminder else "return"
    name = _safe(out.full_name)[:80].strip(" .")
    lead = _safe(out.lead)[:40].strip(" .")
    month = _safe(out.month)[:20]
    who = f"{name} ({lead})" if name and name != lead else (lead or name or "lead")
    return f"{month} {kind} - {who}.eml"


def write_drafts(outgoing: list[Outgoing], out_dir: Path, sender: str,
                 template: str | Path | None = None, reminder: bool = False,
                 progress: Progress | None = None) -> SendResult:
    """Write one ``.eml`` draft per lead into ``out_dir`` (created if needed).

    Drafts carry ``X-Unsent: 1`` so Outlook opens them ready to send. Leads without an
    address are listed in ``skipped_no_email``; leads whose draft cannot be built (bad
    address, missing workbook) are listed in ``failed`` with the reason.
    """
    kind = "reminder" if reminder else "return"
    sender_addr, parsed, outs, result = prepare(outgoing, sender, template, kind)
    result.kind_of_run = "drafts"
    out_dir = Path(out_dir)
    if not any((out.email or "").strip() for out in outs):
        result.skipped_no_email = [out.lead for out in outs]
        return result                   # no address at all: nothing to write, not even the folder
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise MailError(f"The folder for the drafts, {out_dir}, could not be made: "
                        f"{exc.strerror or exc}. Choose another folder.") from None
    used: set[str] = set()
    for out in outs:
        if not (out.email or "").strip():
            result.skipped_no_email.append(out.lead)
            result.attempt(out, "no-address", "no email address in the directory")
            if progress:
                progress(out.lead, "skipped")
            continue
        try:
            msg = render(out, sender_addr, parsed, reminder)
        except MailError as exc:
            result.failed.append((out.lead, str(exc)))
            if progress:
                progress(out.lead, "failed")
            continue
        msg["X-Unsent"] = "1"
        name = draft_filename(out, reminder)
        stem, n = name[:-4], 2
        while name.lower() in used:
            name, n = f"{stem} ({n}).eml", n + 1
        used.add(name.lower())
        path = out_dir / name
        try:
            write_atomic(path, message_bytes(msg))
        except OSError as exc:
            result.failed.append((out.lead, f"the draft {path} could not be written: "
                                            f"{exc.strerror or exc}"))
            if progress:
                progress(out.lead, "failed")
            continue
        result.drafts.append(path)
        result.attempt(out, "draft", message_id=str(msg["Message-ID"] or ""))
        if progress:
            progress(out.lead, "draft")
    return result
