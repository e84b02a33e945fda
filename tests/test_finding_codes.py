"""The one catalogue of finding codes: every finding takes its severity from it, and the README's
code tables list exactly its entries, with the same severity and meaning."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from xl_plan.finding_codes import CATALOGUE, SEVERITIES
from xl_plan.report import Finding

ROOT = Path(__file__).resolve().parents[1]
ROW = re.compile(r"^\| `([a-z0-9-]+)` \| ([^|]+) \| (.+) \|$")


def readme_rows() -> list[tuple[str, str, str]]:
    return [m.groups() for m in map(ROW.match, (ROOT / "README.md").read_text().splitlines()) if m]


def test_the_readme_tables_list_exactly_the_catalogue():
    rows = readme_rows()
    assert {code for code, _, _ in rows} == set(CATALOGUE)
    for code, severity, meaning in rows:
        t = CATALOGUE[code]
        expected = f"{t.severity} (warning when the plan has no status column)" if t.softer else t.severity
        assert severity.strip() == expected, code
        assert meaning.strip().startswith(t.meaning), code


def test_every_entry_is_complete():
    for code, t in CATALOGUE.items():
        assert re.fullmatch(r"[a-z]+(-[a-z0-9]+)*", code)
        assert t.severity in SEVERITIES and (t.softer is None or t.softer in SEVERITIES)
        assert t.family in {"validate", "carried", "leads", "merge"} and t.meaning


def test_every_code_the_package_reports_is_in_the_catalogue():
    """Findings are made with a literal code (Finding("code", ...) or the merge's _finding("code", ...));
    each of those codes is catalogued, and no call site sets a severity of its own."""
    used = set()
    for path in (ROOT / "xl_plan").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            func = node.func if isinstance(node, ast.Call) else None
            if func is not None and (getattr(func, "id", "") in ("Finding", "_finding") or (
                    getattr(func, "attr", "") == "find" and getattr(func.value, "id", "") == "self")):
                first = node.args[0] if node.args else None
                if isinstance(first, ast.Constant) and isinstance(first.value, str):
                    used.add(first.value)
                    assert not any(isinstance(a, ast.Name) and a.id in ("ERROR", "WARNING", "INFO")
                                   for a in node.args), f"{path.name}: {first.value} sets its own severity"
    assert used and used <= set(CATALOGUE), used - set(CATALOGUE)


def test_a_finding_takes_its_severity_from_the_catalogue():
    assert Finding("dropped", "x").severity == "error"
    assert Finding("missing-status", "x").severity == "error"
    assert Finding("missing-status", "x", softer=True).severity == "warning"
    assert Finding("new-action", "x").to_dict()["severity"] == "info"
    with pytest.raises(ValueError, match="not in xl_plan's catalogue"):
        Finding("no-such-code", "x")
    with pytest.raises(ValueError, match="no softer severity"):
        Finding("dropped", "x", softer=True)
