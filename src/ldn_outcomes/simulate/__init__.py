"""Synthetic MS registries with known truth: natural history, LDN uptake, effects as knobs.

Library use (the analysis tests do this; 2,000 patients x 5 years takes about a second)::

    from ldn_outcomes.simulate import SimulationParams, simulate_registry

    params = SimulationParams(patients=2000, years=5, seed=7).replace(
        effects__relapse_rate_ratio=0.7, effects__fatigue_points=-6.0)
    registry = simulate_registry(params)
    registry.frames["relapses"]   # pandas frames shaped like store.frames.read_frames
    registry.truth["summary"]     # and the ground truth (seed, parameters, per-patient values)

``registry.truth["patients"]`` holds per-patient latent values column-wise (true effect of
each patient, true relapse and worsening counts, years at risk and on LDN, dropout, SPMS date).

Files and databases: :func:`write_csv_dir` writes ``<kind>.csv`` in the import layout plus
``truth.json`` (byte for byte the same for the same parameters); :func:`load_into_db` loads
through ``store.bulk.write_frames`` (every registry rule checked, all or nothing).

Model (details and sources in ``docs/simulator.md`` and :mod:`.params`): monthly steps over a
window ending at a fixed end date; relapses with a rate by phase declining with disease
duration, gamma frailty, DMT and LDN rate ratios; residual EDSS steps after attacks; worsening
independent of relapses by phase (LDN hazard ratio); SPMS conversion; EDSS rated with
inter-rater error at visits every 6-12 months; a latent fatigue level driving MFIS/FSS items and
daily check-ins; LDN and a no-effect supplement started after relapses and fatigue peaks,
stopped when things get worse; informative dropout and reporting.
"""

from .params import SimulationParams, describe
from .registry import SimulatedRegistry, simulate_registry
from .truth import read_truth, write_truth
from .write import TRUTH_FILE, load_into_db, write_csv_dir

__all__ = [
    "TRUTH_FILE",
    "SimulatedRegistry",
    "SimulationParams",
    "describe",
    "load_into_db",
    "read_truth",
    "simulate_registry",
    "write_csv_dir",
    "write_truth",
]
