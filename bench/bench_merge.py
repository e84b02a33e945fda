"""The monthly consolidation as a ratio to its I/O floor, measured in the same run.

    python -m bench.bench_merge [--cases 300:30,5000:300] [--repeat 3]

For each case (actions:returns) a master is generated in the city layout (bench/generate.py) with
that many leads, one return per lead is made with `make_returns` and filled in as a lead would
(an update on every action, a changed status on every other one). Then, on a fresh copy of the
master each time:

* floor: openpyxl.load_workbook of every return + one load and one save of the master;
* consolidate: `xl_plan.consolidate(master, returns_dir)` (merge, History, Summary with its
  chart, Validation, backup and atomic save).

The two run in turn, one untimed round then `--repeat` timed ones (bench/common.py `interleaved_times`):
the ratio is the median over the rounds of consolidate's time over the floor's in the same round.

Target: within 1.5x of the floor, the cost growing no faster than the number of returns.
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import warnings
from datetime import date, datetime
from pathlib import Path

import openpyxl

from bench.common import fresh_copy, interleaved_times, round_ratio, table
from bench.generate import generate
from xl_plan import consolidate, read_plan
from xl_plan.returns.identity import read_identity
from xl_plan.returns.make import make_returns

MONTH = "2026-11"


def prepare(actions: int, returns: int, folder: Path) -> tuple[Path, Path]:
    master = generate("city", actions, folder / "master.xlsx")
    plan = read_plan(master)
    wb = openpyxl.load_workbook(master)
    ws = wb[plan.sheet]
    first, *others = plan.columns["lead"]           # Lead officer (+ DLT lead): one lead per action
    for n, a in enumerate(plan.actions):
        ws.cell(a.row, first.index, f"L{n % returns + 1:03d}")
        for col in others:
            ws.cell(a.row, col.index).value = None
    wb.save(master)
    made = make_returns(master, MONTH, folder / "sent", now=datetime(2026, 11, 2, 9, 0))
    assert len(made.returns) == returns, len(made.returns)
    back = folder / "back"
    back.mkdir()
    for f in made.returns:
        wb = openpyxl.load_workbook(f.path)
        ident = read_identity(wb)
        rws = wb[ident.return_sheet]
        for i, row in enumerate(ident.rows):
            rws[f"{ident.update_column}{row.return_row}"] = f"Progress this month on action {row.ref}: {i} audits done."
            if i % 2:
                rws[f"{ident.status_column}{row.return_row}"] = "Amber" if row.status_as_sent != "Amber" else "Red"
        wb.save(back / f.path.name)
    return master, back


def time_consolidate(actions: int, returns: int, repeat: int, read_returns) -> tuple[float, float, float, object]:
    """(floor seconds, consolidate seconds, their ratio, its result) for a generated master and its filled
    returns, in one run (bench/common.py `interleaved_times`: medians, and the median ratio of a round).
    The floor: `read_returns(files)` + one openpyxl load and save of the master."""
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            master, back = prepare(actions, returns, tmp)
        files = sorted(back.iterdir())
        work = tmp / "work"
        work.mkdir()

        def fresh() -> Path:
            return fresh_copy(master, work / "master.xlsx")

        def floor():
            read_returns(files)
            wb = openpyxl.load_workbook(fresh())
            wb.save(work / "floor-out.xlsx")

        result = {}

        def ours():
            result["c"] = consolidate(fresh(), back, today=date(2026, 11, 20))

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            times = interleaved_times({"floor": floor, "consolidate": ours}, repeat)
        m = result["c"].merge
        assert len(m.returned) == returns and not m.report.errors, m.report.counts_by_code()
        return (statistics.median(times["floor"]), statistics.median(times["consolidate"]),
                round_ratio(times, "consolidate", "floor"), m)


def _openpyxl_read(files) -> None:
    for f in files:
        openpyxl.load_workbook(f)


def run(cases, repeat):
    rows = []
    for actions, returns in cases:
        base, mine, ratio, m = time_consolidate(actions, returns, repeat, _openpyxl_read)
        rows.append([f"{actions:,}", returns, len(m.changes), f"{base:.2f}", f"{mine:.2f}",
                     f"{ratio:.2f}x", f"{1000 * mine / returns:.0f}"])
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cases", default="300:30,5000:300", help="actions:returns,...")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    cases = [tuple(int(x) for x in c.split(":")) for c in args.cases.split(",")]
    rows = run(cases, args.repeat)
    print(table(rows, ["actions", "returns", "cells changed", "floor s", "consolidate s", "ratio", "ms per return"]))


if __name__ == "__main__":
    main()
