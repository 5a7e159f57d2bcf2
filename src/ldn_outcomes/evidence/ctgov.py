"""ClinicalTrials.gov API v2 client: search studies by intervention and condition, page by page.

Endpoint ``GET https://clinicaltrials.gov/api/v2/studies`` with ``query.intr``, ``query.cond``,
``pageSize`` (at most 1000) and ``pageToken`` (the previous page's ``nextPageToken``); a single
record is ``GET /api/v2/studies/{nctId}`` (https://clinicaltrials.gov/data-api/api). The API
publishes no rate limit; its robots.txt asks for ``Crawl-delay: 1``, so we default to one
request a second. Parsing lives in :mod:`ctgov_parse` so saved responses take the same path.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx

from ..errors import SourceUnavailable
from .http import PoliteClient, RetryPolicy

BASE_URL = "https://clinicaltrials.gov/api/v2"
MAX_PAGE_SIZE = 1000


class CtGovClient:
    """Read-only client; yields raw JSON pages so they can be saved and re-imported offline."""

    def __init__(
        self,
        *,
        http: httpx.Client | None = None,
        base_url: str = BASE_URL,
        timeout: float = 30.0,
        per_second: float = 1.0,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        extra: dict[str, Any] = {}
        if sleep is not None:
            extra["sleep"] = sleep
        if clock is not None:
            extra["clock"] = clock
        self.base_url = base_url.rstrip("/")
        self.client = PoliteClient(
            "ClinicalTrials.gov",
            per_second=per_second,
            http=http,
            timeout=timeout,
            retry=retry,
            **extra,
        )

    def search_pages(
        self,
        *,
        intervention: str | None = None,
        condition: str | None = None,
        page_size: int = 100,
        max_pages: int | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Yield each page (``{"studies": [...], "nextPageToken": ...}``) until the last one."""
        if not intervention and not condition:
            raise ValueError("give an intervention, a condition or both")
        params: dict[str, Any] = {"format": "json", "pageSize": min(page_size, MAX_PAGE_SIZE)}
        if intervention:
            params["query.intr"] = intervention
        if condition:
            params["query.cond"] = condition
        seen_tokens: set[str] = set()
        pages = 0
        while True:
            page = self._json(f"{self.base_url}/studies", params)
            yield page
            pages += 1
            token = page.get("nextPageToken")
            if not token or (max_pages is not None and pages >= max_pages):
                return
            if token in seen_tokens:  # a server bug must not loop us forever
                raise SourceUnavailable(f"ClinicalTrials.gov repeated page token {token!r}")
            seen_tokens.add(token)
            params = {**params, "pageToken": token}

    def get_study(self, nct_id: str) -> dict[str, Any]:
        return self._json(f"{self.base_url}/studies/{nct_id}", {"format": "json"})

    def _json(self, url: str, params: dict[str, Any]) -> dict[str, Any]:
        response = self.client.get(url, params=params)
        try:
            data = response.json()
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise SourceUnavailable(f"ClinicalTrials.gov sent no valid JSON: {error}") from None
        if not isinstance(data, dict):
            raise SourceUnavailable("ClinicalTrials.gov sent JSON that is not an object")
        return data

    def close(self) -> None:
        self.client.close()
