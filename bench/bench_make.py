"""`returns make` as a ratio to its floor, measured in the same run.

    python -m bench.bench_make [--cases 2000:100] [--repeat 3]

For each case (actions:leads) a master is generated in the city layout (bench/generate.py), its
actions shared out among that many leads (one lead each) and given their keys by a first run. Then,
on a fresh copy of that master each time:

* floor: one openpyxl.load_workbook of the master, plus per lead one new openpyxl workbook holding
  the values of that lead's rows (every column of the table), saved;
* make: `make_returns(master, month, out)` (every return in the plan's layout with its identity,
  the Returns log written, backup and atomic save of the master).

Target: within 1.5x of the floor.
"""
from __future__ import annotations

import argparse
import shutil
import tempfile
import warnings
from datetime import datetime
from pathlib import Path

import openpyxl

from bench.common import median_time, table
from bench.generate import generate
from xl_plan import read_plan
from xl_plan.returns.make import leads_of, make_returns

MONTH = "2026-11"
NOW = datetime(2026, 11, 2, 9, 0)


def prepare(actions: int, leads: int, folder: Path) -> Path:
    master = generate("city", actions, folder / "master.xlsx")
    plan = read_plan(master)
    wb = openpyxl.load_workbook(master)
    ws = wb[plan.sheet]
    first, *others = plan.columns["lead"]
    for n, a in enumerate(plan.actions):
        ws.cell(a.row, first.index, f"L{n % leads + 1:03d}")
        for col in others:
            ws.cell(a.row, col.index).value = None
    wb.save(master)
    make_returns(master, MONTH, folder / "first", now=NOW)         # keys given once, as in a real month
    shutil.rmtree(folder / "first")
    return master


def floor(master: Path, rows_by_lead: dict[str, list[int]], out: Path, sheet: str, width: int) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        wb = openpyxl.load_workbook(master)
        ws = wb[sheet]
        out.mkdir(exist_ok=True)
        for lead, rows in rows_by_lead.items():
            rwb = openpyxl.Workbook()
            rws = rwb.active
            for r, row in enumerate(rows, 1):
                for c in range(1, width + 1):
                    rws.cell(r, c, ws.cell(row, c).value)
            rwb.save(out / f"{lead}.xlsx")


def run_case(actions: int, leads: int, repeat: int) -> list:
    with tempfile.TemporaryDirectory(prefix="xl_plan-bench-make-") as tmp:
        tmp = Path(tmp)
        master = prepare(actions, leads, tmp)
        plan = read_plan(master)
        rows_by_lead = {lead: [r for a in acts for r in a.rows] for lead, acts in leads_of(plan).items()}
        n = [0]

        def fresh() -> Path:
            n[0] += 1
            copy = tmp / f"run{n[0]}" / "master.xlsx"
            copy.parent.mkdir()
            shutil.copyfile(master, copy)
            return copy

        def do_floor():
            floor(master, rows_by_lead, tmp / f"floor{n[0]}", plan.sheet, plan.last_column)
            n[0] += 1

        base = median_time(do_floor, repeat)
        copies = [fresh() for _ in range(repeat)]
        it = iter(copies)

        def do_make():
            m = next(it)
            make_returns(m, MONTH, m.parent / "out", now=NOW)

        made = median_time(do_make, repeat)
    return [f"{actions:,}", leads, f"{base:.3f} s", f"{made:.3f} s", f"{made / base:.2f}x"]


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", default="2000:100", help="actions:leads,... (default 2000:100)")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    rows = []
    for case in args.cases.split(","):
        actions, leads = (int(x) for x in case.split(":"))
        rows.append(run_case(actions, leads, args.repeat))
    print(table(rows, ["actions", "leads", "floor", "returns make", "ratio"]))


if __name__ == "__main__":
    main()
