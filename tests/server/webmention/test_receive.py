"""The Webmention endpoint's synchronous checks and answers (hearth.server.webmention.receive).

Spec: https://www.w3.org/TR/webmention/#receiving-webmentions, §3.2.1 request
verification and §3.2.3 error responses; the W3C receiver checklist
(https://github.com/w3c/webmention/blob/main/implementation-reports/TEMPLATE.md).
"""

from __future__ import annotations

import httpx
import pytest

from hearth.server.core.models import Interaction, InteractionState, Job, PathRedirect, Post
from hearth.server.core.posts import create_post
from hearth.server.core.publication import Status, Visibility
from hearth.server.webmention import receive, verify
from tests.server.webmention.receive_support import (
    SITE,
    deliver,
    permalink,
)

SOURCE = "https://alice.example/replies/1"


async def test_valid_request_gets_201_with_absolute_status_location(
    client: httpx.AsyncClient, post: Post
) -> None:
    """A valid webmention is 201 Created with the status page's absolute URL in Location."""
    answer = await deliver(client, SOURCE, permalink(post))
    assert 201 == answer.status_code
    response = await Interaction.get(source=SOURCE)
    assert f"{SITE}webmention/status/{response.status_token}" == answer.headers["location"]
    assert answer.headers["content-type"].startswith("text/plain")


async def test_valid_request_is_stored_pending_for_its_post(
    client: httpx.AsyncClient, post: Post
) -> None:
    """The row names the post, the source's domain and starts pending."""
    await deliver(client, SOURCE, permalink(post))
    response = await Interaction.get(source=SOURCE)
    assert (permalink(post), post.id, "alice.example", InteractionState.PENDING) == (
        response.target,
        response.post_id,  # type: ignore[attr-defined]
        response.domain,
        response.state,
    )


async def test_valid_request_queues_one_verification_job(
    client: httpx.AsyncClient, post: Post
) -> None:
    """Verification is asynchronous: one queued `webmention.verify` job per request."""
    await deliver(client, SOURCE, permalink(post))
    response = await Interaction.get(source=SOURCE)
    (job,) = await Job.filter(kind=verify.KIND)
    assert {"response_id": response.id} == job.payload


@pytest.mark.parametrize(
    ("source", "target"),
    [
        ("jwoijgoisdjlskjegisvjowuehjtkx", "{target}"),
        ("https://webmention.rocks/receive/2/abc", "owiejduvyeiwljjjcjmvbpsouehgd"),
        ("sjuhvhwieuhtiwudcjvhuh", "owiejduvyeiwljjjcjmvbpsouehgd"),
    ],
    ids=["bad-source", "bad-target", "both-bad"],
)
async def test_webmention_rocks_receiver_test_2_invalid_urls_are_400(
    client: httpx.AsyncClient, post: Post, source: str, target: str
) -> None:
    """webmention.rocks receiver test 2: each invalid source or target is exactly 400."""
    answer = await deliver(client, source, target.format(target=permalink(post)))
    assert 400 == answer.status_code
    assert 0 == await Interaction.all().count()


@pytest.mark.parametrize(
    "source",
    [
        "ftp://alice.example/file",
        "javascript:alert(1)",
        "mailto:alice@alice.example",
        "/relative/path",
        "https://",
        "https://alice.example:99999/",
        "https://alice.example/with space",
        "",
    ],
)
async def test_source_must_be_an_absolute_http_url(
    client: httpx.AsyncClient, post: Post, source: str
) -> None:
    """Unsupported schemes, relative, hostless or malformed sources are 400 (§3.2.1 MUST)."""
    answer = await deliver(client, source, permalink(post))
    assert 400 == answer.status_code
    assert "source" in answer.text


async def test_missing_target_is_400_with_a_plain_reason(client: httpx.AsyncClient) -> None:
    """A missing field is named in a text/plain body."""
    answer = await client.post("/webmention", data={"source": SOURCE})
    assert (400, "target is missing\n") == (answer.status_code, answer.text)
    assert answer.headers["content-type"].startswith("text/plain")


async def test_source_equal_to_target_is_400(client: httpx.AsyncClient, post: Post) -> None:
    """§3.2.1: the receiver MUST reject the request if source and target are the same."""
    answer = await deliver(client, permalink(post), permalink(post))
    assert 400 == answer.status_code
    assert "different" in answer.text


async def test_source_equal_to_target_but_for_the_fragment_is_400(
    client: httpx.AsyncClient, post: Post
) -> None:
    """Fragments do not make two URLs different pages."""
    answer = await deliver(client, permalink(post) + "#a", permalink(post) + "#b")
    assert 400 == answer.status_code


@pytest.mark.parametrize(
    "target",
    [
        "https://elsewhere.example/2026/05/hello",
        "https://example.test/2026/05/no-such-post",
        "https://example.test/tag/hello",
        "https://example.test/s/t000",
        "https://example.test/2026/05/hello/extra",
        "https://example.test:8443/2026/05/hello",
    ],
)
async def test_target_that_is_not_a_post_here_is_400(
    client: httpx.AsyncClient, post: Post, target: str
) -> None:
    """Other sites, unknown paths, other pages and other ports are not valid targets."""
    answer = await deliver(client, SOURCE, target)
    assert 400 == answer.status_code
    assert "target" in answer.text


async def test_home_page_target_is_400(client: httpx.AsyncClient, post: Post) -> None:
    """The home page takes no webmentions: there is nowhere to show them."""
    answer = await deliver(client, SOURCE, SITE)
    assert 400 == answer.status_code
    assert "home page" in answer.text


@pytest.mark.parametrize(
    ("status", "visibility"),
    [(Status.DRAFT, Visibility.PUBLIC), (Status.PUBLISHED, Visibility.PRIVATE)],
)
async def test_draft_or_private_post_target_is_400(
    client: httpx.AsyncClient, app: object, status: Status, visibility: Visibility
) -> None:
    """Posts without a public page do not exist as far as senders can tell."""
    hidden = await create_post(
        {"content": ["Secret"]}, slug="secret", status=status, visibility=visibility
    )
    answer = await deliver(client, SOURCE, permalink(hidden))
    assert (400, "target is not a post of this site\n") == (answer.status_code, answer.text)


async def test_deleted_post_target_is_400(client: httpx.AsyncClient, post: Post) -> None:
    """A deleted post (410 on its page) takes no new webmentions."""
    await Post.filter(id=post.id).update(deleted_at=post.published)
    answer = await deliver(client, SOURCE, permalink(post))
    assert (400, "target is a deleted post\n") == (answer.status_code, answer.text)


async def test_unlisted_post_target_is_accepted(client: httpx.AsyncClient, app: object) -> None:
    """Unlisted posts have a page, so they take webmentions."""
    unlisted = await create_post({"content": ["Psst"]}, visibility=Visibility.UNLISTED)
    assert 201 == (await deliver(client, SOURCE, permalink(unlisted))).status_code


async def test_target_fragment_is_ignored(client: httpx.AsyncClient, post: Post) -> None:
    """§3.2.1 SHOULD: the fragment is ignored when checking the target (and stored without)."""
    answer = await deliver(client, SOURCE, permalink(post) + "#comments")
    assert 201 == answer.status_code
    assert permalink(post) == (await Interaction.get(source=SOURCE)).target


async def test_short_link_target_is_accepted(client: httpx.AsyncClient, post: Post) -> None:
    """The post's permashortlink /s/CODE is the same post."""
    answer = await deliver(client, SOURCE, f"{SITE}s/{post.short_code}")
    assert 201 == answer.status_code
    assert post.id == (await Interaction.get(source=SOURCE)).post_id  # type: ignore[attr-defined]


async def test_former_permalink_target_is_accepted(client: httpx.AsyncClient, post: Post) -> None:
    """A path the post had before its slug changed still names it."""
    await PathRedirect.create(path="2026/05/old-name", post=post)
    answer = await deliver(client, SOURCE, f"{SITE}2026/05/old-name")
    assert 201 == answer.status_code
    assert post.id == (await Interaction.get(source=SOURCE)).post_id  # type: ignore[attr-defined]


async def test_http_spelling_of_the_site_is_accepted(client: httpx.AsyncClient, post: Post) -> None:
    """http:// and https:// links to this site name the same post."""
    answer = await deliver(client, SOURCE, "http://EXAMPLE.test/" + post.path)
    assert 201 == answer.status_code


async def test_wrong_content_type_is_400(client: httpx.AsyncClient, post: Post) -> None:
    """Only form-encoded requests are webmentions (§3.1.3)."""
    body = {"source": SOURCE, "target": permalink(post)}
    answer = await client.post("/webmention", json=body)
    assert 400 == answer.status_code
    assert "Content-Type" in answer.text


async def test_form_content_type_with_charset_is_accepted(
    client: httpx.AsyncClient, post: Post
) -> None:
    """Parameters after the media type do not matter."""
    content = httpx.QueryParams({"source": SOURCE, "target": permalink(post)})
    headers = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
    answer = await client.post("/webmention", content=str(content), headers=headers)
    assert 201 == answer.status_code


async def test_oversized_body_is_400(client: httpx.AsyncClient, post: Post) -> None:
    """Bodies beyond two long URLs are refused without being parsed."""
    answer = await deliver(client, SOURCE + "?" + "x" * 20_000, permalink(post))
    assert 400 == answer.status_code
    assert 0 == await Interaction.all().count()


async def test_too_long_url_is_400(client: httpx.AsyncClient, post: Post) -> None:
    """URLs longer than the stored column are refused."""
    answer = await deliver(client, SOURCE + "?" + "x" * 2100, permalink(post))
    assert (400, "source is longer than 2048 characters\n") == (answer.status_code, answer.text)


async def test_resend_updates_the_same_row(client: httpx.AsyncClient, post: Post) -> None:
    """§3.2.4: the same source and target again is an update, never a second row."""
    first = await deliver(client, SOURCE, permalink(post))
    await Interaction.filter(source=SOURCE).update(state=InteractionState.ACCEPTED)
    second = await deliver(client, SOURCE, permalink(post) + "#again")
    assert first.headers["location"] == second.headers["location"]
    assert 1 == await Interaction.all().count()


async def test_resend_keeps_an_accepted_response_shown(
    client: httpx.AsyncClient, post: Post
) -> None:
    """An edited reply sent again stays on the page while its new version is verified."""
    await deliver(client, SOURCE, permalink(post))
    await Interaction.filter(source=SOURCE).update(state=InteractionState.ACCEPTED)
    await deliver(client, SOURCE, permalink(post))
    response = await Interaction.get(source=SOURCE)
    assert (InteractionState.ACCEPTED, receive.RESENT_REASON) == (response.state, response.reason)


async def test_status_page_says_pending_while_a_resend_is_verified(
    client: httpx.AsyncClient, post: Post
) -> None:
    """The sender sees its re-send pending, while the earlier version is still shown."""
    await deliver(client, SOURCE, permalink(post))
    await Interaction.filter(source=SOURCE).update(
        state=InteractionState.ACCEPTED, approval="approved"
    )
    await Job.all().update(state="done")
    answer = await deliver(client, SOURCE, permalink(post))
    status = await client.get(answer.headers["location"], headers={"Accept": "application/json"})
    assert ("pending", True) == (status.json()["status"], status.json()["shown"])


async def test_resend_of_a_rejected_response_starts_pending(
    client: httpx.AsyncClient, post: Post
) -> None:
    """A source that failed verification and is sent again waits for the new verification."""
    await deliver(client, SOURCE, permalink(post))
    await Interaction.filter(source=SOURCE).update(
        state=InteractionState.REJECTED, reason="no link"
    )
    await deliver(client, SOURCE, permalink(post))
    response = await Interaction.get(source=SOURCE)
    assert (InteractionState.PENDING, None) == (response.state, response.reason)


async def test_resend_queues_a_new_verification(client: httpx.AsyncClient, post: Post) -> None:
    """Each send queues its own job, so a re-send re-verifies even after a finished job."""
    await deliver(client, SOURCE, permalink(post))
    await deliver(client, SOURCE, permalink(post))
    assert 2 == await Job.filter(kind=verify.KIND).count()


async def test_get_on_endpoint_is_405(client: httpx.AsyncClient) -> None:
    """The endpoint answers POST only, at its exact path (no redirects)."""
    assert 405 == (await client.get("/webmention")).status_code


@pytest.mark.parametrize("method", ["GET", "HEAD"])
async def test_pages_advertise_the_endpoint_in_link_header(
    client: httpx.AsyncClient, post: Post, method: str
) -> None:
    """Every page names the endpoint in a Link header, on GET and HEAD, in the form
    mention-client (the webmention.rocks receiver tester) matches: `<url>; rel="webmention"`."""
    for path in ("/", "/" + post.path):
        answer = await client.request(method, path)
        assert f'<{SITE}webmention>; rel="webmention"' in answer.headers["link"]


async def test_pages_advertise_the_endpoint_in_a_link_tag(
    client: httpx.AsyncClient, post: Post
) -> None:
    """…and in a `<link rel="webmention">` tag."""
    html = (await client.get("/" + post.path)).text
    assert f'<link rel="webmention" href="{SITE}webmention">' in html
