"""Sending through an SMTP server: one connection for the run, a plain-English reason for each
lead that fails, each lead logged to the CSV send log."""

from __future__ import annotations

import os
import smtplib
import socket
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

from .errors import MailError
from .message import Outgoing, one_line, render
from .result import Progress, SendResult, prepare
from .sendlog import SendLog, latest_entries, log_key


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int = 587
    starttls: bool = True
    user: str | None = None
    password_env: str = "XL_PLAN_SMTP_PASSWORD"  # name of the environment variable
    timeout: float = 30
    ssl: bool = False  # implicit TLS from the first byte (usually port 465)


def _decode(msg: bytes | str) -> str:
    return one_line(msg.decode("utf-8", "replace") if isinstance(msg, bytes) else msg)


def _connect_reason(exc: BaseException, s: SmtpSettings) -> str:
    where = f"{s.host}:{s.port}"
    fix = "check the server name and port in the settings, or use drafts"
    if isinstance(exc, MailError):
        return str(exc)
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return (f"the server {where} refused the user name or password for {s.user!r} "
                f"({exc.smtp_code} {_decode(exc.smtp_error)}) — check the user in the settings "
                f"and the password in the environment variable {s.password_env}")
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return (f"the server {where} does not accept a login — remove the user from the "
                "settings, or ask IT for the right server")
    if isinstance(exc, smtplib.SMTPServerDisconnected) and isinstance(
            exc.__context__, (TimeoutError, socket.timeout)):
        exc = exc.__context__  # smtplib reports a timeout while reading as a disconnection
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return f"could not connect to {where}: the server closed the connection — {fix}"
    if isinstance(exc, smtplib.SMTPResponseException):
        return (f"could not connect to {where}: the server answered "
                f"{exc.smtp_code} {_decode(exc.smtp_error)} — {fix}")
    if isinstance(exc, ssl.SSLError):
        return (f"could not set up a secure connection to {where}: "
                f"{getattr(exc, 'reason', None) or exc} — check the port and the "
                "secure-connection setting (--starttls/--no-starttls, smtp_starttls), or use drafts")
    if isinstance(exc, ConnectionRefusedError):
        return f"could not connect to {where}: connection refused — {fix}"
    if isinstance(exc, (TimeoutError, socket.timeout)):
        return (f"could not connect to {where}: no answer within {s.timeout:g} seconds — {fix}")
    if isinstance(exc, socket.gaierror):
        return f"could not connect to {where}: the server name {s.host!r} was not found — {fix}"
    if isinstance(exc, smtplib.SMTPException):
        return f"could not connect to {where}: {one_line(exc)} — {fix}"
    if isinstance(exc, OSError):
        return f"could not connect to {where}: {one_line(exc.strerror or exc)} — {fix}"
    return f"could not connect to {where}: {one_line(exc)} — {fix}"


def _password(settings: SmtpSettings) -> str | None:
    if not settings.user:
        return None
    pw = os.environ.get(settings.password_env)
    if not pw:
        raise MailError(
            f"The SMTP password for {settings.user!r} is not set. Put it in the environment "
            f"variable {settings.password_env} (never on the command line), then try again. "
            "Nothing was sent.")
    return pw


def _connect(settings: SmtpSettings, password: str | None) -> smtplib.SMTP:
    if settings.ssl:
        smtp: smtplib.SMTP = smtplib.SMTP_SSL(settings.host, settings.port, timeout=settings.timeout,
                                              context=ssl.create_default_context())
    else:
        smtp = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
    try:
        smtp.ehlo()
        if settings.starttls and not settings.ssl:
            if not smtp.has_extn("starttls"):
                raise MailError(
                    f"the server {settings.host}:{settings.port} does not offer a secure "
                    "connection (STARTTLS) — check the server and port, or turn STARTTLS off "
                    "(--no-starttls, or smtp_starttls 'no' in the settings) only if IT says this server "
                    "is meant to be used without it")
            smtp.starttls(context=ssl.create_default_context())
            smtp.ehlo()
        if settings.user:
            smtp.login(settings.user, password or "")
    except BaseException:
        try:
            smtp.close()
        except OSError:
            pass
        raise
    return smtp


def _refused_reason(refused: dict, what: str = "address") -> str:
    parts = [f"{addr} ({code} {_decode(msg)})" for addr, (code, msg) in refused.items()]
    return f"the server refused the {what} {', '.join(parts)}"


def send_smtp(outgoing: list[Outgoing], settings: SmtpSettings, sender: str,
              template: str | Path | None = None, reminder: bool = False,
              dry_run: bool = False, log_path: Path | None = None,
              only_failed_from: Path | None = None,
              progress: Progress | None = None) -> SendResult:
    """Send each lead their return through an SMTP server.

    One connection is used for the run (reopened once if the server drops it). The
    password is read from the environment variable ``settings.password_env``. Per lead:
    a refused address fails that lead and the others go on; if the server cannot be
    reached every lead fails with the same plain reason. Each lead gets a row in the
    CSV send log at ``log_path`` (not on a dry run). With ``only_failed_from`` (a send
    log), only leads whose latest entry for the same plan, month and kind is ``failed``
    are sent; the others are listed in ``result.skipped``. A dry run builds every
    message (so template, address and attachment problems show), checks that the
    password is set, writes no log and connects to nothing.

    Raises MailError only for problems that stop the whole run before anything is sent:
    an unusable template or sender, a missing password, an unreadable retry log, or a
    send log that cannot be written.
    """
    kind = "reminder" if reminder else "return"
    sender_addr, parsed, outs, result = prepare(outgoing, sender, template, kind)
    result.dry_run = dry_run
    password = _password(settings)
    latest = latest_entries(Path(only_failed_from)) if only_failed_from is not None else None
    log = SendLog(None if dry_run else log_path)
    log.check_writable()

    message_ids: dict[str, str] = {}

    def report(out: Outgoing, status: str, reason: str = "") -> None:
        result.attempt(out, "no-address" if status == "skipped" else status, reason,
                       message_ids.get(out.lead, "") if status == "sent" else "")
        problem = log.write(out, kind, status, reason)
        if problem:
            result.notes.append((out.lead, f"this {kind} {problem}"))
        if progress:
            progress(out.lead, status)

    # Decide who is in this run, and build their messages before connecting.
    todo: list[tuple[Outgoing, EmailMessage]] = []
    for out in outs:
        if latest is not None:
            entry = latest.get(log_key(out.plan_name, out.month, kind, out.lead))
            if entry is None:
                result.skipped.append((out.lead, f"not in the send log for this {kind}, so the "
                                                 "retry leaves it alone"))
                if progress:
                    progress(out.lead, "skipped")
                continue
            if entry.get("status") != "failed":
                when = entry.get("time", "")
                result.skipped.append((out.lead, f"its latest entry in the send log is "
                                                 f"{entry.get('status') or 'blank'}"
                                                 + (f" ({when})" if when else "")))
                if progress:
                    progress(out.lead, "skipped")
                continue
        if not (out.email or "").strip():
            result.skipped_no_email.append(out.lead)
            report(out, "skipped", "no email address in the directory")
            continue
        try:
            msg = render(out, sender_addr, parsed, reminder)
        except MailError as exc:
            result.failed.append((out.lead, str(exc)))
            report(out, "failed", str(exc))
            continue
        message_ids[out.lead] = str(msg["Message-ID"] or "")
        todo.append((out, msg))

    if dry_run:
        for out, _msg in todo:
            result.would_send.append(out.lead)
            if progress:
                progress(out.lead, "would send")
        return result
    if not todo:
        return result

    smtp: smtplib.SMTP | None = None
    down_reason: str | None = None

    def open_connection() -> None:
        nonlocal smtp, down_reason
        try:
            smtp = _connect(settings, password)
        except (MailError, OSError, smtplib.SMTPException) as exc:
            smtp, down_reason = None, _connect_reason(exc, settings)

    def drop_connection() -> None:
        nonlocal smtp
        if smtp is not None:
            try:
                smtp.close()
            except OSError:
                pass
        smtp = None

    open_connection()
    reconnects = 1
    try:
        for out, msg in todo:
            if smtp is None and down_reason is None:
                open_connection()
            if smtp is None:
                result.failed.append((out.lead, down_reason or "not connected"))
                report(out, "failed", down_reason or "not connected")
                continue
            reason = None
            try:
                refused = smtp.send_message(msg)
            except smtplib.SMTPRecipientsRefused as exc:
                reason = (_refused_reason(exc.recipients)
                          + " — check the address in the directory")
            except smtplib.SMTPSenderRefused as exc:
                reason = (f"the server refused the sender {exc.sender} ({exc.smtp_code} "
                          f"{_decode(exc.smtp_error)}) — check the sender address in the settings")
            except smtplib.SMTPDataError as exc:
                hint = (" — the attachment may be too large for the server"
                        if exc.smtp_code in (552, 523) else "")
                reason = f"the server did not accept the message ({exc.smtp_code} {_decode(exc.smtp_error)}){hint}"
            except smtplib.SMTPResponseException as exc:
                reason = f"the server answered {exc.smtp_code} {_decode(exc.smtp_error)}"
            except (smtplib.SMTPServerDisconnected, OSError) as exc:
                what = ("the server closed the connection"
                        if isinstance(exc, smtplib.SMTPServerDisconnected)
                        else f"the connection failed ({one_line(getattr(exc, 'strerror', None) or exc)})")
                reason = f"{what} while sending to {settings.host}:{settings.port}"
                drop_connection()
                if reconnects > 0:
                    reconnects -= 1  # the next lead reconnects once
                else:
                    down_reason = f"{reason} — it was not retried; try again later or use drafts"
            except smtplib.SMTPException as exc:
                reason = f"the message could not be sent: {one_line(exc)}"
            if reason is not None:
                result.failed.append((out.lead, reason))
                report(out, "failed", reason)
                continue
            note = ""
            if refused:
                note = _refused_reason(refused, "copy (cc) to") + "; the lead's own copy was sent"
                result.notes.append((out.lead, note))
            result.sent.append(out.lead)
            report(out, "sent", note)
    finally:
        if smtp is not None:
            try:
                smtp.quit()
            except (OSError, smtplib.SMTPException):
                drop_connection()
    return result
