"""Attacks on the webmention receiver (issue 13, holes 9 to 12), each tried.

9: the status page publishes only fixed sentences for network failures, never the error
(which would make it a port scanner). 10: limits per source host and overall (429 with
`Retry-After`), a cap on queued verifications (503), and the spacing of fetches to one host.
11: trust follows the URL the content came from after redirects. 12: malformed URLs are a
clean refusal, at the endpoint (400) and in the job (rejected, no retry, no traceback).
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from dataclasses import replace

import httpx
import pytest

from hearth.server.core.job_worker import Worker
from hearth.server.core.models import (
    Approval,
    DomainRule,
    Interaction,
    InteractionState,
    Job,
    JobState,
    Post,
)
from hearth.server.core.rate_limits import SlidingWindow
from hearth.server.core.settings import Settings
from hearth.server.webmention import receive, verify
from hearth.server.webmention.rate_limit import HostSpacing
from hearth.server.webmention.webmention_settings import WebmentionSettings, with_webmention
from tests.server.webmention.receive_support import (
    FakeWeb,
    Page,
    deliver,
    make_retries_due,
    permalink,
    received,
    reply_page,
    run_jobs,
)

SOURCE = "https://alice.example/replies/1"
MALFORMED = [
    "http://0177.0.0.1/",
    "http://[::1",
    "http://exa mple.com/",
    "http://%00/",
    "http://" + "a" * 64 + ".example/",
    "http://" + ".".join(["a" * 63] * 4) + "/",
    "http://256.256.256.256/",
    "http://0x7f.1/",
    "http://xn--abc.example/",
    "http://example.com:99999/",
]
PUBLIC_REASONS = {
    None,
    verify.RETRY_PREFIX + verify.UNREACHABLE,
    verify.RETRY_PREFIX + verify.TOO_SLOW,
    verify.UNREACHABLE,
    verify.TOO_SLOW,
}


async def status_json(client: httpx.AsyncClient, response: Interaction) -> dict[str, object]:
    answer = await client.get(
        f"/webmention/status/{response.status_token}", headers={"Accept": "application/json"}
    )
    data: dict[str, object] = answer.json()
    return data


async def status_html(client: httpx.AsyncClient, response: Interaction) -> str:
    return (await client.get(f"/webmention/status/{response.status_token}")).text


# 9. No raw network errors on public pages.


@pytest.mark.parametrize(
    "error",
    [
        httpx.ConnectError("[Errno 111] Connection refused"),
        httpx.ConnectError("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed"),
        httpx.ReadError("[Errno 104] Connection reset by peer"),
        httpx.RemoteProtocolError("illegal status line: b'SSH-2.0-OpenSSH_9.6'"),
        httpx.ConnectTimeout("timed out"),
    ],
    ids=["refused", "tls", "reset", "not-http", "timeout"],
)
async def test_status_page_shows_only_fixed_messages_for_network_errors(
    client: httpx.AsyncClient, worker: Worker, web: FakeWeb, post: Post, error: Exception
) -> None:
    """Whatever the network said, the status page (HTML and JSON) says one fixed sentence,
    on every attempt and after the last; the error itself is in the job, for the admin."""

    def fail(request: httpx.Request) -> object:
        raise type(error)(str(error), request=request)

    web.pages[SOURCE] = fail  # type: ignore[assignment]
    response = await received(client, worker, SOURCE, permalink(post))
    (job,) = await Job.filter(kind=verify.KIND)
    assert str(error) in (job.last_error or "")
    for _ in range(verify.MAX_ATTEMPTS):
        response = await Interaction.get(id=response.id)
        data = await status_json(client, response)
        html = await status_html(client, response)
        assert data["reason"] in PUBLIC_REASONS
        for word in ("Errno", "refused", "SSL", "reset", "OpenSSH", "timed out"):
            assert word not in html and word not in str(data)
        await make_retries_due()
        await run_jobs(worker)
    assert InteractionState.REJECTED == (await Interaction.get(id=response.id)).state


async def test_raw_errors_stored_before_are_not_shown(
    client: httpx.AsyncClient, worker: Worker, web: FakeWeb, post: Post
) -> None:
    """Rows from before the fix keep their raw reason in the database; the page hides it."""
    web.add(SOURCE, reply_page(permalink(post)))
    response = await received(client, worker, SOURCE, permalink(post))
    raw = "could not fetch the source: [Errno 111] Connection refused"
    for stored, shown in [
        (verify.RETRY_PREFIX + raw, verify.RETRY_PREFIX + verify.UNREACHABLE),
        (raw, verify.UNREACHABLE),
    ]:
        await Interaction.filter(id=response.id).update(
            state=InteractionState.REJECTED, reason=stored
        )
        assert shown == (await status_json(client, response))["reason"]
        assert "Errno" not in await status_html(client, response)


# 10. Limits.


@pytest.fixture(name="settings")
def limited_settings(settings: Settings) -> Settings:
    """Small limits, so the tests reach them with a few requests."""
    return with_webmention(settings, per_host_per_minute=3, per_minute=5, max_queued=100)


async def test_per_host_limit_answers_429_with_retry_after(
    client: httpx.AsyncClient, post: Post
) -> None:
    """A fourth webmention a minute from one host is 429 with `Retry-After`, nothing stored;
    another host is still taken."""
    for n in range(3):
        assert 201 == (await deliver(client, f"https://a.example/{n}", permalink(post))).status_code
    answer = await deliver(client, "https://a.example/3", permalink(post))
    assert 429 == answer.status_code
    assert 0 < int(answer.headers["retry-after"]) <= 60
    assert 3 == await Interaction.filter(source__startswith="https://a.example/").count()
    assert 201 == (await deliver(client, "https://b.example/0", permalink(post))).status_code


async def test_overall_limit_answers_429(client: httpx.AsyncClient, post: Post) -> None:
    """Many hosts, one each: the overall limit (5) still holds."""
    for n in range(5):
        answer = await deliver(client, f"https://host{n}.example/", permalink(post))
        assert 201 == answer.status_code
    answer = await deliver(client, "https://host5.example/", permalink(post))
    assert (429, True) == (answer.status_code, "retry-after" in answer.headers)
    assert 5 == await Interaction.all().count()


async def test_limit_reached_from_the_browser_form_is_a_page(
    client: httpx.AsyncClient, post: Post
) -> None:
    """A person sending the permalink form gets the same 429 as a page."""
    for n in range(3):
        await deliver(client, f"https://a.example/{n}", permalink(post))
    answer = await client.post(
        "/webmention",
        data={"source": "https://a.example/3", "target": permalink(post)},
        headers={"Accept": "text/html"},
    )
    assert (429, True) == (answer.status_code, "retry-after" in answer.headers)
    assert "try again later" in answer.text


async def test_invalid_requests_do_not_use_up_the_limit(
    client: httpx.AsyncClient, post: Post
) -> None:
    """Only requests that would be stored count: refused ones cost nothing."""
    for _ in range(10):
        answer = await deliver(client, "https://a.example/1", "https://elsewhere.example/")
        assert 400 == answer.status_code
    assert 201 == (await deliver(client, "https://a.example/1", permalink(post))).status_code


async def test_full_queue_answers_503_with_retry_after(
    client: httpx.AsyncClient, settings: Settings, app: object, post: Post
) -> None:
    """With `max_queued` verifications waiting, the next webmention is 503, nothing stored."""
    app.state.settings = with_webmention(settings, max_queued=2)  # type: ignore[attr-defined]
    for n in range(2):
        assert 201 == (await deliver(client, f"https://q{n}.example/", permalink(post))).status_code
    answer = await deliver(client, "https://q2.example/", permalink(post))
    assert 503 == answer.status_code
    assert int(answer.headers["retry-after"]) == receive.QUEUE_FULL_RETRY_AFTER
    assert 2 == await Interaction.all().count()


def test_settings_read_from_the_environment() -> None:
    env = {
        "HEARTH_WEBMENTION_PER_HOST_PER_MINUTE": "7",
        "HEARTH_WEBMENTION_PER_MINUTE": "70",
        "HEARTH_WEBMENTION_MAX_QUEUED": "50",
        "HEARTH_WEBMENTION_FETCH_INTERVAL": "0",
    }
    assert WebmentionSettings(7, 70, 50, 0) == WebmentionSettings.from_env(env)
    assert WebmentionSettings(20, 120, 1000, 1) == WebmentionSettings.from_env({})


def test_sliding_window_counts_a_minute() -> None:
    window = SlidingWindow(2)
    window.hit("a", now=0.0)
    window.hit("a", now=10.0)
    assert (50, 0, 0) == (
        window.wait("a", now=10.0),
        window.wait("b", now=10.0),
        window.wait("a", now=60.0),
    )


def test_host_spacing_books_slots_and_refuses_far_ones() -> None:
    spacing = HostSpacing()
    assert 0.0 == spacing.book("a", 1.0, limit=1.0, now=0.0)
    assert 1.0 == spacing.book("a", 1.0, limit=1.0, now=0.0)
    assert 2.0 == spacing.book("a", 1.0, limit=1.0, now=0.0)  # too far: not booked
    assert 0.0 == spacing.book("b", 1.0, limit=1.0, now=0.0)
    assert 0.0 == spacing.book("a", 1.0, limit=1.0, now=5.0)


async def test_one_host_is_fetched_at_most_once_a_second(
    client: httpx.AsyncClient, worker: Worker, web: FakeWeb, post: Post
) -> None:
    """Politeness: two sources on one host, verified back to back, are fetched at least
    `fetch_interval` apart; another host is not held up."""
    worker.settings = with_webmention(worker.settings, fetch_interval=1)
    times: dict[str, float] = {}
    loop = asyncio.get_running_loop()

    def page(request: httpx.Request) -> object:
        times[str(request.url)] = loop.time()
        return Page(reply_page(permalink(post)))

    sources = ["https://polite.example/1", "https://polite.example/2", "https://other.example/"]
    for source in sources:
        web.pages[source] = page
        assert 201 == (await deliver(client, source, permalink(post))).status_code
    await run_jobs(worker)
    first, second, other = (times[s] for s in sources)
    assert second - first >= 0.95
    assert other - second < 0.5
    assert 3 == await Interaction.filter(state=InteractionState.ACCEPTED).count()


async def test_a_host_booked_far_ahead_postpones_the_job(
    client: httpx.AsyncClient, worker: Worker, web: FakeWeb, post: Post
) -> None:
    """When the host's next slot is further than a job may wait, it postpones itself: no
    fetch, not counted as an attempt, queued again for later."""
    worker.settings = with_webmention(worker.settings, fetch_interval=30)
    assert worker.http is not None
    spacing = verify._spacing.setdefault(worker.http, HostSpacing())
    spacing.book("alice.example", 30, limit=60)  # two fetches just booked by other jobs
    spacing.book("alice.example", 30, limit=60)
    web.add(SOURCE, reply_page(permalink(post)))
    await deliver(client, SOURCE, permalink(post))
    await run_jobs(worker)
    (job,) = await Job.filter(kind=verify.KIND)
    assert (JobState.QUEUED, 0, 0) == (job.state, job.attempts, web.fetched(SOURCE))
    response = await Interaction.get(source=SOURCE)
    assert (InteractionState.PENDING, None) == (response.state, response.reason)


# 11. Trust follows the content.


async def approved_from(
    client: httpx.AsyncClient, worker: Worker, web: FakeWeb, post: Post, source: str
) -> Interaction:
    web.add(source, reply_page(permalink(post)))
    response = await received(client, worker, source, permalink(post))
    response.approval = Approval.APPROVED
    await response.save()
    return response


async def test_known_domain_redirecting_elsewhere_waits_for_approval(
    client: httpx.AsyncClient, worker: Worker, web: FakeWeb, post: Post
) -> None:
    """An open redirect on a known domain: the content comes from an unknown one, so it
    waits, and the row names the domain it came from."""
    worker.settings = replace(worker.settings, moderation="known")
    await approved_from(client, worker, web, post, "https://known.example/a")
    redirect = "https://known.example/out?to=https://evil.example/spam"
    web.add(redirect, "", status=302, headers={"Location": "https://evil.example/spam"})
    web.add("https://evil.example/spam", reply_page(permalink(post), "Buy now"))
    response = await received(client, worker, redirect, permalink(post))
    assert (InteractionState.ACCEPTED, Approval.WAITING, "evil.example") == (
        response.state,
        response.approval,
        response.domain,
    )


async def test_redirect_within_a_known_domain_is_still_shown(
    client: httpx.AsyncClient, worker: Worker, web: FakeWeb, post: Post
) -> None:
    worker.settings = replace(worker.settings, moderation="known")
    await approved_from(client, worker, web, post, "https://known.example/a")
    web.add("https://known.example/old", "", status=301, headers={"Location": "/new"})
    web.add("https://known.example/new", reply_page(permalink(post)))
    response = await received(client, worker, "https://known.example/old", permalink(post))
    assert Approval.APPROVED == response.approval


async def test_allow_rule_on_the_submitted_domain_does_not_cover_a_redirect(
    client: httpx.AsyncClient, worker: Worker, web: FakeWeb, post: Post
) -> None:
    worker.settings = replace(worker.settings, moderation="manual")
    await DomainRule.create(domain="trusted.example", rule="allow")
    web.add("https://trusted.example/r", "", status=302, headers={"Location": "https://x.example/"})
    web.add("https://x.example/", reply_page(permalink(post)))
    response = await received(client, worker, "https://trusted.example/r", permalink(post))
    assert Approval.WAITING == response.approval


async def test_allow_rule_on_the_final_domain_counts(
    client: httpx.AsyncClient, worker: Worker, web: FakeWeb, post: Post
) -> None:
    worker.settings = replace(worker.settings, moderation="manual")
    await DomainRule.create(domain="x.example", rule="allow")
    web.add("https://short.example/r", "", status=302, headers={"Location": "https://x.example/"})
    web.add("https://x.example/", reply_page(permalink(post)))
    response = await received(client, worker, "https://short.example/r", permalink(post))
    assert Approval.APPROVED == response.approval


@pytest.mark.parametrize("blocked", ["short.example", "x.example"])
async def test_block_on_the_submitted_or_final_domain_rejects(
    client: httpx.AsyncClient, worker: Worker, web: FakeWeb, post: Post, blocked: str
) -> None:
    await DomainRule.create(domain=blocked, rule="block")
    web.add("https://short.example/r", "", status=302, headers={"Location": "https://x.example/"})
    web.add("https://x.example/", reply_page(permalink(post)))
    response = await received(client, worker, "https://short.example/r", permalink(post))
    assert (InteractionState.REJECTED, verify.moderation.BLOCKED_REASON) == (
        response.state,
        response.reason,
    )


# 12. Malformed URLs.


@pytest.mark.parametrize("source", MALFORMED)
async def test_malformed_source_is_400_at_the_endpoint(
    client: httpx.AsyncClient, post: Post, source: str
) -> None:
    answer = await deliver(client, source, permalink(post))
    assert 400 == answer.status_code
    assert "source" in answer.text
    assert 0 == await Interaction.all().count()


@pytest.mark.parametrize("source", MALFORMED)
async def test_malformed_source_in_the_job_is_rejected_without_retry(
    worker: Worker, post: Post, source: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A row stored before the endpoint checked (or by other means): the job rejects it for
    good, completes without a traceback, and fetches nothing."""
    row = await Interaction.create(
        source=source,
        target=permalink(post),
        source_target_hash=hashlib.sha256(source.encode()).hexdigest(),
        post=post,
        status_token=secrets.token_urlsafe(24),
        domain="",
    )
    await verify.schedule(row)
    await run_jobs(worker)
    row = await Interaction.get(id=row.id)
    (job,) = await Job.filter(kind=verify.KIND)
    assert (InteractionState.REJECTED, verify.MALFORMED) == (row.state, row.reason)
    assert (JobState.DONE, None) == (job.state, job.last_error)
    assert not any(record.exc_info for record in caplog.records)


@pytest.mark.parametrize("location", ["http://0177.0.0.1/", "http://exa mple.com/", "http://[::1"])
async def test_redirect_to_a_malformed_url_is_rejected_without_retry(
    client: httpx.AsyncClient, worker: Worker, web: FakeWeb, post: Post, location: str
) -> None:
    web.add(SOURCE, "", status=302, headers={"Location": location})
    response = await received(client, worker, SOURCE, permalink(post))
    (job,) = await Job.filter(kind=verify.KIND)
    assert (InteractionState.REJECTED, verify.MALFORMED) == (response.state, response.reason)
    assert JobState.DONE == job.state
