"""Status findings: every action's RAG status checked against the plan's own key."""
from __future__ import annotations

from ..model import BLUE, RED, Action, Plan
from ..report import Finding
from .formulas import check_formulas, unsaved_formula_cells


def key_choices(plan: Plan) -> str:
    return ", ".join(f"{e.name.capitalize()} ({e.description})" if e.description else e.name.capitalize() for e in plan.rag_key.entries)


def _where(a: Action) -> str:
    label = f"action {a.ref}" if a.ref else f"the action in row {a.row}"
    text = a.short_text(50)
    return f"{label} ('{text}')" if text else label


def check_statuses(plan: Plan) -> list[Finding]:
    out: list[Finding] = []
    status_col = plan.column("status")
    update_col = plan.column("update")
    col = status_col.letter if status_col else (update_col.letter if update_col else None)
    out.extend(check_formulas(plan))        # once for the plan; the cells it names are not reported again
    unsaved = unsaved_formula_cells(plan)
    if plan.rag_key.source == "default":
        out.append(Finding(
            "no-rag-key",
            "No RAG key was found above the table, so Red / Amber / Green, with Blue for complete, is assumed. "
            "Add a key above the table (e.g. 'GREEN On Target for delivery') if the plan means something else.",
            plan.sheet, plan.header_row, None,
        ))
    for a in plan.actions:
        s = a.status
        if s is None:
            if status_col and (a.row, status_col.index) in unsaved:
                continue
            if status_col:
                out.append(Finding(
                    "missing-status",
                    f"No RAG status for {_where(a)}. Choose one of: {key_choices(plan)}.",
                    a.sheet, a.row, col,
                ))
            else:
                out.append(Finding(
                    "missing-status",
                    f"The plan has no status column and the progress text of {_where(a)} does not start with a "
                    "status such as 'Completed.' or 'On track.'. Start the update with its status, or add a Status column.",
                    a.sheet, a.row, col, (a.update or "")[:60] or None, softer=True,
                ))
            continue
        if s.derived:
            out.append(Finding(
                "status-from-progress-text",
                f"Status of {_where(a)} taken from its progress text ('{s.raw}'), as the plan has no status column: "
                f"read as {s.code.capitalize()}.",
                a.sheet, a.row, col, s.raw,
            ))
        if not s.in_key:
            what = f"colour {s.raw}" if s.source == "fill" else f"'{s.raw}'"
            out.append(Finding(
                "status-not-in-key",
                f"The status {what} of {_where(a)} is not in the plan's RAG key. Change it to one of: {key_choices(plan)}.",
                a.sheet, a.row, col, s.raw,
            ))
        if s.source == "text" and a.status_fill and s.in_key:
            from ..rag import status_from_fill

            by_fill = status_from_fill(a.status_fill, plan.rag_key)
            if by_fill.in_key and by_fill.code != s.code:
                out.append(Finding(
                    "text-colour-mismatch",
                    f"The status of {_where(a)} says '{s.raw}' but the cell is coloured {by_fill.code} "
                    f"(#{a.status_fill}). Make the word and the colour agree.",
                    a.sheet, a.row, col, s.raw,
                ))
        has_update = bool((a.update or "").strip())
        upd_col = update_col.letter if update_col else col
        if (s.complete or s.code == BLUE) and not has_update:
            out.append(Finding(
                "complete-without-update",
                f"{_where(a).capitalize()} is marked complete but has no update. Add the evidence of completion to the update.",
                a.sheet, a.row, upd_col,
            ))
        if s.code == RED and not has_update:
            out.append(Finding(
                "red-without-update",
                f"{_where(a).capitalize()} is Red but has no update saying what is being done about it. Add an update.",
                a.sheet, a.row, upd_col,
            ))
    return out
