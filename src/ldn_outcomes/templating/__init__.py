"""The one Jinja environment of the project, its one base layout and its one stylesheet.

Every HTML page is made here: the web app (``web/rendering.py``), the evidence hub's pages and
static site (``evidence/html.py``) and the self-contained cohort report
(``reports/outcomes.py``). Autoescaping is on for every template, so no layer escapes by hand.

Why a top-level module: ``evidence`` and ``reports`` sit below ``web`` and may not import it,
yet all three must share the environment, the layout (``layout.html``) and the stylesheet
(``site.css``). Like :mod:`ldn_outcomes.svgcore` this module imports nothing from the project,
so any layer may use it. Each layer keeps the templates of its own pages in its own package and
adds that folder here once (:func:`add_templates`), under a prefix unless it is the web app's:
``hub/...`` for the evidence hub, ``reports/...`` for reports. A lower layer never loads a
higher layer's templates; a template may extend ``layout.html`` from any layer.
"""

from __future__ import annotations

import re
from importlib import resources
from typing import Any

from jinja2 import (
    BaseLoader,
    ChoiceLoader,
    Environment,
    PackageLoader,
    PrefixLoader,
    select_autoescape,
)

from ..domain.dose_text import dose_number

STYLESHEET = "site.css"


def _number(value: Any, digits: int = 2) -> str:
    """A number for a page: floats to ``digits`` places, a missing value as a dash."""
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def dose_text(value: Any) -> str:
    """A dose as a person writes it: ``Decimal("4.5000")`` -> "4.5 mg", 3 -> "3 mg"."""
    if value is None or value == "":
        return "—"
    return f"{dose_number(value)} mg"


#: Words for the codes a page would otherwise print (drug classes, rating states).
PLAIN_WORDS = {
    "dmt": "disease-modifying therapy",
    "ldn": "low-dose naltrexone",
    "not_rated": "not rated yet",
    "outcome_switch": "outcome changed after the study started",
    "bowel_bladder": "bowel and bladder",
    "parallel_rct": "randomised trial, parallel groups",
    "crossover_rct": "randomised trial, crossover",
}


def plain(value: Any) -> str:
    """A code in words: the known ones from :data:`PLAIN_WORDS`, others with spaces."""
    text = "" if value is None else str(value)
    return PLAIN_WORDS.get(text, text.replace("_", " "))


#: A code as records store it (``vivid_dreams``), not free text.
_CODE = re.compile(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)+")


def value_text(value: Any) -> str:
    """A stored value as a person reads it: yes / no for a flag, a dash for nothing, answers
        separated by commas (a skipped one as "blank", never "None"), scores by name as
    "name score", codes in words."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join("blank" if v is None else value_text(v) for v in value) or "none"
    if isinstance(value, dict):  # scores by name (an EDSS's functional systems): "visual 2"
        return ", ".join(f"{plain(k)} {value_text(v)}" for k, v in value.items()) or "none"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, str) and _CODE.fullmatch(value):
        return plain(value)
    return str(value)


_PREFIXED: dict[str, BaseLoader] = {}
_ROOT: list[BaseLoader] = [PackageLoader("ldn_outcomes.templating", "templates")]
_ADDED: set[tuple[str, str, str | None]] = set()


def _environment() -> Environment:
    env = Environment(
        loader=ChoiceLoader([*_ROOT, PrefixLoader(_PREFIXED)]),
        autoescape=select_autoescape(["html", "xml", "svg"], default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["num"] = _number
    env.filters["label"] = lambda v: (v or "").replace("_", " ")
    env.filters["mg"] = dose_text
    env.filters["plain"] = plain
    env.filters["value"] = value_text
    env.tests["url"] = lambda v: isinstance(v, str) and v.startswith(("http://", "https://"))
    return env


#: The one environment. Its loader lists are filled by :func:`add_templates`.
ENV = _environment()


def add_templates(package: str, folder: str = "templates", *, prefix: str | None = None) -> None:
    """Make ``package``'s template folder loadable, as ``prefix/name`` or (web) as ``name``.
    Idempotent, so a module may call it when it is imported."""
    key = (package, folder, prefix)
    if key in _ADDED:
        return
    loader = PackageLoader(package, folder)
    if prefix is None:
        root = ENV.loader
        assert isinstance(root, ChoiceLoader)
        *own, prefixed = root.loaders  # web templates go before the prefixed ones
        root.loaders = [*own, loader, prefixed]
    else:
        _PREFIXED[prefix] = loader
    _ADDED.add(key)


def render(template: str, **context: Any) -> str:
    """One template rendered to a string (the web app renders through Starlette instead)."""
    return ENV.get_template(template).render(**context)


def stylesheet() -> str:
    """The one stylesheet: served at ``/static/site.css``, written beside the static evidence
    site and inlined into the self-contained report."""
    return (
        resources.files("ldn_outcomes.templating")
        .joinpath(f"static/{STYLESHEET}")
        .read_text(encoding="utf-8")
    )


def static_directory() -> str:
    """Where the stylesheet lives on disk, for the web app's ``/static`` mount."""
    return str(resources.files("ldn_outcomes.templating").joinpath("static"))
