"""A network of three small registries, as docs/deployment.md describes it, through ``ldn``.

Each site simulates its own registry (own seed and size, the same true effects, ids prefixed
with the site's name), analyses it and writes its summary; the summaries are pooled with
``ldn evidence meta --csv``; and the three registries loaded into one database give the
pooled-data answer beside it. bench/bench_multisite.py runs the same at realistic sizes, with
``ldn import`` of each site's files.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ldn_outcomes.cli.main import app

runner = CliRunner()
#: (site, seed, patients); LDN uptake is raised so that small registries have users.
SITES = (("site-a", 31, 300), ("site-b", 32, 240), ("site-c", 33, 200))
CONFIG = '[cohort]\nid_prefix = "{site}"\n[uptake]\nbase_start_per_year = 0.15\n'
TRUE_RELAPSE_RATE_RATIO = 0.5


def ldn(*args: str) -> dict:
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def network(tmp_path_factory: pytest.TempPathFactory) -> dict:
    work = tmp_path_factory.mktemp("network")
    pooled = f"sqlite:///{work / 'pooled.sqlite3'}"
    sites, truth = {}, {}
    for site, seed, patients in SITES:
        config = work / f"{site}.toml"
        config.write_text(CONFIG.format(site=site), encoding="utf-8")
        simulate = ["simulate", "--config", str(config), "--patients", str(patients),
                    "--years", "3", "--seed", str(seed),
                    "--effect-relapse", str(TRUE_RELAPSE_RATE_RATIO)]  # fmt: skip
        db = f"sqlite:///{work / site / 'registry.sqlite3'}"
        ldn(*simulate, "--db", db, "--truth", str(work / site / "truth.json"))
        out = ldn("analyze", "--db", db, "--site-summary", str(work / site / "summary"),
                  "--site", site)  # fmt: skip
        sites[site] = out["site_summary"]
        truth[site] = json.loads((work / site / "truth.json").read_text())["estimands"]
        ldn(*simulate, "--db", pooled)  # the same registry again, into the pooled database
    pooled_out = ldn("analyze", "--db", pooled)
    return {"work": work, "sites": sites, "truth": truth, "pooled": pooled_out}


def test_sites_share_estimates_only_and_the_network_pools_them(network: dict) -> None:
    # A site shares what its analysis can stand behind; site-c's registry is too small for
    # a relapse rate ratio with an interval, and says so instead of sending one.
    sharing = [site for site, _, _ in SITES if "relapses" not in network["sites"][site]["left_out"]]
    assert sharing == ["site-a", "site-b"]
    assert "interval" in network["sites"]["site-c"]["left_out"]["relapses"]
    files = [Path(network["sites"][site]["files"]["relapses"]) for site, _, _ in SITES]
    rows = [row for path in files for row in csv.DictReader(io.StringIO(path.read_text()))]
    assert [row["study"] for row in rows] == sharing
    for path in (network["work"] / site / "summary" for site, _, _ in SITES):
        text = "".join(p.read_text(encoding="utf-8") for p in sorted(path.iterdir()))
        assert not re.search(r"site-[abc]-\d", text)  # no patient id (site-a-001...) at all
    meta = ldn("evidence", "meta", *[f"--csv={path}" for path in files])
    assert meta["measure_name"] == "rate ratio" and meta["result"]["k"] == 2
    pooled_meta = meta["shown"]
    # The truth: each site's estimand as the simulator defines it (expected relapses in the 2
    # years after the start, with vs without the effect), not the effect parameter itself.
    truths = [network["truth"][site]["relapse_rate_ratio"] for site, _, _ in SITES]
    truth = sum(truths) / len(truths)
    assert max(truths) - min(truths) < 0.1
    assert pooled_meta["ci_low"] < truth < pooled_meta["ci_high"]
    # The pooled data: the three registries in one database, ids kept apart by their prefixes.
    relapses = network["pooled"]["relapses"]
    low, high = relapses["ci"]
    assert low < truth < high
    # Two routes to one question: both answers near each other on the log scale.
    assert abs(math.log(relapses["estimate"]["value"]) - math.log(pooled_meta["estimate"])) < 0.5


def test_a_site_loaded_twice_is_refused(network: dict) -> None:
    config = network["work"] / "site-a.toml"
    result = runner.invoke(
        app,
        ["simulate", "--config", str(config), "--patients", "10", "--years", "1",
         "--db", f"sqlite:///{network['work'] / 'pooled.sqlite3'}"],
    )  # fmt: skip
    assert result.exit_code != 0 and "already exists" in result.output


def test_a_summary_needs_its_site_name(tmp_path: Path) -> None:
    result = runner.invoke(app, ["analyze", "--db", "sqlite://", "--site-summary", str(tmp_path)])
    assert result.exit_code == 2 and "--site-summary needs --site" in result.output
    both = runner.invoke(
        app, ["analyze", "--omop", "sqlite://", "--site-summary", str(tmp_path), "--site", "a"]
    )
    assert both.exit_code == 2 and "not --omop" in both.output
