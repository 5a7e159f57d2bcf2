"""HTML pages and the Atom feed of the evidence hub, rendered once for web and static site.

The web routes and ``ldn evidence publish`` call the same functions; only the link style
differs (``/evidence/cree-2010`` on the server, ``evidence/cree-2010.html`` on disk). Pages are
plain HTML and CSS: filters are ordinary GET forms, charts are inline SVG, no JavaScript.
"""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup

from .. import templating
from ..domain.evidence import ChangeEvent

#: The hub's page templates (``evidence/templates``) in the one environment, as ``hub/...``.
templating.add_templates("ldn_outcomes.evidence", prefix="hub")

SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,119}$")
ATOM_NS = "http://www.w3.org/2005/Atom"


@dataclass(frozen=True)
class Links:
    """Where pages live: ``root`` is a URL prefix (web) or ``../`` chain (static files)."""

    root: str = "/"
    static: bool = False

    def _page(self, path: str) -> str:
        return f"{self.root}{path}.html" if self.static else f"{self.root}{path}"

    def evidence_index(self) -> str:
        return self._page("evidence/index") if self.static else f"{self.root}evidence"

    def study(self, ident: str) -> str:
        return self._page(f"evidence/{ident}")

    def meta(self, outcome: str) -> str:
        return self._page(f"evidence/meta/{outcome}")

    def claims_index(self) -> str:
        return self._page("claims/index") if self.static else f"{self.root}claims"

    def claim(self, ident: str) -> str:
        return self._page(f"claims/{ident}")

    def audit(self, key: str) -> str | None:
        """The registry's own audit of a claim (its section on the web app's public audits
        page); a static site has no registry behind it, so there is none (None)."""
        return None if self.static else f"{self.root}figures/audits#audit-{key}"

    def feed(self) -> str:
        return f"{self.root}evidence/changes.atom"

    def review(self, nct_id: str) -> str:
        return f"{self.root}evidence/review/{nct_id}"

    def check(self) -> str:
        return f"{self.root}evidence/review/check"

    def edit(self, kind: str, ident: str) -> str:
        return f"{self.root}evidence/edit/{kind}/{ident}"

    def css(self) -> str:
        return f"{self.root}evidence.css" if self.static else f"{self.root}evidence/evidence.css"


def stylesheet() -> str:
    """The project's one stylesheet (written as ``evidence.css`` beside the static site)."""
    return templating.stylesheet()


def render_page(
    template: str, data: dict[str, Any], links: Links, *, layout: str = "base.html", **extra: Any
) -> str:
    """A whole page (``base.html``, which extends the project's one layout) or, for the web
    layout to wrap, its body only (``layout="fragment.html"``)."""
    return templating.render(
        f"hub/{template}", data=data, links=links, layout=f"hub/{layout}", **extra
    )


def render_evidence_index(
    data: dict[str, Any],
    links: Links,
    *,
    filters: bool = True,
    layout: str = "base.html",
    browse: list[dict[str, str]] | None = None,
) -> str:
    """The catalogue table; the web shows a filter form, the static site ``browse`` links."""
    return render_page(
        "evidence_index.html", data, links, layout=layout, show_filters=filters, browse=browse or []
    )


def render_study(data: dict[str, Any], links: Links, *, layout: str = "base.html") -> str:
    return render_page("study.html", data, links, layout=layout)


def render_claims_index(data: dict[str, Any], links: Links, *, layout: str = "base.html") -> str:
    return render_page("claims_index.html", data, links, layout=layout)


def render_claim(data: dict[str, Any], links: Links, *, layout: str = "base.html") -> str:
    return render_page("claim.html", data, links, layout=layout)


def render_meta(data: dict[str, Any], svg: str, links: Links, *, layout: str = "base.html") -> str:
    return render_page("meta.html", data, links, layout=layout, forest=Markup(svg))


def render_trial_capsule(data: dict[str, Any], links: Links, *, layout: str = "base.html") -> str:
    """An uncurated trial's automatic capsule, marked as not yet reviewed."""
    return render_page("trial_capsule.html", data, links, layout=layout)


def render_review_queue(
    data: dict[str, Any], links: Links, *, csrf_token: str | None, layout: str = "base.html"
) -> str:
    return render_page("review_queue.html", data, links, layout=layout, csrf_token=csrf_token)


def render_edit_entry(
    data: dict[str, Any], links: Links, *, csrf_token: str | None, layout: str = "base.html"
) -> str:
    return render_page("edit_entry.html", data, links, layout=layout, csrf_token=csrf_token)


def render_home(data: dict[str, Any], links: Links) -> str:
    return render_page("home.html", data, links)


def changes_atom(
    events: Sequence[ChangeEvent],
    *,
    base_url: str,
    feed_url: str,
    now: dt.datetime | None = None,
    static: bool = False,
) -> str:
    """An Atom 1.0 feed (RFC 4287) of change events, newest first (``static``: the pages it
    links to are the published site's ``.html`` files).

    The standard library's ElementTree, not ``feedgen``: the feed is a few elements, and
    feedgen would add lxml and python-dateutil and write a different document."""
    ET.register_namespace("", ATOM_NS)
    feed = ET.Element(f"{{{ATOM_NS}}}feed")
    ET.SubElement(feed, f"{{{ATOM_NS}}}title").text = "LDN evidence hub: registry changes"
    ET.SubElement(feed, f"{{{ATOM_NS}}}id").text = feed_url
    ET.SubElement(feed, f"{{{ATOM_NS}}}link", rel="self", href=feed_url)
    if base_url:
        ET.SubElement(feed, f"{{{ATOM_NS}}}link", rel="alternate", href=f"{base_url}evidence")
    updated = max((e.at for e in events), default=now or dt.datetime.now(dt.UTC))
    ET.SubElement(feed, f"{{{ATOM_NS}}}updated").text = _iso(updated)
    author = ET.SubElement(feed, f"{{{ATOM_NS}}}author")
    ET.SubElement(author, f"{{{ATOM_NS}}}name").text = "LDN Outcomes"
    for event in events:
        entry = ET.SubElement(feed, f"{{{ATOM_NS}}}entry")
        ET.SubElement(entry, f"{{{ATOM_NS}}}title").text = event.summary
        ET.SubElement(
            entry, f"{{{ATOM_NS}}}id"
        ).text = f"{feed_url}#change-{event.id if event.id is not None else _iso(event.at)}"
        ET.SubElement(entry, f"{{{ATOM_NS}}}updated").text = _iso(event.at)
        ET.SubElement(entry, f"{{{ATOM_NS}}}category", term=event.kind.value)
        ET.SubElement(
            entry, f"{{{ATOM_NS}}}link", href=change_link(event.key, base_url, static=static)
        )
        ET.SubElement(
            entry, f"{{{ATOM_NS}}}summary"
        ).text = f"{event.kind.value.replace('_', ' ')}: {event.summary}"
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(feed, encoding="unicode")


def change_link(key: str, base_url: str, *, static: bool = False) -> str:
    """Where a change event points: a trial's registry record, an edited or checked catalogue
    entry's own page (``study:<id>``, ``claim:<id>``), or a PubMed record (a PMID)."""
    suffix = ".html" if static else ""
    kind, _, ident = key.partition(":")
    if key.startswith("NCT"):
        return f"https://clinicaltrials.gov/study/{key}"
    if ident and kind == "study":
        return f"{base_url}evidence/{ident}{suffix}"
    if ident and kind == "claim":
        return f"{base_url}claims/{ident}{suffix}"
    if key.isdigit():
        return f"https://pubmed.ncbi.nlm.nih.gov/{key}/"
    return f"{base_url}evidence/index.html" if static else f"{base_url}evidence"


def _iso(value: dt.datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
