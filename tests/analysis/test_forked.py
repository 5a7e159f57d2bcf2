"""A step run beside in a forked process gives what it gives in this one, errors included."""

from __future__ import annotations

import os
import threading
import time

import numpy as np
import pytest

from ldn_outcomes.analysis.data import forked
from ldn_outcomes.analysis.data.forked import beside, can_fork
from ldn_outcomes.errors import InsufficientData, LdnError

pytestmark = pytest.mark.skipif(not can_fork(), reason="forks only on Linux with 2+ CPUs")


def _work(n: int) -> tuple[int, np.ndarray]:
    return os.getpid(), np.arange(n, dtype=float) ** 2


def _fails() -> None:
    raise InsufficientData("only 3 starters")


class _Unpicklable(Exception):
    def __init__(self, handle: object, text: str) -> None:
        super().__init__(text)
        self.handle = handle

    def __reduce__(self):  # as an exception holding a lock or a connection would
        raise TypeError("cannot pickle")


def _fails_oddly() -> None:
    raise _Unpicklable(threading.Lock(), "odd")


def _dies() -> None:
    os._exit(3)


def test_result_comes_from_a_child_and_equals_the_inline_one():
    with beside(_work, 200_000) as result:
        pid, values = result()
        assert result()[0] == pid  # asked twice: the same answer
    with beside(_work, 200_000, enabled=False) as inline:
        here, expected = inline()
    assert pid != os.getpid() and here == os.getpid()
    np.testing.assert_array_equal(values, expected)


def test_errors_travel_back():
    with beside(_fails) as result, pytest.raises(InsufficientData, match="only 3 starters"):
        result()
    with beside(_fails_oddly) as result, pytest.raises(LdnError, match="_Unpicklable: odd"):
        result()
    with beside(_dies) as result, pytest.raises(LdnError, match="without a result"):
        result()


def test_a_result_not_asked_for_ends_the_child():
    began = time.perf_counter()
    with beside(time.sleep, 60):
        pass
    assert time.perf_counter() - began < 10


def test_runs_here_and_only_when_asked_where_it_cannot_fork(monkeypatch):
    calls = []
    monkeypatch.setattr(forked.threading, "active_count", lambda: 2)  # e.g. a web server
    assert not can_fork()
    with beside(calls.append, 1) as result:
        assert calls == []
        result()
        result()
    assert calls == [1]
