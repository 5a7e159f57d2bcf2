"""``ldn evidence publish DIR``: the evidence hub as a static site (HTML + CSS, no JavaScript).

Layout mirrors the web routes so links read the same::

    index.html  evidence.css
    evidence/index.html  evidence/<study id>.html  evidence/meta/<outcome>.html
    evidence/by-condition/<condition>.html   (the filter a static page cannot offer)
    evidence/changes.atom
    claims/index.html    claims/<claim id>.html
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine

from ..domain.evidence import Catalogue, ClaimsRegister
from ..errors import Problem, ValidationFailed
from . import html, mirror, review, views
from .catalogue import outcome_ids
from .forest import forest_svg
from .pooling import MetaReport, pool_outcome


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:80] or "other"


@dataclass
class PublishReport:
    directory: Path
    pages: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {"directory": str(self.directory), "pages": len(self.pages), "files": self.pages}


def meta_page_data(
    catalogue: Catalogue, outcome_id: str, *, method: str = "REML"
) -> tuple[dict, str]:
    """The data of a pooled-outcome page and its forest plot SVG, by the chosen method."""
    return report_page_data(pool_outcome(catalogue, outcome_id, method=method))


def report_page_data(report: MetaReport) -> tuple[dict, str]:
    """A pooled report's page data and its forest plot, drawn from that same report (so the
    plot always shows the method the numbers came from)."""
    ratio = report.ratio
    axis = f"{report.measure or 'effect'} ({'log scale' if ratio else 'difference'})"
    svg = (
        forest_svg(
            report.included,
            report.result,
            axis_label=axis,
            ratio=ratio,
            title=f"Forest plot: {report.outcome_id}",
        )
        if report.included
        else ""
    )
    return report.as_dict(), svg


def publish_site(
    directory: Path,
    catalogue: Catalogue,
    claims: ClaimsRegister,
    engine: Engine | None = None,
    *,
    site_url: str = "",
    now: dt.datetime | None = None,
) -> PublishReport:
    """Write every page; refuses ids that are not safe file names instead of escaping them."""
    unsafe = [
        Problem("study", "id", "not usable as a file name", value=s.id)
        for s in catalogue.studies
        if not html.SAFE_ID.match(s.id)
    ]
    unsafe += [
        Problem("claim", "id", "not usable as a file name", value=c.id)
        for c in claims.claims
        if not html.SAFE_ID.match(c.id)
    ]
    unsafe += [
        Problem("outcome", "id", "not usable as a file name", value=o)
        for o in outcome_ids(catalogue)
        if not html.SAFE_ID.match(o)
    ]
    if unsafe:
        raise ValidationFailed(unsafe)
    report = PublishReport(directory=directory)

    def write(relative: str, text: str) -> None:
        target = directory / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        report.pages.append(relative)

    top, one, two = html.Links("", True), html.Links("../", True), html.Links("../../", True)
    write("evidence.css", html.stylesheet())
    write(
        "index.html",
        html.render_home(
            {
                "studies": len(catalogue.studies),
                "claims": len(claims.claims),
                "outcomes": outcome_ids(catalogue),
                "catalogue_version": catalogue.catalogue_version,
                "what_is_known": views.what_is_known(claims),
            },
            top,
        ),
    )
    conditions = views.evidence_index(catalogue)["choices"]["condition"]
    slugs = {condition: _slug(condition) for condition in conditions}
    browse = [{"label": c, "href": f"by-condition/{slug}.html"} for c, slug in slugs.items()]
    write(
        "evidence/index.html",
        html.render_evidence_index(
            views.evidence_index(catalogue, engine), one, filters=False, browse=browse
        ),
    )
    for condition, slug in slugs.items():
        data = views.evidence_index(catalogue, engine, condition=condition)
        write(
            f"evidence/by-condition/{slug}.html",
            html.render_evidence_index(
                data,
                two,
                filters=False,
                browse=[{"label": "all conditions", "href": "../index.html"}],
            ),
        )
    for study in catalogue.studies:
        write(
            f"evidence/{study.id}.html",
            html.render_study(
                views.study_detail(catalogue, study.id, engine, register=claims), one
            ),
        )
    if engine is not None:
        for trial in review.uncurated_trials(engine, catalogue):
            capsule = review.auto_capsule(engine, catalogue, trial.nct_id)
            write(f"evidence/{trial.nct_id}.html", html.render_trial_capsule(capsule, one))
    for outcome in outcome_ids(catalogue):
        data, svg = meta_page_data(catalogue, outcome)
        write(f"evidence/meta/{outcome}.html", html.render_meta(data, svg, two))
    write("claims/index.html", html.render_claims_index(views.claims_index(claims), one))
    for claim in claims.claims:
        write(
            f"claims/{claim.id}.html",
            html.render_claim(views.claim_detail(claims, catalogue, claim.id), one),
        )
    found = mirror.changes_since(engine, limit=200) if engine is not None else []
    events = [e.public() for e in found]
    base = site_url.rstrip("/") + "/" if site_url else ""
    write(
        "evidence/changes.atom",
        html.changes_atom(
            events, base_url=base, feed_url=f"{base}evidence/changes.atom", now=now, static=True
        ),
    )
    return report
