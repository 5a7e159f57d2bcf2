"""Distinct people behind a survival curve's steps, for the disclosure rule."""

from __future__ import annotations

import numpy as np
import pandas as pd


def people_counts(
    times: np.ndarray,
    durations: np.ndarray,
    events: np.ndarray,
    entry: np.ndarray,
    person: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Distinct people at risk at each of ``times``, and the people whose first event falls
    there.

    Why: an aggregate page cuts a curve where fewer than k *people* remain
    (``reports.disclosure``), but a curve's rows need not be people: relapse recovery has a
    row per attack, and a matched control chosen for several users has a row (and a weight)
    per match. A person is at risk at t when one of their rows is (entry <= t <= duration,
    lifelines' convention); each person's events are counted once, at their first, so the
    counts of a curve add up to the people with an event on it.
    """
    times = np.asarray(times, dtype=float)
    frame = pd.DataFrame(
        {
            "person": pd.factorize(np.asarray(person))[0],
            "start": np.asarray(entry, dtype=float),
            "stop": np.asarray(durations, dtype=float),
            "event": np.asarray(events, dtype=bool),
        }
    ).sort_values(["person", "start", "stop"], kind="stable")
    # Merge each person's overlapping rows into disjoint spans, so no one counts twice.
    reach = frame.groupby("person")["stop"].cummax()
    before = reach.groupby(frame["person"]).shift()
    span = (before.isna() | (frame["start"] > before)).cumsum()
    spans = frame.groupby(span).agg(start=("start", "min"), stop=("stop", "max"))
    starts = np.sort(spans["start"].to_numpy())
    stops = np.sort(spans["stop"].to_numpy())
    at_risk = np.searchsorted(starts, times, side="right") - np.searchsorted(
        stops, times, side="left"
    )
    firsts = frame[frame["event"]].groupby("person")["stop"].min().to_numpy()
    first_event = np.zeros(len(times))
    position = np.searchsorted(times, firsts)
    hit = position < len(times)
    hit[hit] &= times[position[hit]] == firsts[hit]
    np.add.at(first_event, position[hit], 1.0)
    return at_risk.astype(float), first_event
