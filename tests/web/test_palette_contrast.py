"""Every colour pair of the site's palette against WCAG 2.2 level AA.

Text needs a contrast ratio of at least 4.5:1 (SC 1.4.3); focus rings, chart lines, markers and
form borders need 3:1 against what they sit on (SC 1.4.11). The ratio is (L1 + 0.05) /
(L2 + 0.05) with L the relative luminance of sRGB, both as defined in WCAG 2.2
(https://www.w3.org/TR/WCAG22/#dfn-contrast-ratio and #dfn-relative-luminance).
Every colour written in the stylesheet must appear in a pair below, so a new colour cannot
slip in unchecked.
"""

from __future__ import annotations

import re

import pytest

from ldn_outcomes import svgcore, templating
from ldn_outcomes.reports import svg

CSS = templating.static_directory() + "/site.css"
TEXT_AA = 4.5
NON_TEXT_AA = 3.0


def _channel(value: int) -> float:
    c = value / 255
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def luminance(colour: str) -> float:
    hex_digits = colour.lstrip("#")
    if len(hex_digits) == 3:
        hex_digits = "".join(d * 2 for d in hex_digits)
    r, g, b = (_channel(int(hex_digits[i : i + 2], 16)) for i in (0, 2, 4))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def _variables() -> dict[str, str]:
    with open(CSS, encoding="utf-8") as handle:
        root = re.search(r":root\s*{([^}]*)}", handle.read())
    assert root
    return dict(re.findall(r"--([\w-]+):\s*(#[0-9a-fA-F]{3,6})", root.group(1)))


V = _variables()
WHITE = "#ffffff"
#: (foreground, background, minimum, where): every pairing the pages and charts use.
PAIRS = [
    (V["fg"], V["bg"], TEXT_AA, "body text"),
    (V["muted"], V["bg"], TEXT_AA, "help text, footer, 'not verified'"),
    (V["muted"], "#f6f8fa", TEXT_AA, "muted text on a code token"),
    (V["accent"], V["bg"], TEXT_AA, "links"),
    (V["accent"], "#eef5fc", TEXT_AA, "links in a note"),
    (WHITE, V["accent"], TEXT_AA, "button text, chosen scale answer"),
    (V["warn"], V["bg"], TEXT_AA, "error text"),
    (V["fg"], "#fff7ed", TEXT_AA, "warning box"),
    (V["fg"], "#ecfdf3", TEXT_AA, "saved message"),
    (V["fg"], "#fff4e5", TEXT_AA, "report warning"),
    (V["fg"], "#eaf5ea", TEXT_AA, "report ok"),
    (V["fg"], "#f2f2f2", TEXT_AA, "report no data"),
    (V["fg"], "#eef2f7", TEXT_AA, "evidence level badge"),
    (V["fg"], "#fde2e1", TEXT_AA, "contradicted badge"),
    (V["fg"], "#dcf5e3", TEXT_AA, "supported badge"),
    (V["fg"], "#fff4d6", TEXT_AA, "untested badge"),
    (V["fg"], "#eef6d6", TEXT_AA, "moderate certainty badge"),
    ("#a63d00", V["bg"], TEXT_AA, "stale 'last checked' date"),
    ("#b03a2e", V["bg"], TEXT_AA, "flag text"),
    (WHITE, V["header"], TEXT_AA, "header links"),
    (V["focus"], V["bg"], NON_TEXT_AA, "focus ring on the page"),
    (WHITE, V["header"], NON_TEXT_AA, "focus ring in the header"),
    ("#6e7781", V["bg"], NON_TEXT_AA, "form field borders"),
    (V["warn"], V["bg"], NON_TEXT_AA, "error borders"),
    ("#1f6f3f", "#ecfdf3", NON_TEXT_AA, "saved message bar"),
    ("#a63d00", "#fff4e5", NON_TEXT_AA, "report warning bar"),
    ("#6a737d", "#f2f2f2", NON_TEXT_AA, "report no-data bar"),
    (svgcore.TEXT, WHITE, TEXT_AA, "chart text"),
    *[(colour, WHITE, NON_TEXT_AA, f"chart line {colour}") for colour in svgcore.PALETTE],
    *[
        (colour, svg.SHADE, NON_TEXT_AA, f"chart line {colour} on LDN")
        for colour in svgcore.PALETTE
    ],
    (svg.MARKER, WHITE, NON_TEXT_AA, "relapse marker"),
    (svg.MARKER, svg.SHADE, NON_TEXT_AA, "relapse marker on LDN"),
    *[(svg.MARKER, c, NON_TEXT_AA, f"relapse marker vs line {c}") for c in svgcore.PALETTE[:2]],
]
#: Colours that carry no information on their own (table rules, card borders, fills behind
#: text already checked above): exempt from SC 1.4.11.
DECORATIVE = {"#d0d7de", "#ddd", "#fff", "#ffffff", "#f6f8fa", "#eef5fc"}


def test_the_formula_matches_published_values() -> None:
    assert contrast("#000000", "#ffffff") == pytest.approx(21.0)  # the WCAG maximum
    assert contrast("#ffffff", "#ffffff") == pytest.approx(1.0)
    # #777777 on white is 4.48:1 (WebAIM contrast checker), just under AA: the old grey
    assert round(contrast("#777777", "#ffffff"), 2) == 4.48
    assert round(contrast("#f59e0b", "#ffffff"), 2) == 2.15  # the old focus ring (issue 17)


@pytest.mark.parametrize(("fg", "bg", "minimum", "where"), PAIRS, ids=[p[3] for p in PAIRS])
def test_palette_pair_meets_wcag_aa(fg: str, bg: str, minimum: float, where: str) -> None:
    ratio = contrast(fg, bg)
    assert ratio >= minimum, f"{where}: {fg} on {bg} is {ratio:.2f}:1, needs {minimum}:1"


def test_every_stylesheet_colour_is_checked() -> None:
    with open(CSS, encoding="utf-8") as handle:
        used = {
            c.lower() for c in re.findall(r"#[0-9a-fA-F]{6}\b|#[0-9a-fA-F]{3}\b", handle.read())
        }
    checked = {c.lower() for fg, bg, _, _ in PAIRS for c in (fg, bg)} | DECORATIVE
    assert used <= checked, f"colours with no contrast check: {sorted(used - checked)}"
