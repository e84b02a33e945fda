"""`xl-plan demo`: copy the bundled demo plan into a folder and run every job on it."""
from __future__ import annotations

import shutil
import textwrap
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

    from .jobs import carried_file

    starred = carried_file(plan, today=today).result
    note = f"its note at row {starred.note[0]} explains the star" if starred.note else "no note explains the star"
    echo(f"4. Looked for carried-forward (starred) actions: {len(starred.starred)} starred; {note}.")
    for f in starred.report.sorted():
        echo(textwrap.fill(f"{f.code}: {f.message}", 100, initial_indent="     ", subsequent_indent="       "))

    from .jobs import gantt_file
    g = gantt_file(plan, today=today)
    drawn = len(g.gantt.items) - len(g.gantt.undated)
    echo(f"5. Rolled the free-text timescales into a Gantt chart: {drawn} actions drawn, "
         f"{len(g.gantt.undated)} undated, {len(g.gantt.overdue)} overdue as of {today:%d %B %Y}.")
    echo(f"   Wrote the '{g.sheet}' sheet into {plan}")
    _demo_returns(directory, plan, today, echo)
    _demo_consolidate(directory, plan, today, echo)
    echo(f"\nDone. Open {plan} in Excel and look at the '{result.sheet}' and '{g.sheet}' sheets.")
    return plan


def _demo_returns(directory: Path, plan: Path, today: date, echo) -> None:
    """Make the demo plan's returns for this month and draft the emails (to made-up addresses)."""
    from datetime import timedelta

    from .directory import read_directory
    from .io.workbook import load
    from .jobs import leads_file, make_returns_file, send_returns
    from .months import month_of

    month = month_of(today)
    made = make_returns_file(plan, month, directory / "returns", deadline=today + timedelta(days=14))
    echo(f"6. Made {len(made.returns)} returns for {month}, one per lead, in {directory / 'returns'}:")
    for f in made.returns[:5]:
        echo(f"     {f.path.name} ({f.action_count} actions)")
    if len(made.returns) > 5:
        echo(f"     ... and {len(made.returns) - 5} more")
    echo("   Each lead can edit only the new update column and the status; the master now has a")
    echo("   stable key per action and a hidden 'Returns log' sheet.")
    result = leads_file(plan, write=True)
    wb = load(plan)
    ws = wb["Leads"]
    directory_ = read_directory(wb)
    col = directory_.columns
    for lead in result.added:
        entry = directory_.get(lead)
        ws.cell(entry.row, col["full_name"], f"{lead} (demo)")
        ws.cell(entry.row, col["email"], f"{''.join(ch for ch in lead.lower() if ch.isalnum()) or 'lead'}@example.org")
    from .io.save import save_workbook

    save_workbook(wb, plan)
    _, sent = send_returns(directory / "returns", drafts=directory / "emails",
                           sender="Improvement Team <improvement@example.org>", today=today)
    echo(f"7. Filled the 'Leads' sheet with made-up addresses and drafted {len(sent.drafts)} emails (.eml, open")
    echo(f"   in Outlook and press Send) in {directory / 'emails'}.")


def _typed(path: Path) -> str:
    """A path as it works typed where the demo was run (relative to there when it is inside)."""
    import os
    import shlex

    try:
        text = os.path.relpath(path)
    except ValueError:              # another drive (Windows)
        text = str(path)
    text = text if not text.startswith("..") else str(Path(path).resolve())
    return shlex.quote(text) if os.name != "nt" else (f'"{text}"' if " " in text else text)


def _demo_consolidate(directory: Path, plan: Path, today: date, echo) -> None:
    """Fill two of the returns in as their leads would, then run the monthly consolidation."""
    import openpyxl

    from .jobs import consolidate
    from .merge.summary import summary_lines
    from .returns.identity import read_identity

    sent = sorted((directory / "returns").glob("*.xlsx"))[:2]
    back = directory / "returned"
    back.mkdir(exist_ok=True)
    for n, path in enumerate(sent):
        wb = openpyxl.load_workbook(path)
        ident = read_identity(wb)
        ws = wb[ident.return_sheet]
        for i, row in enumerate(ident.rows[:3]):
            ws[f"{ident.update_column}{row.return_row}"] = (
                f"Audit of {10 + i} cases completed this month; findings shared with team managers.")
            if i == 0 and ident.rag_names:
                ws[f"{ident.status_column}{row.return_row}"] = ident.rag_names[min(n + 1, len(ident.rag_names) - 1)]
        wb.save(back / path.name)
    echo(f"8. Filled in {len(sent)} of the returns as their leads would (in {back}) and ran the monthly")
    echo(f"   consolidation: xl-plan consolidate {_typed(plan)} --returns {_typed(back)}")
    result = consolidate(plan, back, today=today)
    for line in summary_lines(result.merge):
        echo(f"     {line}")
    echo(f"   Wrote the '{result.summary_sheet}' sheet (RAG counts, chart, movement, overdue, missing returns),")
    echo(f"   appended to 'History' and refreshed '{result.validation_sheet}' in one save "
         f"(backup: {result.saved.backup}).")
