"""The macro-enabled workbook: the template with the "Action Plan" ribbon, and turning a
council's existing plan into a macro-enabled copy without changing its layout.

Kept light to import: the ribbon's Python side (xl_plan.excel.ribbon.dispatch) takes its button
tags from ``BUTTON_TAGS`` here, the one list shared with macros/customUI14.xml.

- :func:`build_template` (``python -m xl_plan.template build [OUT]``)
- :func:`new_plan`, :func:`attach`
"""

from __future__ import annotations

# The ribbon buttons' tags, in ribbon order: the contract between customUI14.xml and
# xl_plan.excel.ribbon.dispatch(tag), which runs the entry point of the same name.
BUTTON_TAGS: tuple[str, ...] = (
    "validate",      # Validate RAG
    "carried",       # Flag carried forward (asks for the previous plan file)
    "gantt",         # Build Gantt
    "consolidate",   # Monthly consolidation
    "report",        # Board report (PDF + page pictures in a 'reports' folder beside the plan)
    "returns_make",  # Make lead returns
    "returns_send",  # Email returns (drafts by default)
    "merge",         # Merge returns (asks for files or a folder)
    "open_log",      # Open log
    "help",          # Help
)

XLWINGS_VERSION = "0.37.8"


from ..errors import XlPlanError  # noqa: E402


class TemplateError(XlPlanError):
    """The template could not be built or attached; the message says why, in plain
    English, and what to do."""


def __getattr__(name: str):
    if name in ("build_template", "new_plan"):
        from . import build as _build
        return getattr(_build, name)
    if name == "attach":
        from . import attach as _attach
        return _attach.attach
    raise AttributeError(name)


__all__ = ["BUTTON_TAGS", "XLWINGS_VERSION", "TemplateError", "build_template", "new_plan", "attach"]
