"""Photos: uploaded through the media code path, described one by one, ordered, published."""

from __future__ import annotations

import re

import httpx

from hearth.server.core.models import Media, Post
from tests.micropub.editor.conftest import NEW, edit_path, editor_values, only_post, png, submit

# The start of an MP4 file (an ftyp box), as the media endpoint's own tests make one.
_FTYP = b"isom\0\0\0\0isomavc1"
MP4 = (8 + len(_FTYP)).to_bytes(4, "big") + b"ftyp" + _FTYP + bytes(range(256)) * 4


def photo_urls(html: str) -> list[str]:
    return re.findall(r'name="photo-\d+-url" value="([^"]+)"', html)


async def upload_two(client: httpx.AsyncClient, csrf: str) -> tuple[httpx.Response, list[str]]:
    files = [
        ("photos", ("red.png", png("red"), "image/png")),
        ("photos", ("blue.png", png("blue"), "image/png")),
    ]
    fields = {"content": "Two colours", "action": "upload"}
    page = await submit(client, NEW, csrf, fields, files)
    return page, photo_urls(page.text)


async def test_uploaded_photos_each_get_an_alt_field(
    client: httpx.AsyncClient, signed_in: str
) -> None:
    page, urls = await upload_two(client, signed_in)
    assert page.status_code == 200
    assert len(urls) == 2 and all(u.startswith("https://example.test/media/") for u in urls)
    assert await Media.all().count() == 2  # stored by the media service
    assert await Post.all().count() == 0  # nothing posted yet
    for n in (1, 2):
        assert f'<label for="f-photo-{n}-alt">Alt text for photo {n}</label>' in page.text
    assert ">Move photo 2 up</button>" in page.text and ">Move photo 1 down</button>" in page.text
    assert editor_values(page.text)["content"] == "Two colours"  # values kept


async def test_two_photos_with_alt_text_in_the_chosen_order(
    client: httpx.AsyncClient, signed_in: str
) -> None:
    _, (red, blue) = await upload_two(client, signed_in)
    # Move photo 2 (blue) up: the form comes back with blue first, alt texts kept.
    fields = {
        "content": "Two colours",
        "photo-1-url": red, "photo-1-alt": "A red square",
        "photo-2-url": blue, "photo-2-alt": "A blue square",
        "action": "up:2",
    }  # fmt: skip
    moved = await submit(client, NEW, signed_in, fields)
    assert photo_urls(moved.text) == [blue, red]
    values = editor_values(moved.text)
    assert values["photo-1-alt"] == "A blue square" and values["photo-2-alt"] == "A red square"

    publish = {**values, "action": "publish"}
    publish.pop("csrf_token")
    response = await submit(client, NEW, signed_in, publish)
    assert response.status_code == 303, response.text
    post = await only_post()
    assert post.post_type == "photo"
    assert post.properties["photo"] == [
        {"value": blue, "alt": "A blue square"},
        {"value": red, "alt": "A red square"},
    ]
    page = (await client.get("/" + post.path)).text
    first = page.index(f'src="{blue}" alt="A blue square"')
    assert first < page.index(f'src="{red}" alt="A red square"')


async def test_publishing_with_chosen_photos_asks_for_alt_text_first(
    client: httpx.AsyncClient, signed_in: str
) -> None:
    files = [("photos", ("red.png", png("red"), "image/png"))]
    page = await submit(client, NEW, signed_in, {"action": "publish"}, files)
    assert page.status_code == 200
    assert "Add alt text to each photo, then publish." in page.text
    assert "Alt text for photo 1" in page.text
    assert await Post.all().count() == 0


async def test_remove_a_photo(client: httpx.AsyncClient, signed_in: str) -> None:
    _, (red, blue) = await upload_two(client, signed_in)
    fields = {"photo-1-url": red, "photo-2-url": blue, "action": "remove:1"}
    page = await submit(client, NEW, signed_in, fields)
    assert photo_urls(page.text) == [blue]


async def test_a_file_that_is_not_an_image_is_refused_as_micropub_refuses_it(
    client: httpx.AsyncClient, signed_in: str
) -> None:
    files = [("photos", ("notes.txt", b"just some text, not a picture", "image/png"))]
    page = await submit(client, NEW, signed_in, {"content": "Kept", "action": "upload"}, files)
    assert page.status_code == 400
    assert 'role="alert"' in page.text
    assert editor_values(page.text)["content"] == "Kept"
    assert await Media.all().count() == 0


async def test_editing_keeps_photos_and_changes_an_alt_text(
    client: httpx.AsyncClient, signed_in: str
) -> None:
    _, (red, blue) = await upload_two(client, signed_in)
    fields = {"photo-1-url": red, "photo-1-alt": "Red", "photo-2-url": blue, "action": "publish"}
    await submit(client, NEW, signed_in, fields)
    post = await only_post()
    assert post.properties["photo"] == [{"value": red, "alt": "Red"}, blue]
    values = editor_values((await client.get(edit_path(post))).text)
    values.pop("csrf_token")
    await submit(
        client, edit_path(post), signed_in, {**values, "photo-2-alt": "Blue", "action": "publish"}
    )
    await post.refresh_from_db()
    assert post.properties["photo"] == [
        {"value": red, "alt": "Red"},
        {"value": blue, "alt": "Blue"},
    ]


async def test_a_video_is_uploaded_and_published(client: httpx.AsyncClient, signed_in: str) -> None:
    files = [("video-file", ("clip.mp4", MP4, "video/mp4"))]
    page = await submit(client, NEW, signed_in, {"action": "upload"}, files)
    assert page.status_code == 200, page.text
    video = editor_values(page.text)["video"]
    assert video.startswith("https://example.test/media/")
    await submit(client, NEW, signed_in, {"video": video, "content": "Watch", "action": "publish"})
    post = await only_post()
    assert post.post_type == "video"
    assert post.properties["video"] == [video]
