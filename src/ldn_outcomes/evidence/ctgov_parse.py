"""ClinicalTrials.gov API v2 JSON → :class:`TrialRecord`, one record at a time.

The same functions read a live response and a saved file, so ``ldn evidence sync`` and
``ldn evidence import`` cannot drift apart. A record that breaks a rule becomes a
:class:`Problem` and is skipped; the others in the page still parse. A truncated page (a
download cut short) yields every study that arrived whole and one problem for the rest.
Field names follow the v2 data structure (https://clinicaltrials.gov/data-api/about-api/study-data-structure).

The raw v2 JSON is walked with small helpers rather than mirrored in pydantic models: models of
the nested structure would not be shorter, and each problem would be reported in pydantic's
words instead of naming the v2 field and our rule. The records it builds are pydantic models.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from ..domain.evidence import (
    ArmGroup,
    PostedAnalysis,
    PostedOutcome,
    PostedRow,
    PostedValue,
    RegisteredOutcome,
    TrialRecord,
)
from ..errors import Problem

RECORD = "ctgov_study"
_PARTIAL_DATE = re.compile(r"^\d{4}-\d{2}(-\d{2})?$")


@dataclass
class ParsedBatch:
    """What one file or page gave: the good records and a problem for each bad one."""

    trials: list[TrialRecord] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    next_page_token: str | None = None


class _Bad(Exception):
    def __init__(self, field_name: str, rule: str, value: Any = None) -> None:
        super().__init__(rule)
        self.field_name = field_name
        self.rule = rule
        self.value = value


def parse_study(raw: Any, *, source: str | None = None, row: int | None = None) -> TrialRecord:
    """Parse one study object; raise ``_Bad`` (wrapped by callers) on the first broken rule."""
    if not isinstance(raw, dict):
        raise _Bad("study", "a study must be a JSON object", type(raw).__name__)
    protocol = _obj(raw, "protocolSection", required=True)
    ident = _obj(protocol, "identificationModule", required=True)
    nct_id = ident.get("nctId")
    if not isinstance(nct_id, str) or not re.fullmatch(r"NCT\d{8}", nct_id):
        raise _Bad("nctId", "missing or not NCT followed by 8 digits", nct_id)
    title = ident.get("briefTitle") or ident.get("officialTitle")
    if not isinstance(title, str) or not title.strip():
        raise _Bad("briefTitle", "a study needs a title")

    status = _obj(protocol, "statusModule")
    design = _obj(protocol, "designModule")
    design_info = _obj(design, "designInfo")
    enrollment_info = _obj(design, "enrollmentInfo")
    arms_module = _obj(protocol, "armsInterventionsModule")
    outcomes = _obj(protocol, "outcomesModule")
    sponsor = _obj(_obj(protocol, "sponsorCollaboratorsModule"), "leadSponsor")
    references = _obj(protocol, "referencesModule")

    enrollment = enrollment_info.get("count")
    if enrollment is not None and (
        isinstance(enrollment, bool) or not isinstance(enrollment, int) or enrollment < 0
    ):
        raise _Bad("enrollmentInfo.count", "enrollment must be a whole number >= 0", enrollment)

    results_posted = _date(status, "resultsFirstPostDateStruct")
    has_results = raw.get("hasResults", False)
    if not isinstance(has_results, bool):
        raise _Bad("hasResults", "must be true or false", has_results)
    try:
        return TrialRecord(
            nct_id=nct_id,
            title=title.strip(),
            official_title=ident.get("officialTitle"),
            status=status.get("overallStatus"),
            study_type=design.get("studyType"),
            phases=tuple(_strings(design.get("phases"), "phases")),
            allocation=design_info.get("allocation"),
            intervention_model=design_info.get("interventionModel"),
            masking=_obj(design_info, "maskingInfo").get("masking"),
            conditions=tuple(
                _strings(_obj(protocol, "conditionsModule").get("conditions"), "conditions")
            ),
            interventions=tuple(
                f"{str(i.get('type') or '').replace('_', ' ').title()}: {i['name']}".lstrip(": ")
                for i in _list(arms_module, "interventions")
                if isinstance(i, dict) and i.get("name")
            ),
            sponsor=sponsor.get("name"),
            start_date=_date(status, "startDateStruct"),
            primary_completion_date=_date(status, "primaryCompletionDateStruct"),
            completion_date=_date(status, "completionDateStruct"),
            first_posted=_date(status, "studyFirstPostDateStruct"),
            last_update_posted=_date(status, "lastUpdatePostDateStruct"),
            results_first_posted=results_posted,
            enrollment=enrollment,
            enrollment_type=enrollment_info.get("type"),
            arms=tuple(_arm(a) for a in _list(arms_module, "armGroups")),
            primary_outcomes=tuple(_outcome(o) for o in _list(outcomes, "primaryOutcomes")),
            secondary_outcomes=tuple(_outcome(o) for o in _list(outcomes, "secondaryOutcomes")),
            has_results=has_results or results_posted is not None,
            posted_outcomes=_posted_outcomes(raw),
            reference_pmids=tuple(
                str(r["pmid"])
                for r in _list(references, "references")
                if isinstance(r, dict) and str(r.get("pmid", "")).isdigit()
            ),
        )
    except ValidationError as error:
        first = error.errors()[0]
        raise _Bad(
            ".".join(str(p) for p in first["loc"]) or "study", first["msg"], first.get("input")
        ) from None


def parse_payload(data: Any, *, source: str | None = None) -> ParsedBatch:
    """A search page (``{"studies": [...]}``) or a single study; bad studies are reported."""
    batch = ParsedBatch()
    if isinstance(data, dict) and "studies" in data:
        studies = data["studies"]
        token = data.get("nextPageToken")
        batch.next_page_token = token if isinstance(token, str) else None
        if not isinstance(studies, list):
            batch.problems.append(Problem(RECORD, "studies", "must be a list", source=source))
            return batch
    elif isinstance(data, dict) and "protocolSection" in data:
        studies = [data]
    else:
        batch.problems.append(
            Problem(
                RECORD, "file", "not a ClinicalTrials.gov v2 study or search page", source=source
            )
        )
        return batch
    for index, raw in enumerate(studies):
        _parse_into(batch, raw, source=source, row=index)
    return batch


def parse_text(text: str, *, source: str | None = None) -> ParsedBatch:
    """Parse saved JSON text; a truncated page still gives the studies that arrived whole."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        return _salvage(text, error, source)
    return parse_payload(data, source=source)


def _parse_into(batch: ParsedBatch, raw: Any, *, source: str | None, row: int) -> None:
    try:
        batch.trials.append(parse_study(raw, source=source, row=row))
    except _Bad as bad:
        key = _nct_of(raw)
        batch.problems.append(
            Problem(
                f"{RECORD} {key}" if key else RECORD,
                bad.field_name,
                bad.rule,
                row=row,
                value=bad.value,
                source=source,
            )
        )


def _salvage(text: str, error: json.JSONDecodeError, source: str | None) -> ParsedBatch:
    batch = ParsedBatch()
    match = re.search(r'"studies"\s*:\s*\[', text)
    if match is None:
        batch.problems.append(
            Problem(
                RECORD,
                "file",
                f"not valid JSON ({error.msg} at character {error.pos})",
                source=source,
            )
        )
        return batch
    decoder = json.JSONDecoder()
    position = match.end()
    row = 0
    while True:
        while position < len(text) and text[position] in " \t\r\n,":
            position += 1
        if position >= len(text) or text[position] == "]":
            break
        try:
            raw, position = decoder.raw_decode(text, position)
        except json.JSONDecodeError:
            batch.problems.append(
                Problem(
                    RECORD,
                    "file",
                    "truncated: this study and any after it are incomplete",
                    row=row,
                    source=source,
                )
            )
            return batch
        _parse_into(batch, raw, source=source, row=row)
        row += 1
    batch.problems.append(
        Problem(RECORD, "file", f"not valid JSON after the study list ({error.msg})", source=source)
    )
    return batch


def _nct_of(raw: Any) -> str | None:
    try:
        value = raw["protocolSection"]["identificationModule"]["nctId"]
    except (KeyError, TypeError):
        return None
    return value if isinstance(value, str) else None


def _obj(parent: dict[str, Any], key: str, *, required: bool = False) -> dict[str, Any]:
    value = parent.get(key)
    if value is None:
        if required:
            raise _Bad(key, "missing")
        return {}
    if not isinstance(value, dict):
        raise _Bad(key, "must be an object", type(value).__name__)
    return value


def _list(parent: dict[str, Any], key: str) -> list[Any]:
    value = parent.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise _Bad(key, "must be a list", type(value).__name__)
    return value


def _strings(value: Any, name: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _Bad(name, "must be a list of text", value)
    return value


def _date(status: dict[str, Any], key: str) -> str | None:
    struct = status.get(key)
    if struct is None:
        return None
    value = struct.get("date") if isinstance(struct, dict) else None
    if not isinstance(value, str) or not _PARTIAL_DATE.match(value):
        raise _Bad(f"{key}.date", "must be YYYY-MM or YYYY-MM-DD", value)
    try:  # catch 2020-13-45 as well as the shape
        if len(value) == 7:
            dt.date.fromisoformat(value + "-01")
        else:
            dt.date.fromisoformat(value)
    except ValueError:
        raise _Bad(f"{key}.date", "not a calendar date", value) from None
    return value


def _arm(raw: Any) -> ArmGroup:
    if not isinstance(raw, dict) or not raw.get("label"):
        raise _Bad("armGroups", "each arm needs a label", raw)
    return ArmGroup(
        label=raw["label"],
        type=raw.get("type"),
        description=raw.get("description"),
        interventions=tuple(_strings(raw.get("interventionNames"), "interventionNames")),
    )


def _outcome(raw: Any) -> RegisteredOutcome:
    if not isinstance(raw, dict) or not isinstance(raw.get("measure"), str):
        raise _Bad("outcomes", "each registered outcome needs a measure", raw)
    return RegisteredOutcome(
        measure=raw["measure"],
        description=raw.get("description"),
        time_frame=raw.get("timeFrame"),
    )


def _posted_outcomes(raw: dict[str, Any]) -> tuple[PostedOutcome, ...]:
    """``resultsSection.outcomeMeasuresModule``: every measure with its table and analyses."""
    results = raw.get("resultsSection")
    if not isinstance(results, dict):
        return ()
    module = _obj(results, "outcomeMeasuresModule")
    posted = []
    for measure in _list(module, "outcomeMeasures"):
        if not isinstance(measure, dict) or not measure.get("title"):
            raise _Bad("outcomeMeasures", "each posted outcome needs a title", measure)
        groups = [g for g in _list(measure, "groups") if isinstance(g, dict)]
        units, analysed = _denominators(measure)
        posted.append(
            PostedOutcome(
                type=measure.get("type"),
                title=measure["title"],
                time_frame=measure.get("timeFrame"),
                param_type=measure.get("paramType"),
                unit=measure.get("unitOfMeasure"),
                groups=tuple(g.get("title", "") for g in groups),
                group_ids=tuple(str(g.get("id", "")) for g in groups),
                description=measure.get("description"),
                population=measure.get("populationDescription"),
                reporting_status=measure.get("reportingStatus"),
                dispersion_type=measure.get("dispersionType"),
                analysed_units=units,
                analysed=analysed,
                rows=tuple(row for cls in _list(measure, "classes") for row in _rows(cls)),
                analyses=tuple(_analysis(a) for a in _list(measure, "analyses")),
            )
        )
    return tuple(posted)


def _text(value: Any, name: str) -> str | None:
    """A posted number or label as text; ClinicalTrials.gov sends numbers as strings."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise _Bad(name, "must be text or a number", value)
    return str(value)


def _denominators(parent: dict[str, Any]) -> tuple[str | None, tuple[PostedValue, ...]]:
    """The first ``denoms`` entry (``Participants`` unless the measure counts something else)."""
    for denom in _list(parent, "denoms"):
        if not isinstance(denom, dict):
            raise _Bad("denoms", "each denominator must be an object", denom)
        counts = tuple(_value(c, "denoms.counts") for c in _list(denom, "counts"))
        return _text(denom.get("units"), "denoms.units"), counts
    return None, ()


def _value(raw: Any, name: str) -> PostedValue:
    if not isinstance(raw, dict) or not isinstance(raw.get("groupId"), str):
        raise _Bad(name, "each value needs a groupId", raw)
    return PostedValue(
        group_id=raw["groupId"],
        value=_text(raw.get("value"), f"{name}.value"),
        spread=_text(raw.get("spread"), f"{name}.spread"),
        lower=_text(raw.get("lowerLimit"), f"{name}.lowerLimit"),
        upper=_text(raw.get("upperLimit"), f"{name}.upperLimit"),
        comment=_text(raw.get("comment"), f"{name}.comment"),
    )


def _rows(cls: Any) -> list[PostedRow]:
    if not isinstance(cls, dict):
        raise _Bad("classes", "each class must be an object", cls)
    _, analysed = _denominators(cls)
    rows = []
    for category in _list(cls, "categories"):
        if not isinstance(category, dict):
            raise _Bad("categories", "each category must be an object", category)
        rows.append(
            PostedRow(
                class_title=_text(cls.get("title"), "classes.title"),
                category=_text(category.get("title"), "categories.title"),
                analysed=analysed,
                values=tuple(_value(m, "measurements") for m in _list(category, "measurements")),
            )
        )
    return rows


def _analysis(raw: Any) -> PostedAnalysis:
    if not isinstance(raw, dict):
        raise _Bad("analyses", "each analysis must be an object", raw)
    fields = {
        "method": "statisticalMethod",
        "p_value": "pValue",
        "param_type": "paramType",
        "param_value": "paramValue",
        "ci_percent": "ciPctValue",
        "ci_sides": "ciNumSides",
        "ci_lower": "ciLowerLimit",
        "ci_upper": "ciUpperLimit",
        "non_inferiority": "nonInferiorityType",
    }
    return PostedAnalysis(
        group_ids=tuple(_strings(raw.get("groupIds"), "analyses.groupIds")),
        **{ours: _text(raw.get(theirs), f"analyses.{theirs}") for ours, theirs in fields.items()},
    )
