"""The master's `Returns log`: the month's record, kept in a hidden sheet so it travels with the
master. One row per event, oldest first:

- `made`     `returns make` wrote a return (lead, file, folder, return id, actions, deadline);
- `sent`     `returns send` emailed it or wrote its draft (`how` smtp/drafts, `to`, `message_id`,
             `outcome` sent/failed/draft/no-address, `details` the reason of a failure);
- `reminded` the same for a reminder;
- `returned` a merge read the lead's return (`file`, `when` it was saved, `route` file or the email it came in);
- `merged`   a merge applied it (`details`: what changed).

Columns: LOG_HEADER. The first ten are the log's original ones: a log written before events
existed (no `event` column) is read as `made` rows. xl_plan/writers/returns_log.py writes it;
`returns make`, `returns send`, `returns status`, `merge` and `consolidate` read it.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..io.fastwrite import record_values
from ..owned import RETURNS_LOG, find_owned
from ..text import clean

LOG_SHEET = RETURNS_LOG.name
LOG_TITLE = "the monthly record of returns: made, sent, returned, merged (used by xl-plan; do not edit)"
OLD_HEADER = ["month", "lead", "file", "folder", "return_id", "actions", "deadline", "created", "master_sha256", "plan_id"]
LOG_HEADER = OLD_HEADER + ["event", "when", "how", "to", "message_id", "outcome", "route", "details"]
EVENTS = ("made", "sent", "reminded", "returned", "merged")


def read_returns_log(wb) -> list[dict[str, str]]:
    """Every event (column name -> text), oldest first; [] when the workbook has no log. Rows of an
    old log (no `event` column) are `made` events."""
    ws = find_owned(wb, RETURNS_LOG)
    if ws is None:
        return []
    rows = list(ws.iter_rows(min_row=2, values_only=True)) + record_values(ws, len(LOG_HEADER))
    if not rows:
        return []
    header = [clean(v) for v in rows[0]]
    if header[: len(OLD_HEADER)] != OLD_HEADER:
        return []
    out = []
    for row in rows[1:]:
        if not any(v is not None for v in row):
            continue
        rec = {h: "" for h in LOG_HEADER}
        rec.update({h: clean(v) for h, v in zip(header, row) if h})
        rec["event"] = rec["event"] or "made"
        rec["when"] = rec["when"] or rec["created"]
        out.append(rec)
    return out


def add_events(wb, new_rows: list[dict[str, str]], *, records: bool = False) -> None:
    """Add the events `new_rows` after the ones the log already has (the sheet is made when there is
    none; an old log gets the event columns). A row without `event` is a `made` event. `records`: the
    rows are written as cell records, for a workbook saved through io/save.py (the jobs)."""
    from ..writers.returns_log import write_returns_log

    rows = read_returns_log(wb) + [{"event": "made", **r} for r in new_rows]
    write_returns_log(wb, rows, LOG_HEADER, LOG_TITLE, records=records)


def made_rows(log: list[dict[str, str]]) -> list[dict[str, str]]:
    return [r for r in log if r["event"] == "made"]


@dataclass
class LeadRecord:
    """One lead's month: every event of the record, by kind, oldest first."""
    lead: str
    made: list[dict] = field(default_factory=list)
    sent: list[dict] = field(default_factory=list)        # every try, failed ones too
    reminded: list[dict] = field(default_factory=list)
    returned: list[dict] = field(default_factory=list)
    merged: list[dict] = field(default_factory=list)

    def tries(self, event: str = "sent") -> list[dict]:
        """Every try of the return's email (`event` "sent") or of a reminder ("reminded"), failed ones too."""
        if event not in ("sent", "reminded"):
            raise ValueError(f"not an email event: {event!r}")
        return getattr(self, event)

    def went_out(self, event: str = "sent") -> list[dict]:
        """The tries of `event` that went out (an email accepted by the server, or a draft written):
        the send-once rule, for returns and reminders alike."""
        return [e for e in self.tries(event) if e["outcome"] in ("sent", "draft")]

    def last_of(self, event: str = "sent") -> dict | None:
        tries = self.tries(event)
        return tries[-1] if tries else None

    @property
    def delivered(self) -> list[dict]:
        """The sends that went out (an email accepted by the server, or a draft written)."""
        return self.went_out("sent")

    @property
    def emailed(self) -> list[dict]:
        return [e for e in self.sent if e["outcome"] == "sent"]

    @property
    def last_try(self) -> dict | None:
        return self.last_of("sent")


def month_record(log: list[dict[str, str]], month: str) -> dict[str, LeadRecord]:
    """The record of `month`, per lead (keyed by lookup_key of the lead), in the order leads appear."""
    from ..directory import lookup_key

    out: dict[str, LeadRecord] = {}
    for r in log:
        if r["month"] != month or r["event"] not in EVENTS:
            continue
        rec = out.setdefault(lookup_key(r["lead"]), LeadRecord(r["lead"]))
        getattr(rec, r["event"]).append(r)
    return out


def sent_leads(record: dict[str, LeadRecord]) -> list[str]:
    """Whom the month's returns went to: the leads with a send that went out, or, when nothing was
    sent through xl_plan this month (emailed by hand), every lead a return was made for."""
    if any(rec.sent for rec in record.values()):
        return [rec.lead for rec in record.values() if rec.delivered]
    return [rec.lead for rec in record.values() if rec.made]


def chase_list(record: dict[str, LeadRecord]) -> list[str]:
    """Everyone sent minus everyone merged this month, across every merge run."""
    from ..directory import lookup_key

    return [lead for lead in sent_leads(record) if not record[lookup_key(lead)].merged]
