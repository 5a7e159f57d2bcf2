"""The blinding documents of a personal trial and its calendar.

* The **pharmacy sheet** says which bottle holds LDN and which placebo, period by period, and
  how many capsules to put in each. It is for the pharmacy only.
* The **patient sheet** gives period dates and bottle labels only; nothing on it (or on the
  bottles) tells LDN from placebo.
* The **calendar** (.ics, RFC 5545, written by hand) has one all-day event at the start of each
  period and a daily check-in reminder with an alarm.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Sequence
from pathlib import Path

from ..domain.layout import neutralise_formula
from ..domain.nof1 import Allocation, NOf1Design, Period, Treatment, schedule

PRODID = "-//LDN Outcomes//n-of-1 trial//EN"


def _contents(design: NOf1Design, treatment: Treatment | None) -> str:
    if treatment is Treatment.LDN:
        return f"Naltrexone {design.dose_text} mg capsules"
    if treatment is Treatment.PLACEBO:
        return "Placebo capsules (identical appearance)"
    raise ValueError("the pharmacy sheet needs the allocation")


def pharmacy_rows(design: NOf1Design, allocation: Allocation) -> list[dict[str, str | int]]:
    return [
        {
            "period": p.number,
            "pair": p.pair,
            "start": p.start.isoformat(),
            "end": p.end.isoformat(),
            "bottle_label": p.bottle_label,
            "contents": _contents(design, p.treatment),
            "capsules": design.capsules_per_bottle,
        }
        for p in schedule(design, allocation)
    ]


def pharmacy_sheet(design: NOf1Design, allocation: Allocation) -> str:
    """Markdown for the pharmacy: the allocation, bottle by bottle. Keep it from the patient."""
    lines = [
        f"# Pharmacy sheet — n-of-1 trial {design.trial_id}",
        "",
        "CONFIDENTIAL: for the dispensing pharmacy only. Do not show to the patient or the "
        "treating clinician before the trial is unblinded.",
        "",
        f"- Patient (pseudonymous id): {design.patient_id}",
        f"- Active: naltrexone {design.dose_text} mg per capsule; placebo: identical capsule",
        f"- {design.capsules_per_day} capsule(s) a day, {design.period_days} days per period, "
        f"{design.capsules_per_bottle} capsules per bottle ({design.spare_capsules} spare)",
        f"- Randomisation seed: {design.seed}",
        "",
        "| Period | Pair | From | To | Bottle label | Contents | Capsules |",
        "|---:|---:|---|---|---|---|---:|",
    ]
    for row in pharmacy_rows(design, allocation):
        lines.append(
            f"| {row['period']} | {row['pair']} | {row['start']} | {row['end']} | "
            f"{row['bottle_label']} | {row['contents']} | {row['capsules']} |"
        )
    lines += [
        "",
        "Label every bottle with its bottle label only. LDN and placebo bottles and capsules "
        "must look, smell and taste the same.",
        "",
    ]
    return "\n".join(lines)


def pharmacy_csv(design: NOf1Design, allocation: Allocation) -> str:
    buffer = io.StringIO()
    rows = pharmacy_rows(design, allocation)
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(
        {k: neutralise_formula(v) if isinstance(v, str) else v for k, v in row.items()}
        for row in rows
    )
    return buffer.getvalue()


def patient_sheet(design: NOf1Design) -> str:
    """Markdown for the patient: dates and bottle labels, nothing about the contents."""
    periods = schedule(design)
    lines = [
        f"# Your n-of-1 trial {design.trial_id}",
        "",
        f"You will take one bottle per period, {design.capsules_per_day} capsule(s) a day, "
        f"for {design.pairs * 2} periods of {design.period_days} days "
        f"({periods[0].start.isoformat()} to {periods[-1].end.isoformat()}). Some bottles "
        "hold LDN and some an identical placebo; neither you nor your clinician knows which "
        "until the trial ends.",
        "",
        "Please fill in the daily check-in every evening, including on days you forgot a "
        "capsule (and record that in the dose log).",
        "",
        "| Period | From | To | Bottle to use | Settling-in days (not analysed) until |",
        "|---:|---|---|---|---|",
    ]
    for p in periods:
        settle = p.analysis_start - dt.timedelta(days=1)
        settle_text = settle.isoformat() if design.washout_days else "—"
        lines.append(
            f"| {p.number} | {p.start.isoformat()} | {p.end.isoformat()} | {p.bottle_label} "
            f"| {settle_text} |"
        )
    lines.append("")
    return "\n".join(lines)


# -- calendar ------------------------------------------------------------------------------------


def _is_control(char: str) -> bool:
    """C0 and C1 controls and DEL, and the Unicode line and paragraph separators."""
    code = ord(char)
    return code < 0x20 or 0x7F <= code <= 0x9F or code in (0x2028, 0x2029)


def _escape(text: str) -> str:
    """RFC 5545 3.3.11 TEXT escaping: a line break becomes ``\\n``; a bare carriage return and
    every other control character but tab (TEXT has no place for them) are dropped, so no
    value can end its content line and start a property of its own."""
    text = "".join(char for char in text if char in "\t\n" or not _is_control(char))
    text = text.replace("\\", "\\\\")
    return text.replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def file_stem(trial_id: str) -> str:
    """The trial id as a file name. Ids follow ``domain.nof1.TRIAL_ID_PATTERN`` and stay as
    they are; anything else (an id stored before that rule) keeps only letters, digits and
    ``. _ -``, never starting with a dot, so it cannot name a file outside the directory."""
    stem = re.sub(r"[^A-Za-z0-9._-]", "_", trial_id).lstrip(".")
    return stem[:64] or "trial"


def _fold(line: str) -> str:
    """Fold a content line at 75 octets (RFC 5545 3.1), never splitting a UTF-8 character."""
    out: list[str] = []
    current = ""
    limit = 75
    for char in line:
        if len((current + char).encode()) > limit:
            out.append(current)
            current = " " + char
            limit = 75
        else:
            current += char
    out.append(current)
    return "\r\n".join(out)


def _date(day: dt.date) -> str:
    return day.strftime("%Y%m%d")


def calendar(
    design: NOf1Design,
    *,
    reminder_time: dt.time = dt.time(20, 0),
    now: dt.datetime | None = None,
    periods: Sequence[Period] | None = None,
) -> str:
    """An iCalendar file: period starts (all-day) and a daily check-in reminder with an alarm.

    Written here rather than with ``icalendar``: that would replace only the escaping and the
    folding, and would change every calendar file (property order, folding)."""
    stamp = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    periods = list(periods or schedule(design))
    uid_base = f"{design.trial_id}@ldn-outcomes"
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODID}",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        f"X-WR-CALNAME:{_escape('n-of-1 trial ' + design.trial_id)}",
    ]
    for p in periods:
        description = (
            f"Start bottle '{p.bottle_label}' today and take it until {p.end.isoformat()}. "
            f"The first {design.washout_days} days are settling-in days."
        )
        summary = f"Trial period {p.number} of {len(periods)}: start {p.bottle_label}"
        lines += [
            "BEGIN:VEVENT",
            f"UID:{_escape(f'period-{p.number}-{uid_base}')}",
            f"DTSTAMP:{stamp}",
            f"DTSTART;VALUE=DATE:{_date(p.start)}",
            f"DTEND;VALUE=DATE:{_date(p.start + dt.timedelta(days=1))}",
            f"SUMMARY:{_escape(summary)}",
            f"DESCRIPTION:{_escape(description)}",
            "TRANSP:TRANSPARENT",
            "END:VEVENT",
        ]
    first = dt.datetime.combine(design.start_date, reminder_time)
    lines += [
        "BEGIN:VEVENT",
        f"UID:{_escape(f'checkin-{uid_base}')}",
        f"DTSTAMP:{stamp}",
        f"DTSTART:{first.strftime('%Y%m%dT%H%M%S')}",
        "DURATION:PT5M",
        f"RRULE:FREQ=DAILY;COUNT={design.total_days}",
        f"SUMMARY:{_escape('Daily check-in (n-of-1 trial ' + design.trial_id + ')')}",
        f"DESCRIPTION:{_escape('Record fatigue, spasms, sleep, dreams and your capsule.')}",
        "BEGIN:VALARM",
        "ACTION:DISPLAY",
        f"DESCRIPTION:{_escape('Daily check-in')}",
        "TRIGGER:PT0M",
        "END:VALARM",
        "END:VEVENT",
        "END:VCALENDAR",
    ]
    return "".join(_fold(line) + "\r\n" for line in lines)


def write_sheets(
    directory: Path,
    design: NOf1Design,
    allocation: Allocation,
    *,
    now: dt.datetime | None = None,
) -> dict[str, Path]:
    """Write the four files; returns what was written, by kind."""
    directory.mkdir(parents=True, exist_ok=True)
    stem = file_stem(design.trial_id)
    files = {
        "pharmacy_sheet": directory / f"{stem}-pharmacy.md",
        "pharmacy_csv": directory / f"{stem}-pharmacy.csv",
        "patient_sheet": directory / f"{stem}-patient.md",
        "calendar": directory / f"{stem}.ics",
    }
    files["pharmacy_sheet"].write_text(pharmacy_sheet(design, allocation), encoding="utf-8")
    files["pharmacy_csv"].write_text(pharmacy_csv(design, allocation), encoding="utf-8")
    files["patient_sheet"].write_text(patient_sheet(design), encoding="utf-8")
    files["calendar"].write_bytes(calendar(design, now=now).encode("utf-8"))
    return files
