"""Sending webmentions (hearth.server.webmention.links and .send): targets, scheduling, delivery.

Delivery runs the real worker and Hearth's guarded client against remote sites mocked with
respx (https://lundberg.github.io/respx/): the `respx_mock` fixture answers in place of the
network, below the client's address guard; a request no route matches gets no answer (it
raises), and a route no request reached fails the test. Made-up hostnames need every network
allowed (no DNS), so the private-network cases use IP literals with the default settings
instead.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest
import respx

from hearth.server.core import job_queue
from hearth.server.core.events import post_changed
from hearth.server.core.http import create_http_client
from hearth.server.core.job_worker import Worker
from hearth.server.core.models import Job, JobState, OutgoingWebmention, Post
from hearth.server.core.posts import create_post
from hearth.server.core.publication import Status, Visibility
from hearth.server.core.settings import ALL_NETWORKS, Settings
from hearth.server.webmention.links import outgoing_targets
from hearth.server.webmention.send import KIND, MAX_ATTEMPTS, schedule_webmentions
from hearth.wiring import job_handlers
from tests.conftest import BASE_URL
from tests.server.webmention.fake_rocks import hrefs

# Delivery's remote sites (see the module docstring): every route a test sets up must be used.
pytestmark = pytest.mark.respx(assert_all_called=True)

REPLY = "https://them.example/post/1"
ENDPOINT = "https://them.example/wm"
PAGE = BASE_URL + "2026/01/post"


@pytest.fixture(name="open_settings")
def open_settings_fixture(settings: Settings) -> Settings:
    return dataclasses.replace(settings, allowed_private_networks=ALL_NETWORKS)


# -- targets --


def targets(properties: dict[str, list[Any]], settings: Settings) -> set[str]:
    """The targets of an unsaved post at PAGE with `properties`."""
    post = Post(path=PAGE.removeprefix(BASE_URL), short_code="t1", h_type="entry",
                post_type="note", published=datetime.now(UTC), properties=properties)  # fmt: skip
    return outgoing_targets(post, settings)


def test_response_properties_are_targets(settings: Settings) -> None:
    """in-reply-to, like-of, repost-of, bookmark-of and quotation-of URLs are all sent to."""
    names = ("in-reply-to", "like-of", "repost-of", "bookmark-of", "quotation-of")
    props: dict[str, list[Any]] = {name: [f"https://them.example/{name}"] for name in names}
    assert {f"https://them.example/{name}" for name in names} == targets(props, settings)


def test_h_cite_values_give_their_url(settings: Settings) -> None:
    """An h-cite (in a response property or quotation-of) counts by its first url."""
    props: dict[str, list[Any]] = {
        "repost-of": [{"type": ["h-cite"], "properties": {"url": ["https://b.example/2"]}}],
        "quotation-of": [
            {"type": ["h-cite"], "properties": {"url": ["https://q.example/3"], "name": ["Q"]}}
        ],
    }
    assert {"https://b.example/2", "https://q.example/3"} == targets(props, settings)


def test_content_links_are_targets_after_sanitizing(settings: Settings) -> None:
    """Every http(s) <a href> in HTML content counts, relative ones resolved; nothing else."""
    html = (
        '<p><a href="https://x.example/a?b=1&amp;c=2">x</a> <a href="//y.example/b">y</a>'
        ' <a href="mailto:me@x.example">m</a> <a href="javascript:alert(1)">j</a>'
        ' <img src="https://img.example/i.png"></p>'
    )
    expected = {"https://x.example/a?b=1&c=2", "https://y.example/b"}
    assert expected == targets({"content": [{"html": html, "value": "x"}]}, settings)


def test_plain_text_urls_are_not_targets(settings: Settings) -> None:
    """Plain-text content is not autolinked on the page, so its URLs are not sent to."""
    assert set() == targets({"content": ["see https://x.example/a"]}, settings)


def test_person_tags_are_targets(settings: Settings) -> None:
    """Category h-cards and URL categories are person tags; plain tags are not."""
    props: dict[str, list[Any]] = {
        "category": [
            "indieweb",
            "https://bob.example/",
            {"type": ["h-card"], "properties": {"url": ["https://alice.example/"]}},
        ]
    }
    assert {"https://bob.example/", "https://alice.example/"} == targets(props, settings)


def test_instagram_links_are_not_targets(settings: Settings) -> None:
    """An Instagram copy's #tag and @person links (Instagram has no endpoint) are not sent."""
    html = (
        '<a href="https://www.instagram.com/explore/tags/sea/">#sea</a>'
        ' <a href="https://Instagram.com/friend/">@friend</a> <a href="https://x.example/">x</a>'
    )
    props = {"content": [{"html": html}], "category": ["https://www.instagram.com/friend/"]}
    assert {"https://x.example/"} == targets(props, settings)


def test_own_site_links_are_not_targets(settings: Settings) -> None:
    """Links to this site, by either scheme or relative, are skipped; another port is not ours."""
    html = (
        f'<a href="{BASE_URL}tag/x">a</a> <a href="/2026/01/other">b</a>'
        ' <a href="http://example.test/about">c</a> <a href="https://example.test:8443/x">d</a>'
    )
    props = {"content": [{"html": html}], "in-reply-to": [BASE_URL + "2026/01/mine"]}
    assert {"https://example.test:8443/x"} == targets(props, settings)


async def test_targets_are_the_rendered_hrefs(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    """Each target appears verbatim as an <a href> of the permalink (strict receivers)."""
    html = (
        '<p>See <a href="https://x.example/a?b=1&amp;c=2">this</a> and <a href="../up">up</a>.</p>'
    )
    cite = {"type": ["h-cite"], "properties": {"url": ["https://them.example/c"]}}
    card = {"type": ["h-card"], "properties": {"url": ["https://alice.example/"]}}
    post = await create_post(
        {
            "in-reply-to": [REPLY],
            "like-of": [cite],
            "quotation-of": ["https://them.example/q"],
            "category": [card, "https://bob.example/"],
            "content": [{"html": html}],
        }
    )
    page = await client.get("/" + post.path)
    found = outgoing_targets(post, settings)
    assert 6 == len(found), found
    assert found <= set(hrefs(page.text, ("a",)))


# -- scheduling --


async def queued_targets() -> list[str]:
    return sorted(job.payload["target"] for job in await Job.filter(kind=KIND))


@pytest.mark.usefixtures("db")
async def test_create_queues_one_job_per_target(settings: Settings) -> None:
    """A public post queues one webmention.send job per target, each recorded as pending."""
    post = await create_post({"in-reply-to": [REPLY], "content": ["hi"]})
    assert [REPLY] == await schedule_webmentions(settings, post)
    job = await Job.get(kind=KIND)
    assert ({"post_id": post.id, "target": REPLY}, MAX_ATTEMPTS) == (job.payload, job.max_attempts)
    row = await OutgoingWebmention.get(post=post)
    assert (REPLY, "pending") == (row.target, row.state)


@pytest.mark.usefixtures("db")
@pytest.mark.parametrize(
    ("status", "visibility"),
    [(Status.PUBLISHED, Visibility.PRIVATE), (Status.DRAFT, Visibility.PUBLIC)],
    ids=["private", "draft"],
)
async def test_private_posts_and_drafts_send_nothing(
    settings: Settings, status: Status, visibility: Visibility
) -> None:
    """Private posts and drafts have no public page: no job, no record."""
    post = await create_post({"in-reply-to": [REPLY]}, status=status, visibility=visibility)
    assert [] == await schedule_webmentions(settings, post)
    assert 0 == await Job.all().count() + await OutgoingWebmention.all().count()


@pytest.mark.usefixtures("db")
async def test_unlisted_posts_send(settings: Settings) -> None:
    """An unlisted post's page is public, so the sites it links are told."""
    post = await create_post({"in-reply-to": [REPLY]}, visibility=Visibility.UNLISTED)
    assert [REPLY] == await schedule_webmentions(settings, post)


@pytest.mark.usefixtures("db")
async def test_update_sends_to_removed_and_added_links(settings: Settings) -> None:
    """An update re-sends to the links it had (even removed ones) and sends to new ones."""
    post = await create_post({"in-reply-to": [REPLY]})
    previous = post.properties
    post.properties = {"like-of": ["https://new.example/"]}
    await post.save()
    assert ["https://new.example/", REPLY] == await schedule_webmentions(settings, post, previous)


@pytest.mark.usefixtures("db")
async def test_update_re_sends_to_every_earlier_target(settings: Settings) -> None:
    """Targets told about earlier versions are told again, from the sent records."""
    post = await create_post({"in-reply-to": [REPLY]})
    await schedule_webmentions(settings, post)
    post.properties = {"content": ["no links now"]}
    await post.save()
    assert [REPLY] == await schedule_webmentions(settings, post, {"content": ["meanwhile"]})


@pytest.mark.usefixtures("db")
async def test_delete_re_sends_to_all_former_targets(settings: Settings) -> None:
    """A deleted post (whose page now answers 410) tells every target again."""
    html = '<a href="https://b.example/">b</a>'
    post = await create_post({"in-reply-to": [REPLY], "content": [{"html": html}]})
    await schedule_webmentions(settings, post)
    post.deleted_at = datetime.now(UTC)
    await post.save()
    assert ["https://b.example/", REPLY] == await schedule_webmentions(settings, post)
    assert 4 == await Job.filter(kind=KIND).count()


@pytest.mark.usefixtures("db")
async def test_same_change_is_sent_once(settings: Settings) -> None:
    """Scheduling one stored change twice queues nothing more and keeps the record as is."""
    post = await create_post({"in-reply-to": [REPLY]})
    await schedule_webmentions(settings, post)
    await OutgoingWebmention.filter(post=post).update(state="sent")
    assert [] == await schedule_webmentions(settings, post)
    assert 1 == await Job.filter(kind=KIND).count()
    assert "sent" == (await OutgoingWebmention.get(post=post)).state


@pytest.mark.usefixtures("db")
async def test_each_stored_change_sends_again(settings: Settings) -> None:
    """A new stored change (new modified_at) re-sends: one job per change per target."""
    post = await create_post({"in-reply-to": [REPLY]})
    await schedule_webmentions(settings, post)
    await post.save()
    await schedule_webmentions(settings, post)
    assert [REPLY, REPLY] == await queued_targets()
    assert 1 == await OutgoingWebmention.filter(post=post).count()


@pytest.mark.usefixtures("db")
async def test_post_changed_schedules_webmentions(settings: Settings) -> None:
    """The post-change event queues the webmentions (as Micropub will trigger it)."""
    post = await create_post({"in-reply-to": [REPLY]})
    await post_changed(settings, post)
    assert [REPLY] == await queued_targets()


def test_worker_knows_the_send_handler() -> None:
    """`hearth worker` can run webmention.send jobs."""
    assert KIND in job_handlers()


# -- delivery --


def advertising(endpoint: str) -> httpx.Response:
    return httpx.Response(200, html=f'<link rel="webmention" href="{endpoint}">')


def sent(respx_mock: respx.MockRouter) -> list[httpx.Request]:
    """The webmentions POSTed, in order."""
    return [call.request for call in respx_mock.calls if call.request.method == "POST"]


async def deliver(
    settings: Settings, targets: dict[str, Any] | None = None, *, runs: int = 1
) -> tuple[Post, Job, OutgoingWebmention]:
    """Create a post replying to REPLY (or `targets`), schedule, and run the worker `runs` times."""
    post = await create_post(targets or {"in-reply-to": [REPLY]})
    await schedule_webmentions(settings, post)
    async with create_http_client(settings) as http:
        worker = Worker(settings, job_handlers(), http=http)
        for _ in range(runs):
            await Job.filter(kind=KIND).update(run_at=job_queue.utcnow())  # skip the backoff
            assert await worker.run_once()
    job = await Job.get(kind=KIND)
    return post, job, await OutgoingWebmention.get(post=post)


@pytest.mark.usefixtures("db")
@pytest.mark.parametrize("status", [200, 201, 202])
async def test_success_statuses(
    open_settings: Settings, respx_mock: respx.MockRouter, status: int
) -> None:
    """200, 201 and 202 all count as sent; the endpoint and status are recorded."""
    respx_mock.get(REPLY).mock(return_value=advertising("/wm"))
    respx_mock.post(ENDPOINT).respond(status)
    _, job, row = await deliver(open_settings)
    assert (JobState.DONE, "sent", status) == (job.state, row.state, row.status_code)
    assert ("https://them.example/wm", None) == (row.endpoint, row.last_error)


@pytest.mark.usefixtures("db")
async def test_posts_only_source_and_target_form_encoded(
    open_settings: Settings, respx_mock: respx.MockRouter
) -> None:
    """The POST body is exactly source and target, form-encoded; the query stays in the URL."""
    respx_mock.get(REPLY).mock(return_value=advertising("/wm?key=abc"))
    respx_mock.post(ENDPOINT).respond(202)
    post, _, _ = await deliver(open_settings)
    [request] = sent(respx_mock)
    assert "https://them.example/wm?key=abc" == str(request.url)
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    source = open_settings.absolute(post.path)
    assert [("source", source), ("target", REPLY)] == parse_qsl(request.content.decode())


@pytest.mark.usefixtures("db")
async def test_every_attempt_rediscovers(
    open_settings: Settings, respx_mock: respx.MockRouter
) -> None:
    """A retry fetches the target again, so a single-use endpoint is never reused."""
    respx_mock.get(REPLY).mock(side_effect=[advertising("/wm?key=k1"), advertising("/wm?key=k2")])
    respx_mock.post(ENDPOINT).mock(side_effect=[httpx.Response(503), httpx.Response(200)])
    _, job, row = await deliver(open_settings, runs=2)
    assert ["key=k1", "key=k2"] == [r.url.query.decode() for r in sent(respx_mock)]
    assert (JobState.DONE, "sent") == (job.state, row.state)


@pytest.mark.usefixtures("db")
async def test_server_error_retries_with_backoff(
    open_settings: Settings, respx_mock: respx.MockRouter
) -> None:
    """A 5xx answer queues another attempt later and keeps the error on the pending record."""
    respx_mock.get(REPLY).mock(return_value=advertising("/wm"))
    respx_mock.post(ENDPOINT).respond(500, text="oops")
    _, job, row = await deliver(open_settings)
    assert (JobState.QUEUED, "pending", 500) == (job.state, row.state, row.status_code)
    assert job.run_at > job_queue.utcnow()
    assert "endpoint https://them.example/wm answered 500: oops" == row.last_error


@pytest.mark.usefixtures("db")
@pytest.mark.parametrize("header", ["delta", "date"])
async def test_too_many_requests_honours_retry_after(
    open_settings: Settings, respx_mock: respx.MockRouter, header: str
) -> None:
    """429 retries after the endpoint's Retry-After, in seconds or as an HTTP date."""
    wait = timedelta(seconds=600)
    value = "600" if header == "delta" else format_datetime(datetime.now(UTC) + wait, usegmt=True)
    respx_mock.get(REPLY).mock(return_value=advertising("/wm"))
    respx_mock.post(ENDPOINT).respond(429, headers={"Retry-After": value})
    before = job_queue.utcnow()
    _, job, _ = await deliver(open_settings)
    assert before + wait - timedelta(seconds=2) <= job.run_at <= job_queue.utcnow() + wait


@pytest.mark.usefixtures("db")
async def test_target_server_error_retries(
    open_settings: Settings, respx_mock: respx.MockRouter
) -> None:
    """A 5xx from the target page during discovery is retried too."""
    respx_mock.get(REPLY).respond(502)
    _, job, row = await deliver(open_settings)
    assert (JobState.QUEUED, "pending", 502) == (job.state, row.state, row.status_code)


@pytest.mark.usefixtures("db")
async def test_network_error_retries(open_settings: Settings, respx_mock: respx.MockRouter) -> None:
    """A connection failure is retried."""

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    respx_mock.get(REPLY).mock(return_value=advertising("/wm"))
    respx_mock.post(ENDPOINT).mock(side_effect=refuse)
    _, job, row = await deliver(open_settings)
    assert (JobState.QUEUED, "pending") == (job.state, row.state)
    assert "ConnectError: connection refused" in (row.last_error or "")


@pytest.mark.usefixtures("db")
async def test_client_error_fails_for_good(
    open_settings: Settings, respx_mock: respx.MockRouter
) -> None:
    """A 4xx answer (other than 429) is final: job DEAD, record failed with the reason."""
    respx_mock.get(REPLY).mock(return_value=advertising("/wm"))
    respx_mock.post(ENDPOINT).respond(400, text="bad target")
    _, job, row = await deliver(open_settings)
    assert (JobState.DEAD, "failed", 400) == (job.state, row.state, row.status_code)
    assert "endpoint https://them.example/wm answered 400: bad target" == row.last_error


@pytest.mark.usefixtures("db")
async def test_gives_up_after_max_attempts(
    open_settings: Settings, respx_mock: respx.MockRouter
) -> None:
    """After MAX_ATTEMPTS failed attempts the job is DEAD and the record failed."""
    respx_mock.get(REPLY).mock(return_value=advertising("/wm"))
    respx_mock.post(ENDPOINT).respond(503)
    _, job, row = await deliver(open_settings, runs=MAX_ATTEMPTS)
    assert (JobState.DEAD, MAX_ATTEMPTS, "failed") == (job.state, job.attempts, row.state)
    assert MAX_ATTEMPTS == len(sent(respx_mock))


@pytest.mark.usefixtures("db")
async def test_target_without_endpoint_is_skipped(
    open_settings: Settings, respx_mock: respx.MockRouter
) -> None:
    """No endpoint advertised: nothing to send, the job is done and the record says why."""
    respx_mock.get(REPLY).respond(200, html="<p>no endpoint</p>")
    _, job, row = await deliver(open_settings)
    assert (JobState.DONE, "skipped", "no webmention endpoint") == (
        job.state,
        row.state,
        row.last_error,
    )


@pytest.mark.usefixtures("db")
async def test_missing_target_fails(open_settings: Settings, respx_mock: respx.MockRouter) -> None:
    """A target answering 404 cannot be told: failed, not retried."""
    respx_mock.get(REPLY).respond(404)
    _, job, row = await deliver(open_settings)
    assert (JobState.DEAD, "failed", 404) == (job.state, row.state, row.status_code)


@pytest.mark.usefixtures("db")
async def test_private_network_target_is_skipped(
    settings: Settings, respx_mock: respx.MockRouter
) -> None:
    """A private target is skipped, never fetched (HEARTH_ALLOW_PRIVATE_NETWORKS off)."""
    _, job, row = await deliver(settings, {"in-reply-to": ["http://10.1.2.3/post"]})
    assert (JobState.DONE, "skipped", []) == (job.state, row.state, list(respx_mock.calls))
    assert "not a public address" in (row.last_error or "")


@pytest.mark.usefixtures("db")
async def test_private_network_endpoint_is_skipped(
    settings: Settings, respx_mock: respx.MockRouter
) -> None:
    """A public target naming an endpoint on a private network gets no POST."""
    respx_mock.get("http://93.184.215.14/post/1").mock(
        return_value=advertising("http://127.0.0.1:9000/wm")
    )
    _, job, row = await deliver(settings, {"in-reply-to": ["http://93.184.215.14/post/1"]})
    assert (JobState.DONE, "skipped", []) == (job.state, row.state, sent(respx_mock))


@pytest.mark.usefixtures("db")
async def test_endpoint_redirect_is_not_followed(
    open_settings: Settings, respx_mock: respx.MockRouter
) -> None:
    """A redirecting endpoint is not followed (a POST would turn into a GET): failed."""
    respx_mock.get(REPLY).mock(return_value=advertising("/wm"))
    respx_mock.post(ENDPOINT).respond(301, headers={"Location": "https://them.example/elsewhere"})
    _, job, row = await deliver(open_settings)
    assert (JobState.DEAD, "failed", 301) == (job.state, row.state, row.status_code)
    assert ["/post/1", "/wm"] == [call.request.url.path for call in respx_mock.calls]


@pytest.mark.usefixtures("db")
async def test_purged_post_sends_nothing(
    open_settings: Settings, respx_mock: respx.MockRouter
) -> None:
    """A job whose post was removed from the database ends quietly."""
    post = await create_post({"in-reply-to": [REPLY]})
    await schedule_webmentions(open_settings, post)
    await post.delete()
    async with create_http_client(open_settings) as http:
        assert await Worker(open_settings, job_handlers(), http=http).run_once()
    assert (JobState.DONE, []) == ((await Job.get(kind=KIND)).state, list(respx_mock.calls))
