"""The n-of-1 design defaults and outcome ids, without the models that use them.

``ldn nof1 --help`` shows these; keeping them apart from ``domain.nof1`` (pydantic models built
at import) lets the help start without building those models. ``domain.nof1`` imports them from
here, and its test checks that its outcome table covers exactly these ids.
"""

from __future__ import annotations

DEFAULT_PAIRS = 3
DEFAULT_PERIOD_WEEKS = 4
DEFAULT_WASHOUT_DAYS = 7
#: The daily check-in items a trial may take as its outcome (specs in ``domain.nof1.OUTCOMES``).
OUTCOME_IDS = ("fatigue_nrs", "spasm_nrs", "sleep_nrs")
