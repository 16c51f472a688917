"""Helpers for driving a real `hearth serve` against the fake Instagram, from the outside.

Everything here reads what a user (or Instagram) could see: the served pages parsed with
mf2py, the media files they link, and the fake's state (the owner's comments, its request log).
Outcomes are waited for with a deadline, never with a fixed sleep.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, TypeVar

import httpx
import mf2py

from hearth.syndication.instagram.fake import FakeComment, FakeInstagram
from tests.serving import Served, hearth_cli, hearth_serve

T = TypeVar("T")
WEBHOOK_PATH = "syndication/instagram/webhook"
# Generous: the machine is slow and shared; a passing wait returns as soon as it can.
DEADLINE_SECONDS = 45.0


@dataclass
class Site:
    """A served Hearth connected to a fake Instagram."""

    served: Served
    fake: FakeInstagram

    @property
    def base(self) -> str:
        return self.served.base


def instagram_env(fake: FakeInstagram, **extra: str) -> dict[str, str]:
    """The served process's settings: the fake as the Graph API, fast polls and retries."""
    return {
        "HEARTH_INSTAGRAM_API_URL": fake.base.rstrip("/"),
        "HEARTH_ALLOW_PRIVATE_NETWORKS": "127.0.0.1/32",
        "HEARTH_INSTAGRAM_APP_ID": fake.app_id,
        "HEARTH_INSTAGRAM_APP_SECRET": fake.app_secret,
        "HEARTH_INSTAGRAM_VERIFY_TOKEN": "served-verify-token",
        "HEARTH_INSTAGRAM_POLL_SECONDS": "1",
        "HEARTH_JOB_BACKOFF_SECONDS": "1",
        # Every Instagram comment is shown at once (moderation is tested elsewhere).
        "HEARTH_MODERATION": "all",
        **extra,
    }


@contextmanager
def connected_site(
    data_dir: Path, fake: FakeInstagram, migrated_sqlite: Path, **env: str
) -> Iterator[Site]:
    """`hearth serve` with `instagram_env`, connected with `hearth instagram connect`.

    The data dir starts with a copy of the migrated database (conftest's `migrated_sqlite`),
    so start-up has no migration to run.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(migrated_sqlite, data_dir / "hearth.sqlite3")
    with hearth_serve(data_dir, env=instagram_env(fake, **env)) as served:
        hearth_cli(served.env, "instagram", "connect", "--access-token", fake.token)
        yield Site(served, fake)


def is_up(site: Site) -> bool:
    try:
        return httpx.get(site.base, timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def wait_for(check: Callable[[], T | None], what: str, timeout: float = DEADLINE_SECONDS) -> T:
    """The first truthy result of `check()`, polled until `timeout`; fails the test after."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.2)


def requests_to(fake: FakeInstagram, path: str, method: str = "GET") -> int:
    return sum(1 for m, p in list(fake.requests) if (m, p) == (method, path))


def wait_for_polls(fake: FakeInstagram, path: str = "/me/media", n: int = 2) -> None:
    """Wait until the served worker has called `path` `n` more times (it has moved on)."""
    start = requests_to(fake, path)
    wait_for(lambda: requests_to(fake, path) >= start + n, f"{n} more requests to {path}")


def instagram_permalink(fake: FakeInstagram, media_id: str) -> str:
    item = next(m for m in fake.media if m.id == media_id)
    return f"{fake.base}p/{item.shortcode}/"


def home_entries(base: str) -> list[dict[str, Any]]:
    response = httpx.get(base, timeout=10)
    assert 200 == response.status_code
    doc = mf2py.parse(doc=response.text, url=base)
    feed = next(i for i in doc["items"] if "h-feed" in i["type"])
    entries: list[dict[str, Any]] = feed.get("children", [])
    return entries


def copies_of(site: Site, media_id: str) -> list[dict[str, Any]]:
    """The h-entries on the home page that syndicate to this Instagram media."""
    permalink = instagram_permalink(site.fake, media_id)
    return [
        entry
        for entry in home_entries(site.base)
        if permalink in entry["properties"].get("syndication", [])
    ]


def wait_for_copy(site: Site, media_id: str) -> dict[str, Any]:
    """The own-site copy of `media_id` (its h-entry on its permalink page), once it exists."""
    found = wait_for(lambda: copies_of(site, media_id), f"the copy of media {media_id}")
    return permalink_entry(found[0]["properties"]["url"][0])


def permalink_entry(url: str) -> dict[str, Any]:
    """The h-entry of a permalink page, with its `shortlink` as `properties["_shortlink"]`."""
    response = httpx.get(url, timeout=10)
    assert 200 == response.status_code
    doc = mf2py.parse(doc=response.text, url=url)
    entry: dict[str, Any] = next(i for i in doc["items"] if "h-entry" in i["type"])
    entry["properties"]["_shortlink"] = doc["rels"].get("shortlink", [])
    return entry


class _Posters(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        poster = dict(attrs).get("poster")
        if tag == "video" and poster:
            self.found.append(poster)


def video_posters(url: str) -> list[str]:
    """The `poster` of each `<video>` on a page: mf2 has no property for it."""
    parser = _Posters()
    parser.feed(httpx.get(url, timeout=10).text)
    return parser.found


def url_of(value: Any) -> str:
    return str(value["value"] if isinstance(value, dict) else value)


def fetch_media(site: Site, value: Any) -> httpx.Response:
    """GET a photo or video of a copy; it must live on the own site, not on Instagram."""
    url = url_of(value)
    assert url.startswith(site.base + "media/"), url
    response = httpx.get(url, timeout=10)
    assert 200 == response.status_code, url
    return response


def owner_comments(fake: FakeInstagram, media_id: str) -> list[FakeComment]:
    """The comments the account itself made on a media: Hearth's first comment, if any."""
    return [
        c
        for c in list(fake.comments.values())
        if c.media_id == media_id and c.username == fake.username
    ]


def text_of(cite: dict[str, Any]) -> str:
    content = cite["properties"].get("content") or [""]
    value = content[0]
    return str(value["value"] if isinstance(value, dict) else value).strip()


def shown_comments(url: str) -> list[tuple[str, list[str]]]:
    """The comments on a permalink page: (text, [texts of the replies nested under it])."""
    entry = permalink_entry(url)
    return [
        (text_of(cite), [text_of(reply) for reply in cite["properties"].get("comment", [])])
        for cite in entry["properties"].get("comment", [])
    ]


def deliver(site: Site, body: bytes, signature: str | None) -> httpx.Response:
    """POST a webhook delivery to the served site, as Meta would."""
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["X-Hub-Signature-256"] = signature
    return httpx.post(site.base + WEBHOOK_PATH, content=body, headers=headers, timeout=10)


def deliver_comment(site: Site, comment_id: str) -> tuple[bytes, str]:
    """Deliver a correctly signed `comments` notification; returns it for replaying."""
    body, signature = site.fake.signed_webhook(site.fake.webhook_payload(comment_id))
    response = deliver(site, body, signature)
    assert 200 == response.status_code, response.text
    return body, signature
