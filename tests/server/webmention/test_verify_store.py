"""What verification stores (hearth.server.webmention.verify): cached author photos, duplicates
relayed by bridges, threads of replies.

Photos: pages never hotlink a stranger's image (issue 4, "Author photos are cached
locally (size- and type-checked)"). Duplicates: the same response arriving from the
author's site and from a bridge such as Bridgy, matched by u-url/u-syndication/uid.
"""

from __future__ import annotations

import httpx
import pytest

from hearth.server.core.job_worker import Worker
from hearth.server.core.models import Interaction, InteractionState, Media, Post
from hearth.server.core.settings import Settings
from hearth.server.webmention import photos
from tests.server.webmention.receive_support import (
    SITE,
    FakeWeb,
    html_page,
    image_bytes,
    permalink,
    received,
    reply_page,
)

SOURCE = "https://alice.example/replies/1"
PHOTO = "https://alice.example/me.png"
AUTHOR = (
    f'<div class="p-author h-card"><a class="p-name u-url" href="https://alice.example/">'
    f'Alice</a><img class="u-photo" src="{PHOTO}" alt=""></div>'
)


async def with_photo(
    client: httpx.AsyncClient, worker: Worker, web: FakeWeb, post: Post, source: str = SOURCE
) -> Interaction:
    web.add(source, reply_page(permalink(post), author=AUTHOR))
    return await received(client, worker, source, permalink(post))


async def test_author_photo_is_cached_locally(
    client: httpx.AsyncClient, worker: Worker, web: FakeWeb, post: Post, settings: Settings
) -> None:
    """The photo is stored as media and the response points at this site's copy."""
    web.add(PHOTO, image_bytes("PNG"), content_type="image/png")
    response = await with_photo(client, worker, web, post)
    (media,) = await Media.all()
    assert f"{SITE}media/{media.name}" == response.author_photo
    assert ("image/png", image_bytes("PNG")) == (
        media.content_type,
        (settings.media_dir / media.name).read_bytes(),
    )


async def test_cached_photo_is_served_with_its_type(
    client: httpx.AsyncClient, worker: Worker, web: FakeWeb, post: Post
) -> None:
    """The local copy is fetchable from this site."""
    web.add(PHOTO, image_bytes("JPEG"), content_type="image/jpeg")
    response = await with_photo(client, worker, web, post)
    served = await client.get(response.author_photo or "")
    assert (200, "image/jpeg") == (served.status_code, served.headers["content-type"])


async def test_photo_is_fetched_once_for_many_responses(
    client: httpx.AsyncClient, worker: Worker, web: FakeWeb, post: Post
) -> None:
    """The same photo URL is reused, not downloaded per response."""
    web.add(PHOTO, image_bytes("GIF"), content_type="image/gif")
    first = await with_photo(client, worker, web, post)
    second = await with_photo(client, worker, web, post, "https://alice.example/replies/2")
    assert (1, first.author_photo) == (web.fetched(PHOTO), second.author_photo)


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', "image/svg+xml"),
        (b"GIF89a but not really", "image/gif"),
        (image_bytes("BMP"), "image/bmp"),
        (image_bytes("PNG", (3000, 10)), "image/png"),
    ],
    ids=["svg", "broken", "bmp", "huge-dimensions"],
)
async def test_unacceptable_photo_is_dropped_not_hotlinked(
    client: httpx.AsyncClient,
    worker: Worker,
    web: FakeWeb,
    post: Post,
    body: bytes,
    content_type: str,
) -> None:
    """SVG, broken, other formats and huge images are not stored; no photo is shown."""
    web.add(PHOTO, body, content_type=content_type)
    response = await with_photo(client, worker, web, post)
    assert (InteractionState.ACCEPTED, None, 0) == (
        response.state,
        response.author_photo,
        await Media.all().count(),
    )


async def test_photo_over_the_byte_limit_is_dropped(
    client: httpx.AsyncClient,
    worker: Worker,
    web: FakeWeb,
    post: Post,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Photos larger than the limit are not downloaded whole."""
    monkeypatch.setattr(photos, "PHOTO_MAX_BYTES", 50)
    web.add(PHOTO, image_bytes("PNG", (64, 64)), content_type="image/png")
    assert (await with_photo(client, worker, web, post)).author_photo is None


async def test_photo_that_fails_to_load_is_not_fatal(
    client: httpx.AsyncClient, worker: Worker, web: FakeWeb, post: Post
) -> None:
    """A 404 photo only means no photo: the response is accepted."""
    response = await with_photo(client, worker, web, post)
    assert (InteractionState.ACCEPTED, None, "Alice") == (
        response.state,
        response.author_photo,
        response.author_name,
    )


BRIDGED = "https://brid.gy/comment/mastodon/alice/42/99"
SILO = "https://social.example/@alice/99"


def original_reply(target: str) -> str:
    """Alice's reply on her site, syndicated to a silo."""
    return html_page(
        f'<div class="h-entry"><a class="u-url" href="{SOURCE}">#</a>'
        f'<a class="u-in-reply-to" href="{target}">re</a><p class="e-content">Nice!</p>'
        f'<a class="u-syndication" href="{SILO}">also on social</a></div>'
    )


def bridged_reply(target: str) -> str:
    """The same reply relayed by a bridge: its u-url is the silo copy."""
    return html_page(
        f'<div class="h-entry"><a class="u-url" href="{SILO}">#</a>'
        f'<a class="u-in-reply-to" href="{target}">re</a><p class="e-content">Nice!</p></div>'
    )


async def test_bridged_copy_after_the_original_is_a_duplicate(
    client: httpx.AsyncClient, worker: Worker, web: FakeWeb, post: Post
) -> None:
    """The original arrives first; the bridge copy points at it."""
    web.add(SOURCE, original_reply(permalink(post)))
    web.add(BRIDGED, bridged_reply(permalink(post)))
    original = await received(client, worker, SOURCE, permalink(post))
    bridged = await received(client, worker, BRIDGED, permalink(post))
    assert (None, original.id) == (original.duplicate_of_id, bridged.duplicate_of_id)  # type: ignore[attr-defined]


async def test_original_after_the_bridged_copy_takes_over(
    client: httpx.AsyncClient, worker: Worker, web: FakeWeb, post: Post
) -> None:
    """The bridge copy arrives first; once the original comes, the original is shown."""
    web.add(SOURCE, original_reply(permalink(post)))
    web.add(BRIDGED, bridged_reply(permalink(post)))
    await received(client, worker, BRIDGED, permalink(post))
    original = await received(client, worker, SOURCE, permalink(post))
    bridged = await Interaction.get(source=BRIDGED)
    assert (None, original.id) == (original.duplicate_of_id, bridged.duplicate_of_id)  # type: ignore[attr-defined]


async def test_copy_is_shown_again_when_the_original_is_deleted(
    client: httpx.AsyncClient, worker: Worker, web: FakeWeb, post: Post
) -> None:
    """Duplicates follow the shown copy: deleting the original promotes the bridge copy."""
    web.add(SOURCE, original_reply(permalink(post)))
    web.add(BRIDGED, bridged_reply(permalink(post)))
    await received(client, worker, SOURCE, permalink(post))
    await received(client, worker, BRIDGED, permalink(post))
    web.add(SOURCE, "gone", status=410)
    await received(client, worker, SOURCE, permalink(post))
    assert (await Interaction.get(source=BRIDGED)).duplicate_of_id is None  # type: ignore[attr-defined]


async def test_different_responses_from_one_author_are_not_duplicates(
    client: httpx.AsyncClient, worker: Worker, web: FakeWeb, post: Post
) -> None:
    """Two replies by the same person with their own URLs are both shown."""
    second = "https://alice.example/replies/2"
    web.add(SOURCE, reply_page(permalink(post), author=AUTHOR))
    web.add(second, reply_page(permalink(post), author=AUTHOR))
    await received(client, worker, SOURCE, permalink(post))
    await received(client, worker, second, permalink(post))
    assert [None, None] == [r.duplicate_of_id for r in await Interaction.all()]  # type: ignore[attr-defined]


async def test_reply_to_a_reply_is_threaded_under_it(
    client: httpx.AsyncClient, worker: Worker, web: FakeWeb, post: Post
) -> None:
    """A reply whose in-reply-to also names an earlier reply's URL gets it as parent."""
    web.add(SOURCE, original_reply(permalink(post)))
    bob = "https://bob.example/r/7"
    web.add(
        bob,
        html_page(
            f'<div class="h-entry"><a class="u-in-reply-to" href="{permalink(post)}">post</a>'
            f'<a class="u-in-reply-to" href="{SOURCE}">Alice</a>'
            '<p class="e-content">Agreed</p></div>'
        ),
    )
    parent = await received(client, worker, SOURCE, permalink(post))
    child = await received(client, worker, bob, permalink(post))
    assert parent.id == child.parent_id  # type: ignore[attr-defined]
