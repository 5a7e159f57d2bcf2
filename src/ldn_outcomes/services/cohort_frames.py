"""The frames the analysis engine reads, for a chosen set of patients.

One home for "which patients, read how", shared by the web report pages and the CLI's
`ldn report` and `ldn analyze --site-summary` (the CLI must not reach into the web layer).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import pandas as pd
from sqlalchemy import Engine

from ..analysis.data.frames import KINDS
from ..reports.deidentify import research_patient_ids
from ..store.frames import read_frame


def frames_for(engine: Engine, patient_ids: Iterable[str]) -> dict[str, pd.DataFrame]:
    """Every record kind the engine analyses, for ``patient_ids`` only."""
    ids = list(patient_ids)
    return {kind: read_frame(engine, kind, ids) for kind in KINDS}


def research_ids(engine: Engine, on: dt.date) -> list[str]:
    """Patients whose research consent is in force on ``on``."""
    consents = read_frame(engine, "consents")
    return sorted(research_patient_ids({"consents": consents}, on))
