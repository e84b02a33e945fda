"""Progress on stderr for the jobs that can take more than a second (returns make and send, merge,
consolidate, returns status): a tqdm bar, so `--json` on stdout stays clean. Shown only when stderr
is a terminal and the command was not given `--quiet`; otherwise nothing at all is written.

A job takes `progress`, a callable given one line of text per step ("Reading GT.xlsx"); a line that
starts with spaces is a remark about the step before (printed above the bar), any other moves the bar."""
from __future__ import annotations

import sys
from contextlib import contextmanager


class _Bar:
    def __init__(self, total: int | None, what: str, stream):
        from tqdm import tqdm

        self.what = what
        self.bar = tqdm(total=total, desc=what, file=stream, leave=False, dynamic_ncols=True, mininterval=0,
                        miniters=1, bar_format="{desc}" + (" {bar} {n_fmt}/{total_fmt}" if total else " ({n_fmt})"))

    def __call__(self, text: str) -> None:
        if text.startswith(" "):
            self.bar.write(text, file=self.bar.fp)
            return
        self.bar.set_description_str(f"{self.what}: {text[:70]}", refresh=False)
        self.bar.update(1)

    def close(self) -> None:
        self.bar.close()


def wanted(quiet: bool = False, stream=None) -> bool:
    stream = stream or sys.stderr
    return not quiet and bool(getattr(stream, "isatty", lambda: False)())


@contextmanager
def progress_bar(what: str, *, total: int | None = None, quiet: bool = False, stream=None):
    """A `progress` callable for a job, or None when no progress is to be shown."""
    stream = stream or sys.stderr
    if not wanted(quiet, stream):
        yield None
        return
    bar = _Bar(total, what, stream)
    try:
        yield bar
    finally:
        bar.close()
