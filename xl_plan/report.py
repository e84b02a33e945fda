"""Findings as values (after frictionless-py): every check returns findings with a
stable kebab-case code, a severity and the user's own position (sheet, row, column
letter). A Report is data: it prints itself, becomes JSON or becomes sheet rows."""
from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any, Iterable

from .finding_codes import ERROR, INFO, SEVERITIES, WARNING, finding_type

SEVERITY_ORDER = {s: i for i, s in enumerate(SEVERITIES)}
__all__ = ["ERROR", "WARNING", "INFO", "SEVERITY_ORDER", "Finding", "Report"]


@dataclass(frozen=True)
class Finding:
    """One finding. Its severity comes from the catalogue (xl_plan/finding_codes.py), never from
    the call site; `softer` picks the catalogue's softer severity for the one case it names."""

    code: str
    message: str
    sheet: str | None = None
    row: int | None = None
    column: str | None = None
    value: Any = None
    softer: bool = False

    def __post_init__(self):
        t = finding_type(self.code)          # an unknown code is a bug: fail where it is made
        if self.softer and t.softer is None:
            raise ValueError(f"{self.code} has no softer severity in the catalogue")
        # asked for often (a report of thousands is sorted, written and noted): worked out once
        object.__setattr__(self, "_severity", t.softer if self.softer else t.severity)
        object.__setattr__(self, "_cell", f"{self.column}{self.row}" if self.column and self.row else None)

    @property
    def severity(self) -> str:
        return self._severity

    @property
    def cell(self) -> str | None:
        return self._cell

    def to_dict(self) -> dict:
        data = asdict(self)
        del data["softer"]
        data["severity"] = self.severity
        if data["value"] is not None and not isinstance(data["value"], (str, int, float, bool)):
            data["value"] = str(data["value"])
        return data


@dataclass
class Report:
    findings: list[Finding] = field(default_factory=list)
    counts_by_status: dict[str, int] = field(default_factory=dict)
    title: str = "Validation"

    def add(self, finding: Finding) -> None:
        self.findings.append(finding)

    def extend(self, findings: Iterable[Finding]) -> None:
        self.findings.extend(findings)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == ERROR]

    @property
    def valid(self) -> bool:
        return not self.errors

    @property
    def needs_you(self) -> bool:
        """Something for a person to look at or decide: any warning or error (the CLI's exit code 1)."""
        return any(f.severity in (ERROR, WARNING) for f in self.findings)

    def sorted(self) -> list[Finding]:
        return sorted(
            self.findings,
            key=lambda f: (f.sheet or "", f.row or 0, SEVERITY_ORDER.get(f.severity, 9), f.code),
        )

    def counts_by_code(self) -> dict[str, int]:
        return dict(sorted(Counter(f.code for f in self.findings).items()))

    def to_dict(self) -> dict:
        return {
            "findings": [f.to_dict() for f in self.sorted()],
            "counts": {"by_status": dict(self.counts_by_status), "by_code": self.counts_by_code()},
        }

    def rows(self, findings: list[Finding] | None = None) -> list[list[Any]]:
        """Rows for a sheet or a table: header first. `findings`: `sorted()`, when the caller has it."""
        out: list[list[Any]] = [["Severity", "Code", "Sheet", "Cell", "Value", "What to do"]]
        for f in self.sorted() if findings is None else findings:
            value = "" if f.value is None else str(f.value)
            out.append([f.severity, f.code, f.sheet or "", f.cell or (f"row {f.row}" if f.row else ""), value[:200], f.message])
        return out

    def summary_line(self) -> str:
        sev = Counter(f.severity for f in self.findings)
        return f"{sev[ERROR]} errors, {sev[WARNING]} warnings, {sev[INFO]} notes"
