"""read_plan + validate, as a ratio to a bare openpyxl.load_workbook of the same file (issue: within 1.5x at 5,000).

    python -m bench.bench_read [--sizes 300,5000] [--repeat 3]
"""
from __future__ import annotations

import argparse
import tempfile
import warnings
from datetime import date
from pathlib import Path

import openpyxl

from bench.common import median_time, table
from bench.generate import generate
from xl_plan import read_plan, validate


def run(sizes, repeat, layouts=("birmingham", "barking", "city")):
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            for layout in layouts:
                path = generate(layout, n, Path(tmp) / f"{layout}-{n}.xlsx")
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    base = median_time(lambda: openpyxl.load_workbook(path), repeat)
                    ours = median_time(lambda: validate(read_plan(path), today=date(2024, 1, 1)), repeat)
                rows.append([n, layout, f"{base:.3f}", f"{ours:.3f}", f"{ours / base:.2f}x"])
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sizes", default="300,5000")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    rows = run([int(s) for s in args.sizes.split(",")], args.repeat)
    print(table(rows, ["actions", "layout", "load_workbook s", "read_plan+validate s", "ratio"]))


if __name__ == "__main__":
    main()
