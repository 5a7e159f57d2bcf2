"""The latent course month by month, kept for the estimands (``.estimands``).

A registry records only what a clinic or a patient writes down; the true value of what an
analysis estimates needs the latent values behind it: who was under observation, the share of
each month on LDN, latent fatigue, EDSS and attack flare, the expected number of relapses and
worsening events with and without LDN's effect, each patient's hazard of starting LDN, and the
onset and recovery day of the latest attack at the month's end (-1: none yet; float32 holds
these day numbers exactly).
One (months x patients) float32 array per quantity; attacks treated with LDN keep their
onset, LDN start and recovery day with and without the effect.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

MONTHLY = (
    "alive",
    "on_share",
    "fatigue",
    "edss",
    "flare",
    "relapse_untreated",
    "relapse_expected",
    "pira_untreated",
    "pira_expected",
    "start_hazard",
    "attack_from",
    "attack_until",
)


class TreatedAttacks(NamedTuple):
    """Per attack during which LDN was started: the patient and the start day; days from the
    onset to the start and to recovery without and with the effect; the median days to
    recovery of the attack's severity; the patient's ratio of remaining days on LDN."""

    patient: np.ndarray
    start_day: np.ndarray
    start: np.ndarray
    untreated: np.ndarray
    treated: np.ndarray
    median: np.ndarray
    ratio: np.ndarray

    def rows(self, keep: np.ndarray) -> TreatedAttacks:
        return TreatedAttacks(*(column[keep] for column in self))


@dataclass
class Trace:
    n: int
    months: int
    values: dict[str, np.ndarray] = field(init=False)
    attack_parts: list[tuple[np.ndarray, ...]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.values = {name: np.zeros((self.months, self.n), dtype=np.float32) for name in MONTHLY}

    def month(self, m: int, **columns: np.ndarray) -> None:
        for name, column in columns.items():
            self.values[name][m] = column

    def attacks(
        self,
        patient: np.ndarray,
        onset: np.ndarray,
        start: np.ndarray,
        untreated: np.ndarray,
        treated: np.ndarray,
        median: np.ndarray,
        ratio: np.ndarray,
    ) -> None:
        """Attacks during which LDN was started: patient, onset, start day, recovery day
        without and with LDN's effect, the median days to recovery of the attack's severity,
        and the patient's ratio of remaining days on LDN."""
        if onset.size:
            self.attack_parts.append(
                tuple(
                    np.array(v, dtype=float)
                    for v in (patient, onset, start, untreated, treated, median, ratio)
                )
            )

    def attack_days(self) -> TreatedAttacks:
        """Every attack during which LDN was started, its days counted from the onset."""
        if not self.attack_parts:
            empty = np.zeros(0)
            return TreatedAttacks(np.zeros(0, dtype=np.int64), *(empty for _ in range(6)))
        patient, onset, start, untreated, treated, median, ratio = (
            np.concatenate(p) for p in zip(*self.attack_parts, strict=True)
        )
        return TreatedAttacks(
            patient.astype(np.int64),
            start,
            start - onset,
            untreated - onset,
            treated - onset,
            median,
            ratio,
        )

    def __getitem__(self, name: str) -> np.ndarray:
        return self.values[name]
