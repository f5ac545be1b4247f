"""Write output files so that a reader never sees half of one.

Every output of roi-engine (CSV tables, workbooks, the HTML report, PNG charts) goes through
:func:`atomic_output`: the content is written to a temporary file in the target's folder, flushed to
disk, given the permissions an ordinary new file would have, and moved into place with ``os.replace``
(atomic on POSIX and Windows). An interrupted write leaves the old file or the new one, never a part.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def file_mode() -> int:
    """Permissions of a new file under the process's umask (``0o644`` under the usual ``022``).

    ``tempfile.mkstemp`` creates ``0o600`` files; outputs are meant to be shared.
    """
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


@contextmanager
def atomic_output(path: str | Path, *, mode: int | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it replaces ``path``, on failure it is removed.

    Parameters
    ----------
    path : str or Path
        The file to write; its folder is created if missing.
    mode : int, optional
        Permissions of the result (default: :func:`file_mode`).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(handle)
    temporary = Path(temporary)
    try:
        yield temporary
        with temporary.open("rb+") as written:
            os.fsync(written.fileno())
        os.chmod(temporary, file_mode() if mode is None else mode)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    _fsync_folder(path.parent)


def _fsync_folder(folder: Path) -> None:
    """Make the rename durable where the platform allows it (POSIX); harmless elsewhere."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically and return the path."""
    with atomic_output(path) as temporary:
        temporary.write_bytes(data)
    return Path(path)


def atomic_write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` (UTF-8, no newline translation) to ``path`` atomically and return the path."""
    return atomic_write_bytes(path, text.encode("utf-8"))
