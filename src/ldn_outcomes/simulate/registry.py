"""The in-memory result of one simulation: encoded tables, frames on demand, and the truth."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .cohort import month_boundaries
from .columns import Table
from .estimands import counterfactual_params, estimands
from .generate import build_tables
from .history import simulate_history
from .params import SimulationParams
from .render import Context, frame
from .truth import build_truth

Progress = Callable[[str, int], None]


@dataclass
class SimulatedRegistry:
    """Tables of one simulated registry plus its ground truth.

    ``frames`` (built on first use) has one pandas frame per record kind in the shape
    ``store.frames.read_frames`` returns: table column names, an ``id`` column for numbered
    kinds, dates as ``datetime64[ns]`` (NaT = blank), questionnaire answers and relapse
    functional systems as Python lists (None = blank answer), EDSS functional systems as dicts.
    """

    params: SimulationParams
    tables: dict[str, Table]
    truth: dict[str, Any]
    context: Context
    _frames: dict[str, pd.DataFrame] | None = field(default=None, repr=False)

    @property
    def frames(self) -> dict[str, pd.DataFrame]:
        if self._frames is None:
            self._frames = {
                kind: frame(table, self.context, "analysis", kind)
                for kind, table in self.tables.items()
            }
        return self._frames

    def db_frames(self) -> dict[str, pd.DataFrame]:
        """Frames for ``store.bulk.write_frames`` (JSON columns as JSON text, no ids)."""
        return {kind: frame(table, self.context, "db", kind) for kind, table in self.tables.items()}

    def counts(self) -> dict[str, int]:
        return {kind: table.length for kind, table in self.tables.items()}


def simulated_months(params: SimulationParams) -> int:
    return len(month_boundaries(params)) - 1


def patient_ids(params: SimulationParams) -> np.ndarray:
    prefix = params.cohort.id_prefix
    width = max(6, len(str(params.patients)))
    return np.array([f"{prefix}-{i + 1:0{width}d}" for i in range(params.patients)], dtype=object)


#: Above this many patient-months the true estimands are not computed unless asked for (they
#: keep twelve float32 values per patient-month and simulate the registry a second time).
ESTIMANDS_AUTO_LIMIT = 3_000_000


def simulate_registry(
    params: SimulationParams | None = None,
    progress: Progress | None = None,
    *,
    with_estimands: bool | None = None,
) -> SimulatedRegistry:
    """Simulate one registry in memory (deterministic for a given ``params``).

    ``progress(stage, 1)`` is called once per simulated month and once when the tables are
    built, i.e. ``simulated_months(params) + 1`` times. ``with_estimands``: compute the true
    value of each reported quantity (``truth["estimands"]``, see ``.estimands``); default: when
    the registry has at most ``ESTIMANDS_AUTO_LIMIT`` patient-months.
    """
    params = params or SimulationParams()
    if with_estimands is None:
        with_estimands = params.patients * simulated_months(params) <= ESTIMANDS_AUTO_LIMIT
    counterfactual = (
        simulate_history(counterfactual_params(params), record=False, trace=True)
        if with_estimands
        else None
    )
    history = simulate_history(
        params,
        (lambda _m: progress("month", 1)) if progress else None,
        trace=with_estimands,
        counterfactual=None if counterfactual is None else counterfactual.traced,
    )
    ids = patient_ids(params)
    tables = build_tables(history)
    if progress:
        progress("tables", 1)
    truth = build_truth(history, ids.tolist())
    truth["estimands"] = (
        estimands(params, history, counterfactual) if counterfactual is not None else None
    )
    history.trace = None  # the latent course is large and no longer needed
    return SimulatedRegistry(params=params, tables=tables, truth=truth, context=Context(ids))
