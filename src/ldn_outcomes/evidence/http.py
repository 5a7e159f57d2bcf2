"""Polite HTTP for public APIs: a rate limit, a timeout, and retries with backoff.

ClinicalTrials.gov and NCBI both ask callers to go slowly (NCBI: at most 3 requests a second
without an API key, 10 with one) and answer 429 or 5xx when busy. One :class:`PoliteClient`
wraps an ``httpx.Client`` so each API client gets the same behaviour, and tests can hand in an
``httpx.MockTransport`` plus a fake clock.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from ..errors import SourceUnavailable

RETRY_STATUS = frozenset({429, 500, 502, 503, 504})
USER_AGENT = "ldn-outcomes/0.1 (evidence hub; low-dose naltrexone literature monitor)"


@dataclass
class RateLimiter:
    """At most ``per_second`` calls a second: waits before a call that would come too soon."""

    per_second: float
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    _last: float | None = field(default=None, init=False)

    def wait(self) -> None:
        interval = 1.0 / self.per_second
        now = self.clock()
        if self._last is not None and now - self._last < interval:
            self.sleep(interval - (now - self._last))
            now = self.clock()
        self._last = now


@dataclass
class RetryPolicy:
    """Exponential backoff: ``base * 2**attempt`` seconds, capped, honouring Retry-After."""

    max_attempts: int = 4
    base_delay: float = 1.0
    max_delay: float = 30.0

    def delay(self, attempt: int, response: httpx.Response | None) -> float:
        if response is not None:
            retry_after = response.headers.get("retry-after")
            if retry_after and retry_after.strip().isdigit():
                return min(float(retry_after), self.max_delay)
        return min(self.base_delay * 2**attempt, self.max_delay)


class PoliteClient:
    """GET with rate limit, timeout and retries; raises :class:`SourceUnavailable` at the end."""

    def __init__(
        self,
        name: str,
        *,
        per_second: float,
        http: httpx.Client | None = None,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.name = name
        self.http = http or httpx.Client(timeout=timeout, headers={"User-Agent": USER_AGENT})
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self.sleep = sleep
        self.limiter = RateLimiter(per_second, clock=clock, sleep=sleep)
        self.requests_made = 0

    def get(self, url: str, params: Mapping[str, Any] | None = None) -> httpx.Response:
        last_problem = "no attempt made"
        for attempt in range(self.retry.max_attempts):
            self.limiter.wait()
            self.requests_made += 1
            response: httpx.Response | None = None
            try:
                response = self.http.get(url, params=params, timeout=self.timeout)
            except httpx.TimeoutException:
                last_problem = f"timed out after {self.timeout:g} s"
            except httpx.TransportError as error:
                last_problem = f"network error: {error}"
            else:
                if response.status_code < 400:
                    return response
                last_problem = f"HTTP {response.status_code}"
                if response.status_code not in RETRY_STATUS:
                    break
            if attempt + 1 < self.retry.max_attempts:
                self.sleep(self.retry.delay(attempt, response))
        raise SourceUnavailable(f"{self.name} did not answer usefully ({last_problem}) for {url}")

    def close(self) -> None:
        self.http.close()
