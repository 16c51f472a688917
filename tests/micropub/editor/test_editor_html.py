"""The editor's pages in their states are valid HTML (vnu), with one label per field."""

from __future__ import annotations

import re

import httpx

from tests.micropub.editor.conftest import NEW, Web, edit_path, only_post, png, submit
from tests.micropub.editor.test_times_and_contexts import TARGET, TARGET_PAGE
from tests.nodetools import require_vnu, vnu_errors


async def test_editor_pages_are_valid_html(
    client: httpx.AsyncClient, signed_in: str, web: Web
) -> None:
    require_vnu()
    web.pages[TARGET] = TARGET_PAGE
    pages = {"new": (await client.get(NEW)).text}
    files = [
        ("photos", ("a.png", png("red"), "image/png")),
        ("photos", ("b.png", png("blue"), "image/png")),
    ]
    fields = {"name": "T", "content": "**x**", "in-reply-to": TARGET, "action": "preview"}
    pages["preview with photos"] = (await submit(client, NEW, signed_in, fields, files)).text
    refused = {"like-of": "nope", "action": "publish"}
    pages["refused"] = (await submit(client, NEW, signed_in, refused)).text
    await submit(client, NEW, signed_in, {"content": "Hi", "category": "a", "action": "publish"})
    post = await only_post()
    pages["edit"] = (await client.get(edit_path(post))).text
    await client.post(f"/admin/posts/{post.id}/delete", data={"csrf_token": signed_in})
    pages["deleted"] = (await client.get(edit_path(post))).text
    errors = vnu_errors(pages)
    assert all(not found for found in errors.values()), errors
    for html in pages.values():
        # Every label points at one control, and no two controls share an id.
        ids = re.findall(r' id="([^"]+)"', html)
        assert len(ids) == len(set(ids))
        for target in re.findall(r'<label for="([^"]+)"', html):
            assert f'id="{target}"' in html
