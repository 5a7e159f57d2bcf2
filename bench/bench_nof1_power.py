"""Operating characteristics of the n-of-1 design and analysis (the table in docs/nof1.md).

Run: ``.venv/bin/python bench/bench_nof1_power.py [trials]``. Prints power at an effect of one MCID
(1 point, fatigue lower on LDN) and the false-positive rate of "likely helps" with no effect,
for 2, 3 and 4 pairs of 4-week periods with a 7-day washout, then two misspecified scenarios.
"""

from __future__ import annotations

import sys
import time

from machine_info import machine

from ldn_outcomes.analysis.nof1.power import SimulationSettings, simulate


def main(trials: int) -> None:
    print(f"machine: {machine()}")
    print(f"trials per cell: {trials}; seed fixed per cell")
    header = (
        "| scenario | pairs | true effect | 'likely helps' | 'likely worse' | paired t p<0.05 "
        "(one-sided) | randomisation p<=0.05 (one-sided) |"
    )
    print(header)
    print("|---|---:|---:|---:|---:|---:|---:|")
    scenarios = [
        ("model (rho 0.5, SD 1)", SimulationSettings()),
        ("period shifts SD 0.3", SimulationSettings(between_period_sd=0.3)),
        ("strong autocorrelation rho 0.8", SimulationSettings(rho=0.8)),
    ]
    started = time.perf_counter()
    for name, settings in scenarios:
        for pairs in (2, 3, 4):
            for effect in (0.0, -1.0):
                r = simulate(pairs, effect, trials, settings=settings, seed=1000 * pairs + 7)
                print(
                    f"| {name} | {pairs} | {effect:+.1f} | {r.likely_helps:.3f} | "
                    f"{r.likely_worse:.3f} | {r.paired_t_one_sided:.3f} | "
                    f"{r.randomisation_one_sided:.3f} |",
                    flush=True,
                )
    print(f"elapsed: {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000)
