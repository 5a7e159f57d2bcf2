"""How the evidence commands show their results in a terminal: Rich tables and lines, every
outside text escaped so that it cannot read as console markup. The commands
(:mod:`.evidence_cmd`) parse options, call the evidence package and hand the result here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.markup import escape
from rich.table import Table

from .common import PlainTable, console, err_console, print_json

if TYPE_CHECKING:
    from ..evidence.pooling import MetaReport
    from ..evidence.sync import ImportReport


def print_import_report(report: ImportReport, json_output: bool) -> None:
    """What a sync or an import did: the counts, the changes and the records skipped."""
    if json_output:
        print_json(report.as_dict())
        return
    table = PlainTable(title="Evidence import")
    for column in ("new", "updated", "unchanged", "stale", "links", "changes", "skipped"):
        table.add_column(column, justify="right")
    table.add_row(
        *(
            str(v)
            for v in (
                report.new,
                report.updated,
                report.unchanged,
                report.stale,
                report.links,
                len(report.changes),
                len(report.problems),
            )
        )
    )
    console.print(table)
    for change in report.changes[:50]:
        console.print(f"  {change['kind']}: {escape(change['summary'])}", highlight=False)
    if report.problems:
        err_console.print(f"[yellow]{len(report.problems)} record(s) skipped:[/]")
        for problem in report.problems[:50]:
            err_console.print(f"  - {escape(str(problem))}", highlight=False)


def print_study(data: dict[str, Any]) -> None:
    """One study in capsule form (`ldn evidence show`)."""
    study, summary = data["study"], data["summary"]
    console.print(f"[bold]{escape(study.get('title') or study['id'])}[/]")
    console.print(f"{escape(summary['authors'])} ({study.get('year') or 'year unknown'})")
    grading, checked = data["grading"], data["checked"]
    console.print(
        f"design: {study.get('design')}   evidence level given: {summary['evidence_level']}"
        f"   N: {study.get('n_enrolled')}"
    )
    if grading["rated_down"]:
        console.print(
            f"rated down from level {grading['level_for_design']}: {escape(grading['why'] or '')}"
        )
    if data["plain"]:
        console.print(
            f"\n{escape(data['plain']['text'])} (reading age about {data['plain']['reading_age']})"
        )
    console.print(f"\n{escape(study.get('capsule') or 'No capsule yet.')}\n")
    stale = " (more than a year ago)" if checked["stale"] else ""
    console.print(f"last checked: {checked['on'] or 'never'} by {checked['by'] or '—'}{stale}")
    switch = data["outcome_switch"]
    console.print(
        f"outcome switch: {', '.join(switch['flags']) or 'no verdict'} ({switch['method']})"
    )
    for link in data["links"]:
        console.print(f"  {link['label']}: {link['url']}")


def print_claims(data: dict[str, Any]) -> None:
    """The claims register as a table (`ldn evidence claims`)."""
    table = Table("verdict", "certainty (by outcome)")
    table.add_column("id", no_wrap=True)
    for claim in data["claims"]:
        certainty = "; ".join(f"{a['outcome']}: {a['certainty']}" for a in claim["certainty"])
        table.add_row(claim["verdict"] or "—", escape(certainty or "—"), claim["id"])
    console.print(table)
    console.print(f"{data['count']} claims; `ldn evidence claims ID` shows one.")


def print_claim(detail: dict[str, Any]) -> None:
    """One claim with its verdict and the certainty of each outcome (`ldn evidence claims ID`)."""
    claim, checked = detail["claim"], detail["checked"]
    console.print(f"[bold]{escape(claim.get('claim') or claim['id'])}[/]")
    console.print(f"verdict: {claim.get('verdict') or 'none'}")
    console.print(f"\n{escape(claim.get('verdict_summary') or '')}\n")
    for item in claim["certainty"]:
        console.print(f"[bold]{escape(item['outcome'])}[/]: {item['certainty']} certainty")
        console.print(f"  {escape(item['meaning'])}")
        studies = ", ".join(s["id"] for s in item["studies"]) or "no study"
        console.print(f"  rests on: {escape(studies)} (starting level {item['start']})")
        for reason in item["rated_down"]:
            console.print(
                f"  rated down {reason['levels']} for {reason['domain'].replace('_', ' ')}: "
                f"{escape(reason['reason'])}"
            )
    audit = claim.get("registry_audit")
    note = claim.get("registry_audit_note")
    console.print(f"\nregistry audit: {audit or escape(note or 'none')}")
    stale = " (more than a year ago)" if checked["stale"] else ""
    console.print(f"last checked: {checked['on'] or 'never'} by {checked['by'] or '—'}{stale}")


def print_meta(report: MetaReport, data: dict) -> None:
    """The pooled result as a reader sees it: ratios as ratios, the scale named; a ratio too
    small for three decimals in significant digits, one beyond a float as e^(its log)."""
    from ..evidence.meta import ratio_text

    def text(shown: float | None, log_value: float | None) -> str:
        if report.ratio:
            return ratio_text(shown, log_value)
        return "—" if shown is None else f"{shown:.3f}"

    result, shown = report.result, data["shown"]
    console.print(f"{report.outcome_id}: {escape(report.scale)}")
    if result is None:
        console.print(f"not pooled: {escape(report.not_pooled_reason or '')}")
    else:
        value = {key: text(shown[key], getattr(result, key)) for key in shown}
        prediction = (  # escaped: "[e^747.0, ...]" would read as console markup
            escape(f"[{value['pi_low']}, {value['pi_high']}]")
            if result.pi_low is not None
            else "needs at least three studies"
        )
        log = " (log scale)" if report.ratio else ""
        console.print(
            f"{report.measure} ({result.method}, k={result.k}): "
            + escape(f"{value['estimate']} [{value['ci_low']}, {value['ci_high']}], ")
            + f"p={result.p:.4f}; 95% prediction interval {prediction}; "
            f"tau²{log}={result.tau2:.4f}, I²={result.i2:.1f}%, "
            f"Q={result.q:.3f} (df {result.q_df}, p={result.q_p:.4f})"
        )
        if result.fallback_reason:
            console.print(f"[bold]Note:[/] {escape(result.fallback_reason)}.")
    for effect in data["included"]:
        estimate, low, high = (
            text(v, log_value)
            for v, log_value in zip(
                effect["shown"], (effect["yi"], effect["ci_low"], effect["ci_high"]), strict=True
            )
        )
        console.print(
            f"  in:  {escape(effect['label'])} {escape(f'{estimate} [{low}, {high}]')} "
            f"from {escape(effect['derived_from'])}"
        )
    for excluded in report.excluded:
        console.print(f"  out: {escape(excluded['study_id'])}: {escape(excluded['reason'])}")
    for note in data["notes"]:
        console.print(f"  {escape(note)}")
