"""Reference findings: duplicate refs within a section, actions with a ref but no text."""
from __future__ import annotations

from collections import defaultdict

from ..model import Plan
from ..report import Finding
from ..stars import strip_stars


def check_refs(plan: Plan) -> list[Finding]:
    out: list[Finding] = []
    ref_col = plan.column("ref")
    action_col = plan.column("action")
    groups: dict[tuple[str | None, str], list] = defaultdict(list)
    for a in plan.actions:
        if a.ref:
            groups[(a.section, strip_stars(a.ref).strip())].append(a)
        if a.ref and (not a.text or a.text.isspace()) and action_col:     # (not a.text.strip(), without a copy)
            out.append(Finding(
                "action-without-text",
                f"Action {a.ref} has a ref but no action text. Write the action, or delete the row if it is not needed.",
                a.sheet, a.row, action_col.letter,
            ))
    for (section, ref), actions in groups.items():
        if len(actions) > 1:
            rows = ", ".join(str(a.row) for a in actions)
            where = f" in section '{section[:60]}'" if section else ""
            for a in actions:
                out.append(Finding(
                    "duplicate-ref",
                    f"Ref {ref} is used by {len(actions)} actions{where} (rows {rows}). Give each action its own ref "
                    "so that updates and returns cannot be mixed up.",
                    a.sheet, a.row, ref_col.letter if ref_col else None, ref,
                ))
    return out
