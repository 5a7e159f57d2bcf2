"""PubMed E-utilities client: ``esearch`` for PMIDs, then ``efetch`` for PubmedArticle XML.

NCBI asks for at most 3 requests a second without an API key and 10 with one, and answers 429
beyond that (https://www.ncbi.nlm.nih.gov/books/NBK25497/,
https://support.nlm.nih.gov/kbArticle/?pn=KA-05510). The key is passed in explicitly (the CLI reads
``NCBI_API_KEY``); this module never reads the environment itself.

Every request names this software (``tool``) and, when one is configured, a contact ``email``:
NCBI asks E-utilities users to send both so that it can reach them before blocking a misbehaving
client (https://www.ncbi.nlm.nih.gov/books/NBK25497/, "Usage Guidelines and Requirements").
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import httpx

from .http import PoliteClient, RetryPolicy
from .pubmed_parse import parse_esearch

BASE_URL = "https://eutils.ncbi.nlm.nih.gov/entrez/eutils"
TOOL = "ldn-outcomes"
FETCH_BATCH = 200


class PubMedClient:
    def __init__(
        self,
        *,
        api_key: str | None = None,
        email: str | None = None,
        http: httpx.Client | None = None,
        base_url: str = BASE_URL,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        extra: dict[str, Any] = {}
        if sleep is not None:
            extra["sleep"] = sleep
        if clock is not None:
            extra["clock"] = clock
        self.api_key = api_key or None
        self.email = (email or "").strip() or None
        self.base_url = base_url.rstrip("/")
        self.client = PoliteClient(
            "PubMed E-utilities",
            per_second=10.0 if self.api_key else 3.0,
            http=http,
            timeout=timeout,
            retry=retry,
            **extra,
        )

    @property
    def per_second(self) -> float:
        return self.client.limiter.per_second

    def _params(self, **params: Any) -> dict[str, Any]:
        base: dict[str, Any] = {"db": "pubmed", "tool": TOOL}
        if self.email:
            base["email"] = self.email
        if self.api_key:
            base["api_key"] = self.api_key
        return {**base, **params}

    def esearch(self, term: str, *, retmax: int = 500) -> list[str]:
        """Every PMID matching ``term`` (pages through ``retstart`` until ``Count`` is reached)."""
        pmids: list[str] = []
        start = 0
        while True:
            response = self.client.get(
                f"{self.base_url}/esearch.fcgi",
                self._params(term=term, retmax=retmax, retstart=start),
            )
            result = parse_esearch(response.content)
            pmids.extend(p for p in result.ids if p not in pmids)
            start += len(result.ids)
            if not result.ids or start >= result.count:
                return pmids

    def efetch_xml(self, pmids: Sequence[str]) -> Iterator[bytes]:
        """PubmedArticleSet XML for the PMIDs, in batches of at most 200 ids per request."""
        for begin in range(0, len(pmids), FETCH_BATCH):
            batch = pmids[begin : begin + FETCH_BATCH]
            response = self.client.get(
                f"{self.base_url}/efetch.fcgi",
                self._params(id=",".join(batch), retmode="xml"),
            )
            yield response.content

    def close(self) -> None:
        self.client.close()
