"""No page a researcher or the public sees shows a count from 1 to k - 1, and every other
count is a multiple of k (reports/disclosure.py), so pages cannot be subtracted."""

from __future__ import annotations

import json
import re
from typing import Any

from sqlalchemy import Engine

from ldn_outcomes.domain.models import Consent, Exposure, Patient
from ldn_outcomes.store.uow import UnitOfWork

from .conftest import World, days_ago

K = 5  # the test settings' min_cell_size
NOT_COUNTS = {"min_cell_size"}


def _counts(data: Any, key: str = "") -> list[tuple[str, int]]:
    """Every whole number in a JSON page, with its key (floats are estimates, not counts)."""
    if isinstance(data, dict):
        return [item for k, v in data.items() for item in _counts(v, k)]
    if isinstance(data, list):
        return [item for v in data for item in _counts(v, key)]
    if isinstance(data, int) and not isinstance(data, bool) and key not in NOT_COUNTS:
        return [(key, data)]
    return []


def _add_research_patients(engine: Engine, count: int) -> None:
    """``count`` consented patients, 3 of them on LDN: a total that is not a multiple of k."""
    with UnitOfWork(engine, actor="test") as uow:
        for number in range(count):
            pid = f"R{number:03d}"
            uow.registry.add(Patient(patient_id=pid, year_of_birth=1975, phenotype="RRMS"))
            uow.registry.add(Consent(patient_id=pid, scope="research", given_date=days_ago(300)))
            if number < 3:
                uow.registry.add(
                    Exposure(
                        patient_id=pid,
                        drug_name="naltrexone",
                        drug_class="ldn",
                        dose_mg="4.5",
                        start_date=days_ago(200),
                    )
                )
        uow.commit()


def test_research_and_public_pages_show_no_small_or_exact_count(world: World) -> None:
    _add_research_patients(world.engine, 12)
    pages = {
        "/research?format=json": world.client("researcher"),
        "/figures?format=json": world.client(None),
        "/figures/audits?format=json": world.client(None),
    }
    for path, client in pages.items():
        response = client.get(path)
        assert response.status_code == 200, path
        for key, value in _counts(response.json()):
            assert value == 0 or (value >= K and value % K == 0), (path, key, value)


def test_outcome_report_messages_quote_no_small_count(world: World) -> None:
    """The engine's messages say "only 3 LDN users"; researchers read "fewer than 5"."""
    _add_research_patients(world.engine, 12)
    response = world.client("researcher").get("/research/outcomes?format=json")
    report = response.json()
    report.pop("plan", None)  # the analysis plan's options (months, caps) are not counts
    text = json.dumps(report)
    assert "fewer than 5" in text
    # A measure ("3 mg", "3 months") is not a count of anyone and stays as written.
    small_count = re.compile(r"(?<![\w.])[1-4](?![\w.%]|\s?(?:mg|days?|weeks?|months?|years?)\b)")
    small = [text[max(0, m.start() - 60) : m.end() + 30] for m in small_count.finditer(text)]
    assert small == [], small
