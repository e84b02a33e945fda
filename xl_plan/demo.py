"""`xl-plan demo`: copy the bundled demo plan into a folder and run every job on it."""
from __future__ import annotations

import shutil
from datetime import date
from importlib import resources
from pathlib import Path

DEMO_NAME = "demo_plan.xlsx"


def demo_plan_source() -> Path:
    return Path(str(resources.files("xl_plan") / "data" / DEMO_NAME))


def run_demo(directory: Path, today: date, echo=print) -> Path:
    from .jobs import validate_file

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    plan = directory / DEMO_NAME
    shutil.copyfile(demo_plan_source(), plan)
    echo(f"1. Copied the demo plan (a real council plan, Birmingham 2023) to {plan}")

    result = validate_file(plan, today=today, write=True)
    p, report = result.plan, result.report
    echo(f"2. Read it in its own layout: sheet '{p.sheet}', header row {p.header_row}, "
         f"{len(p.sections)} sections, {len(p.actions)} actions, RAG key: {p.rag_key.source}.")
    echo(f"3. Validated the statuses against the plan's RAG key: {report.summary_line()}.")
    for code, n in report.counts_by_code().items():
        echo(f"     {code}: {n}")
    echo(f"   Wrote the '{result.sheet}' sheet and cell comments into {plan}")
    echo(f"   (the original is kept in {result.saved.backup}).")

    from .jobs import gantt_file
    g = gantt_file(plan, today=today)
    drawn = len(g.gantt.items) - len(g.gantt.undated)
    echo(f"4. Rolled the free-text timescales into a Gantt chart: {drawn} actions drawn, "
         f"{len(g.gantt.undated)} undated, {len(g.gantt.overdue)} overdue as of {today:%d %B %Y}.")
    echo(f"   Wrote the '{g.sheet}' sheet into {plan}")
    echo(f"\nDone. Open {plan} in Excel and look at the '{result.sheet}' and '{g.sheet}' sheets.")
    return plan
