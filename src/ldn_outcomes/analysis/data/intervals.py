"""Time intervals per person, merged: the one home of "the union of someone's courses".

Courses of one drug may overlap or touch (a refill entered as a new course); the union is what
"on the drug that day" means, for the side-effect split (``outcomes/combination.py``) and the
DMT status of a matching snapshot (``matching/trajectories.DrugCourses``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def merged_intervals(frame: pd.DataFrame) -> pd.DataFrame:
    """Union of intervals per person: (code, start, end) rows, overlapping or touching ones
    (a start on or before the reach of the person's earlier ones) merged; sorted by (code,
    start). An open end is ``inf``."""
    frame = frame.sort_values(["code", "start"]).reset_index(drop=True)
    if frame.empty:
        return frame[["code", "start", "end"]]
    reach = frame["end"].groupby(frame["code"]).cummax().to_numpy()
    codes = frame["code"].to_numpy()
    new = np.r_[True, codes[1:] != codes[:-1]] | (
        frame["start"].to_numpy() > np.r_[-np.inf, reach[:-1]]
    )
    return (
        frame.groupby(np.cumsum(new))
        .agg(code=("code", "first"), start=("start", "min"), end=("end", "max"))
        .reset_index(drop=True)
    )
