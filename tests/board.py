"""A master with two months of consolidated returns behind it (History for October and November 2026),
statuses on every action and a Leads sheet naming some of the leads: what the Summary and the board
report are drawn from."""
from __future__ import annotations

import shutil
from datetime import date, datetime
from pathlib import Path

import openpyxl

from xl_plan import read_plan
from xl_plan.jobs import consolidate, leads_file, make_returns_file
from xl_plan.returns.identity import read_identity

WORDS = ["Green", "Amber", "Green", "Red", "Blue", "Amber"]


def _fill(path: Path, dst: Path, status_of) -> None:
    wb = openpyxl.load_workbook(path)
    ident = read_identity(wb)
    ws = wb[ident.return_sheet]
    for i, row in enumerate(ident.rows):
        word = status_of(i, row)
        if word:
            ws[f"{ident.update_column}{row.return_row}"] = f"Progress this month on {row.ref or 'the action'}."
            ws[f"{ident.status_column}{row.return_row}"] = word
    wb.save(dst)


def board_master(src: Path, tmp: Path) -> Path:
    """Two months of returns consolidated into a copy of the sample plan at `src`."""
    master = tmp / src.name
    shutil.copyfile(src, master)
    wb = openpyxl.load_workbook(master)
    plan = read_plan(master)
    ws = wb[plan.sheet]
    col = plan.column("status").letter
    for i, a in enumerate(plan.actions):
        ws[f"{col}{a.row}"] = WORDS[i % len(WORDS)].upper()
    wb.save(master)
    leads_file(master, write=True)
    wb = openpyxl.load_workbook(master)
    leads = wb["Leads"]
    for r in range(2, leads.max_row + 1, 2):           # every other lead named, with an address
        lead = leads.cell(r, 1).value
        leads.cell(r, 2, f"{lead} Surname")
        leads.cell(r, 3, f"{''.join(ch for ch in lead if ch.isalnum()).lower()}@council.gov.uk")
    wb.save(master)
    for month, turn, day in (("2026-10", 0, 20), ("2026-11", 1, 20)):
        sent = tmp / f"sent-{month}"
        made = make_returns_file(master, month, sent, now=datetime(2026, int(month[-2:]), 1, 9, 0))
        inbox = tmp / f"inbox-{month}"
        inbox.mkdir()
        for j, f in enumerate(made.returns):
            if j % 3 == 2:                                 # a third of the leads do not send theirs back
                continue
            _fill(f.path, inbox / f.path.name,
                  lambda i, row, j=j, turn=turn: WORDS[(i + j + turn + 1) % len(WORDS)] if (i + turn) % 2 == 0 else None)
        consolidate(master, inbox, month=month, today=date(2026, int(month[-2:]), day),
                    now=datetime(2026, int(month[-2:]), day, 10, 0))
    return master
