"""The writing jobs as ratios to bare openpyxl, measured in the same run (issue #12).

    python -m bench.bench_write [--actions 5000] [--consolidate 2000:100] [--repeat 3] [--layouts ...]

Every case runs its functions in turn, one untimed round then `--repeat` timed rounds (bench/common.py
`interleaved_times`); a ratio is the median over the rounds of the job's time over the baseline's time
in the same round, the seconds shown are medians.

Write jobs: on a generated plan (bench/generate.py, each of the three layouts), on a fresh copy each
time, `validate_file(write=True)` and `gantt_file` end to end (read, detect, write, graft, check,
backup, rename) against a bare `openpyxl.load_workbook` + `save` of the same file.
Target: at most 0.5x.

Consolidate: a city-layout master with that many actions and one return per lead, made and filled in
as in bench/bench_merge.py, against the floor of reading every return's values with python-calamine
plus one openpyxl load and save of the master. Target: at most 1.5x.
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import warnings
from datetime import date
from pathlib import Path

import openpyxl

from bench.common import fresh_copy, interleaved_times, round_ratio, table
from bench.generate import generate
from xl_plan.jobs import gantt_file, validate_file

TODAY = date(2024, 1, 15)


def write_jobs(actions: int, repeat: int, layouts) -> list[list]:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for layout in layouts:
            path = generate(layout, actions, tmp / f"{layout}-{actions}.xlsx")
            work = tmp / f"work-{layout}"
            work.mkdir()

            def fresh() -> Path:
                return fresh_copy(path, work / "plan.xlsx")

            def bare():
                wb = openpyxl.load_workbook(fresh())
                wb.save(work / "bare.xlsx")

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                times = interleaved_times({
                    "bare": bare,
                    "validate": lambda: validate_file(fresh(), today=TODAY, write=True),
                    "gantt": lambda: gantt_file(fresh(), today=TODAY)}, repeat)
            base, val, gan = (statistics.median(times[k]) for k in ("bare", "validate", "gantt"))
            rows.append([f"{actions:,}", layout, f"{base:.2f}", f"{val:.2f}",
                         f"{round_ratio(times, 'validate', 'bare'):.2f}x",
                         f"{gan:.2f}", f"{round_ratio(times, 'gantt', 'bare'):.2f}x"])
    return rows


def consolidate_case(actions: int, returns: int, repeat: int) -> list:
    from python_calamine import CalamineWorkbook

    from bench.bench_merge import time_consolidate

    def calamine_read(files) -> None:
        for f in files:
            wb = CalamineWorkbook.from_path(str(f))
            for name in wb.sheet_names:
                wb.get_sheet_by_name(name).to_python()

    base, mine, ratio, m = time_consolidate(actions, returns, repeat, calamine_read)
    return [f"{actions:,}", returns, len(m.changes), f"{base:.2f}", f"{mine:.2f}", f"{ratio:.2f}x"]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--actions", type=int, default=5000)
    ap.add_argument("--layouts", default="birmingham,barking,city")
    ap.add_argument("--consolidate", default="2000:100", help="actions:returns, or '' to skip")
    ap.add_argument("--repeat", type=int, default=5, help="timed rounds (after one untimed)")
    args = ap.parse_args()
    if args.actions:
        rows = write_jobs(args.actions, args.repeat, args.layouts.split(","))
        print(table(rows, ["actions", "layout", "openpyxl load+save s", "validate --write s", "ratio",
                           "gantt s", "ratio"]))
        print("target: at most 0.5x\n")
    if args.consolidate:
        a, r = (int(x) for x in args.consolidate.split(":"))
        row = consolidate_case(a, r, args.repeat)
        print(table([row], ["actions", "returns", "cells changed", "calamine floor s", "consolidate s", "ratio"]))
        print("target: at most 1.5x")


if __name__ == "__main__":
    main()
