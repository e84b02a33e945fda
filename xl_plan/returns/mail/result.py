"""What a run of drafts or of SMTP sending did (:class:`SendResult`), and the start both share:
the template and the sender checked before any lead."""

from __future__ import annotations

from dataclasses import dataclass, field
from email.headerregistry import Address
from pathlib import Path
from typing import Callable, Iterable

from .message import Outgoing, one_line, parse_sender, who
from .template import ParsedTemplate, parse_template, template_text

Progress = Callable[[str, str], None]


@dataclass
class SendResult:
    sent: list[str] = field(default_factory=list)  # leads
    failed: list[tuple[str, str]] = field(default_factory=list)  # (lead, reason)
    skipped_no_email: list[str] = field(default_factory=list)  # leads
    drafts: list[Path] = field(default_factory=list)
    would_send: list[str] = field(default_factory=list)  # dry run: leads
    skipped: list[tuple[str, str]] = field(default_factory=list)  # retry: not attempted
    notes: list[tuple[str, str]] = field(default_factory=list)  # (lead, remark) e.g. a cc refused
    names: dict[str, str] = field(default_factory=dict)  # lead -> "Gwen Thomas (GT) <gt@x>"
    dry_run: bool = False
    kind: str = "return"
    kind_of_run: str = "smtp"  # smtp / drafts
    attempts: list[dict] = field(default_factory=list)  # per lead tried: lead, outcome, to, message_id, reason

    def attempt(self, out: Outgoing, outcome: str, reason: str = "", message_id: str = "") -> None:
        to = [one_line(out.email or "")] + [one_line(c) for c in out.cc if c]
        self.attempts.append({"lead": out.lead, "outcome": outcome, "to": "; ".join(t for t in to if t),
                              "message_id": message_id, "details": one_line(reason),
                              "file": Path(out.attachment).name})

    @property
    def ok(self) -> bool:
        return not self.failed

    def _n(self, lead: str) -> str:
        return self.names.get(lead, lead)

    def summary(self) -> str:
        what = "reminder" if self.kind == "reminder" else "return"
        lines: list[str] = []

        def plural(n: int, word: str) -> str:
            return f"{n} {word}" if n == 1 else f"{n} {word}s"

        if self.dry_run:
            lines.append(f"Dry run: nothing was sent. {plural(len(self.would_send), what)} would be sent:")
            lines += [f"  - {self._n(lead)}" for lead in self.would_send]
        if self.drafts:
            folder = self.drafts[0].parent
            lines.append(f"{plural(len(self.drafts), 'draft email')} written to {folder}:")
            lines += [f"  - {p.name}" for p in self.drafts]
            lines.append("Open each one (double-click), check it and press Send.")
        if self.sent:
            lines.append(f"{plural(len(self.sent), what)} sent:")
            lines += [f"  - {self._n(lead)}" for lead in self.sent]
        for lead, note in self.notes:
            lines.append(f"Note for {self._n(lead)}: {note}")
        if self.failed:
            lines.append(f"{plural(len(self.failed), what)} NOT sent because of a problem:")
            lines += [f"  - {self._n(lead)}: {reason}" for lead, reason in self.failed]
            if not self.drafts:
                lines.append("Fix the problem, then send again retrying only the failed ones; "
                             "the ones already sent will not be sent twice.")
        if self.skipped_no_email:
            lines.append(f"{plural(len(self.skipped_no_email), 'lead')} with no email address "
                         "in the directory (nothing was sent to them):")
            lines += [f"  - {self._n(lead)}" for lead in self.skipped_no_email]
            lines.append("Add their addresses to the directory, or send their returns by hand.")
        if self.skipped:
            lines.append(f"{plural(len(self.skipped), 'lead')} left alone by the retry:")
            lines += [f"  - {self._n(lead)}: {reason}" for lead, reason in self.skipped]
        if self.skipped_no_email and not (self.sent or self.drafts or self.would_send or self.failed):
            lines.append("No lead has an email address, so nothing was "
                         + ("written." if self.kind_of_run == "drafts" else "sent."))
        if not lines:
            lines.append("There was nothing to send.")
        return "\n".join(lines)


def prepare(outgoing: Iterable[Outgoing], sender: str, template, kind: str
            ) -> tuple[Address, ParsedTemplate, list[Outgoing], SendResult]:
    outs = list(outgoing)
    text, source = template_text(template)
    parsed = parse_template(text, source)  # a broken template stops everything up front
    sender_addr = parse_sender(sender)
    result = SendResult(kind=kind)
    for out in outs:
        email = (out.email or "").strip()
        result.names[out.lead] = who(out) + (f" <{one_line(email)}>" if email else "")
    return sender_addr, parsed, outs, result
