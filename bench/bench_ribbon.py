"""What a manager waits for on every ribbon click before the job starts: a new Python process
importing the entry module, xlwings and the job's module. Reported as seconds and as a ratio to a
bare `python -c pass` measured in the same run (target: under 0.5 s).

    python -m bench.bench_ribbon [--repeat 7]
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench.common import table

ROOT = Path(__file__).resolve().parent.parent
CASES = {
    "python -c pass (baseline)": "pass",
    "import xl_plan.excel.ribbon": "import xl_plan.excel.ribbon",
    "+ xlwings (as on a click)": "import xl_plan.excel.ribbon as r; r._xlwings()",
    "+ the Validate job's modules": "import xl_plan.excel.ribbon as r; r._xlwings(); import xl_plan.jobs, xl_plan.validate, xl_plan.io.diff",
    "plain `import xlwings` (for comparison)": "import xlwings",
}


def measure(code: str, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()
    base = None
    rows = []
    for label, code in CASES.items():
        t = measure(code, args.repeat)
        base = base or t
        rows.append([label, f"{t:.3f}", f"{t / base:.1f}x"])
    print(table(rows, ["what is imported", "seconds (median)", "ratio to bare python"]))


if __name__ == "__main__":
    main()
