"""Timescale parsing throughput, and the Gantt sheet's build time as a ratio to writing the same data
columns with openpyxl alone, measured in the same run (issue: within 2x at 5,000 actions).

    python -m bench.bench_gantt [--sizes 300,5000] [--repeat 3]

Parse: every timescale of the sample plans in tests/fixtures (the timescale column, and the Start / End
cells of plans that have them), parsed with the parser's cache cleared before every string, so each
one is really parsed; and with the cache, as a Gantt run uses it.

Gantt: `build_gantt` + `write_gantt` into a new workbook + save, as the job does them (the chart's rows
as cell records, saved through io/fastwrite.py's `fast_cells`, compressed like the baseline), against a
bare openpyxl workbook with the same rows and columns of values (section rows, ref, action, lead, status,
timescale, start, end, flags, the month headings and the marker characters) + save. The plan is read once beforehand (reading
is bench_read's business). "full job" is `xl-plan gantt` end to end (read, build, write, backup, save).
"""
from __future__ import annotations

import argparse
import shutil
import tempfile
import time
import warnings
from datetime import date
from pathlib import Path

import openpyxl

from bench.common import median_time, table
from bench.generate import generate
from xl_plan import timescales
from xl_plan.gantt import build_gantt
from xl_plan.io.fastwrite import fast_cells
from xl_plan.jobs import gantt_file, open_plan
from xl_plan.writers.gantt import write_gantt

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures"
TODAY = date(2024, 1, 15)


def corpus() -> list:
    """Every timescale value of the sample plans, as written."""
    out = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for path in sorted(FIXTURES.glob("*.xlsx")):
            _, plan, _ = open_plan(path)
            for a in plan.actions:
                out.append(a.timescale_text)
                out.extend(a.raw[f] for f in ("start", "end") if a.raw.get(f) is not None)
    return out


def parse_rate(strings: list, seconds: float = 2.0, cached: bool = False) -> tuple[int, float]:
    """(strings parsed, strings per second). Uncached: the parser's cache is cleared before every
    string, so each one is really parsed; cached: as a Gantt run uses it (repeats hit the cache)."""
    clear = getattr(getattr(timescales, "_parse_cached", None), "cache_clear", lambda: None)
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        clear()
        for s in strings:
            if not cached:
                clear()
            timescales.parse_timescale(s, today=TODAY)
        done += len(strings)
    return done, done / (time.perf_counter() - start)


def baseline_rows(gantt) -> list[list]:
    """The same rows and columns of values the Gantt sheet holds, for the bare openpyxl write."""
    rows = [["xl_plan · Gantt chart"], ["As of", gantt.today], [], [], [], [], [m.year for m in gantt.months],
            ["Ref", "Action", "Lead", "Status", "Timescale", "Start", "End", "Flags", *gantt.months]]
    col_of = {m: i for i, m in enumerate(gantt.months)}
    groups = [(g.title, g.items) for g in gantt.groups] + ([("Undated", gantt.undated)] if gantt.undated else [])
    for title, items in groups:
        rows.append([title])
        for i in items:
            a = i.action
            marks = [None] * len(gantt.months)
            for d in [d for d, _ in i.milestones] + i.recurs:
                if d.replace(day=1) in col_of:
                    marks[col_of[d.replace(day=1)]] = "◆"
            rows.append([a.ref, a.short_text(90), a.lead_text, a.status.code if a.status else None,
                         a.timescale_text, i.start, i.end, " · ".join(i.flags) or None, *marks])
    return rows


def run(sizes, repeat, layouts=("birmingham", "barking", "city")):
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for n in sizes:
            for layout in layouts:
                path = generate(layout, n, tmp / f"{layout}-{n}.xlsx")
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    _, plan, _ = open_plan(path)
                    gantt = build_gantt(plan, TODAY)
                    values = baseline_rows(gantt)

                    def bare():
                        wb = openpyxl.Workbook()
                        ws = wb.active
                        for r, row in enumerate(values, 1):
                            for c, v in enumerate(row, 1):
                                if v is not None:      # blank cells are not written (append would make them)
                                    ws.cell(r, c, v)
                        wb.save(tmp / "bare.xlsx")

                    def ours():             # as the job writes it: cell records, saved through fast_cells
                        wb = openpyxl.Workbook()
                        write_gantt(wb, build_gantt(plan, TODAY), records=True)
                        with fast_cells():
                            wb.save(tmp / "ours.xlsx")

                    def job():
                        copy = tmp / "job.xlsx"
                        shutil.copyfile(path, copy)
                        gantt_file(copy, today=TODAY)

                    base = median_time(bare, repeat)
                    mine = median_time(ours, repeat)
                    full = median_time(job, repeat)
                results.append([n, layout, f"{base:.3f}", f"{mine:.3f}", f"{mine / base:.2f}x", f"{full:.3f}"])
    return results


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="300,5000")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    strings = corpus()
    _, rate = parse_rate(strings)
    _, cached = parse_rate(strings, cached=True)
    print(f"parse_timescale over the {len(strings)} timescales of the sample plans "
          f"({len(set(map(str, strings)))} distinct): {rate:,.0f} strings/s uncached, "
          f"{cached:,.0f} strings/s with the parser's cache (repeats, as in a real run)\n")
    rows = run([int(s) for s in args.sizes.split(",")], args.repeat)
    print(table(rows, ["actions", "layout", "openpyxl alone s", "gantt build+write+save s", "ratio", "full job s"]))


if __name__ == "__main__":
    main()
