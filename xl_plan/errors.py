"""Errors for input xl_plan cannot use. Each carries a plain-English message that
says what is wrong, where, and what to do; the CLI prints it and exits with code 2."""


class XlPlanError(Exception):
    """Base class: the message is meant for the user, not a programmer."""

    exit_code = 2


class WorkbookReadError(XlPlanError):
    """The file is missing, not Excel, corrupt, encrypted or an old .xls."""


class WorkbookLockedError(XlPlanError):
    """The workbook is open in Excel (a lock file sits beside it) or changed on disk."""


class LayoutError(XlPlanError):
    """No action table could be found, or a column override names no column."""


class WriteError(XlPlanError):
    """Saving would lose part of the workbook, or the save itself failed."""
