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


def interleaved_times(fns: dict, repeat: int) -> dict[str, list[float]]:
    """Seconds of each of `fns` (name -> function), run in turn, round after round, after one round that
    is not timed (imports, caches and the file system warmed alike). A slow spell of a shared machine
    then touches every function of a round alike, and a ratio of two times of one round compares like
    with like (`round_ratio`)."""
    times: dict[str, list[float]] = {name: [] for name in fns}
    for i in range(repeat + 1):
        for name, fn in fns.items():
            gc.collect()
            t = time.perf_counter()
            fn()
            if i:
                times[name].append(time.perf_counter() - t)
    return times


def round_ratio(times: dict[str, list[float]], name: str, base: str) -> float:
    """The median over the rounds of `name`'s time over `base`'s time in the same round."""
    return statistics.median(a / b for a, b in zip(times[name], times[base]))


def table(rows: list[list], headers: list[str]) -> str:
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *rows)]
    line = lambda r: "  ".join(str(x).ljust(w) for x, w in zip(r, widths))
    return "\n".join([line(headers), line(["-" * w for w in widths])] + [line(r) for r in rows])


def fresh_copy(source: Path, target: Path) -> Path:
    """A new copy of `source` at `target` for one timed run (every run starts from the same file)."""
    shutil.copyfile(source, target)
    return target
