"""The `xl-plan` command: thin click commands over the library (xl_plan.jobs).

Exit codes: 0 done, 1 something needs you (a warning or an error found, something left to decide, a lead
not sent theirs), 2 a file cannot be used (damaged, not a plan, read-only, open in Excel), 3 a real fault
(an unexpected error, logged)."""
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
        raise click.BadParameter(f"{value!r} is not a date like 2026-11-30.") from None


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
QUIET = click.option("--quiet", "-q", is_flag=True,
                     help="Show no progress (it is shown on stderr only when that is a terminal).")


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
        except BrokenPipeError:
            _reader_gone()
            ctx.exit(0)
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
            "decisions": [{"kind": d.kind, "row": d.row, "column": d.column, "message": d.message} for d in p.decisions],
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
    if p.decisions:
        echo("Decisions (read from the values, not the headers alone):")
        for d in p.decisions:
            echo(textwrap.fill(d.message, 100, initial_indent="  - ", subsequent_indent="    "))


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
    sys.exit(1 if report.needs_you else 0)


def print_findings(report) -> None:
    width = 100
    for f in report.sorted():
        where = f"{f.sheet}!{f.cell or f.row or ''}"
        head = f"{f.severity.upper():<8}{where:<24} {f.code}"
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


# ---------------------------------------------------------------- carried forward

@cli.command()
@PLAN_ARG
@columns_option
@click.option("--previous", type=click.Path(path_type=Path, dir_okay=False), metavar="OLD_PLAN",
              help="The previous plan: match every action to it and report carried-forward problems.")
@click.option("--threshold", type=click.FloatRange(0, 100), default=80, show_default=True,
              help="Lowest score (0-100) at which an action is matched to a previous one; closer calls are "
                   "reported as weak-match, never matched silently.")
@click.option("--json", "as_json", is_flag=True, help="Print the starred actions, matches and findings as JSON.")
@click.option("--write", is_flag=True, help="Mark the starred cells, add a 'Carried forward' sheet and the findings to "
                                            "the Validation sheet (backup first).")
@click.option("--today", callback=parse_day, metavar="YYYY-MM-DD",
              help="Date for the Validation sheet and for timescales relative to today (default: today).")
def carried(plan, sheet, columns_text, remember, previous, threshold, as_json, write, today):
    """List the starred (carried-forward) actions of PLAN and, with --previous, check them against
    the previous plan: carried-not-starred, starred-not-found, timescale-not-amended, slippage,
    dropped, new-action and weak-match.

    Exit code 0 when nothing was found, 1 when a warning or an error was (e.g. a dropped action), 2
    when a file cannot be used."""
    from .jobs import carried_file

    columns = resolve_columns(plan, columns_text, remember)
    out = carried_file(plan, previous=previous, sheet=sheet, columns=columns, today=today,
                       threshold=threshold, write=write)
    result = out.result
    if as_json:
        click.echo(json.dumps(result.to_dict(), indent=2, default=str))
    else:
        print_carried(result)
    if out.saved:
        click.echo(f"Wrote the '{out.sheet}' sheet, the findings on the '{out.validation_sheet}' sheet and comments "
                   f"on the starred cells into {plan} (backup: {out.saved.backup}).", err=True)
    sys.exit(1 if result.report.needs_you else 0)


def print_carried(result) -> None:
    from .stars import strip_stars

    echo = click.echo
    short = lambda text, n: textwrap.shorten(" ".join(strip_stars(text or "").split()), n, placeholder="…") or "-"  # noqa: E731
    if result.note:
        echo(f"Note (row {result.note[0]}): {short(result.note[1], 90)}")
    echo(f"Starred actions: {len(result.starred)}")
    if result.starred:
        echo(f"  {'ROW':<6}{'REF':<8}{'ITEM':<6}{'STAR':<6}{'LEAD':<16}{'TIMESCALE':<16}ACTION")
        for s in result.starred:
            a = s.action
            echo(f"  {a.row:<6}{short(a.ref, 7):<8}{str(s.item or '-'):<6}{s.marker:<6}{short(a.lead_text, 15):<16}"
                 f"{short(a.timescale_text, 15):<16}{short(s.item_text or a.text, 50)}")
            if a.section:
                echo(f"  {'':<6}section: {short(a.section, 80)}")
    if result.previous is not None:
        echo(f"\nCompared with {result.previous.path} (threshold {result.threshold:.0f}):")
        echo(f"  {'NEW':<6}{'REF':<8}{'SCORE':<7}{'OLD':<6}{'OLD REF':<9}{'TIMESCALE (old -> new)':<40}FINDING")
        for p in result.pairs:
            n, o = p.new, p.old
            ts = f"{short(o.timescale_text, 17) if o else '-'} -> {short(n.timescale_text, 17) if n else '-'}"
            score = "" if p.score is None else f"{p.score:.0f}" + ("?" if not p.matched else "")
            echo(f"  {(n.row if n else '-'):<6}{short(n.ref, 7) if n else '-':<8}{score:<7}"
                 f"{(o.row if o else (p.candidate.row if p.candidate is not None and n is None else '-')):<6}"
                 f"{short(o.ref, 8) if o else '-':<9}{ts:<40}{p.outcome}")
    echo("")
    for f in result.report.sorted():
        echo(f"{f.severity.upper():<8}{f.sheet}!{f.cell or f.row or ''}  {f.code}")
        echo(textwrap.fill(f.message, 100, initial_indent="        ", subsequent_indent="        "))
    echo(f"\n{len(result.starred)} starred. {result.report.summary_line()}.")


# ---- template (the macro-enabled workbook with the "Action Plan" ribbon)

@cli.group()
def template():
    """The macro-enabled workbook: build the template, start a new plan, or add the ribbon to an existing plan."""


@template.command("build")
@click.argument("out", required=False, type=click.Path(path_type=Path, dir_okay=False))
def template_build(out):
    """Build workbook_template.xlsm from macros/ (byte-for-byte reproducible), into OUT or the
    current folder."""
    from .template.build import DEFAULT_OUT, build_template

    path = build_template(out or Path.cwd() / DEFAULT_OUT.name)
    click.echo(f"Built {path}.")


@template.command("new")
@click.argument("plan", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--overwrite", is_flag=True, help="Replace PLAN if it exists.")
def template_new(plan, overwrite):
    """Start a new plan PLAN.xlsm from the template (RAG key, table, Leads sheet, ribbon)."""
    from .template.build import new_plan

    path = new_plan(plan, overwrite=overwrite)
    click.echo(f"Created {path}. Open it in Excel and enable macros to see the 'Action Plan' tab.")


@template.command("attach")
@click.argument("existing", type=click.Path(path_type=Path, dir_okay=False))
@click.argument("dest", required=False, type=click.Path(path_type=Path, dir_okay=False))
@click.option("--overwrite", is_flag=True, help="Replace DEST if it exists.")
def template_attach(existing, dest, overwrite):
    """Make a macro-enabled copy of an existing plan (.xlsx) with the ribbon and macros, layout unchanged."""
    from .template.attach import attach

    path = attach(existing, dest, overwrite=overwrite)
    click.echo(f"Created {path}: the same plan with the 'Action Plan' ribbon. {existing} is unchanged.")


# ---------------------------------------------------------------- returns (leads directory, make, status, send)

@cli.command()
@PLAN_ARG
@columns_option
@click.option("--write", is_flag=True, help="Add the leads the Leads sheet does not list, for you to fill in (backup first).")
def leads(plan, sheet, columns_text, remember, write):
    """List every lead named in PLAN and whether the Leads sheet gives their email address."""
    from .jobs import leads_file

    columns = resolve_columns(plan, columns_text, remember)
    result = leads_file(plan, sheet=sheet, columns=columns, write=write)
    click.echo(f"{len(result.rows)} leads in {plan.name} (sheet '{result.plan.sheet}'):")
    for r in result.rows:
        e = r.entry
        who = f"{e.full_name or '-'} <{e.email}>" if e and e.email else (e.full_name if e and e.full_name else "")
        note = {"no entry": "NOT IN THE LEADS SHEET", "no email": "no email address",
                "bad email": "email address not valid"}.get(r.problem, "")
        click.echo(f"  {r.lead:<32} {r.actions:>3} action{'s' if r.actions != 1 else ' '}  {who}"
                   + (f"  [{note}]" if note else ""))
    for f in result.findings:
        click.echo(textwrap.fill(f.message, 100, initial_indent="  ! ", subsequent_indent="    "))
    missing = [r for r in result.rows if r.problem]
    if result.added:
        click.echo(f"Added {len(result.added)} lead(s) to the 'Leads' sheet of {plan} (backup: {result.saved.backup}). "
                   "Open it and fill in their full names and email addresses.")
    elif result.saved:
        click.echo(f"Added the 'Leads' sheet to {plan} (backup: {result.saved.backup}).")
    elif missing and not write:
        click.echo(f"{len(missing)} lead(s) need an entry or an email address. Run again with --write to add "
                   "the missing leads to the 'Leads' sheet, then fill in their addresses.")


@cli.group()
def returns():
    """Monthly returns: make one workbook per lead, send them, and chase the missing ones."""


@returns.command("make")
@PLAN_ARG
@columns_option
@click.option("--month", required=True, metavar="YYYY-MM", help="The month the returns are for, e.g. 2026-11.")
@click.option("--out", "out_dir", required=True, type=click.Path(path_type=Path, file_okay=False),
              help="The folder to write the returns into (created if needed).")
@click.option("--deadline", callback=parse_day, metavar="YYYY-MM-DD", help="The date the returns are due back.")
@click.option("--lead", "only_leads", multiple=True, metavar="LEAD", help="Make the return of this lead only (repeatable).")
@QUIET
def returns_make(plan, sheet, columns_text, remember, month, out_dir, deadline, only_leads, quiet):
    """Write one return workbook per lead of PLAN, holding only that lead's actions.

    Gives each action a stable key in PLAN and records the returns in its hidden 'Returns log'
    sheet, so PLAN is saved (a backup is kept first)."""
    from .jobs import make_returns_file

    columns = resolve_columns(plan, columns_text, remember)
    from .progress import progress_bar

    with progress_bar("Making returns", quiet=quiet) as progress:
        r = make_returns_file(plan, month, out_dir, deadline=deadline, sheet=sheet, columns=columns,
                              leads=list(only_leads) or None, progress=progress)
    click.echo(f"Made {len(r.returns)} returns for {r.month} in {r.out_dir}:")
    for f in r.returns:
        click.echo(f"  {f.path.name}  ({f.action_count} action{'s' if f.action_count != 1 else ''})"
                   + (f"  [replaced an earlier one, kept in {f.replaced}]" if f.replaced else ""))
    if r.without_lead:
        click.echo(f"{len(r.without_lead)} action(s) name no lead, so are in no return: rows "
                   + ", ".join(str(a.row) for a in r.without_lead) + f" of sheet '{r.plan.sheet}'.")
    keys = f"gave {r.keys_added} action(s) a stable key and " if r.keys_added else ""
    click.echo(f"Saved {plan}: {keys}recorded the returns in its hidden 'Returns log' sheet "
               f"(backup: {r.saved.backup}).")


@returns.command("status")
@click.argument("source", type=click.Path(path_type=Path, exists=True))
@click.option("--returned", type=click.Path(path_type=Path, file_okay=False),
              help="The folder where you keep the returns that came back (sub-folders included).")
@click.option("--month", metavar="YYYY-MM", help="The month to check (default: the latest month sent).")
@click.option("--today", callback=parse_day, metavar="YYYY-MM-DD", help="Check the deadline as of this date.")
@QUIET
def returns_status(source, returned, month, today, quiet):
    """Show per lead whether their return was sent, came back, is late or is missing.

    SOURCE is the folder the returns were made into, or the master workbook."""
    from .jobs import returns_status_file
    from .progress import progress_bar

    with progress_bar("Checking returns", quiet=quiet) as progress:
        s = returns_status_file(source, returned=returned, month=month, today=today, progress=progress)
    dl = f", due {s.deadline:%d/%m/%Y}" if s.deadline else ""
    click.echo(f"Returns for {s.month} of {s.plan_file}{dl}:")
    words = {"returned": "returned", "late": "returned LATE", "missing": "missing",
             "overdue": "MISSING, past the deadline", "not-sent": "returned (not in the sent list)",
             "merged": "merged", "merged-late": "merged (returned LATE)", "made": "made, NOT SENT"}
    for st in s.leads:
        back = st.latest
        extra = ""
        if back:
            extra = f"  {back.name}, saved {back.saved_at:%d/%m/%Y %H:%M}, {back.filled} update(s) written"
            if len(st.returned) > 1:
                extra += f" ({len(st.returned)} files came back; the newest is shown)"
        click.echo(f"  {st.lead:<32} {words.get(st.state, st.state)}{extra}")
    counts = s.counts()
    click.echo(", ".join(f"{n} {words.get(k, k)}" for k, n in counts.items()) + ".")
    if not returned:
        click.echo("(Give --returned FOLDER to check which returns have come back.)")
    for path, why in s.ignored:
        click.echo(f"  not counted: {path.name}: {why}")


@returns.command("send")
@click.argument("folder", type=click.Path(path_type=Path, file_okay=False, exists=True))
@click.option("--drafts", type=click.Path(path_type=Path, file_okay=False),
              help="Write one email per lead (.eml, opens in Outlook ready to send) into this folder.")
@click.option("--smtp", is_flag=True, help="Send through the mail server set in the master's 'xl_plan' sheet.")
@click.option("--dry-run", is_flag=True, help="With --smtp: build every email and check, but send nothing.")
@click.option("--retry-failed", is_flag=True, help="With --smtp: send only to the leads whose last try failed.")
@click.option("--resend", is_flag=True, help="Send again to the leads already sent this month's return (says whom).")
@click.option("--starttls/--no-starttls", default=None,
              help="With --smtp: secure the connection with STARTTLS (default: smtp_starttls in the 'xl_plan' sheet, "
                   "else yes).")
@click.option("--template", type=click.Path(path_type=Path, dir_okay=False, exists=True),
              help="Your own email template (see xl_plan/returns/mail/mail_template.txt).")
@click.option("--reminders", is_flag=True, help="Remind the leads whose return is still missing (needs --returned); "
              "each once a month (--resend reminds again).")
@click.option("--returned", type=click.Path(path_type=Path, file_okay=False),
              help="The folder of returns that came back (for --reminders).")
@click.option("--master", type=click.Path(path_type=Path, dir_okay=False, exists=True),
              help="The master workbook with the Leads sheet (default: the one the returns were made from).")
@click.option("--month", metavar="YYYY-MM", help="The month to send (default: the latest in FOLDER).")
@click.option("--from", "sender", metavar="ADDRESS", help='Who the emails come from, e.g. "Improvement Team <team@council.gov.uk>".')
@click.option("--smtp-host", help="The mail server (overrides smtp_host in the 'xl_plan' sheet).")
@click.option("--smtp-port", type=int, help="The mail server's port (overrides smtp_port).")
@click.option("--smtp-user", help="The mail server user name (overrides smtp_user); the password is read "
                                 "from the environment variable XL_PLAN_SMTP_PASSWORD.")
@click.option("--today", callback=parse_day, metavar="YYYY-MM-DD", help="Check deadlines as of this date.")
@QUIET
def returns_send(folder, drafts, smtp, dry_run, retry_failed, resend, starttls, template, reminders, returned, master,
                 month, sender, smtp_host, smtp_port, smtp_user, today, quiet):
    """Email each lead their return from FOLDER (made by `returns make`), as drafts or by SMTP.

    Each lead is sent their return once: the ones already sent are left out (--resend sends again).
    What was sent is recorded in the master's hidden 'Returns log'. Exit code 1 when a lead could not
    be sent theirs (no address, or a failure)."""
    from .jobs import send_returns
    from .progress import progress_bar

    with progress_bar("Sending", quiet=quiet) as progress:
        plan, result = send_returns(folder, drafts=drafts, smtp=smtp, dry_run=dry_run, retry_failed=retry_failed,
                                    resend=resend, template=template, reminders=reminders, master=master,
                                    returned=returned, month=month, sender=sender, smtp_host=smtp_host,
                                    smtp_port=smtp_port, smtp_user=smtp_user, starttls=starttls, today=today,
                                    progress=progress)
    if reminders and not plan.status.missing:
        click.echo(f"Every lead has sent back their {plan.month} return: no reminder needed.")
        return
    if reminders:
        again = f"Reminding again (--resend) {len(plan.resending)} lead(s) already reminded this month:"
        again_line, skipped_line = "  - {lead} (reminded {said})", "  - {lead}: already reminded {said}; use --resend to remind again"
        skipped = f"{len(plan.already_sent)} lead(s) already reminded about their {plan.month} return, not reminded again:"
    else:
        again = f"Sending again (--resend) to {len(plan.resending)} lead(s) already sent their return:"
        again_line, skipped_line = "  - {lead} (sent {said})", "  - {lead} (sent {said})"
        skipped = (f"{len(plan.already_sent)} lead(s) already sent their {plan.month} return, not sent again "
                   "(give --resend to send again):")
    for heading, line, rows in ((again, again_line, plan.resending), (skipped, skipped_line, plan.already_sent)):
        if rows:
            click.echo(heading)
            for lead, said in rows:
                click.echo(line.format(lead=lead, said=said))
    for lead in plan.no_entry:
        click.echo(f"  {lead}: not in the 'Leads' sheet of {plan.master.name} (run `xl-plan leads --write`).")
    for f in plan.directory_findings:
        click.echo(textwrap.fill(f.message, 100, initial_indent="  ! ", subsequent_indent="    "))
    click.echo(result.summary())
    if plan.saved:
        click.echo(f"Recorded in the 'Returns log' of {plan.master} (backup: {plan.saved.backup}).")
    sys.exit(0 if result.ok and not result.skipped_no_email else 1)


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


# ---- merge (merge the leads' returns into the master; monthly consolidation)

def print_merge_summary(r, echo=click.echo) -> None:
    """What the manager needs after a merge: returned / missing leads, updates, moves, what to decide."""
    from .merge.summary import summary_lines

    for line in summary_lines(r):
        echo(line)


@cli.command()
@click.argument("master", type=click.Path(path_type=Path, dir_okay=False))
@click.argument("returns_", metavar="RETURN...", nargs=-1, required=True, type=click.Path(path_type=Path, dir_okay=False))
@columns_option
@click.option("--month", metavar="YYYY-MM", help="The month being merged (default: the latest month in the master's Returns log).")
@click.option("--json", "as_json", is_flag=True, help="Print the findings as JSON.")
@QUIET
def merge(master, returns_, sheet, columns_text, remember, month, as_json, quiet):
    """Merge the leads' returns (workbooks, or saved .eml/.msg emails carrying them) into MASTER.

    Applies each lead's update and status to the master's own cells, adds what changed to the
    History sheet, and reports what it could not apply. A backup of MASTER is kept first.
    Exit code 0 when everything merged, 1 when something needs you (a warning or an error)."""
    from .jobs import merge_returns

    columns = resolve_columns(master, columns_text, remember)
    from .progress import progress_bar

    with progress_bar("Merging", quiet=quiet) as progress:
        r = merge_returns(master, list(returns_), month=month, sheet=sheet, columns=columns, progress=progress)
    if as_json:
        click.echo(json.dumps(r.report.to_dict(), indent=2, default=str))
    else:
        print_merge_summary(r)
        if r.saved:
            click.echo(f"Saved {master} ({r.history_added} History row(s) added; backup: {r.saved.backup}).")
        else:
            click.echo(f"Nothing new to merge: {master} was not changed.")
    sys.exit(1 if r.report.needs_you else 0)


@cli.command()
@click.argument("master", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--returns", "returns_dir", required=True, type=click.Path(path_type=Path, file_okay=False),
              help="The folder holding the returns that came back, and/or the emails (.eml, .msg) they came in.")
@columns_option
@click.option("--month", metavar="YYYY-MM", help="The month being merged (default: the latest month in the master's Returns log).")
@click.option("--today", callback=parse_day, metavar="YYYY-MM-DD", help="Count overdue actions as of this date (default: today).")
@QUIET
def consolidate(master, returns_dir, sheet, columns_text, remember, month, today, quiet):
    """The monthly run: merge every return in the --returns folder into MASTER, then rewrite its
    Summary, Validation and Gantt sheets, in one save (a backup is kept first).

    Prints progress per file and a summary: who returned, who is missing, what changed and what
    needs your decision. Exit code 0 when everything merged, 1 when something needs your decision."""
    from .jobs import consolidate as run

    columns = resolve_columns(master, columns_text, remember)
    from .progress import progress_bar

    with progress_bar("Consolidating", quiet=quiet) as progress:
        c = run(master, returns_dir, month=month, today=today, sheet=sheet, columns=columns, progress=progress)
    print_merge_summary(c.merge)
    sheets = ", ".join(f"'{s}'" for s in (c.summary_sheet, c.validation_sheet, c.gantt_sheet) if s)
    click.echo(f"Validation after the merge: {c.validation.summary_line()}.")
    click.echo(f"Saved {master}: wrote the {sheets} sheets (backup: {c.saved.backup}).")
    sys.exit(1 if c.merge.report.needs_you else 0)


# ---------------------------------------------------------------- the board report

@cli.command()
@click.argument("master", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--month", metavar="YYYY-MM", help="The month reported on (default: this month).")
@click.option("--out", "out_dir", required=True, type=click.Path(path_type=Path, file_okay=False),
              help="The folder for the report's PDF, page pictures and workbook.")
@click.option("--today", callback=parse_day, metavar="YYYY-MM-DD", help="Count overdue actions as of this date.")
@columns_option
def report(master, month, out_dir, today, sheet, columns_text, remember):
    """Write the monthly board report of MASTER: an A4 PDF (the Summary dashboard, a Gantt overview,
    what changed this month, overdue actions, decisions waiting for you) and a PNG of each page,
    printed with LibreOffice; without LibreOffice, the report workbook and how to print it.
    MASTER is only read."""
    from .jobs import board_report

    columns = resolve_columns(master, columns_text, remember)
    result = board_report(master, month, out_dir, today=today, sheet=sheet, columns=columns)
    click.echo(result.message)
    for png in result.pngs:
        click.echo(f"  {png}")


# ---------------------------------------------------------------- demo

@cli.command()
@click.argument("directory", required=False, type=click.Path(path_type=Path, file_okay=False), default="xl_plan_demo")
@click.option("--today", callback=parse_day, metavar="YYYY-MM-DD", help="Run as of this date (default: today).")
def demo(directory, today):
    """Copy the bundled demo plan into DIRECTORY and run every job on it."""
    from .demo import run_demo

    run_demo(directory, today=today or date.today(), echo=click.echo)


def main(argv=None) -> None:
    try:
        cli.main(args=argv, prog_name="xl-plan")
    except BrokenPipeError:
        _reader_gone()
        sys.exit(0)


def _reader_gone() -> None:
    """The reader of our output went away (`xl-plan gantt PLAN | head -1`): the job itself was done
    and saved, so it is no fault; stdout goes nowhere from now on (no second error at exit)."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
