"""The domain's "is this exposure LDN?" over a frame of exposures, for column-wise readers.

``domain.definitions.exposure`` decides (``is_ldn_drug``, ``exposure_class``); this only asks
it once per distinct (drug name, dose, RxNorm code, class), so a registry of a million
exposures stays fast. A frame without ``rxnorm_cui`` is read as having no codes.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd

from ..domain.definitions.exposure import exposure_class, is_ldn_drug

#: The exposure columns the rule reads (``rxnorm_cui`` may be absent).
LDN_RULE_COLUMNS = ("drug_name", "dose_mg", "rxnorm_cui")


def _values(frame: pd.DataFrame, name: str) -> list:
    if name not in frame:
        return [None] * len(frame)
    column = frame[name]
    if name == "dose_mg":
        doses = pd.to_numeric(column, errors="coerce").astype(float)
        return [None if np.isnan(d) else d for d in doses.to_numpy()]
    return [None if pd.isna(v) else str(v) for v in column.to_numpy(dtype=object)]


def _rows(frame: pd.DataFrame, with_class: bool) -> Iterator[tuple]:
    for column in ("drug_name", *(("drug_class",) if with_class else ())):
        if column not in frame:
            raise KeyError(f"the LDN rule needs the exposure column {column!r}")
    names = _values(frame, "drug_name")
    doses = _values(frame, "dose_mg")
    codes = _values(frame, "rxnorm_cui")
    if with_class:
        return zip(names, _values(frame, "drug_class"), doses, codes, strict=True)
    return zip(names, doses, codes, strict=True)


def ldn_mask(frame: pd.DataFrame) -> np.ndarray:
    """True for each exposure row that is LDN by the domain rule."""
    seen: dict[tuple, bool] = {}
    out = np.zeros(len(frame), dtype=bool)
    for i, key in enumerate(_rows(frame, with_class=False)):
        if key not in seen:
            seen[key] = is_ldn_drug(*key)
        out[i] = seen[key]
    return out


def exposure_classes(frame: pd.DataFrame) -> np.ndarray:
    """The class the analyses group each exposure row by (``exposure_class``)."""
    seen: dict[tuple, str] = {}
    out = np.empty(len(frame), dtype=object)
    for i, key in enumerate(_rows(frame, with_class=True)):
        if key not in seen:
            seen[key] = exposure_class(*key)
        out[i] = seen[key]
    return out
