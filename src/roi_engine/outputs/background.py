"""One job in a forked child process while the caller goes on: a run's HTML page and its charts are
drawn on the second core while the first writes the cube, the tables and the workbook.

Fork, not spawn: the child inherits the results already in memory (copy-on-write; per-draw arrays
paged to scratch files are shared mappings), so nothing crosses between the processes but the job's
return value, or its exception, through a pipe. The child ends with ``os._exit`` (``multiprocessing``
does this), so it never runs the parent's clean-up. Fork is used only where it is safe: Linux (macOS
offers fork, but its system libraries are not fork-safe, which is why Python spawns there), and a
process with no other Python thread (a web server's threads, tqdm's monitor), unless
``ROI_ENGINE_SERIAL`` is set. Otherwise the job runs in the caller, at once: the files written are
the same either way (``tests/test_background.py``).
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import threading
from collections.abc import Callable
from contextlib import contextmanager
from typing import Generic, TypeVar

T = TypeVar("T")


def can_fork() -> bool:
    """Whether :func:`background` will fork (see the module's docstring)."""
    return (not os.environ.get("ROI_ENGINE_SERIAL") and sys.platform.startswith("linux")
            and "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1)


class Job(Generic[T]):
    """A job started by :func:`background`; :meth:`result` waits for it."""

    def __init__(self, job: Callable[[], T]) -> None:
        self._process = None
        if not can_fork():
            self._answer = (True, job())
            return
        context = multiprocessing.get_context("fork")
        self._receive, send = context.Pipe(duplex=False)
        self._process = context.Process(target=_child, args=(job, send), daemon=True)
        self._process.start()
        send.close()

    def result(self) -> T:
        """The job's return value; its exception is raised here."""
        if self._process is not None:
            try:
                self._answer = self._receive.recv()
            except EOFError:
                self._process.join()
                self._answer = (False, RuntimeError("the report process ended without an answer "
                                                    f"(exit code {self._process.exitcode})"))
            finally:
                self._receive.close()
                self._process.join()
                self._process = None
        ok, value = self._answer
        if not ok:
            raise value
        return value

    def cancel(self) -> None:
        """Stop the child, if still running (the caller failed and will remove what it writes)."""
        if self._process is not None:
            self._process.terminate()
            self._process.join()
            self._receive.close()
            self._process = None


@contextmanager
def background(job: Callable[[], T]):
    """Start ``job()`` in a forked child (or run it now, where forking is not safe); yield its
    :class:`Job`. Leaving the block by an exception stops the child before the exception goes on."""
    started = Job(job)
    try:
        yield started
    except BaseException:
        started.cancel()
        raise


def _child(job: Callable[[], object], send) -> None:
    try:
        answer = (True, job())
    except BaseException as exc:  # the parent raises it
        answer = (False, exc)
    try:
        send.send(answer)
    except Exception:  # an answer that does not pickle: its words
        send.send((False, RuntimeError(str(answer[1]))))
    finally:
        send.close()


__all__ = ["background", "can_fork", "Job"]
