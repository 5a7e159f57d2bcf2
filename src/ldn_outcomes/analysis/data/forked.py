"""One step in a second process, beside the main one, on machines with two cores or more.

``ldn analyze`` has two long steps that need nothing from what runs meanwhile: reading the
daily check-ins (millions of rows through the database driver) beside the other tables, and
the negative-control matching beside the LDN analyses. Threads would not help: the driver
hands Python's interpreter lock back and forth for every row, and pandas changes warning
filters now and then, which is not thread-safe (``warnings.catch_warnings``). A forked child
shares the parent's data without copying it, computes the step and sends the result back
pickled through a pipe. The numbers are the same either way: the same function on the same
data.

Forking is used only on Linux, with more than one CPU, when this process runs no other
Python thread (a web server's threads may hold locks a child would inherit); elsewhere, or
with ``enabled=False``, the step runs in this process when its result is first asked for.

Not ``concurrent.futures.ProcessPoolExecutor`` (even with the fork context): it pickles the
arguments to send them to its worker, where a fork shares them, and it runs a management
thread in this process.
"""

from __future__ import annotations

import os
import pickle
import signal
import sys
import threading
import traceback
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any, TypeVar

from ...errors import LdnError

T = TypeVar("T")


def can_fork() -> bool:
    return (
        sys.platform.startswith("linux")
        and (os.cpu_count() or 1) > 1
        and threading.active_count() == 1
    )


@contextmanager
def beside(
    function: Callable[..., T], *args: Any, enabled: bool = True
) -> Iterator[Callable[[], T]]:
    """``function(*args)`` started in a child process; yields a callable that returns its
    result (or raises its error) when first called. Leaving the block without asking ends
    the child."""
    if not (enabled and can_fork()):
        yield _Later(function, args)
        return
    read, write = os.pipe()
    with warnings.catch_warnings():  # newer Pythons warn about native (BLAS) threads
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:  # the child: compute, send, leave without running the parent's cleanups
        os.close(read)
        _child(write, function, args)
    os.close(write)
    child = _Child(pid, read)
    try:
        yield child.result
    finally:
        child.close()


class _Later:
    """The step run here, on first use (as if it had been written in place)."""

    def __init__(self, function: Callable[..., Any], args: tuple[Any, ...]) -> None:
        self.function, self.args = function, args
        self.outcome: tuple[bool, Any] | None = None

    def __call__(self) -> Any:
        if self.outcome is None:
            try:
                self.outcome = (True, self.function(*self.args))
            except Exception as error:
                self.outcome = (False, error)
        ok, value = self.outcome
        if not ok:
            raise value
        return value


def _child(write: int, function: Callable[..., Any], args: tuple[Any, ...]) -> None:
    code = 0
    try:
        try:
            payload: tuple[bool, Any] = (True, function(*args))
        except Exception as error:
            try:
                pickle.dumps(error)
            except Exception:  # an error that cannot be pickled: its text
                error = LdnError(f"{type(error).__name__}: {error}")
            payload = (False, error)
        with os.fdopen(write, "wb") as out:
            pickle.dump(payload, out, protocol=pickle.HIGHEST_PROTOCOL)
    except BaseException:
        traceback.print_exc()
        code = 1
    finally:
        os._exit(code)


class _Child:
    def __init__(self, pid: int, read: int) -> None:
        self.pid, self.read = pid, read
        self.outcome: tuple[bool, Any] | None = None

    def result(self) -> Any:
        if self.outcome is None:
            outcome = None
            with os.fdopen(self.read, "rb") as source:  # read before waiting: a full pipe
                self.read = -1  # would block the child
                with suppress(EOFError, pickle.UnpicklingError):  # it died: no result
                    outcome = pickle.load(source)
            _, status = os.waitpid(self.pid, 0)
            self.pid = 0
            if outcome is None:
                raise LdnError(f"a worker process ended without a result (status {status})")
            self.outcome = outcome
        ok, value = self.outcome
        if not ok:
            raise value
        return value

    def close(self) -> None:
        if self.pid:
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
            self.pid = 0
        if self.read >= 0:
            os.close(self.read)
            self.read = -1
