"""One rule for each fact: "is this exposure LDN?" (``domain.definitions.exposure.is_ldn``)
and "which check-in answer is which" (``domain.checkin``). This test fails when a copy of
either rule is written again somewhere else in the package."""

from __future__ import annotations

import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "ldn_outcomes"

#: (pattern, what it copies, the one module allowed to hold it)
COPIES = [
    (r'"naltrexone"\s+in\b', "the naltrexone name test", "domain/definitions/exposure.py"),
    # models.py: an entry rule on the class field ("entered as LDN: give the dose"), not the
    # LDN test itself
    (r"is\s+DrugClass\.LDN\b", "LDN decided by the entered class", "domain/models.py"),
    (r"DrugClass\.LDN\s+or\b", "LDN decided by the entered class", None),
    (r'ExposureRow\.drug_class\s*==\s*"ldn"', "LDN decided by the entered class (SQL)", None),
    (r'drug_class"\]\s*==\s*"ldn"', "LDN decided by the entered class", "analysis/"),
    (r"answers\[\d+\]", "a check-in item by its position", None),
    (r"_ITEM\b[^=\n]*=\s*\d", "a check-in item by its position", None),
    (r'\{\s*\d+\s*:\s*"nrs-', "a check-in scale by its position", None),
    (r"_daily\([^)]*,\s*\d+\)", "a check-in item by its position", None),
    (r"CHECKIN_INSTRUMENT,\s*\d", "a check-in item by its position", None),
]


def _sources() -> list[tuple[str, str]]:
    return [
        (path.relative_to(PACKAGE).as_posix(), path.read_text("utf-8"))
        for path in sorted(PACKAGE.rglob("*.py"))
    ]


def test_no_copy_of_the_ldn_or_checkin_rules() -> None:
    found = []
    for pattern, what, allowed in COPIES:
        regex = re.compile(pattern)
        for name, text in _sources():
            if allowed is not None and name.startswith(allowed):
                continue
            for number, line in enumerate(text.splitlines(), 1):
                if regex.search(line):
                    found.append(f"{name}:{number}: {what}: {line.strip()}")
    assert not found, "ask the domain rule instead:\n" + "\n".join(found)


def test_the_patterns_catch_the_copies_they_name() -> None:
    samples = [
        'if "naltrexone" in name.lower():',
        "exposure.drug_class is DrugClass.LDN",
        'ExposureRow.drug_class == "ldn",',
        'ldn = exposures[exposures["drug_class"] == "ldn"]',
        "if answers and answers[0] is not None:",
        "FATIGUE_ITEM, SPASM_ITEM = 0, 1",
        'CHECKIN_ITEMS = {0: "nrs-fatigue", 1: "nrs-spasticity"}',
        'Series("Fatigue", _daily(data.checkins, 0))',
    ]
    for sample in samples:
        assert any(re.search(p, sample) for p, _, _ in COPIES), sample


#: Helpers that had been written twice: each may be defined in its one home only.
ONE_HOME = {
    "in_transaction": "web/writes.py",
    "register_patient": "store/care_links.py",
    "rate_ratio": "analysis/numerics/ratemodels.py",
}


def test_each_shared_helper_is_defined_once() -> None:
    found = [
        f"{name} defines {helper} (its home: {home})"
        for helper, home in ONE_HOME.items()
        for name, text in _sources()
        if re.search(rf"^\s*def {helper}\(", text, re.MULTILINE) and name != home
    ]
    homes = {name for name, text in _sources() for helper in ONE_HOME if f"def {helper}(" in text}
    assert set(ONE_HOME.values()) <= homes
    assert not found, "\n".join(found)
