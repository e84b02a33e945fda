"""The one catalogue of finding codes (after frictionless-py's error catalogue): every finding
xl_plan reports has a code listed here, and takes its severity from here. The README's code
tables list exactly these entries (tests/test_finding_codes.py checks it)."""
from __future__ import annotations

from dataclasses import dataclass

ERROR = "error"
WARNING = "warning"
INFO = "info"
SEVERITIES = (ERROR, WARNING, INFO)


@dataclass(frozen=True)
class FindingType:
    code: str
    severity: str
    family: str                 # which check reports it: validate, carried, leads, merge
    meaning: str                # one line, as the README's table says it
    softer: str | None = None   # the severity in the one named case where it matters less (see `meaning`)


_TYPES = (
    # validate: statuses against the plan's own RAG key, timescales, refs
    FindingType("missing-status", ERROR, "validate", "no status, neither text nor colour", softer=WARNING),
    FindingType("status-not-in-key", ERROR, "validate", "a word or colour the key does not define"),
    FindingType("text-colour-mismatch", ERROR, "validate", "the cell says one status and is coloured another"),
    FindingType("red-without-update", ERROR, "validate", "Red with no update saying what is being done"),
    FindingType("complete-without-update", WARNING, "validate", "complete (Blue) with no evidence in the update"),
    FindingType("overdue-on-track", WARNING, "validate", "past its timescale but still Green or Amber"),
    FindingType("missing-timescale", WARNING, "validate", "no timescale at all"),
    FindingType("duplicate-ref", WARNING, "validate", "the same ref twice within a section"),
    FindingType("action-without-text", WARNING, "validate", "a ref with no action text"),
    FindingType("status-from-progress-text", INFO, "validate",
                'status read from the update ("Completed.", "On track.") because the plan has no status column'),
    FindingType("formula-without-value", ERROR, "validate",
                "formulas in the plan's columns (status, timescale, lead...) have no saved result (the file was "
                "written by a program that does not calculate)"),
    FindingType("no-rag-key", INFO, "validate", "no key above the table: Red/Amber/Green, Blue = complete, assumed"),
    # carried: starred actions against the previous plan
    FindingType("dropped", ERROR, "carried", "in the previous plan, not complete there, and missing from the new plan"),
    FindingType("carried-not-starred", WARNING, "carried",
                "in the previous plan and not complete there, but not starred now"),
    FindingType("starred-not-found", WARNING, "carried", "starred, but nothing like it is in the previous plan"),
    FindingType("timescale-not-amended", WARNING, "carried",
                "starred, but its timescale (text or end date) is the same as before"),
    FindingType("slippage", WARNING, "carried",
                "the end date moved later: old and new timescale and the months between"),
    FindingType("weak-match", WARNING, "carried",
                "the closest previous action scores below the threshold: named, not matched"),
    FindingType("new-action", INFO, "carried", "not in the previous plan"),
    FindingType("star-note-without-stars", INFO, "carried",
                'the plan has the "starred* are carried forward" note but no starred action'),
    FindingType("stars-without-note", INFO, "carried", "starred actions but no note saying what the star means"),
    # leads: the master's Leads sheet
    FindingType("leads-no-header", ERROR, "leads", "the Leads sheet has no 'As written in plan' header, so it cannot be read"),
    FindingType("leads-bad-email", ERROR, "leads", "a lead's email address is not a valid address"),
    FindingType("leads-bad-cc", ERROR, "leads",
                "a deputy / cc is neither an address nor a lead of the sheet with an address"),
    FindingType("leads-duplicate", WARNING, "leads", "the same lead listed twice: the first row is used"),
    # merge: returns merged into the master
    FindingType("unreadable-return", ERROR, "merge",
                "not Excel, damaged, an old .xls, too big unpacked, hostile XML (entity bombs are refused: defusedxml), "
                "or not a return made by xl_plan; the others still merge"),
    FindingType("wrong-plan", ERROR, "merge", "a return for another plan (its plan id is not the master's)"),
    FindingType("wrong-lead", ERROR, "merge",
                "the master's `Returns log` has no record of sending that return to that lead, or the lead no longer "
                "leads that action"),
    FindingType("unknown-action", ERROR, "merge", "an action key the master no longer has"),
    FindingType("row-deleted", ERROR, "merge", "the lead deleted an action's row"),
    FindingType("conflict", ERROR, "merge",
                "two leads of one action returned different updates or statuses: the master keeps its value until "
                "you decide"),
    FindingType("stale-return", WARNING, "merge", "a return for an older month than the one merged"),
    FindingType("wrong-month", WARNING, "merge", "a return for a later month than the one merged"),
    FindingType("duplicate-return", WARNING, "merge",
                "the same lead sent two returns: the later one wins (later = later file modification time; for an "
                "attachment, the email's date), the earlier is reported"),
    FindingType("proposed-change", WARNING, "merge",
                "the lead changed a column that is not theirs (action text, ref, timescale, lead, last month's "
                "update, ...): proposed to you, not applied"),
    FindingType("row-added", WARNING, "merge", "the lead added a row"),
    FindingType("empty-return", INFO, "merge", "nothing filled in"),
    FindingType("no-update-column", INFO, "merge", "the master has no update column: the update is kept in History only"),
    FindingType("no-status-column", INFO, "merge", "the master has no status column: the status is kept in History only"),
    FindingType("no-returns-log", INFO, "merge",
                "the master has no Returns log to check the sender against: merged on the return's identity"),
)

CATALOGUE: dict[str, FindingType] = {t.code: t for t in _TYPES}
assert len(CATALOGUE) == len(_TYPES), "a finding code is listed twice"


def finding_type(code: str) -> FindingType:
    try:
        return CATALOGUE[code]
    except KeyError:
        raise ValueError(f"{code!r} is not in xl_plan's catalogue of finding codes (xl_plan/finding_codes.py)") from None
