"""Synthetic plans in the sample layouts, of any size, for benchmarks and large-plan tests.

    python -m bench.generate birmingham 5000 out.xlsx
"""
from __future__ import annotations

import random
import sys
from pathlib import Path

import openpyxl
from openpyxl.styles import Alignment, Font, PatternFill

HEADER_FILL = PatternFill("solid", fgColor="1F3864")
SECTION_FILL = PatternFill("solid", fgColor="D9E1F2")
WHITE = Font(color="FFFFFF", bold=True)
WRAP = Alignment(wrap_text=True, vertical="top")
LEADS = ["GT", "LH", "JoR", "AxB", "DM", "MW", "RB", "VK", "LJ", "LYH"]
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
TIMESCALES = ["Mar-24", "Jul-23", "First audit April 2023", "Quarterly 2023/24", "May 2023 to March 2024",
              "From July 2023", "Ongoing", "Dec 2023 Quarterly", "31/03/2024", "TBC"]
STATUSES = ["Green", "Amber", "Red", "Blue", "green", "G", None]
WORDS = ("review update develop implement audit strategy practice children families quality "
         "management oversight training policy partnership plan assessment permanence").split()


def _text(rng, n):
    return " ".join(rng.choice(WORDS) for _ in range(n)).capitalize()


def generate(layout: str, actions: int, path: Path, seed: int = 1) -> Path:
    rng = random.Random(seed)
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Improvement Plan"
    per_section = 12
    if layout == "birmingham":
        ws["B1"] = "RAG status Key:"
        for r, (t, c) in enumerate([("GREEN On Target for delivery", "00B050"), ("AMBER Delays / Issues but delivery on course", "FFC000"),
                                    ("RED Major Issues preventing delivery", "FF0000"), ("BLUE Complete", "0070C0")], 2):
            ws.cell(r, 2, t).fill = PatternFill("solid", fgColor=c)
        ws["B7"] = "Actions starred* are carried forward from the previous plan with amended timescales"
        headers = ["Ofsted Findings / Additional improvements", "Action", "Lead", "Time-scale", "Update", "Status"]
        first_col, row = 2, 9
    elif layout == "barking":
        ws["A1"] = "London Borough of Anytown"
        ws["A3"] = "LA ACTION PLAN"
        headers = ["Action", "Description", "Strategic Lead", "Operational Lead", "Timescale (By When)", "Performance/Outcome",
                   "Progress to date and evidence of improvement"]
        first_col, row = 1, 5
    elif layout == "city":
        ws["A1"] = "Improvements following from the OFSTED Report"
        headers = ["Recommendations:", "Ref:", "Action:", "Start:", "End date", "Measure/outcome:", "Lead officer:",
                   "DLT lead:", "Comments:", "RAG status:"]
        first_col, row = 1, 3
    else:
        raise SystemExit(f"unknown layout {layout!r}: birmingham, barking or city")
    width = len(headers)

    def header(r):
        for i, h in enumerate(headers):
            c = ws.cell(r, first_col + i, h)
            c.fill, c.font = HEADER_FILL, WHITE

    def section(r, title):
        ws.cell(r, first_col, title).fill = SECTION_FILL
        ws.merge_cells(start_row=r, start_column=first_col, end_row=r, end_column=first_col + width - 1)

    if layout != "barking":
        header(row)
        row += 1
    for n in range(actions):
        s, k = divmod(n, per_section)
        if k == 0:
            if layout == "barking":
                section(row, f"Area for Improvement ({s + 1}): {_text(rng, 8)}")
                header(row + 1)
                row += 2
            else:
                section(row, f"Theme {s + 1}: {_text(rng, 3)}")
                row += 1
                if layout == "city" and s:
                    header(row)
                    row += 1
        lead = " / ".join(rng.sample(LEADS, rng.randint(1, 3)))
        ts = rng.choice(TIMESCALES)
        update = f"Update mid-April 23: {_text(rng, 25)}" if rng.random() < 0.8 else None
        status = rng.choice(STATUSES)
        if layout == "birmingham":
            items = "\n".join(f"{i}. {_text(rng, 10)}" for i in range(1, rng.randint(2, 6)))
            values = [_text(rng, 20) if k == 0 else _text(rng, 12), items, lead, ts, update, status]
        elif layout == "barking":
            progress = rng.choice(["Completed. ", "On track. ", "In place. ", "Planned. ", ""]) + _text(rng, 20)
            values = [f"{s + 1}.{k + 1}", _text(rng, 15), rng.choice(["Ann Graham", "Meena Kishinani"]),
                      rng.choice(["Teresa De Vito", "Vikki Rix", "Joanne Tarbutt"]), ts, _text(rng, 10), progress]
        else:
            m1, m2 = sorted(rng.sample(range(12), 2))
            values = [_text(rng, 15) if k == 0 else None, f"{s + 1}.{k + 1}", _text(rng, 12), f"{MONTHS[m1]}-23",
                      f"{MONTHS[m2]}-24", _text(rng, 8), rng.choice(LEADS), "CP", update, status or "Green"]
        for i, v in enumerate(values):
            if v is not None:
                ws.cell(row, first_col + i, v).alignment = WRAP
        row += 1
    wb.save(path)
    return path


if __name__ == "__main__":
    layout, n, out = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])
    generate(layout, n, out)
    print(f"wrote {out}: {n} actions in the {layout} layout")
