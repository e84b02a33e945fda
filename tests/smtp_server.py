"""A real SMTP server on 127.0.0.1 (aiosmtpd) for the tests that send email: it keeps every
envelope, and refuses or hangs up on the recipients a test names."""
from __future__ import annotations

import email
import socket
from contextlib import contextmanager
from email.policy import default as default_policy

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Store:
    """aiosmtpd handler keeping every envelope; refuses addresses in `refuse`."""

    def __init__(self):
        self.envelopes = []
        self.refuse: set[str] = set()
        self.drop: set[str] = set()  # hang up (no reply) when DATA is for these recipients

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 5.1.1 Mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if set(envelope.rcpt_tos) & self.drop:
            server.transport.close()
            return None
        self.envelopes.append({
            "from": envelope.mail_from,
            "to": list(envelope.rcpt_tos),
            "msg": email.message_from_bytes(envelope.content, policy=default_policy),
            "raw": envelope.content,
        })
        return "250 Message accepted for delivery"


@contextmanager
def smtp_server():
    """A running server's handler (`.port`, `.envelopes`, `.refuse`, `.drop`), stopped afterwards."""
    handler = Store()
    handler.port = free_port()
    ctl = Controller(handler, hostname="127.0.0.1", port=handler.port)
    ctl.start()
    try:
        yield handler
    finally:
        ctl.stop()
