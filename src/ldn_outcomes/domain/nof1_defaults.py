"""The n-of-1 design defaults and outcome ids, without the models that use them.

``ldn nof1 --help`` shows these; keeping them apart from ``domain.nof1`` (pydantic models built
at import) lets the help start without building those models. ``domain.nof1`` imports them from
here, and its test checks that its outcome table covers exactly these ids.
"""

from __future__ import annotations

# The defaults are project choices, not taken from a published LDN n-of-1 design; a clinician
# changes them per trial (``domain.nof1`` bounds them). Three pairs: six periods and 2^3 = 8
# possible allocations, one pair more than the minimum (``domain.nof1.MIN_PAIRS``), in a trial
# of 24 weeks. Four-week periods: about 21 analysed days of daily check-ins per period
# after the washout. Seven washout days: the first week of each period is left out of the
# analysis, so the previous period's tail is not measured (``domain.nof1``).
DEFAULT_PAIRS = 3
DEFAULT_PERIOD_WEEKS = 4
DEFAULT_WASHOUT_DAYS = 7
#: The daily check-in items a trial may take as its outcome (specs in ``domain.nof1.OUTCOMES``).
OUTCOME_IDS = ("fatigue_nrs", "spasm_nrs", "sleep_nrs")
