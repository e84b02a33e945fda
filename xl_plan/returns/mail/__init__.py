"""Sending each lead their return workbook by email.

Two ways out, from the same plain data (:class:`Outgoing`, one per lead):

* :func:`write_drafts` writes one ``.eml`` file per lead, marked ``X-Unsent: 1`` so that
  Outlook opens it as a draft ready to send. Nothing leaves the machine.
* :func:`send_smtp` sends through an SMTP server, logs each lead to a CSV send log, and
  can retry only the leads whose latest log entry is ``failed``.


Both build messages with :func:`render_message` from a template the manager can edit
(see ``mail_template.txt`` beside this module for the format). Only the standard
library's ``email`` and ``smtplib`` are used.

One module per job: :mod:`.template` (the template's format; read and check it),
:mod:`.message` (one lead's email), :mod:`.drafts` (.eml files), :mod:`.sendlog` (the CSV send
log), :mod:`.smtp` (sending through a server); :mod:`.result` holds what a run did.
"""

from __future__ import annotations

from .drafts import draft_filename, write_drafts
from .errors import MailError
from .message import Outgoing, month_name, render_message
from .result import SendResult
from .sendlog import LOG_FIELDS, read_send_log
from .smtp import SmtpSettings, send_smtp
from .template import PLACEHOLDERS, check_template, default_template, load_template

__all__ = [
    "MailError",
    "Outgoing",
    "SmtpSettings",
    "SendResult",
    "PLACEHOLDERS",
    "LOG_FIELDS",
    "default_template",
    "load_template",
    "check_template",
    "render_message",
    "draft_filename",
    "write_drafts",
    "send_smtp",
    "read_send_log",
    "month_name",
]
