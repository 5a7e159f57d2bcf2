"""A user's own studies from CSV: the layout in docs/evidence-hub.md, its errors, and the CLI."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.stats.test_random_effects import BCG, NOT_CONVERGING
from typer.testing import CliRunner

from ldn_outcomes.cli.main import app
from ldn_outcomes.errors import ValidationFailed
from ldn_outcomes.evidence.html import Links, render_meta
from ldn_outcomes.evidence.publish import report_page_data
from ldn_outcomes.evidence.user_studies import pool_csv, read_studies

runner = CliRunner()


def bcg_csv() -> str:
    """dat.bcg (Colditz et al. 1994) as 2x2 counts: events and totals per arm."""
    lines = ["study,measure,events_treatment,total_treatment,events_control,total_control"]
    for i, (tpos, tneg, cpos, cneg) in enumerate(BCG.astype(int), start=1):
        lines.append(f"trial {i},RR,{tpos},{tpos + tneg},{cpos},{cpos + cneg}")
    return "\n".join(lines) + "\n"


def test_counts_reproduce_metafor_reml_on_dat_bcg(tmp_path: Path) -> None:
    # metafor rma(escalc("RR", ...), method = "REML") on dat.bcg: estimate -0.7145,
    # CI [-1.0669, -0.3622], tau² 0.3132 (sources in tests/stats/test_random_effects.py).
    path = tmp_path / "bcg.csv"
    path.write_text(bcg_csv())
    report = pool_csv(path)
    result = report.result
    assert result is not None and report.measure == "RR" and result.k == 13
    assert round(result.estimate, 4) == -0.7145
    assert round(result.tau2, 4) == 0.3132
    data = report.as_dict()
    assert data["ratio"] and "log scale" in data["scale"]
    assert data["shown"]["estimate"] == pytest.approx(math.exp(-0.7145), abs=1e-4)
    assert data["shown"]["ci_low"] == pytest.approx(math.exp(-1.0669), abs=1e-4)


def test_estimates_with_cis_and_the_worked_example_of_the_docs() -> None:
    text = (
        "study,label,measure,estimate,ci_low,ci_high\n"
        "a,Trial A 2010,HR,0.80,0.60,1.07\n"
        "b,Trial B 2015,HR,0.70,0.50,0.98\n"
    )
    effects, excluded = read_studies(text)
    assert excluded == []
    assert [e.label for e in effects] == ["Trial A 2010", "Trial B 2015"]
    assert effects[0].yi == pytest.approx(math.log(0.8))
    # SE from the log CI: (log 1.07 - log 0.60) / 3.92
    se = (math.log(1.07) - math.log(0.60)) / (2 * 1.959964)
    assert math.sqrt(effects[0].vi) == pytest.approx(se, rel=1e-5)


def test_odds_ratio_zero_cell_and_double_zero() -> None:
    text = (
        "study,measure,events_treatment,total_treatment,events_control,total_control\n"
        "z,OR,0,10,3,10\n"
        "none,OR,0,10,0,12\n"
        "plain,OR,2,10,4,10\n"
    )
    effects, excluded = read_studies(text)
    zero = effects[0]
    # escalc adds 1/2 to every cell of a study with a zero: log((0.5 * 7.5) / (10.5 * 3.5))
    assert zero.yi == pytest.approx(math.log(0.5 * 7.5 / (10.5 * 3.5)))
    assert zero.vi == pytest.approx(1 / 0.5 + 1 / 10.5 + 1 / 3.5 + 1 / 7.5)
    assert zero.notes
    assert excluded == [{"study_id": "none", "reason": excluded[0]["reason"]}]
    assert effects[1].yi == pytest.approx(math.log(2 * 6 / (8 * 4)))


@pytest.mark.parametrize(
    ("text", "row", "field", "rule"),
    [
        ("study,measure,estimate,ci_low,ci_high\na,RR,0.5,0.3,x\n", 2, "ci_high", "number"),
        ("study,measure,estimate,ci_low,ci_high\na,RR,0.5,0.6,0.9\n", 2, "ci_low", "ci_low <="),
        ("study,measure,estimate,ci_low,ci_high\na,HR,-1,0.2,0.9\n", 2, "estimate", "> 0"),
        ("study,measure,estimate,ci_low,ci_high\na,XX,1,0,2\n", 2, "measure", "one of"),
        ("study,measure,estimate,ci_low,ci_high\n,MD,1,0,2\n", 2, "study", "required"),
        (
            "study,measure,estimate,ci_low,ci_high\na,MD,1,0,2\na,MD,1,0,2\n",
            3,
            "study",
            "repeats line 2",
        ),
        (
            "study,measure,events_treatment,total_treatment,events_control,total_control\n"
            "a,RR,5,4,1,10\n",
            2,
            "total_treatment",
            "at least the events",
        ),
        (
            "study,measure,events_treatment,total_treatment,events_control,total_control\n"
            "a,RR,1.5,4,1,10\n",
            2,
            "events_treatment",
            "whole number",
        ),
        (
            "study,measure,events_treatment,total_treatment,events_control,total_control\n"
            "a,MD,1,4,1,10\n",
            2,
            "measure",
            "counts give",
        ),
        ("study,measure,estimate\na,MD,\n", 2, "study", "needs the four counts"),
        # a cell past the header's columns (an unquoted comma) would be dropped silently
        (
            "study,measure,estimate,ci_low,ci_high\nb,MD,1,0,2\na,MD,1,000,0,2\n",
            3,
            "row",
            "has 6 cells but the header has 5 columns",
        ),
        (
            "study,measure,estimate,ci_low,ci_high,estimate\na,MD,1,0,2,3\n",
            1,
            "estimate",
            "repeated column (columns 3, 6)",
        ),
    ],
)
def test_errors_name_the_line_and_the_column(text: str, row: int, field: str, rule: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        read_studies(text, source="mine.csv")
    problem = caught.value.problems[0]
    assert (problem.row, problem.field, problem.source) == (row, field, "mine.csv")
    assert rule in problem.rule


def test_header_and_mixed_measures_are_refused() -> None:
    with pytest.raises(ValidationFailed) as caught:
        read_studies("name,measure,colour\n")
    fields = {p.field for p in caught.value.problems}
    assert fields == {"study", "name", "colour"}
    with pytest.raises(ValidationFailed) as caught:
        read_studies("study,measure,estimate,ci_low,ci_high\na,MD,1,0,2\nb,SMD,1,0,2\n")
    assert caught.value.problems[0].field == "measure"


@settings(max_examples=30, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 50), st.integers(1, 50), st.integers(0, 50), st.integers(1, 50)),
        min_size=1,
        max_size=8,
    )
)
def test_any_valid_counts_parse_with_finite_effects(rows: list[tuple[int, ...]]) -> None:
    lines = ["study,measure,events_treatment,total_treatment,events_control,total_control"]
    for i, (a, extra_t, c, extra_c) in enumerate(rows):
        lines.append(f"s{i},RR,{a},{a + extra_t},{c},{c + extra_c}")
    effects, excluded = read_studies("\n".join(lines))
    assert len(effects) + len(excluded) == len(rows)
    assert all(math.isfinite(e.yi) and e.vi > 0 for e in effects)


def test_cli_pools_a_csv_by_the_chosen_method_and_draws_that_method(tmp_path: Path) -> None:
    path = tmp_path / "bcg.csv"
    path.write_text(bcg_csv())
    svg = tmp_path / "forest.svg"
    result = runner.invoke(
        app, ["evidence", "meta", "--csv", str(path), "--method", "DL", "--svg", str(svg)]
    )
    assert result.exit_code == 0, result.stderr
    text = " ".join(result.stdout.split())
    # metafor DL on dat.bcg, exp(estimate, CI): 0.4896 [0.3449, 0.6950]
    assert "RR (DL, k=13): 0.490 [0.345, 0.695]" in text
    assert "shown as ratios" in text and "tau² (log scale)=0.3088" in text
    assert "Random effects (DL)" in svg.read_text()
    assert "Random effects (REML)" not in svg.read_text()
    result = runner.invoke(app, ["evidence", "meta", "--csv", str(path), "--json"])
    data = json.loads(result.stdout)
    assert data["result"]["method"] == "REML" and data["result"]["i2_unit"] == "percent"


def test_cli_reports_csv_problems_with_line_and_exit_code_2(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("study,measure,estimate,ci_low,ci_high\na,HR,0.5,0.3,x\n")
    result = runner.invoke(app, ["evidence", "meta", "--csv", str(path)])
    assert result.exit_code == 2
    assert "bad.csv, row 2" in result.stderr and "ci_high" in result.stderr
    result = runner.invoke(app, ["evidence", "meta", "--csv", str(path), "--outcome", "x"])
    assert result.exit_code == 2 and "not both" in result.stderr


def _csv_of_estimates(effects: list[float], variances: list[float]) -> str:
    lines = ["study,measure,estimate,ci_low,ci_high"]
    for i, (y, v) in enumerate(zip(effects, variances, strict=True)):
        half = 1.959963984540054 * math.sqrt(v)
        lines.append(f"s{i},MD,{y!r},{y - half!r},{y + half!r}")
    return "\n".join(lines) + "\n"


def test_reml_fallback_is_said_in_the_cli_and_on_the_page(tmp_path: Path) -> None:
    path = tmp_path / "oscillating.csv"
    path.write_text(_csv_of_estimates(*NOT_CONVERGING))
    result = runner.invoke(app, ["evidence", "meta", "--csv", str(path)])
    assert result.exit_code == 0, result.stderr
    text = " ".join(result.stdout.split())
    assert "MD (PM, k=5)" in text and "REML did not converge" in text
    data, svg = report_page_data(pool_csv(path))
    page = render_meta(data, svg, Links())
    assert "REML did not converge" in page and "Random effects (PM)" in page


def test_page_shows_ratios_as_ratios_and_names_the_scale(tmp_path: Path) -> None:
    path = tmp_path / "bcg.csv"
    path.write_text(bcg_csv())
    data, svg = report_page_data(pool_csv(path))
    page = render_meta(data, svg, Links())
    assert "0.489 [0.344, 0.696]" in page  # exp of metafor's -0.7145 [-1.0669, -0.3622]
    assert "-0.714" not in page.split("<svg")[0]
    assert "pooled on the log scale, shown as ratios" in page


def test_several_files_pool_as_their_concatenation(tmp_path: Path) -> None:
    """A network's sites each send a file: pooled together they give what one file would."""
    header, *rows = bcg_csv().splitlines()
    parts = [rows[:5], rows[5:9], rows[9:]]
    paths = []
    for i, part in enumerate(parts):
        path = tmp_path / f"site{i}" / "bcg.csv"
        path.parent.mkdir()
        path.write_text("\n".join([header, *part]) + "\n")
        paths.append(path)
    whole = tmp_path / "bcg.csv"
    whole.write_text(bcg_csv())
    together, alone = pool_csv(paths), pool_csv(whole)
    assert together.result is not None and alone.result is not None
    assert together.result.k == 13 and together.outcome_id == "bcg"
    assert together.result.estimate == pytest.approx(alone.result.estimate, rel=1e-12)
    assert together.result.tau2 == pytest.approx(alone.result.tau2, rel=1e-12)
    code = runner.invoke(app, ["evidence", "meta", *[f"--csv={p}" for p in paths], "--json"])
    assert code.exit_code == 0, code.output
    assert json.loads(code.stdout)["result"]["k"] == 13


def test_files_pooled_together_need_distinct_studies_and_one_measure(tmp_path: Path) -> None:
    a, b, c = tmp_path / "a.csv", tmp_path / "b.csv", tmp_path / "c.csv"
    a.write_text("study,measure,estimate,ci_low,ci_high\nsite-a,IRR,0.8,0.6,1.1\n")
    b.write_text("study,measure,estimate,ci_low,ci_high\nsite-a,IRR,0.7,0.5,1.0\n")
    c.write_text("study,measure,estimate,ci_low,ci_high\nsite-c,HR,0.7,0.5,1.0\n")
    with pytest.raises(ValidationFailed) as repeated:
        pool_csv([a, b])
    assert "b.csv: studies.study: repeats a study of a.csv" in str(repeated.value)
    with pytest.raises(ValidationFailed) as mixed:
        pool_csv([a, c])
    assert "all files must use the same measure" in str(mixed.value)
    header_only = tmp_path / "d.csv"
    header_only.write_text("study,measure,estimate,ci_low,ci_high\n")
    b.write_text("study,measure,estimate,ci_low,ci_high\nsite-b,IRR,0.7,0.5,1.0\n")
    report = pool_csv([a, b, header_only])  # a site with nothing to share sends the header
    assert report.result is not None and report.result.k == 2
    assert report.as_dict()["measure_name"] == "rate ratio" and report.ratio


def test_pooled_page_explains_the_ci_prediction_interval_and_i2_in_words(tmp_path: Path) -> None:
    """The sentences come from the one home of such explanations (``_explain.html``), the
    same the registry's audit page uses."""
    path = tmp_path / "bcg.csv"
    path.write_text(bcg_csv())
    data, svg = report_page_data(pool_csv(path))
    page = render_meta(data, svg, Links())
    assert "A 95% confidence interval (CI) is the range of values that fit the data" in page
    assert "The 95% prediction interval is the range in which the effect of one more" in page
    assert "I² is the share of the differences between the studies" in page


EXTREME_HR = (
    "study,measure,estimate,ci_low,ci_high\n"
    "a,HR,0.5,0.3,0.8\n"
    "b,HR,1.2,0.9,1.6\n"
    "c,HR,1e-40,1e-41,1e-39\n"
)


def test_extreme_ratios_print_honestly_instead_of_crashing(tmp_path: Path) -> None:
    path = tmp_path / "extreme.csv"
    path.write_text(EXTREME_HR)
    svg = tmp_path / "forest.svg"
    result = runner.invoke(app, ["evidence", "meta", "--csv", str(path), "--svg", str(svg)])
    assert result.exit_code == 0, result.stderr
    assert "Random effects (REML)" in svg.read_text()
    text = " ".join(result.stdout.split())
    # A tiny ratio keeps its digits (not 0.000); a prediction bound beyond a float is shown
    # from its log-scale value and named in a note, never an overflow.
    assert "c 1e-40 [1e-41, 1e-39]" in text
    assert "3.95e-14 [3.47e-40, 4.51e+12]" in text
    assert "95% prediction interval [e^-808.7, e^747.0]" in text
    assert "Too far from 1 to show as a ratio" in text
    data = json.loads(runner.invoke(app, ["evidence", "meta", "--csv", str(path), "--json"]).stdout)
    assert data["result"]["pi_high"] > 709 and data["shown"]["pi_high"] is None
    assert any("prediction interval's upper bound" in note for note in data["notes"])


@pytest.mark.parametrize(
    ("row", "field"),
    [
        ("a,HR,1e-310,1e-311,0.5", "estimate"),
        ("a,OR,2,1,1e305", "ci_high"),
    ],
)
def test_a_ratio_beyond_e700_is_refused_naming_the_column(row: str, field: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        read_studies(f"study,measure,estimate,ci_low,ci_high\n{row}\n", source="mine.csv")
    problem = caught.value.problems[0]
    assert (problem.row, problem.field) == (2, field) and "e^700" in problem.rule


def test_counts_whose_ratio_leaves_the_float_range_are_refused() -> None:
    text = (
        "study,measure,events_treatment,total_treatment,events_control,total_control\n"
        "a,OR,1e300,1e300,1,1e300\n"
    )
    with pytest.raises(ValidationFailed) as caught:
        read_studies(text)
    assert "beyond e^±700" in caught.value.problems[0].rule
