"""HTTP clients against httpx.MockTransport serving the recorded real responses."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import httpx
import pytest

from ldn_outcomes.errors import SourceUnavailable
from ldn_outcomes.evidence.ctgov import CtGovClient
from ldn_outcomes.evidence.http import RateLimiter, RetryPolicy, retry_after_seconds
from ldn_outcomes.evidence.pubmed import PubMedClient

FIXTURES = Path(__file__).parents[1] / "fixtures"
PAGE_1 = (FIXTURES / "ctgov" / "ctgov_v2_search_page_2025-06-17T11-15-33.json").read_bytes()
PAGE_2 = (FIXTURES / "ctgov" / "ctgov_v2_search_page_2025-06-17T11-16-37.json").read_bytes()
ESEARCH = (FIXTURES / "pubmed" / "pubmed_esearch_biopython.xml").read_bytes()
EFETCH = (FIXTURES / "pubmed" / "pubmed_12091962_9997.xml").read_bytes()


class FakeClock:
    """Time that only moves when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def ctgov_pages(request: httpx.Request) -> httpx.Response:
    """The recorded pages chained by their real nextPageToken values; the last page is empty."""
    token = request.url.params.get("pageToken")
    if token is None:
        return httpx.Response(200, content=PAGE_1, headers={"content-type": "application/json"})
    if token == "NF0g5JaGmg":
        return httpx.Response(200, content=PAGE_2, headers={"content-type": "application/json"})
    return httpx.Response(200, json={"studies": []})


def make_ctgov(handler, clock: FakeClock | None = None, **kwargs) -> CtGovClient:
    clock = clock or FakeClock()
    return CtGovClient(
        http=httpx.Client(transport=httpx.MockTransport(handler)),
        sleep=clock.sleep,
        clock=clock,
        **kwargs,
    )


def test_paging_follows_next_page_token_until_the_end() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return ctgov_pages(request)

    pages = list(
        make_ctgov(handler).search_pages(intervention="naltrexone", condition="multiple sclerosis")
    )
    assert [len(p["studies"]) for p in pages] == [1, 2, 0]
    assert seen[0].url.path == "/api/v2/studies"
    assert seen[0].url.params["query.intr"] == "naltrexone"
    assert seen[0].url.params["query.cond"] == "multiple sclerosis"
    assert "pageToken" not in seen[0].url.params
    assert [r.url.params.get("pageToken") for r in seen[1:]] == ["NF0g5JaGmg", "NF0g5JCG"]


def test_a_repeated_page_token_stops_instead_of_looping() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=PAGE_1)

    with pytest.raises(SourceUnavailable, match="repeated page token"):
        list(make_ctgov(handler).search_pages(intervention="naltrexone"))


def test_retries_429_and_5xx_with_backoff_and_retry_after() -> None:
    answers = iter(
        [
            httpx.Response(429, headers={"Retry-After": "7"}),
            httpx.Response(503),
            httpx.Response(200, content=PAGE_2),
        ]
    )
    clock = FakeClock()
    client = make_ctgov(
        lambda request: next(answers), clock, retry=RetryPolicy(max_attempts=4, base_delay=1.0)
    )
    page = client.get_study("NCT00184067")
    assert len(page["studies"]) == 2
    # Retry-After honoured (7 s), then exponential backoff 2**1 = 2 s; rate-limit waits add
    # nothing because each sleep already exceeded the 1 s interval.
    assert clock.sleeps == [7.0, 2.0]
    assert client.client.requests_made == 3


def test_gives_up_after_max_attempts_with_a_clear_error() -> None:
    clock = FakeClock()
    client = make_ctgov(
        lambda request: httpx.Response(502),
        clock,
        retry=RetryPolicy(max_attempts=3, base_delay=0.5),
    )
    with pytest.raises(SourceUnavailable, match="HTTP 502"):
        client.get_study("NCT00184067")
    assert client.client.requests_made == 3


def test_client_errors_are_not_retried() -> None:
    client = make_ctgov(lambda request: httpx.Response(404))
    with pytest.raises(SourceUnavailable, match="HTTP 404"):
        client.get_study("NCT99999999")
    assert client.client.requests_made == 1


def test_timeouts_and_network_errors_are_retried_then_reported() -> None:
    calls = {"n": 0}

    def handler(request: httpx.Request) -> httpx.Response:
        calls["n"] += 1
        if calls["n"] == 1:
            raise httpx.ReadTimeout("slow", request=request)
        if calls["n"] == 2:
            raise httpx.ConnectError("refused", request=request)
        return httpx.Response(200, content=PAGE_1)

    client = make_ctgov(handler, retry=RetryPolicy(max_attempts=3, base_delay=0.1))
    assert client.get_study("NCT05147467")["nextPageToken"] == "NF0g5JaGmg"
    always = make_ctgov(
        lambda r: (_ for _ in ()).throw(httpx.ReadTimeout("slow", request=r)),
        retry=RetryPolicy(max_attempts=2, base_delay=0.1),
        timeout=5,
    )
    with pytest.raises(SourceUnavailable, match="timed out after 5 s"):
        always.get_study("NCT05147467")


def test_invalid_json_is_a_source_error() -> None:
    client = make_ctgov(lambda request: httpx.Response(200, content=b"<html>maintenance</html>"))
    with pytest.raises(SourceUnavailable, match="no valid JSON"):
        client.get_study("NCT05147467")


def test_rate_limiter_spaces_calls() -> None:
    clock = FakeClock()
    limiter = RateLimiter(3.0, clock=clock, sleep=clock.sleep)
    for _ in range(4):
        limiter.wait()
    assert clock.sleeps == pytest.approx([1 / 3, 1 / 3, 1 / 3])
    clock.now += 10
    limiter.wait()
    assert len(clock.sleeps) == 3


def pubmed_handler(seen: list[httpx.Request]):
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path.endswith("esearch.fcgi"):
            return httpx.Response(200, content=ESEARCH)
        return httpx.Response(200, content=EFETCH)

    return handler


def test_pubmed_esearch_then_efetch_at_three_requests_a_second() -> None:
    seen: list[httpx.Request] = []
    clock = FakeClock()
    client = PubMedClient(
        http=httpx.Client(transport=httpx.MockTransport(pubmed_handler(seen))),
        sleep=clock.sleep,
        clock=clock,
    )
    assert client.per_second == 3.0
    pmids = client.esearch("biopython", retmax=20)
    # The recorded answer says Count 63 but always returns the same 20 ids: the client pages
    # with retstart until Count is reached and keeps each PMID once.
    assert len(pmids) == 20
    assert [r.url.params["retstart"] for r in seen] == ["0", "20", "40", "60"]
    xml = list(client.efetch_xml(pmids))
    assert len(xml) == 1 and b"<PubmedArticleSet>" in xml[0]
    fetch = seen[-1]
    assert fetch.url.params["db"] == "pubmed" and fetch.url.params["retmode"] == "xml"
    assert fetch.url.params["id"].split(",")[0] == "41282813"
    assert "api_key" not in fetch.url.params
    assert all(pause == pytest.approx(1 / 3) for pause in clock.sleeps)


def test_pubmed_api_key_is_sent_and_allows_ten_requests_a_second() -> None:
    seen: list[httpx.Request] = []
    client = PubMedClient(
        api_key="k123",
        http=httpx.Client(transport=httpx.MockTransport(pubmed_handler(seen))),
        sleep=FakeClock().sleep,
        clock=FakeClock(),
    )
    assert client.per_second == 10.0
    list(client.efetch_xml([str(n) for n in range(450)]))
    assert len(seen) == 3  # batches of 200 ids
    assert all(r.url.params["api_key"] == "k123" for r in seen)


def _recorded_efetch_or_esearch(request: httpx.Request) -> httpx.Response:
    body = ESEARCH if request.url.path.endswith("esearch.fcgi") else EFETCH
    return httpx.Response(200, content=body, headers={"content-type": "text/xml"})


def test_every_eutilities_request_names_the_tool_and_the_contact_email() -> None:
    """NCBI's usage guidelines ask for ``tool`` and ``email`` on every E-utilities request."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return _recorded_efetch_or_esearch(request)

    clock = FakeClock()
    client = PubMedClient(
        email="curators@example.org",
        http=httpx.Client(transport=httpx.MockTransport(handler)),
        sleep=clock.sleep,
        clock=clock,
    )
    pmids = client.esearch("naltrexone")
    list(client.efetch_xml(pmids))
    assert len(seen) >= 2
    for request in seen:
        assert request.url.params["tool"] == "ldn-outcomes"
        assert request.url.params["email"] == "curators@example.org"


def _busy_then_recorded(retry_after: str):
    calls = {"n": 0}

    def handler(request: httpx.Request) -> httpx.Response:
        calls["n"] += 1
        if calls["n"] == 1:
            return httpx.Response(429, headers={"retry-after": retry_after})
        return _recorded_efetch_or_esearch(request)

    return handler, calls


def _pubmed(handler, clock: FakeClock, now: dt.datetime) -> PubMedClient:
    client = PubMedClient(
        http=httpx.Client(transport=httpx.MockTransport(handler)), sleep=clock.sleep, clock=clock
    )
    client.client.wall_clock = lambda: now
    return client


def test_a_retry_after_longer_than_thirty_seconds_is_honoured_in_full() -> None:
    handler, calls = _busy_then_recorded("120")
    clock = FakeClock()
    client = _pubmed(handler, clock, dt.datetime(2026, 12, 5, 12, 0, tzinfo=dt.UTC))
    assert client.esearch("naltrexone")
    assert 120.0 in clock.sleeps and calls["n"] >= 2


def test_a_retry_after_given_as_an_http_date_is_honoured() -> None:
    handler, _ = _busy_then_recorded("Sat, 05 Dec 2026 12:01:30 GMT")
    clock = FakeClock()
    client = _pubmed(handler, clock, dt.datetime(2026, 12, 5, 12, 0, tzinfo=dt.UTC))
    assert client.esearch("naltrexone")
    assert 90.0 in clock.sleeps


def test_a_wait_beyond_the_limit_stops_and_says_when_to_try_again() -> None:
    handler, calls = _busy_then_recorded("7200")
    clock = FakeClock()
    client = _pubmed(handler, clock, dt.datetime(2026, 12, 5, 12, 0, tzinfo=dt.UTC))
    with pytest.raises(SourceUnavailable, match="try again after 2026-12-05 14:00 UTC"):
        client.esearch("naltrexone")
    assert calls["n"] == 1 and clock.sleeps == []


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("0", 0.0),
        ("45", 45.0),
        ("Sat, 05 Dec 2026 11:00:00 GMT", 0.0),
        ("Sat, 05 Dec 2026 12:00:10 GMT", 10.0),
        ("soon", None),
        (None, None),
    ],
)
def test_retry_after_values(header: str | None, expected: float | None) -> None:
    now = dt.datetime(2026, 12, 5, 12, 0, tzinfo=dt.UTC)
    assert retry_after_seconds(header, now) == expected


def test_a_redirect_is_followed_to_the_recorded_answer() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "eutils.ncbi.nlm.nih.gov":
            moved = str(request.url).replace("eutils.ncbi.nlm.nih.gov", "eutils.example.org")
            return httpx.Response(301, headers={"location": moved})
        return _recorded_efetch_or_esearch(request)

    clock = FakeClock()
    client = PubMedClient(
        http=httpx.Client(transport=httpx.MockTransport(handler)), sleep=clock.sleep, clock=clock
    )
    assert client.esearch("naltrexone")


def test_a_redirect_that_cannot_be_followed_is_an_error_not_a_success() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(302, content=b"<html>moved</html>")  # no Location header

    clock = FakeClock()
    client = PubMedClient(
        http=httpx.Client(transport=httpx.MockTransport(handler)), sleep=clock.sleep, clock=clock
    )
    with pytest.raises(SourceUnavailable, match="302 redirect not followed"):
        client.esearch("naltrexone")
