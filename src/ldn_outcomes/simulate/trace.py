"""The latent course month by month, kept for the estimands (``.estimands``).

A registry records only what a clinic or a patient writes down; the true value of what an
analysis estimates needs the latent values behind it: who was under observation, the share of
each month on LDN, latent fatigue, EDSS and attack flare, the expected number of relapses and
worsening events with and without LDN's effect, and each patient's hazard of starting LDN.
One (months x patients) float32 array per quantity; attacks treated with LDN keep their
onset, LDN start and recovery day with and without the effect.
"""

from __future__ import annotations

from dataclasses import dataclass, field

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
)


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
        self, onset: np.ndarray, start: np.ndarray, untreated: np.ndarray, treated: np.ndarray
    ) -> None:
        """Attacks during which LDN was started: onset, start day, recovery day without and
        with LDN's effect."""
        if onset.size:
            self.attack_parts.append((onset.copy(), start.copy(), untreated.copy(), treated.copy()))

    def attack_days(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(days from onset to the LDN start, to recovery without the effect, with it) of
        every attack during which LDN was started."""
        if not self.attack_parts:
            return np.zeros(0), np.zeros(0), np.zeros(0)
        onset, start, untreated, treated = (
            np.concatenate(p) for p in zip(*self.attack_parts, strict=True)
        )
        return (
            (start - onset).astype(float),
            (untreated - onset).astype(float),
            (treated - onset).astype(float),
        )

    def __getitem__(self, name: str) -> np.ndarray:
        return self.values[name]
