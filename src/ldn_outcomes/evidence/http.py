"""Polite HTTP for public APIs: a rate limit, a timeout, and retries with backoff.

ClinicalTrials.gov and NCBI both ask callers to go slowly (NCBI: at most 3 requests a second
without an API key, 10 with one) and answer 429 or 5xx when busy. One :class:`PoliteClient`
wraps an ``httpx.Client`` so each API client gets the same behaviour, and tests can hand in an
``httpx.MockTransport`` plus a fake clock.

``Retry-After`` (RFC 9110 section 10.2.3) is either a number of seconds or an HTTP date; both are
honoured as given, however long, up to ``RetryPolicy.max_retry_after``: a server that asks for a
longer wait gets no further request and the error says when to try again. Redirects are
followed (a moved API endpoint is still the same source); a 3xx that cannot be followed is an
error, never a successful answer.

The retry loop is ours rather than ``tenacity``'s or ``stamina``'s: it is bound up with the
rate limit, both forms of ``Retry-After`` and the injected clock, which a retry library would
still need written around it.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
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


def retry_after_seconds(value: str | None, now: dt.datetime) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delay-seconds or an HTTP date (a date in
    the past means "now", 0). None when absent or unreadable."""
    if value is None:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max((when - now).total_seconds(), 0.0)


class WaitTooLong(Exception):
    """The server asked for a longer wait than this run is willing to sleep."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"asked to wait {seconds:.0f} s")
        self.seconds = seconds


@dataclass
class RetryPolicy:
    """Exponential backoff (``base * 2**attempt`` seconds, capped at ``max_delay``) unless the
    server says how long to wait: its ``Retry-After`` is honoured as given, up to
    ``max_retry_after``; beyond that :class:`WaitTooLong` stops the retries."""

    max_attempts: int = 4
    base_delay: float = 1.0
    max_delay: float = 30.0
    max_retry_after: float = 600.0

    def delay(
        self, attempt: int, response: httpx.Response | None, now: dt.datetime | None = None
    ) -> float:
        if response is not None:
            asked = retry_after_seconds(
                response.headers.get("retry-after"), now or dt.datetime.now(dt.UTC)
            )
            if asked is not None:
                if asked > self.max_retry_after:
                    raise WaitTooLong(asked)
                return asked
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
        wall_clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self.name = name
        self.http = http or httpx.Client(
            timeout=timeout, headers={"User-Agent": USER_AGENT}, follow_redirects=True
        )
        self.wall_clock = wall_clock
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
                response = self.http.get(
                    url, params=params, timeout=self.timeout, follow_redirects=True
                )
            except httpx.TimeoutException:
                last_problem = f"timed out after {self.timeout:g} s"
            except httpx.TooManyRedirects:
                last_problem = "too many redirects"
                break
            except httpx.TransportError as error:
                last_problem = f"network error: {error}"
            else:
                if 300 <= response.status_code < 400:
                    where = response.headers.get("location") or "no Location header"
                    last_problem = f"HTTP {response.status_code} redirect not followed ({where})"
                    break
                if response.status_code < 400:
                    return response
                last_problem = f"HTTP {response.status_code}"
                if response.status_code not in RETRY_STATUS:
                    break
            if attempt + 1 < self.retry.max_attempts:
                try:
                    wait = self.retry.delay(attempt, response, self.wall_clock())
                except WaitTooLong as error:
                    retry_at = self.wall_clock() + dt.timedelta(seconds=error.seconds)
                    last_problem += (
                        f"; the server asked to wait {error.seconds:.0f} s, longer than "
                        f"{self.retry.max_retry_after:.0f} s: try again after "
                        f"{retry_at:%Y-%m-%d %H:%M} UTC"
                    )
                    break
                self.sleep(wait)
        raise SourceUnavailable(f"{self.name} did not answer usefully ({last_problem}) for {url}")

    def close(self) -> None:
        self.http.close()
