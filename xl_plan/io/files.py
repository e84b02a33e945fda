"""Files xl_plan writes: names safe on every system, and the one way to write a file's bytes
so that it is never half-written (a temporary file in the same folder, flushed to disk, then
moved over the file in one step; the temporary file is removed if anything fails)."""
from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

# Characters a file name cannot hold on Windows, macOS or Linux (or that would make it a path).
UNSAFE_CHAR = re.compile(r'[\\/:*?"<>|\x00-\x1f\x7f]')
_UNSAFE_RUN = re.compile(UNSAFE_CHAR.pattern + "+")


def safe_name(text: str, limit: int = 60) -> str:
    """Text usable in a file name on Windows, macOS and Linux."""
    text = _UNSAFE_RUN.sub("-", " ".join(str(text).split())).strip(" .-")
    return (text[:limit].rstrip(" .-") or "lead")


def write_atomic(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to a temporary file beside ``path``, then move it into place. The file keeps
    the permissions it had (a new one gets those a new file would get)."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        # mkstemp makes the file private (0600): give it the mode the file had, or the
        # mode a new file would get
        try:
            mode = os.stat(path).st_mode & 0o777
        except FileNotFoundError:
            umask = os.umask(0)
            os.umask(umask)
            mode = 0o666 & ~umask
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
