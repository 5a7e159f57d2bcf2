"""Citations behind the simulator's default parameters, and the field helper that carries them."""

from __future__ import annotations

from dataclasses import field
from typing import Any


def p(default: Any, source: str, *, unit: str = "") -> Any:
    """A field with its default, source and unit."""
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda: default, metadata={"source": source, "unit": unit})
    return field(default=default, metadata={"source": source, "unit": unit})


TREMLETT_2008 = (
    "Tremlett H et al. Relapses in multiple sclerosis are age- and time-dependent. "
    "J Neurol Neurosurg Psychiatry 2008;79:1368-74, doi 10.1136/jnnp.2008.145805"
)
LUBLIN_2003 = (
    "Lublin FD, Baier M, Cutter G. Effect of relapses on development of residual deficit in "
    "multiple sclerosis. Neurology 2003;61:1528-32, doi 10.1212/01.wnl.0000096175.39831.21"
)
NOSEWORTHY_1990 = (
    "interrater variability of the EDSS in a multiple sclerosis clinical trial (545 paired "
    "examinations; pages 971-975), https://www.ndcn.ox.ac.uk/publications/35106: perfect EDSS "
    "agreement 69%, agreement within one step >= 92%"
)
AMTMANN_2012 = (
    "Psychometric comparison of the FSS and MFIS in a community sample of 1271 people with MS, "
    "https://pmc.ncbi.nlm.nih.gov/articles/PMC3422656 (mean FSS 5.1, mean MFIS 44.2)"
)
LEARMONTH_2013 = (
    "Learmonth YC et al. Psychometric properties of the FSS and MFIS. J Neurol Sci "
    "2013;331:102-7, PMID 23791482 (6-month ICC: MFIS 0.863, FSS 0.751)"
)
KOCH_2010 = (
    "Koch M et al. The natural history of secondary progressive MS. J Neurol Neurosurg "
    "Psychiatry 2010;81:1039, https://jnnp.bmj.com/content/81/9/1039 (median time to SPMS "
    "21.4 years, untreated; exponential hazard ln2/21.4)"
)
ORATORIO = (
    "Montalban X et al. Ocrelizumab versus placebo in primary progressive MS (ORATORIO, "
    "NCT01194570), NEJM 2017: 12-week CDP in 39.3% of the placebo arm over >= 120 weeks; "
    "hazard -ln(1-0.393)/2.3 years = 0.22/year"
)
MSBASE_SEX = (
    "MSBase registry: Male sex is independently associated with faster disability "
    "accumulation in relapse-onset MS but not in primary progressive MS. PLoS One 2015, "
    "doi 10.1371/journal.pone.0122686"
)
ASSUMPTION = "assumption"
