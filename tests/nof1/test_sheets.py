"""Pharmacy and patient sheets, and the calendar parsed back structurally (RFC 5545)."""

from __future__ import annotations

import datetime as dt
import re

from ldn_outcomes.domain.nof1 import NOf1Design, allocate, make_design, schedule
from ldn_outcomes.reports.nof1_sheets import (
    calendar,
    file_stem,
    patient_sheet,
    pharmacy_csv,
    pharmacy_sheet,
    write_sheets,
)

DESIGN = make_design(trial_id="P1-nof1", patient_id="P1", start_date=dt.date(2026, 1, 5), seed=42)
ALLOCATION = allocate(3, 42)
NOW = dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.UTC)


def unfold(text: str) -> list[str]:
    """RFC 5545 3.1: a CRLF followed by one space or tab continues the previous line."""
    assert "\n" not in text.replace("\r\n", "")
    return text.replace("\r\n ", "").replace("\r\n\t", "").split("\r\n")[:-1]


def parse(text: str) -> list[tuple[str, list[tuple[str, str]]]]:
    """Components as (name, [(property, value)]), checking BEGIN/END nesting on the way."""
    stack: list[tuple[str, list[tuple[str, str]]]] = []
    done = []
    for line in unfold(text):
        name, sep, value = line.partition(":")
        assert sep, f"not a content line: {line!r}"
        assert re.fullmatch(r"[A-Z-]+(;[A-Z-]+=[^;:]+)*", name), name
        if name == "BEGIN":
            stack.append((value, []))
        elif name == "END":
            component = stack.pop()
            assert component[0] == value
            done.append(component)
        else:
            stack[-1][1].append((name, value))
    assert not stack
    return done


def test_calendar_is_structurally_valid() -> None:
    text = calendar(DESIGN, now=NOW)
    assert text.startswith("BEGIN:VCALENDAR\r\n") and text.endswith("END:VCALENDAR\r\n")
    for raw in text.split("\r\n"):
        assert len(raw.encode()) <= 75
    components = parse(text)
    calendar_props = dict(next(c for c in components if c[0] == "VCALENDAR")[1])
    assert calendar_props["VERSION"] == "2.0" and calendar_props["PRODID"]
    events = [dict(c[1]) for c in components if c[0] == "VEVENT"]
    assert len(events) == 6 + 1
    assert len({e["UID"] for e in events}) == len(events)
    for event in events:
        assert event["DTSTAMP"] == "20260101T120000Z"
    starts = sorted(e["DTSTART;VALUE=DATE"] for e in events if "DTSTART;VALUE=DATE" in e)
    assert starts == [p.start.strftime("%Y%m%d") for p in schedule(DESIGN)]
    reminder = next(e for e in events if "RRULE" in e)
    assert reminder["RRULE"] == "FREQ=DAILY;COUNT=168"
    assert reminder["DTSTART"] == "20260105T200000"
    assert any(c[0] == "VALARM" and dict(c[1])["ACTION"] == "DISPLAY" for c in components)


def test_long_lines_are_folded_and_text_escaped() -> None:
    design = make_design(
        trial_id="P1-" + "x" * 50, patient_id="P1", start_date=dt.date(2026, 1, 5), seed=1
    )
    text = calendar(design, now=NOW)
    assert "\r\n " in text
    summaries = [
        v for name, v in (line.partition(":")[::2] for line in unfold(text)) if name == "SUMMARY"
    ]
    assert any("x" * 50 in s for s in summaries)
    descriptions = [line for line in unfold(text) if line.startswith("DESCRIPTION:")]
    # RFC 5545 3.3.11: commas in TEXT values are escaped with a backslash.
    assert any("fatigue\\, spasms\\, sleep" in d for d in descriptions)
    assert all(not re.search(r"(?<!\\),", d) for d in descriptions)


def test_calendar_and_patient_sheet_do_not_reveal_the_allocation() -> None:
    for text in (calendar(DESIGN, now=NOW), patient_sheet(DESIGN)):
        assert "Naltrexone" not in text and "Placebo capsules" not in text
        assert "seed" not in text.lower()
    sheet = patient_sheet(DESIGN)
    for p in schedule(DESIGN):
        assert p.bottle_label in sheet and p.start.isoformat() in sheet


def test_pharmacy_sheet_lists_every_bottle_with_its_contents() -> None:
    sheet = pharmacy_sheet(DESIGN, ALLOCATION)
    rows = [line for line in sheet.splitlines() if line.startswith("| ") and "period" in line]
    assert len(rows) == 6
    assert sum("Naltrexone 4.5 mg" in r for r in rows) == 3
    assert sum("Placebo" in r for r in rows) == 3
    assert all("| 31 |" in r for r in rows)
    for period in schedule(DESIGN, ALLOCATION):
        row = next(r for r in rows if f"| {period.bottle_label} |" in r)
        assert ("Naltrexone" in row) == (period.treatment == "ldn")
    csv_text = pharmacy_csv(DESIGN, ALLOCATION)
    assert csv_text.splitlines()[0] == "period,pair,start,end,bottle_label,contents,capsules"


def test_write_sheets(tmp_path) -> None:
    files = write_sheets(tmp_path / "out", DESIGN, ALLOCATION, now=NOW)
    assert set(files) == {"pharmacy_sheet", "pharmacy_csv", "patient_sheet", "calendar"}
    assert files["calendar"].read_bytes().startswith(b"BEGIN:VCALENDAR\r\n")


#: An id stored before trial ids had a pattern: line breaks, NUL, escape, ``;`` ``,`` and a path.
LEGACY_ID = "../Z\r\nX-Injected: yes\r\nSUMMARY:Take 10 now;a,b\0\x1b[31m"


def _legacy_design() -> NOf1Design:
    """Built directly, as the store reads a trial back (the pattern is a rule for new ids)."""
    return DESIGN.model_copy(update={"trial_id": LEGACY_ID})


def test_a_trial_id_cannot_break_out_of_its_calendar_values() -> None:
    """RFC 5545 3.3.11 escaping on every TEXT value, the UIDs included: no property of its own,
    no control character."""
    text = calendar(_legacy_design(), now=NOW)
    components = parse(text)  # every line is still a property of the component it belongs to
    names = {name for _, properties in components for name, _ in properties}
    assert "X-INJECTED" not in names and not any(name.startswith("X-I") for name in names)
    events = [dict(c[1]) for c in components if c[0] == "VEVENT"]
    assert len({e["UID"] for e in events}) == len(events) == 7
    for event in events:
        assert event["UID"].endswith(
            "X-Injected: yes\\nSUMMARY:Take 10 now\\;a\\,b[31m@ldn-outcomes"
        )
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f]", text.replace("\r\n", ""))


def test_a_trial_id_names_files_inside_the_output_directory_only(tmp_path) -> None:
    assert file_stem("P1-nof1-20250106") == "P1-nof1-20250106"
    assert file_stem(LEGACY_ID) == "_Z__X-Injected__yes__SUMMARY_Take_10_now_a_b___31m"
    assert file_stem("..") == "trial"
    out = tmp_path / "out"
    files = write_sheets(out, _legacy_design(), ALLOCATION, now=NOW)
    assert all(path.parent == out for path in files.values())
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in files.values())
