from __future__ import annotations

import pytest

from ldn_outcomes.analysis.data.frames import prepare
from ldn_outcomes.analysis.plan import AnalysisPlan

from .synth import Truth, simulate


@pytest.fixture(scope="session")
def null_frames():
    return simulate(2500, Truth(start_rate=0.003, supplement_rate=0.003), seed=11)


@pytest.fixture(scope="session")
def null_data(null_frames):
    return prepare(null_frames, AnalysisPlan())


@pytest.fixture(scope="session")
def null_results(null_frames):
    from ldn_outcomes.analysis import run_all

    return run_all(null_frames, AnalysisPlan())
