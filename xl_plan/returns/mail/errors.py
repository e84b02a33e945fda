"""The error of the mail package: a problem the user must fix."""

from __future__ import annotations

from ...errors import XlPlanError


class MailError(XlPlanError):
    """A problem the user must fix (template, settings, address, attachment).

    The message is plain English and says what to do.
    """

    exit_code = 2
