"""Plans built in code, in layouts the sample plans do not cover."""
from __future__ import annotations

from pathlib import Path

import openpyxl
from openpyxl.styles import PatternFill
from openpyxl.styles.colors import Color


def solid(rgb: str | None = None, theme: int | None = None, tint: float = 0.0) -> PatternFill:
    if theme is not None:
        return PatternFill("solid", fgColor=Color(theme=theme, tint=tint))
    return PatternFill("solid", fgColor=rgb)


def colour_key_plan(path: Path) -> Path:
    """Table from C12 under title rows and a colour-swatch key with no words in the swatches;
    statuses only as fills (one a near-miss shade, one a theme colour); a continuation row;
    single-cell section rows; HTML-ish tags and non-breaking spaces."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Plan 2024"
    ws["A1"] = "Anytown Council - Children's Services Improvement Plan"
    ws["A2"] = "Updated monthly"
    ws["B4"].fill = solid("0070C0")
    ws["C4"] = "Action completed"
    ws["B5"].fill = solid("00B050")
    ws["C5"] = "On track to be completed within timescale"
    ws["B6"].fill = solid("FFC000")
    ws["C6"] = "In progress, however, too early to demonstrate impact"
    ws["B7"].fill = solid("FF0000")
    ws["C7"] = "Not on track as required and / or 'at risk' in some way"
    ws["C9"] = "Actions starred* are carried forward from the previous plan with amended timescales"
    headers = ["ID", "Area for Improvement", "Action:", "Lead officer", "Timescale", "Key points to note", "RAG"]
    for i, h in enumerate(headers):
        ws.cell(12, 3 + i, h)
    rows = [
        (13, ["Area for Improvement (1): Strategy discussions"]),
        (14, ["1.1", "Timely strategy discussions", "Audit strategy&nbsp;discussions<br>monthly", "GT", "Mar-24", "Audits started.", None]),
        (15, ["1.2", None, "1. Train managers\n2. Update guidance", "LH / JoR", "Jun-24", "Training booked", None]),
        (16, [None, None, None, None, None, "continued: second half of the update split by a page break", None]),
        (17, ["Area for Improvement (2): Permanence"]),
        (18, ["2.1", "Early permanence", "Review panel\u00a0 process  ", "MW\nRB", "April 2023", "", None]),
        (19, ["2.2", None, "• Track children\n• Report quarterly", "AxB", "Quarterly 2023/24", "Report sent", None]),
        (20, ["2.3", None, "Recruit IROs", "DM", "Dec-23", "", None]),
    ]
    for r, values in rows:
        for i, v in enumerate(values):
            if v is not None:
                ws.cell(r, 3 + i, v)
    ws["I14"].fill = solid("00B050")            # green
    ws["I15"].fill = solid("FFC20A")            # a near-miss amber
    ws["I18"].fill = solid(theme=4, tint=0.0)   # theme accent1: blue in the default theme
    ws["I19"].fill = solid("0070C0")            # blue = complete
    ws["I20"].fill = solid("FF0000")            # red without update
    wb.save(path)
    return path


def misleading_plan(path: Path) -> Path:
    """A plan whose 'Progress' column holds the leads and 'Key points to note' the updates."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Actions"
    for i, h in enumerate(["Ref", "Action", "Progress", "Timescale", "Key points to note", "Status"], 1):
        ws.cell(1, i, h)
    ws.append(["1", "Do the thing", "GT", "Mar-24", "Going well", "Green"])
    ws.append(["2", "Do the other thing", "LH / JoR", "Jun-24", "Started", "Amber"])
    wb.save(path)
    return path
