"""Outcome analyses over registry data: claim audits, matched comparisons, bias diagnostics.

Pure functions over data frames, grouped one way: ``numerics`` (fast paths and estimators) <-
``data`` (reading and coding the registry; only ``data.load`` reads the store) <- ``matching``
<- ``outcomes`` (the claim audits and bias diagnostics) <- ``engine``. Entry point: ``run_all``.
"""

from .engine import ANALYSES, analyze_database, results_to_dict, run_all
from .plan import AnalysisPlan
from .results import AnalysisResult, Estimate

__all__ = [
    "ANALYSES",
    "AnalysisPlan",
    "AnalysisResult",
    "Estimate",
    "analyze_database",
    "results_to_dict",
    "run_all",
]
