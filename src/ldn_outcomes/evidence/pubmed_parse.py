"""PubmedArticle XML (efetch) → :class:`Publication`, linking each paper to its trials.

A paper names its registration in ``Article/DataBankList`` (DataBankName ``ClinicalTrials.gov``,
AccessionNumber ``NCT…``) and often in the abstract text; both are read. Elements follow the
PubMed DTD (https://dtd.nlm.nih.gov/ncbi/pubmed/doc/out/250101/). The XML is read
incrementally, so a download cut short still yields every article that arrived whole, and one
article with a broken field is reported and skipped while the others import.

The XML comes from outside (NCBI, or a file someone imports), so it is read with ``defusedxml``:
a document that declares entities or fetches external ones is refused, not expanded.
"""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

from defusedxml import DefusedXmlException
from defusedxml import ElementTree as SafeET
from pydantic import ValidationError

from ..domain.evidence import NCT_PATTERN, Publication
from ..errors import Problem, SourceUnavailable

RECORD = "pubmed_article"


@dataclass
class ParsedArticles:
    publications: list[Publication] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


@dataclass(frozen=True)
class EsearchResult:
    count: int
    ids: list[str]


class _Bad(Exception):
    def __init__(self, field_name: str, rule: str, value: object = None) -> None:
        super().__init__(rule)
        self.field_name = field_name
        self.rule = rule
        self.value = value


def parse_esearch(xml: bytes | str) -> EsearchResult:
    """The ``Count`` and the ``IdList`` of an eSearchResult; NCBI's ERROR becomes an error."""
    try:
        root = SafeET.fromstring(xml)
    except (ET.ParseError, DefusedXmlException) as error:
        raise SourceUnavailable(f"PubMed esearch sent invalid XML: {error}") from None
    if root.tag != "eSearchResult":
        raise SourceUnavailable(f"PubMed esearch sent <{root.tag}>, not <eSearchResult>")
    message = root.findtext("ERROR")
    if message:
        raise SourceUnavailable(f"PubMed esearch error: {message}")
    count_text = (root.findtext("Count") or "0").strip()
    if not count_text.isdigit():
        raise SourceUnavailable(f"PubMed esearch Count is not a number: {count_text!r}")
    ids = [(e.text or "").strip() for e in root.iterfind("IdList/Id")]
    return EsearchResult(count=int(count_text), ids=[i for i in ids if i.isdigit()])


def parse_articles(xml: bytes | str, *, source: str | None = None) -> ParsedArticles:
    """Every PubmedArticle in an efetch answer; bad or truncated ones become problems."""
    result = ParsedArticles()
    data = xml.encode("utf-8") if isinstance(xml, str) else xml
    depth = 0
    saw_root = False
    index = 0
    events: list[tuple[str, ET.Element]] = []  # every event before the first error
    error: ET.ParseError | DefusedXmlException | None = None
    try:
        for event, element in SafeET.iterparse(io.BytesIO(data), events=("start", "end")):
            events.append((event, element))
    except (ET.ParseError, DefusedXmlException) as caught:
        error = caught
    for event, element in events:
        if event == "start":
            if not saw_root:
                saw_root = True
                if element.tag != "PubmedArticleSet":
                    result.problems.append(
                        Problem(
                            RECORD,
                            "file",
                            f"expected <PubmedArticleSet>, found <{element.tag}>",
                            source=source,
                        )
                    )
                    return result
            depth += 1
            continue
        depth -= 1
        if depth != 1:
            continue
        if element.tag == "PubmedArticle":
            _parse_into(result, element, index, source)
            index += 1
        elif element.tag == "PubmedBookArticle":
            result.problems.append(
                Problem(
                    RECORD,
                    "PubmedBookArticle",
                    "books are not catalogued; skipped",
                    row=index,
                    source=source,
                )
            )
            index += 1
        element.clear()
    if error is not None:
        rule = "truncated or malformed XML: this article and any after it are incomplete"
        if isinstance(error, DefusedXmlException):
            rule = f"refused: the XML declares or fetches entities ({error})"
        elif not saw_root:
            rule = f"not valid XML ({error})"
        result.problems.append(Problem(RECORD, "file", rule, row=index, source=source))
    return result


def _parse_into(result: ParsedArticles, element: ET.Element, index: int, source: str | None):
    pmid = (element.findtext("MedlineCitation/PMID") or "").strip()
    try:
        result.publications.append(parse_article(element))
    except _Bad as bad:
        result.problems.append(
            Problem(
                f"{RECORD} {pmid}" if pmid else RECORD,
                bad.field_name,
                bad.rule,
                row=index,
                value=bad.value,
                source=source,
            )
        )


def parse_article(element: ET.Element) -> Publication:
    citation = element.find("MedlineCitation")
    if citation is None:
        raise _Bad("MedlineCitation", "missing")
    pmid = (citation.findtext("PMID") or "").strip()
    if not pmid.isdigit():
        raise _Bad("PMID", "missing or not a number", pmid or None)
    article = citation.find("Article")
    if article is None:
        raise _Bad("Article", "missing")
    title = _text(article.find("ArticleTitle")) or _text(article.find("VernacularTitle"))
    if not title:
        raise _Bad("ArticleTitle", "a publication needs a title")
    abstract = _abstract(article)
    nct_ids = _registrations(article, " ".join(filter(None, [title, abstract])))
    try:
        return Publication(
            pmid=pmid,
            title=title,
            journal=(article.findtext("Journal/Title") or "").strip() or None,
            year=_year(article),
            authors=tuple(_authors(article)),
            doi=_doi(element, article),
            abstract=abstract,
            publication_types=tuple(
                (t.text or "").strip()
                for t in article.iterfind("PublicationTypeList/PublicationType")
            ),
            nct_ids=tuple(nct_ids),
        )
    except ValidationError as error:
        first = error.errors()[0]
        raise _Bad(".".join(str(p) for p in first["loc"]), first["msg"]) from None


def _text(element: ET.Element | None) -> str | None:
    """All text inside an element, inline markup (<i>, <sub>, MathML) flattened."""
    if element is None:
        return None
    text = re.sub(r"\s+", " ", "".join(element.itertext())).strip()
    return text or None


def _abstract(article: ET.Element) -> str | None:
    parts = []
    for piece in article.iterfind("Abstract/AbstractText"):
        text = _text(piece)
        if not text:
            continue
        label = piece.get("Label")
        parts.append(f"{label}: {text}" if label else text)
    return "\n".join(parts) or None


def _year(article: ET.Element) -> int | None:
    pub_date = article.find("Journal/JournalIssue/PubDate")
    candidates = []
    if pub_date is not None:
        candidates += [pub_date.findtext("Year"), pub_date.findtext("MedlineDate")]
    candidates.append(article.findtext("ArticleDate/Year"))
    for value in candidates:
        if value is None:
            continue
        value = value.strip()
        match = re.match(r"^(\d{4})", value)
        if match is None:
            raise _Bad("PubDate/Year", "must start with a four-digit year", value)
        year = int(match.group(1))
        if not 1800 <= year <= 2100:
            raise _Bad("PubDate/Year", "not a plausible publication year", value)
        return year
    return None


def _authors(article: ET.Element) -> list[str]:
    names = []
    for author in article.iterfind("AuthorList/Author"):
        collective = author.findtext("CollectiveName")
        if collective:
            names.append(collective.strip())
            continue
        last = (author.findtext("LastName") or "").strip()
        initials = (author.findtext("Initials") or "").strip()
        if last:
            names.append(f"{last} {initials}".strip())
    return names


def _doi(element: ET.Element, article: ET.Element) -> str | None:
    for node in element.iterfind("PubmedData/ArticleIdList/ArticleId"):
        if node.get("IdType") == "doi" and node.text:
            return node.text.strip()
    for node in article.iterfind("ELocationID"):
        if node.get("EIdType") == "doi" and node.text:
            return node.text.strip()
    return None


def _registrations(article: ET.Element, text: str) -> list[str]:
    """NCT ids from the DataBankList first, then any named in the title or abstract."""
    found: list[str] = []
    for bank in article.iterfind("DataBankList/DataBank"):
        if (bank.findtext("DataBankName") or "").strip().lower() != "clinicaltrials.gov":
            continue
        for accession in bank.iterfind("AccessionNumberList/AccessionNumber"):
            value = (accession.text or "").strip().upper()
            if NCT_PATTERN.fullmatch(value) and value not in found:
                found.append(value)
    for value in NCT_PATTERN.findall(text.upper()):
        if value not in found:
            found.append(value)
    return found
