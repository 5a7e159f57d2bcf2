"""The domain's "is this exposure LDN?" over a frame of exposures, for column-wise readers.

``domain.definitions.exposure`` decides (``is_ldn_drug``, ``exposure_class``); this only asks
it once per distinct (drug name, dose, class) and spreads the answers over the rows, so a
registry of a million exposures stays fast.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from ..domain.definitions.exposure import exposure_class, is_ldn_drug

#: The exposure columns the rule reads.
LDN_RULE_COLUMNS = ("drug_name", "dose_mg")


def _keys(frame: pd.DataFrame, columns: tuple[str, ...]) -> pd.DataFrame:
    for column in ("drug_name", *(c for c in columns if c == "drug_class")):
        if column not in frame:
            raise KeyError(f"the LDN rule needs the exposure column {column!r}")
    out = {}
    for column in columns:
        if column not in frame:
            out[column] = pd.Series(pd.NA, index=frame.index, dtype=object)
        elif column == "dose_mg":
            out[column] = pd.to_numeric(frame[column], errors="coerce").astype(float)
        else:
            out[column] = frame[column].astype(object)
    return pd.DataFrame(out, index=frame.index)


def _plain(value: object) -> object:
    return None if value is None or (not isinstance(value, str) and pd.isna(value)) else value


def _per_distinct(
    frame: pd.DataFrame, columns: tuple[str, ...], rule: Callable[..., object], dtype: type
) -> np.ndarray:
    if frame.empty:
        return np.zeros(0, dtype=dtype)
    keys = _keys(frame, columns)
    groups = keys.groupby(list(columns), dropna=False, sort=False)
    codes = groups.ngroup().to_numpy()
    firsts = groups.head(1)
    order = groups.ngroup().loc[firsts.index].to_numpy()
    answers: np.ndarray = np.empty(len(firsts), dtype=dtype)
    for position, row in zip(order, firsts.itertuples(index=False, name=None), strict=True):
        values = dict(zip(columns, (_plain(v) for v in row), strict=True))
        answers[position] = rule(**values)
    return answers[codes]


def ldn_mask(frame: pd.DataFrame) -> np.ndarray:
    """True for each exposure row that is LDN by the domain rule."""
    return _per_distinct(frame, LDN_RULE_COLUMNS, is_ldn_drug, bool)


def exposure_classes(frame: pd.DataFrame) -> np.ndarray:
    """The class the analyses group each exposure row by (``exposure_class``)."""
    columns = ("drug_name", "drug_class", "dose_mg")
    return _per_distinct(frame, columns, exposure_class, object)
