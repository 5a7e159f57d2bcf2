"""Every threshold that encodes a clinical or statistical choice says where it comes from: a
source next to it, or plainly that it is a project choice (and why). The values are pinned
too, so a change to one is a deliberate change to this test and to docs/analysis.md."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "ldn_outcomes"

#: (module, assignment as written, words one of which the comment above it must contain)
THRESHOLDS = [
    ("analysis/results.py", "FEW_PEOPLE = 20", ("project choice",)),
    ("analysis/results.py", "FEW_EVENTS = 10", ("doi 10.1016/S0895-4356(96)00236-3",)),
    ("analysis/results.py", "FEW_RELAPSES = 20", ("project choice",)),
    ("analysis/plan.py", "smd_target: float = 0.1", ("doi 10.1002/sim.3697",)),
    (
        "analysis/matching/nearest.py",
        '[["fatigue_missing"]].to_numpy() * 10.0',
        ("Project choices",),
    ),
    ("analysis/outcomes/progression.py", "HEADLINE_HORIZON_YEARS = 3.0", ("project choice",)),
    ("domain/evidence.py", "STALE_AFTER_DAYS = 365", ("project choice",)),
    ("analysis/outcomes/symptom_difference.py", "ROWS_PER_COEFFICIENT = 10", ("project choice",)),
    ("analysis/numerics/survival.py", "MAX_LOG_HAZARD_RATIO = 10.0", ("project choice",)),
    ("domain/passwords.py", "MIN_LENGTH = 10", ("NIST SP 800-63B",)),
    ("domain/passwords.py", "MAX_LENGTH = 256", ("NIST SP 800-63B",)),
    ("evidence/readability.py", "AGE_OFFSET = 5", ("Flesch-Kincaid readability tests",)),
    ("domain/nof1_defaults.py", "DEFAULT_PAIRS = 3", ("project choices",)),
    ("domain/nof1_defaults.py", "DEFAULT_PERIOD_WEEKS = 4", ("project choices",)),
    ("domain/nof1_defaults.py", "DEFAULT_WASHOUT_DAYS = 7", ("project choices",)),
    ("domain/nof1.py", "MAX_PERIOD_DAYS = 180", ("project choice",)),
    ("domain/nof1.py", "MAX_WASHOUT_DAYS = 90", ("project choice",)),
    ("domain/nof1.py", "MAX_TRIAL_DAYS = 730", ("project choice",)),
]


@pytest.mark.parametrize(("module", "assignment", "words"), THRESHOLDS)
def test_each_threshold_names_its_source_or_says_it_is_a_project_choice(
    module: str, assignment: str, words: tuple[str, ...]
) -> None:
    lines = (PACKAGE / module).read_text("utf-8").splitlines()
    [at] = [i for i, line in enumerate(lines) if assignment in line]
    comments = []
    for line in reversed(lines[:at]):  # the comment block right above, or above its group
        if re.match(r"\s*#", line):
            comments.append(re.sub(r"^\s*#:?\s*", "", line))
        elif comments or not re.match(r"[A-Z_]+ = ", line):
            break
    text = " ".join(reversed(comments))
    assert any(word in text for word in words), f"{module}: {assignment} has no source: {text!r}"
