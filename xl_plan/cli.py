"""The `xl-plan` command: thin click commands over the library (xl_plan.jobs).

Exit codes: 0 done / valid, 1 the plan has errors, 2 the input cannot be used."""
from __future__ import annotations

import json
import sys
import textwrap
from datetime import date, datetime
from pathlib import Path

import click

from . import __version__
from .errors import XlPlanError

FIELD_HELP = ("Column overrides for plans whose headers mislead, e.g. "
              '--columns lead="Progress",update="Key points to note". Fields: recommendation, ref, '
              "action, lead, timescale, start, end, measure, update, status; values are header texts "
              "or column letters.")


def parse_day(ctx, param, value):
    if value is None:
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date like 2026-11-30.")


def columns_option(f):
    f = click.option("--remember", is_flag=True, help="Remember --columns for this workbook (in a file beside it).")(f)
    f = click.option("--columns", "columns_text", metavar="FIELD=HEADER,...", help=FIELD_HELP)(f)
    f = click.option("--sheet", help="The sheet holding the plan (default: found automatically).")(f)
    return f


def resolve_columns(plan_path, columns_text, remember) -> dict:
    from .settings import parse_columns_option, remember_columns

    columns = parse_columns_option(columns_text)
    if remember and columns:
        saved = remember_columns(plan_path, columns)
        click.echo(f"Remembered the column overrides in {saved.name}.", err=True)
    return columns


PLAN_ARG = click.argument("plan", type=click.Path(path_type=Path, dir_okay=False))


class Cli(click.Group):
    """Turns the library's errors into one plain message and an exit code, never a traceback."""

    def invoke(self, ctx):
        from .log import log_exception

        try:
            return super().invoke(ctx)
        except XlPlanError as exc:
            click.echo(f"xl-plan: {exc}", err=True)
            ctx.exit(exc.exit_code)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort, SystemExit):
            raise
        except KeyboardInterrupt:
            click.echo("Stopped. Nothing was changed by the step that was running.", err=True)
            ctx.exit(130)
        except Exception as exc:  # never show a traceback to a manager: log it instead
            where = log_exception(exc)
            click.echo(f"xl-plan: something unexpected went wrong ({type(exc).__name__}: {exc}). "
                       f"Nothing was changed. The details are in {where}; please send that file to support.", err=True)
            ctx.exit(3)


@click.group(cls=Cli, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="xl-plan")
def cli():
    """xl_plan: run a council's improvement action plan in its own Excel layout.

    Start with `xl-plan demo` to see every job run on a bundled demo plan."""


# ---------------------------------------------------------------- inspect

@cli.command()
@PLAN_ARG
@columns_option
@click.option("--json", "as_json", is_flag=True, help="Print the layout as JSON.")
def inspect(plan, sheet, columns_text, remember, as_json):
    """Show how xl_plan reads PLAN: sheet, header row, columns, RAG key, sections, actions."""
    from .jobs import open_plan

    columns = resolve_columns(plan, columns_text, remember)
    _, p, _ = open_plan(plan, sheet, columns)
    counts: dict[str, int] = {}
    for a in p.actions:
        key = a.status.code if a.status else "missing"
        counts[key] = counts.get(key, 0) + 1
    if as_json:
        click.echo(json.dumps({
            "sheet": p.sheet, "header_row": p.header_row, "header_rows": p.header_rows,
            "columns": {f: [{"letter": c.letter, "header": c.header} for c in cols] for f, cols in p.columns.items()},
            "rag_key": {"source": p.rag_key.source, "row": p.rag_key.row,
                        "entries": [{"code": e.code, "name": e.name, "description": e.description, "colour": e.colour} for e in p.rag_key.entries]},
            "sections": [{"row": s.row, "title": s.title} for s in p.sections],
            "actions": len(p.actions), "statuses": counts, "status_source": p.status_source,
        }, indent=2))
        return
    echo = click.echo
    echo(f"Plan:        {plan}")
    echo(f"Sheet:       {p.sheet}")
    repeats = p.header_rows[1:]
    echo(f"Header row:  {p.header_row}" + (f" (repeated at rows {', '.join(map(str, repeats))})" if repeats else ""))
    echo("Columns:")
    for field, cols in p.columns.items():
        for c in cols:
            echo(f"  {field:<15} {c.letter:<3} {c.header!r}")
    if p.rag_key.source == "default":
        echo("RAG key:     none found above the table; assuming Red / Amber / Green, Blue = complete")
    else:
        echo(f"RAG key:     {p.rag_key.source} key at row {p.rag_key.row}")
        for e in p.rag_key.entries:
            echo(f"  {e.name:<8} {e.description}  (#{e.colour})")
    echo(f"Sections:    {len(p.sections)}")
    for s in p.sections:
        echo(f"  row {s.row:<5} {textwrap.shorten(s.title, 90)}")
    echo(f"Actions:     {len(p.actions)}")
    source = {"text": "status column (text)", "fill": "status column (cell colours)",
              "progress-text": "derived from the progress text", "none": "no statuses found"}[p.status_source]
    echo(f"Statuses:    {', '.join(f'{k} {v}' for k, v in sorted(counts.items()))}  [{source}]")


# ---------------------------------------------------------------- validate

@cli.command()
@PLAN_ARG
@columns_option
@click.option("--json", "as_json", is_flag=True, help="Print findings and counts as JSON.")
@click.option("--write", is_flag=True, help="Write a Validation sheet and mark the offending cells (backup first).")
@click.option("--today", callback=parse_day, metavar="YYYY-MM-DD", help="Check overdue actions as of this date.")
def validate(plan, sheet, columns_text, remember, as_json, write, today):
    """Check every status in PLAN against the plan's own RAG key.

    Exit code 0 when valid, 1 when there are errors, 2 when the file cannot be read."""
    from .jobs import validate_file

    columns = resolve_columns(plan, columns_text, remember)
    result = validate_file(plan, sheet=sheet, columns=columns, today=today, write=write)
    report = result.report
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2, default=str))
    else:
        print_findings(report)
        counts = ", ".join(f"{k} {v}" for k, v in report.counts_by_status.items())
        click.echo(f"\n{len(result.plan.actions)} actions ({counts}). {report.summary_line()}.")
    if result.saved:
        click.echo(f"Wrote the '{result.sheet}' sheet and cell comments into {plan} "
                   f"(backup: {result.saved.backup}).", err=True)
    sys.exit(0 if report.valid else 1)


def print_findings(report) -> None:
    width = 100
    for f in report.sorted():
        where = f"{f.sheet}!{f.cell or f.row or ''}"
        head = f"{f.severity.upper():<8}{where:<24}{f.code}"
        click.echo(head)
        click.echo(textwrap.fill(f.message, width, initial_indent="        ", subsequent_indent="        "))


@cli.command()
@PLAN_ARG
@columns_option
def unmark(plan, sheet, columns_text, remember):
    """Remove the comments and the Validation sheet that `validate --write` added."""
    from .jobs import unmark_file

    columns = resolve_columns(plan, columns_text, remember)
    removed, saved = unmark_file(plan, sheet=sheet, columns=columns)
    if saved:
        click.echo(f"Removed {removed} marks from {plan} (backup: {saved.backup}).")
    else:
        click.echo(f"{plan} has no xl_plan marks; nothing changed.")


# ---- gantt

@cli.command()
@PLAN_ARG
@columns_option
@click.option("--today", callback=parse_day, metavar="YYYY-MM-DD",
              help="Flag overdue actions and mark today's month as of this date (default: today).")
def gantt(plan, sheet, columns_text, remember, today):
    """Write a Gantt sheet into PLAN from its free-text timescales (backup first).

    One row per action under its section, bars coloured by status with the plan's own key colours,
    milestones, recurrences, overdue and carried-forward actions, and undated actions listed with the
    reason. Running it again replaces xl_plan's previous Gantt sheet; nothing else changes."""
    from .jobs import gantt_file

    columns = resolve_columns(plan, columns_text, remember)
    result = gantt_file(plan, sheet=sheet, columns=columns, today=today)
    g = result.gantt
    drawn = len(g.items) - len(g.undated)
    span = f" from {g.months[1]:%B %Y} to {g.months[-2]:%B %Y}" if g.months else ""
    click.echo(f"Wrote the '{result.sheet}' sheet into {plan}: {drawn} actions drawn{span}, "
               f"{len(g.undated)} undated, {len(g.overdue)} overdue.")
    if g.undated:
        click.echo("Undated actions (their timescale gives no date, so they have no bar):")
        for item in g.undated:
            a = item.action
            click.echo(f"  row {a.row:<5} {a.ref or '':<6} {item.reason}")
    click.echo(f"The original is kept in {result.saved.backup}.")


# ---------------------------------------------------------------- demo

@cli.command()
@click.argument("directory", required=False, type=click.Path(path_type=Path, file_okay=False), default="xl_plan_demo")
@click.option("--today", callback=parse_day, metavar="YYYY-MM-DD", help="Run as of this date (default: today).")
def demo(directory, today):
    """Copy the bundled demo plan into DIRECTORY and run every job on it."""
    from .demo import run_demo

    run_demo(directory, today=today or date.today(), echo=click.echo)


def main(argv=None) -> None:
    cli.main(args=argv, prog_name="xl-plan")
