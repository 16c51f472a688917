"""The verification job (hearth.server.webmention.verify): fetching the source and finding the link.

Spec: https://www.w3.org/TR/webmention/#webmention-verification, #updating-existing-webmentions
and #security-considerations; the W3C receiver checklist
(https://github.com/w3c/webmention/blob/main/implementation-reports/TEMPLATE.md):
links in `<a>`, `<img>`, `<video>`, `<audio>`; not in comments, not as plain text; redirects
followed and limited; 410 and a removed link delete; time and byte limits.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest

from hearth.server.core.job_worker import Worker
from hearth.server.core.models import Interaction, InteractionState, Job, JobState, Post
from hearth.server.webmention import verify
from tests.server.webmention.receive_support import (
    FakeWeb,
    deliver,
    html_page,
    make_retries_due,
    permalink,
    received,
    reply_page,
    run_jobs,
)

SOURCE = "https://alice.example/replies/1"


async def verified(
    client: httpx.AsyncClient,
    worker: Worker,
    web: FakeWeb,
    body: str,
    post: Post,
    **options: object,
) -> Interaction:
    """Serve `body` at SOURCE, send a webmention for `post` and verify it."""
    web.add(SOURCE, body, **options)
    return await received(client, worker, SOURCE, permalink(post))


@pytest.mark.parametrize(
    "markup",
    [
        '<a href="{t}">my post</a>',
        '<img src="{t}" alt="">',
        '<video src="{t}"></video>',
        '<video controls><source src="{t}" type="video/mp4"></video>',
        '<audio src="{t}"></audio>',
        '<audio><source src="{t}"></audio>',
    ],
    ids=["a", "img", "video", "video-source", "audio", "audio-source"],
)
async def test_link_in_a_linking_element_is_accepted(
    client: httpx.AsyncClient, worker: Worker, web: FakeWeb, post: Post, markup: str
) -> None:
    """The target in `<a href>`, `<img src>`, `<video>` or `<audio>` (or their `<source>`)."""
    body = html_page(markup.format(t=permalink(post)))
    response = await verified(client, worker, web, body, post)
    assert (InteractionState.ACCEPTED, None) == (response.state, response.reason)


async def test_link_inside_a_comment_is_rejected(
    client: httpx.AsyncClient, worker: Worker, web: FakeWeb, post: Post
) -> None:
    """An `<a>` inside an HTML comment is not a link."""
    body = html_page(f'<!-- <a href="{permalink(post)}">my post</a> -->')
    response = await verified(client, worker, web, body, post)
    assert InteractionState.REJECTED == response.state
    assert "does not link" in (response.reason or "")


async def test_target_as_plain_text_is_rejected(
    client: httpx.AsyncClient, worker: Worker, web: FakeWeb, post: Post
) -> None:
    """The target URL as text in an HTML page is not a link."""
    response = await verified(client, worker, web, html_page(f"<p>{permalink(post)}</p>"), post)
    assert InteractionState.REJECTED == response.state


async def test_target_in_escaped_markup_is_rejected(
    client: httpx.AsyncClient, worker: Worker, web: FakeWeb, post: Post
) -> None:
    """`&lt;a href=…&gt;` is text, not an element."""
    body = html_page(f'<code>&lt;a href="{permalink(post)}"&gt;x&lt;/a&gt;</code>')
    response = await verified(client, worker, web, body, post)
    assert InteractionState.REJECTED == response.state


async def test_target_in_a_non_linking_attribute_is_rejected(
    client: httpx.AsyncClient, worker: Worker, web: FakeWeb, post: Post
) -> None:
    """`<link href>`, `data-href` and `<textarea>` content do not count."""
    target = permalink(post)
    head = f'<link rel="canonical" href="{target}">'
    body = html_page(
        f'<span data-href="{target}"></span><textarea><a href="{target}"></a></textarea>', head
    )
    response = await verified(client, worker, web, body, post)
    assert InteractionState.REJECTED == response.state


async def test_source_without_the_link_is_rejected(
    client: httpx.AsyncClient, worker: Worker, web: FakeWeb, post: Post
) -> None:
    """A page that links elsewhere only is rejected, the reason on the row."""
    body = html_page('<a href="https://example.test/2026/05/other">other</a>')
    response = await verified(client, worker, web, body, post)
    assert ("the source does not link to the target", InteractionState.REJECTED) == (
        response.reason,
        response.state,
    )


@pytest.mark.parametrize(
    "href",
    [
        "/2026/05/hello",
        "https://EXAMPLE.test:443/2026/05/hello#comments",
        "http://example.test/2026/05/hello",
        "https://example.test/s/{code}",
    ],
    ids=["relative-with-base", "case-port-fragment", "http", "short-link"],
)
async def test_link_matches_after_normalization(
    client: httpx.AsyncClient, worker: Worker, web: FakeWeb, post: Post, href: str
) -> None:
    """Relative (with `<base>`), differently spelled, fragment and short-link forms count."""
    head = '<base href="https://example.test/">'
    body = html_page(f'<a href="{href.format(code=post.short_code)}">post</a>', head)
    web.add(SOURCE, body)
    response = await received(client, worker, SOURCE, permalink(post))
    assert InteractionState.ACCEPTED == response.state


async def test_redirects_are_followed(
    client: httpx.AsyncClient, worker: Worker, web: FakeWeb, post: Post
) -> None:
    """§3.2.2 MUST follow redirects: the final page's link counts."""
    web.add(SOURCE, status=301, headers={"Location": "https://alice.example/moved"})
    web.add("https://alice.example/moved", reply_page(permalink(post)))
    response = await received(client, worker, SOURCE, permalink(post))
    assert InteractionState.ACCEPTED == response.state


async def test_relative_links_resolve_against_the_final_url(
    client: httpx.AsyncClient, worker: Worker, web: FakeWeb, post: Post
) -> None:
    """After a redirect to this site's host, `hello` is resolved against the final URL."""
    web.add(SOURCE, status=302, headers={"Location": "https://mirror.example/2026/05/x"})
    web.add("https://mirror.example/2026/05/x", html_page('<a href="hello">relative</a>'))
    response = await received(client, worker, SOURCE, permalink(post))
    assert InteractionState.REJECTED == response.state  # mirror.example/2026/05/hello ≠ target


async def test_redirect_chains_are_limited(
    client: httpx.AsyncClient, worker: Worker, web: FakeWeb, post: Post
) -> None:
    """§4.2 SHOULD limit redirects: a loop ends as rejected after the limit, not forever."""
    web.add(SOURCE, status=302, headers={"Location": SOURCE})
    response = await received(client, worker, SOURCE, permalink(post))
    assert ("the source redirects too many times", InteractionState.REJECTED) == (
        response.reason,
        response.state,
    )
    assert worker.settings.http_max_redirects + 1 == web.fetched(SOURCE)


async def test_source_on_a_private_address_is_rejected(
    client: httpx.AsyncClient, worker: Worker, web: FakeWeb, post: Post
) -> None:
    """The guarded client never fetches private addresses (SSRF, §4.5)."""
    source = "https://private.example/reply"
    web.add(source, reply_page(permalink(post)))
    response = await received(client, worker, source, permalink(post))
    assert InteractionState.REJECTED == response.state
    assert 0 == web.fetched(source)


async def test_rejection_does_not_reveal_private_addresses(
    client: httpx.AsyncClient, worker: Worker, web: FakeWeb, post: Post
) -> None:
    """The public status reason must not tell a prober what a name resolves to inside."""
    response = await received(client, worker, "https://private.example/x", permalink(post))
    assert "10.0.0.7" not in (response.reason or "")
    assert "public address" in (response.reason or "")


async def test_redirect_to_a_private_address_is_rejected(
    client: httpx.AsyncClient, worker: Worker, web: FakeWeb, post: Post
) -> None:
    """Every redirect hop is checked too."""
    web.add(SOURCE, status=302, headers={"Location": "http://private.example/reply"})
    response = await received(client, worker, SOURCE, permalink(post))
    assert InteractionState.REJECTED == response.state


async def test_source_too_large_is_rejected(
    client: httpx.AsyncClient, worker: Worker, web: FakeWeb, post: Post
) -> None:
    """§4.2 byte limit: a declared length over 1 MB is refused before reading."""
    body = reply_page(permalink(post)) + " " * verify.SOURCE_MAX_BYTES
    response = await verified(client, worker, web, body, post)
    assert InteractionState.REJECTED == response.state
    assert "larger than" in (response.reason or "")


async def test_streamed_source_over_the_byte_limit_is_rejected(
    client: httpx.AsyncClient, worker: Worker, web: FakeWeb, post: Post
) -> None:
    """A body without Content-Length is cut off once it passes the limit."""

    async def endless() -> AsyncIterator[bytes]:
        yield reply_page(permalink(post)).encode()
        while True:
            yield b" " * 65536

    response = await verified(client, worker, web, endless(), post)
    assert InteractionState.REJECTED == response.state
    assert "larger than" in (response.reason or "")


async def test_slow_source_times_out_and_is_retried(
    client: httpx.AsyncClient,
    worker: Worker,
    web: FakeWeb,
    post: Post,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """§4.2 time limit: a source slower than the total timeout is cut off; the job retries."""
    monkeypatch.setattr(verify, "SOURCE_TIMEOUT", 0.2)
    started = asyncio.get_running_loop().time()
    response = await verified(client, worker, web, reply_page(permalink(post)), post, delay=5)
    assert asyncio.get_running_loop().time() - started < 3
    assert InteractionState.PENDING == response.state
    assert "will try again: the source took too long to answer" == response.reason
    (job,) = await Job.filter(kind=verify.KIND)
    assert JobState.QUEUED == job.state
    assert "took longer than 0.2 seconds" in (job.last_error or "")  # the detail: admin only


async def test_slow_source_is_rejected_after_the_last_attempt(
    client: httpx.AsyncClient,
    worker: Worker,
    web: FakeWeb,
    post: Post,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Retries are bounded: the last timed-out attempt rejects, and the job is done."""
    monkeypatch.setattr(verify, "SOURCE_TIMEOUT", 0.05)
    web.add(SOURCE, reply_page(permalink(post)), delay=1)
    await deliver(client, SOURCE, permalink(post))
    for _ in range(verify.MAX_ATTEMPTS):
        await run_jobs(worker)
        await make_retries_due()
    response = await Interaction.get(source=SOURCE)
    assert InteractionState.REJECTED == response.state
    assert [JobState.DONE] == [job.state for job in await Job.filter(kind=verify.KIND)]


async def test_server_error_is_retried_then_accepted(
    client: httpx.AsyncClient, worker: Worker, web: FakeWeb, post: Post
) -> None:
    """5xx is the source's passing trouble: try again, and accept once it answers."""
    response = await verified(client, worker, web, "down", post, status=503)
    assert InteractionState.PENDING == response.state
    web.add(SOURCE, reply_page(permalink(post)))
    await make_retries_due()
    await run_jobs(worker)
    assert InteractionState.ACCEPTED == (await Interaction.get(id=response.id)).state


async def test_retry_after_is_honoured(
    client: httpx.AsyncClient, worker: Worker, web: FakeWeb, post: Post
) -> None:
    """429 with Retry-After: the next attempt waits that long."""
    await verified(
        client, worker, web, "slow down", post, status=429, headers={"Retry-After": "600"}
    )
    (job,) = await Job.filter(kind=verify.KIND)
    wait = (job.run_at - datetime.now(UTC)).total_seconds()
    assert (JobState.QUEUED, True) == (job.state, 590 < wait <= 600)


async def test_network_error_is_retried(
    client: httpx.AsyncClient, worker: Worker, web: FakeWeb, post: Post
) -> None:
    """A connection failure leaves the row pending with a retry queued."""

    def refuse(request: httpx.Request) -> object:
        raise httpx.ConnectError("connection refused", request=request)

    web.pages[SOURCE] = refuse  # type: ignore[assignment]
    response = await received(client, worker, SOURCE, permalink(post))
    assert InteractionState.PENDING == response.state
    assert "will try again: the source could not be reached" == response.reason
    (job,) = await Job.filter(kind=verify.KIND)
    assert "connection refused" in (job.last_error or "")  # the detail: admin only


async def test_gone_source_deletes_an_accepted_response(
    client: httpx.AsyncClient, worker: Worker, web: FakeWeb, post: Post
) -> None:
    """§3.2.4: a re-sent webmention whose source is 410 Gone is deleted."""
    await verified(client, worker, web, reply_page(permalink(post)), post)
    web.add(SOURCE, "gone", status=410)
    response = await received(client, worker, SOURCE, permalink(post))
    assert (InteractionState.DELETED, None) == (response.state, response.content_html)


async def test_removed_link_deletes_an_accepted_response(
    client: httpx.AsyncClient, worker: Worker, web: FakeWeb, post: Post
) -> None:
    """§3.2.4: a source that answers 200 without the link any more is deleted."""
    await verified(client, worker, web, reply_page(permalink(post)), post)
    web.add(SOURCE, html_page("<p>I took it back.</p>"))
    response = await received(client, worker, SOURCE, permalink(post))
    assert InteractionState.DELETED == response.state


async def test_not_found_is_retried_before_deleting(
    client: httpx.AsyncClient, worker: Worker, web: FakeWeb, post: Post
) -> None:
    """A 404 may be a passing mistake: retried (the reply stays shown meanwhile), and only
    the last attempt deletes."""
    await verified(client, worker, web, reply_page(permalink(post)), post)
    del web.pages[SOURCE]
    await deliver(client, SOURCE, permalink(post))
    await run_jobs(worker)
    retrying = await Interaction.get(source=SOURCE)
    assert InteractionState.ACCEPTED == retrying.state
    assert retrying.reason is not None and retrying.reason.startswith("will try again")
    for _ in range(verify.MAX_ATTEMPTS - 1):
        await make_retries_due()
        await run_jobs(worker)
    response = await Interaction.get(source=SOURCE)
    assert (InteractionState.DELETED, "the source was not found (HTTP 404)") == (
        response.state,
        response.reason,
    )


async def test_other_client_error_is_rejected_at_once(
    client: httpx.AsyncClient, worker: Worker, web: FakeWeb, post: Post
) -> None:
    """A 403 will not change by waiting: rejected with the status as the reason."""
    response = await verified(client, worker, web, "no", post, status=403)
    assert ("the source answered HTTP 403", InteractionState.REJECTED) == (
        response.reason,
        response.state,
    )


async def test_update_changes_the_row_without_duplicating(
    client: httpx.AsyncClient, worker: Worker, web: FakeWeb, post: Post
) -> None:
    """§3.2.4: a re-sent webmention updates the stored response in place."""
    await verified(client, worker, web, reply_page(permalink(post), "First words"), post)
    web.add(SOURCE, reply_page(permalink(post), "Second thoughts"))
    await received(client, worker, SOURCE, permalink(post))
    (response,) = await Interaction.all()
    assert (InteractionState.ACCEPTED, "Second thoughts") == (response.state, response.content_text)


async def test_mf2_json_source_is_accepted(
    client: httpx.AsyncClient, worker: Worker, web: FakeWeb, post: Post
) -> None:
    """application/mf2+json: a property whose value is the target is the link."""
    doc = {
        "items": [
            {
                "type": ["h-entry"],
                "properties": {"like-of": [permalink(post)], "author": ["https://alice.example/"]},
            }
        ]
    }
    body = json.dumps(doc)
    response = await verified(client, worker, web, body, post, content_type="application/mf2+json")
    assert (InteractionState.ACCEPTED, "like") == (response.state, response.kind)


async def test_json_without_mf2_shape_is_rejected(
    client: httpx.AsyncClient, worker: Worker, web: FakeWeb, post: Post
) -> None:
    """Plain application/json that is not mf2 cannot be read."""
    body = json.dumps({"link": permalink(post)})
    response = await verified(client, worker, web, body, post, content_type="application/json")
    assert InteractionState.REJECTED == response.state


async def test_plain_text_source_with_the_url_is_a_mention(
    client: httpx.AsyncClient, worker: Worker, web: FakeWeb, post: Post
) -> None:
    """text/plain: the spec's substring rule; it can only be a mention."""
    body = f"See {permalink(post)} for more."
    response = await verified(client, worker, web, body, post, content_type="text/plain")
    assert (InteractionState.ACCEPTED, "mention") == (response.state, response.kind)


async def test_plain_text_with_a_longer_url_is_not_a_mention(
    client: httpx.AsyncClient, worker: Worker, web: FakeWeb, post: Post
) -> None:
    """In text, the target must stand alone: …/hello-world does not mention …/hello."""
    body = f"See {permalink(post)}-world and {permalink(post)}/more"
    response = await verified(client, worker, web, body, post, content_type="text/plain")
    assert InteractionState.REJECTED == response.state


async def test_unreadable_content_type_is_rejected(
    client: httpx.AsyncClient, worker: Worker, web: FakeWeb, post: Post
) -> None:
    """An image (or any type other than HTML, mf2 JSON and text) is rejected, with why."""
    response = await verified(client, worker, web, b"\x89PNG", post, content_type="image/png")
    assert InteractionState.REJECTED == response.state
    assert "image/png" in (response.reason or "")


async def test_accept_header_asks_for_html_and_mf2(
    client: httpx.AsyncClient, worker: Worker, web: FakeWeb, post: Post
) -> None:
    """§3.2.2 SHOULD send an Accept header."""
    await verified(client, worker, web, reply_page(permalink(post)), post)
    accept = web.requests[0].headers["accept"]
    assert "text/html" in accept and "application/mf2+json" in accept


async def test_deleted_row_makes_the_job_a_no_op(
    client: httpx.AsyncClient, worker: Worker, web: FakeWeb, post: Post
) -> None:
    """A job for a row removed since (e.g. its post was deleted for good) just ends."""
    await deliver(client, SOURCE, permalink(post))
    await Interaction.all().delete()
    await run_jobs(worker)
    assert [] == web.requests
    assert [JobState.DONE] == [job.state for job in await Job.all()]
