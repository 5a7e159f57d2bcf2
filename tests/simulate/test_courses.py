"""Courses of LDN and of the negative-control supplement stop for the same reasons, each for
its own: a relapse on a product prompts stopping that product
(``uptake.stop_relapse_log_hazard``). Before, both read relapses on LDN, so a supplement course
of a patient who never took LDN did not stop after a relapse."""

from __future__ import annotations

import pandas as pd
import pytest

from ldn_outcomes.simulate import SimulationParams, simulate_registry

#: Starts common, stopping almost only after a relapse on the product (exp(8) times the base).
RELAPSE_STOPS = SimulationParams(patients=1500, years=4, seed=20261205).replace(
    uptake__base_start_per_year=0.3,
    uptake__supplement_base_start_per_year=0.3,
    uptake__stop_per_year=0.01,
    uptake__stop_relapse_log_hazard=8.0,
    uptake__stop_worse_log_hazard=0.0,
)


@pytest.fixture(scope="module")
def frames() -> dict[str, pd.DataFrame]:
    return simulate_registry(RELAPSE_STOPS).frames


def _dated(frames: dict[str, pd.DataFrame]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Exposures with their dates, and the true relapses (not pseudo-relapses) with theirs."""
    exposures = frames["exposures"].assign(
        start=lambda f: pd.to_datetime(f["start_date"]),
        stop=lambda f: pd.to_datetime(f["stop_date"]),
    )
    relapses = frames["relapses"]
    relapses = relapses[relapses["lasted_24h"] & ~relapses["fever_or_infection"]].assign(
        onset=lambda f: pd.to_datetime(f["onset_date"])
    )
    return exposures, relapses


def _stopped_after_relapse_on(frames: dict[str, pd.DataFrame], product: str) -> pd.Series:
    """For each course of ``product`` of a patient who never took the other product, with a
    relapse while on it (not in the registry's last 70 days): whether the course stopped
    within 62 days of the first such onset (the decision is made at the end of the onset's
    month and takes effect in the next one)."""
    exposures, relapses = _dated(frames)
    other = "supplement" if product == "ldn" else "ldn"
    took_other = set(exposures.loc[exposures["drug_class"] == other, "patient_id"])
    courses = exposures[
        (exposures["drug_class"] == product) & ~exposures["patient_id"].isin(took_other)
    ]
    pairs = courses.merge(relapses[["patient_id", "onset"]], on="patient_id")
    last = relapses["onset"].max() - pd.Timedelta(days=70)
    on = (
        (pairs["onset"] >= pairs["start"])
        & (pairs["stop"].isna() | (pairs["onset"] <= pairs["stop"]))
        & (pairs["onset"] < last)
    )
    first = pairs[on].sort_values("onset").groupby(["patient_id", "start"]).first()
    return first["stop"].notna() & (first["stop"] - first["onset"] <= pd.Timedelta(days=62))


@pytest.mark.parametrize("product", ["ldn", "supplement"])
def test_a_relapse_on_a_product_prompts_stopping_it(frames, product: str) -> None:
    stopped = _stopped_after_relapse_on(frames, product)
    assert len(stopped) >= 20
    # (Before, the supplement's stopping read relapses on LDN: 0 of 34 such courses stopped.)
    assert stopped.mean() >= 0.75, (product, len(stopped), stopped.mean())
