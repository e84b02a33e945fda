"""Settings remembered for a workbook: column overrides for plans whose headers mislead.

They live in a hidden sheet `xl_plan` inside the workbook (rows `columns.lead | Progress`),
or in a file `<workbook>.xl_plan.json` beside it, which `--remember` writes."""
from __future__ import annotations

import json
import re
from pathlib import Path

from .errors import XlPlanError
from .io.files import write_atomic
from .text import clean

SETTINGS_SHEET = "xl_plan"


def sidecar_path(workbook_path) -> Path:
    p = Path(workbook_path)
    return p.with_name(p.name + ".xl_plan.json")


def read_sidecar(workbook_path) -> dict:
    path = sidecar_path(workbook_path)
    if not path.exists():
        return {}
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise XlPlanError(f"The settings file {path.name} cannot be read ({exc}). Fix or delete it.") from exc


def settings_sheet_values(wb) -> dict[str, str]:
    """Setting -> value from the workbook's hidden `xl_plan` sheet (two columns)."""
    if wb is None or SETTINGS_SHEET not in wb.sheetnames:
        return {}
    out = {}
    for row in wb[SETTINGS_SHEET].iter_rows(min_row=1, max_col=2, values_only=True):
        name, value = clean(row[0]), clean(row[1]) if len(row) > 1 else ""
        if name and value:
            out[name] = value
    return out


# The template's settings sheet names rows `column_<field>`; `columns.<field>` works too.
_FIELD_ALIASES = {"finding": "recommendation"}


def remembered_columns(workbook_path, wb=None) -> dict[str, str]:
    cols = {}
    for name, value in settings_sheet_values(wb).items():
        m = re.match(r"^columns?[._](\w+)$", name.strip(), re.I)
        if m:
            field = m.group(1).lower()
            cols[_FIELD_ALIASES.get(field, field)] = value
    cols.update(read_sidecar(workbook_path).get("columns", {}))
    return cols


def remember_columns(workbook_path, columns: dict[str, str]) -> Path:
    data = read_sidecar(workbook_path)
    data.setdefault("columns", {}).update(columns)
    path = sidecar_path(workbook_path)
    write_atomic(path, json.dumps(data, indent=2).encode("utf-8"))
    return path


def parse_columns_option(text: str | None) -> dict[str, str]:
    """'lead="Progress",update="Key points to note"' -> {'lead': 'Progress', 'update': 'Key points to note'}."""
    import csv

    if not text:
        return {}
    out = {}
    for item in next(csv.reader([text], skipinitialspace=True)):
        if not item.strip():
            continue
        if "=" not in item:
            raise XlPlanError(
                f"--columns: {item!r} should look like field=\"Header text\", e.g. lead=\"Progress\"."
            )
        field, value = item.split("=", 1)
        out[field.strip().lower()] = value.strip().strip('"').strip("'")
    return out
