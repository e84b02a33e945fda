"""Timing helpers: medians of repeated runs, and ratios against a baseline measured in the same run."""
from __future__ import annotations

import gc
import shutil
import statistics
import time
from pathlib import Path


def median_time(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        gc.collect()
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def table(rows: list[list], headers: list[str]) -> str:
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *rows)]
    line = lambda r: "  ".join(str(x).ljust(w) for x, w in zip(r, widths))
    return "\n".join([line(headers), line(["-" * w for w in widths])] + [line(r) for r in rows])


def fresh_copy(source: Path, target: Path) -> Path:
    """A new copy of `source` at `target` for one timed run (every run starts from the same file)."""
    shutil.copyfile(source, target)
    return target
