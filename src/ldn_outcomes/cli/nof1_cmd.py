"""``ldn nof1``: personal n-of-1 trials of LDN against placebo (design, sheets, analysis)."""

from __future__ import annotations

import datetime as dt
import secrets
from pathlib import Path
from typing import Annotated

import typer

from ..domain.nof1_defaults import (
    DEFAULT_PAIRS,
    DEFAULT_PERIOD_WEEKS,
    DEFAULT_WASHOUT_DAYS,
    OUTCOME_IDS,
)
from .common import (
    DbOption,
    JsonOption,
    PlainTable,
    console,
    engine_for,
    handle_errors,
    print_json,
    user_text,
)

# The n-of-1 service (the store, numpy, scipy) and the settings are imported inside each
# command, so that `ldn --help` starts fast.

nof1_app = typer.Typer(
    help="Personal n-of-1 trials: blinded, randomised LDN vs placebo for one patient.",
    no_args_is_help=True,
)


def _secret() -> bytes:
    from ..settings import load_settings

    return load_settings().secret_key.get_secret_value().encode()


@nof1_app.command("design")
@handle_errors
def design_command(
    patient: Annotated[str, typer.Option("--patient", help="Patient id.")],
    pairs: Annotated[int, typer.Option(help="Pairs of periods (LDN + placebo each).")] = (
        DEFAULT_PAIRS
    ),
    period_weeks: Annotated[int, typer.Option(help="Length of each period in weeks.")] = (
        DEFAULT_PERIOD_WEEKS
    ),
    washout_days: Annotated[
        int, typer.Option(help="First days of each period left out of the analysis.")
    ] = DEFAULT_WASHOUT_DAYS,
    outcome: Annotated[
        str, typer.Option(help=f"Daily check-in outcome: {', '.join(OUTCOME_IDS)}.")
    ] = "fatigue_nrs",
    seed: Annotated[
        int | None, typer.Option(help="Randomisation seed (default: a random one, kept sealed).")
    ] = None,
    dose_mg: Annotated[float, typer.Option(help="LDN dose per capsule in mg.")] = 4.5,
    mcid: Annotated[
        float | None, typer.Option(help="Smallest important difference (points).")
    ] = None,
    start: Annotated[
        dt.datetime | None,
        typer.Option(formats=["%Y-%m-%d"], help="First day of period 1 (default: today)."),
    ] = None,
    trial_id: Annotated[str | None, typer.Option(help="Trial id (default: derived).")] = None,
    pharmacy_account: Annotated[
        int | None,
        typer.Option(help="Id of the pharmacy account that may print the bottle sheet on the web."),
    ] = None,
    db: DbOption = None,
    json_output: JsonOption = False,
) -> None:
    """Design a trial: validate it, seal the allocation, print the schedule."""
    from ..domain.nof1 import default_trial_id
    from ..services import nof1 as service

    start_date = start.date() if start else dt.date.today()
    result = service.design_trial(
        engine_for(db),
        _secret(),
        trial_id=trial_id or default_trial_id(patient, start_date),
        patient_id=patient,
        pairs=pairs,
        period_days=period_weeks * 7,
        washout_days=washout_days,
        outcome=outcome,
        seed=seed if seed is not None else secrets.randbelow(2**31),
        start_date=start_date,
        dose_mg=str(dose_mg),
        mcid=mcid,
        pharmacy_account_id=pharmacy_account,
    )
    data = result.as_dict()
    if json_output:
        print_json(data)
        return
    console.print(
        f"trial [bold]{data['trial_id']}[/] for patient {data['patient_id']}: {data['pairs']} "
        f"pairs of {data['period_days']}-day periods, {data['start_date']} to "
        f"{data['end_date']}; allocation sealed until the last period ends."
    )
    table = PlainTable(title="Schedule (blinded)")
    for column in ("period", "start", "end", "analysed from", "bottle"):
        table.add_column(column)
    for p in data["periods"]:
        table.add_row(str(p["period"]), p["start"], p["end"], p["analysed_from"], p["bottle_label"])
    console.print(table)
    if result.detectable:
        d = result.detectable
        console.print(
            f"With this patient's own variability (daily SD {d.daily_sd:.2f}, lag-1 "
            f"autocorrelation {d.lag1_autocorrelation:.2f}, {d.baseline_days} earlier days) the "
            f"design detects a difference of about {d.effect:.2f} points (two-sided paired-t "
            f"interval at alpha {d.alpha} excluding no difference, power {d.power:.0%}); the "
            f"MCID is {data['mcid']:g}."
        )
        if not d.randomisation_can_reach:
            console.print(
                f"[yellow]With {d.pairs} pairs the randomisation test can never reach p <= "
                f"{d.alpha:g} (its smallest possible p is {d.randomisation_smallest_p:.3g}); it "
                f"needs at least {d.randomisation_pairs_needed} pairs.[/]"
            )
        if d.effect > data["mcid"]:
            console.print(
                "[yellow]That is larger than the MCID: consider more pairs or longer periods.[/]"
            )
    elif result.detectable_note:
        console.print(f"Smallest detectable effect not computed: {result.detectable_note}")


@nof1_app.command("sheets")
@handle_errors
def sheets_command(
    trial_id: Annotated[str, typer.Argument(help="Trial id.")],
    out: Annotated[Path, typer.Option("--out", help="Directory to write the files to.")],
    db: DbOption = None,
    json_output: JsonOption = False,
) -> None:
    """Write the pharmacy sheet (allocation), the patient sheet and the .ics calendar."""
    from ..services import nof1 as service

    files = service.write_trial_sheets(engine_for(db), _secret(), trial_id, out)
    if json_output:
        print_json({kind: str(path) for kind, path in files.items()})
        return
    for kind, path in files.items():
        console.print(f"{kind.replace('_', ' ')}: {path}")
    console.print(
        "[bold]The pharmacy sheet reveals the allocation: give it to the pharmacy only.[/]"
    )


@nof1_app.command("unblind")
@handle_errors
def unblind_command(
    trial_id: Annotated[str, typer.Argument(help="Trial id.")],
    db: DbOption = None,
    json_output: JsonOption = False,
) -> None:
    """Open the allocation after the last period has ended (recorded in the audit log)."""
    from ..services import nof1 as service

    data = service.unblind_trial(engine_for(db), _secret(), trial_id, dt.date.today())
    if json_output:
        print_json(data)
        return
    table = PlainTable(title=f"Trial {trial_id} unblinded")
    table.add_column("period")
    table.add_column("bottle")
    table.add_column("contained")
    for p in data["periods"]:
        table.add_row(str(p["period"]), p["bottle_label"], p["treatment"])
    console.print(table)


@nof1_app.command("stop")
@handle_errors
def stop_command(
    trial_id: Annotated[str, typer.Argument(help="Trial id.")],
    reason: Annotated[str, typer.Option(help="Why the trial stopped (3 to 500 characters).")],
    on: Annotated[
        dt.datetime | None,
        typer.Option(formats=["%Y-%m-%d"], help="The last day of the trial (default: today)."),
    ] = None,
    db: DbOption = None,
    json_output: JsonOption = False,
) -> None:
    """Record that a trial stopped before its last day, and why (audited, once): its
    analysis then uses the days up to the stop, and it can be unblinded from that day."""
    from ..services import nof1 as service

    today = dt.date.today()
    data = service.stop_trial(
        engine_for(db), _secret(), trial_id, on.date() if on else today, reason, today
    )
    if json_output:
        print_json(data)
        return
    console.print(
        f"trial [bold]{user_text(trial_id)}[/] stopped on {data['stopped_on']} (planned to end "
        f"{data['end_date']}): {user_text(data['stop_reason'])}",
        highlight=False,
    )


@nof1_app.command("analyze")
@handle_errors
def analyze_command(
    trial_id: Annotated[str, typer.Argument(help="Trial id.")],
    chart: Annotated[
        Path | None, typer.Option(help="Also write the daily-values chart (SVG) to this file.")
    ] = None,
    db: DbOption = None,
    json_output: JsonOption = False,
) -> None:
    """Analyse an unblinded trial: estimate, randomisation test, Bayesian conclusion."""
    from ..services import nof1 as service

    analysis = service.analyse_trial(engine_for(db), _secret(), trial_id)
    data = service.analysis_payload(analysis)
    if chart is not None:
        chart.write_text(service.chart_svg(analysis), encoding="utf-8")
    if json_output:
        print_json(data)
        return
    table = PlainTable(title=f"{data['outcome_label']} by period ({data['direction']})")
    for column in ("period", "pair", "treatment", "mean", "days", "adherence"):
        table.add_column(column)
    for p in data["periods"]:
        table.add_row(
            str(p["period"]),
            str(p["pair"]),
            p["treatment"],
            "—" if p["mean"] is None else f"{p['mean']:.2f}",
            str(p["days_analysed"]),
            "not logged" if p["days_dose_logged"] == 0 else f"{p['adherence']:.0%}",
        )
    console.print(table)
    est, test, bayes = data["estimate"], data["randomisation_test"], data["bayes"]
    console.print(
        f"LDN - placebo: {est['mean_difference']:.2f} points "
        f"(95% CI {est['ci'][0]:.2f} to {est['ci'][1]:.2f}, paired t on {est['pairs_used']} "
        f"pairs); exact randomisation test p = {test['p_two_sided']:.3f} (two-sided, "
        f"{test['allocations']} allocations); Bayesian effect {bayes['effect_mean']:.2f} "
        f"(95% credible {bayes['effect_interval_95'][0]:.2f} to "
        f"{bayes['effect_interval_95'][1]:.2f})."
    )
    console.print(f"[bold]Conclusion:[/] {user_text(data['conclusion']['text'])}")


@nof1_app.command("series")
@handle_errors
def series_command(
    outcome: Annotated[str | None, typer.Option(help="Outcome to pool.")] = None,
    method: Annotated[
        str, typer.Option(help="dl (DerSimonian-Laird), pm (Paule-Mandel) or reml.")
    ] = ("dl"),
    db: DbOption = None,
    json_output: JsonOption = False,
) -> None:
    """Pool all unblinded trials: average effect and how much it varies between patients."""
    from ..services import nof1 as service

    result, skipped, stopped = service.pool_series(engine_for(db), _secret(), outcome, method)
    if json_output:
        print_json(
            {
                "result": result.as_dict() if result else None,
                "skipped": skipped,
                "stopped_early": stopped,
            }
        )
        return
    for item in skipped:
        console.print(f"skipped {user_text(item.get('trial_id', ''))}: {user_text(item['reason'])}")
    for item in stopped:
        console.print(
            f"included {user_text(item['trial_id'])}, stopped early on {item['stopped_on']} "
            f"({item['pairs_used']} pairs analysed): {user_text(item['reason'] or '')}",
            highlight=False,
        )
    if result is None:
        console.print("nothing to pool")
        return
    data = result.as_dict()
    console.print(
        f"{data['trials']} trials of {data['outcome']} ({data['method']}): average LDN - "
        f"placebo {data['mean_effect']:.2f} (95% CI {data['ci'][0]:.2f} to {data['ci'][1]:.2f}); "
        f"between-patient SD tau {data['tau']:.2f}, I² {data['i2']:.0f}%."
    )
    if data["fallback_reason"]:
        console.print(f"[bold]Note:[/] {data['fallback_reason']}.")
