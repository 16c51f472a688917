"""The Instagram round trip end to end: a real `hearth serve` against the fake Instagram.

The issue's "done when" list, proven from the outside only: the served process is configured
by its environment, connected with `hearth instagram connect`, and judged by its pages (parsed
with mf2py), the media files they link, its webhook endpoint, and what it did on the fake
Instagram (the owner's comments, the request log): the whole pipeline, with the webhook
(https://developers.facebook.com/docs/instagram-platform/webhooks), errors
(https://developers.facebook.com/docs/graph-api/guides/error-handling) and rate limits
(https://developers.facebook.com/docs/graph-api/overview/rate-limiting).

Two sites, each shared by one class of tests, keep the file fast: `webhook_site` polls
comments only once a day, so a comment that shows came by webhook; `polling_site` polls them
every second and gets no webhooks. The outage and `kill -9` tests run their own site.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from hearth.syndication.instagram.fake import FakeInstagram, serve_instagram
from tests.syndication.instagram.served_instagram import (
    Site,
    connected_site,
    copies_of,
    deliver,
    deliver_comment,
    fetch_media,
    instagram_permalink,
    is_up,
    owner_comments,
    requests_to,
    shown_comments,
    url_of,
    video_posters,
    wait_for,
    wait_for_copy,
    wait_for_polls,
)


@pytest.fixture(name="webhook_site", scope="class")
def webhook_site_fixture(
    tmp_path_factory: pytest.TempPathFactory, migrated_sqlite: Path
) -> Iterator[Site]:
    with serve_instagram() as fake:
        data_dir = tmp_path_factory.mktemp("webhook-site")
        # Comment polls once a day: whatever shows within a test came by webhook.
        with connected_site(
            data_dir, fake, migrated_sqlite, HEARTH_INSTAGRAM_COMMENT_POLL_SECONDS="86400"
        ) as site:
            yield site


@pytest.fixture(name="polling_site", scope="class")
def polling_site_fixture(
    tmp_path_factory: pytest.TempPathFactory, migrated_sqlite: Path
) -> Iterator[Site]:
    with serve_instagram() as fake:
        data_dir = tmp_path_factory.mktemp("polling-site")
        with connected_site(
            data_dir, fake, migrated_sqlite, HEARTH_INSTAGRAM_COMMENT_POLL_SECONDS="1"
        ) as site:
            yield site


def copied_media(site: Site, caption: str) -> tuple[str, str]:
    """Post a photo on the fake; (its media id, the URL of its own-site copy) once copied."""
    media_id = site.fake.add_media("IMAGE", caption=caption)
    entry = wait_for_copy(site, media_id)
    return media_id, entry["properties"]["url"][0]


def wait_for_comments(url: str, expected: list[tuple[str, list[str]]]) -> None:
    wait_for(lambda: shown_comments(url) == expected, f"comments {expected} on {url}")


class TestCopiesAndWebhooks:
    """On `webhook_site`: copies of new media, the first comment, webhooks."""

    # -- PESOS: photo, carousel, video, first comment -----------------------------------------

    def test_photo_becomes_post_with_photo_at_home(self, webhook_site: Site) -> None:
        """A new photo becomes a post with its caption, the photo copied home, u-syndication."""
        media_id = webhook_site.fake.add_media("IMAGE", caption="Harbour at dawn #sea")
        properties = wait_for_copy(webhook_site, media_id)["properties"]
        assert [instagram_permalink(webhook_site.fake, media_id)] == properties["syndication"]
        assert "Harbour at dawn" in url_of(properties["content"][0])
        [photo] = properties["photo"]
        response = fetch_media(webhook_site, photo)
        assert response.headers["content-type"].startswith("image/jpeg")
        assert response.content.startswith(b"\xff\xd8")

    def test_carousel_becomes_post_with_every_item_at_home(self, webhook_site: Site) -> None:
        """A carousel of two photos and a video becomes one post with all three copied home."""
        media_id = webhook_site.fake.add_media(
            "CAROUSEL_ALBUM", caption="Three from the walk", children=("IMAGE", "IMAGE", "VIDEO")
        )
        properties = wait_for_copy(webhook_site, media_id)["properties"]
        assert 2 == len(properties["photo"])
        assert 1 == len(properties["video"])
        types = [
            fetch_media(webhook_site, item).headers["content-type"]
            for item in [*properties["photo"], *properties["video"]]
        ]
        assert ["image/jpeg", "image/jpeg", "video/mp4"] == [t.split(";")[0] for t in types]
        assert 1 == len(copies_of(webhook_site, media_id))

    def test_video_becomes_post_with_video_and_poster_at_home(self, webhook_site: Site) -> None:
        """A video (a reel) becomes a video post; the video and its poster are copied home."""
        media_id = webhook_site.fake.add_media("VIDEO", caption="Waves")
        properties = wait_for_copy(webhook_site, media_id)["properties"]
        [video] = properties["video"]
        response = fetch_media(webhook_site, video)
        assert response.headers["content-type"].startswith("video/mp4")
        [poster] = video_posters(properties["url"][0])
        assert poster.startswith(webhook_site.base + "media/")
        assert fetch_media(webhook_site, poster).headers["content-type"].startswith("image/jpeg")

    def test_first_comment_cites_the_short_link_exactly_once(self, webhook_site: Site) -> None:
        """The copy's short link is posted on the media as the owner's only comment, once."""
        fake = webhook_site.fake
        media_id = fake.add_media("IMAGE", caption="A comment, once")
        entry = wait_for_copy(webhook_site, media_id)
        [shortlink] = entry["properties"]["_shortlink"]
        code = shortlink.rstrip("/").rpartition("/s/")[2]
        [comment] = wait_for(lambda: owner_comments(fake, media_id), "the first comment")
        host = webhook_site.base.removeprefix("http://").rstrip("/")
        assert comment.text.endswith(f"({host} s/{code})")
        wait_for_polls(fake)  # later polls see the copy and its comment: nothing more to do
        assert [comment.id] == [c.id for c in owner_comments(fake, media_id)]
        assert 1 == requests_to(fake, f"/{media_id}/comments", method="POST")

    # -- Backfeed by webhook, and what a webhook must not do ---------------------------------

    def test_comment_and_reply_by_webhook_appear(self, webhook_site: Site) -> None:
        """A comment and a reply delivered by webhook show on the copy, the reply threaded."""
        fake = webhook_site.fake
        media_id, url = copied_media(webhook_site, "Webhook comments")
        # The first comment job lists the comments once; after it, nothing else may.
        wait_for(lambda: owner_comments(fake, media_id), "the first comment")
        listings = requests_to(fake, f"/{media_id}/comments")
        top = fake.add_comment(media_id, "Lovely colours", username="friend")
        reply = fake.add_comment(media_id, "Agreed!", username="other", parent_id=top)
        deliver_comment(webhook_site, top)
        deliver_comment(webhook_site, reply)
        wait_for_comments(url, [("Lovely colours", ["Agreed!"])])
        assert listings == requests_to(fake, f"/{media_id}/comments")  # no comment poll did it

    def test_edited_comment_by_webhook_updates(self, webhook_site: Site) -> None:
        """A comment edited on Instagram and delivered again shows its new text, once."""
        fake = webhook_site.fake
        media_id, url = copied_media(webhook_site, "Webhook edits")
        comment = fake.add_comment(media_id, "Nice pic", username="friend")
        deliver_comment(webhook_site, comment)
        wait_for_comments(url, [("Nice pic", [])])
        fake.edit_comment(comment, "Nice picture!")
        deliver_comment(webhook_site, comment)
        wait_for_comments(url, [("Nice picture!", [])])

    @pytest.mark.parametrize("signature", ["forged", "missing"])
    def test_bad_signature_changes_nothing(self, webhook_site: Site, signature: str) -> None:
        """A delivery with a forged or no signature is refused (403) and shows nothing."""
        fake = webhook_site.fake
        media_id, url = copied_media(webhook_site, f"Signature {signature}")
        comment = fake.add_comment(media_id, "Buy followers now", username="spammer")
        body, good = fake.signed_webhook(fake.webhook_payload(comment))
        header = {"forged": "sha256=" + "0" * 64, "missing": None}[signature]
        assert good != header
        assert 403 == deliver(webhook_site, body, header).status_code
        # A genuine delivery after it: once it shows, the refused one would have shown too.
        sentinel = fake.add_comment(media_id, "Genuine", username="friend")
        deliver_comment(webhook_site, sentinel)
        wait_for_comments(url, [("Genuine", [])])

    def test_replayed_delivery_changes_nothing(self, webhook_site: Site) -> None:
        """Replaying a delivery (Meta retries for 36 h) neither duplicates nor reverts a comment."""
        fake = webhook_site.fake
        media_id, url = copied_media(webhook_site, "Replays")
        comment = fake.add_comment(media_id, "First words", username="friend")
        body, signature = deliver_comment(webhook_site, comment)
        assert 200 == deliver(webhook_site, body, signature).status_code
        wait_for_comments(url, [("First words", [])])
        fake.edit_comment(comment, "Second words")
        deliver_comment(webhook_site, comment)
        wait_for_comments(url, [("Second words", [])])
        assert 200 == deliver(webhook_site, body, signature).status_code  # the old one, again
        sentinel = fake.add_comment(media_id, "Later", username="other")
        deliver_comment(webhook_site, sentinel)
        wait_for(lambda: len(shown_comments(url)) == 2, "the later comment")
        assert [("Second words", []), ("Later", [])] == shown_comments(url)


class TestCommentPolls:
    """On `polling_site`: comments backfed by polling alone."""

    # -- Backfeed by poll: new, edited, deleted -----------------------------------------------

    def test_comment_and_reply_by_poll_appear(self, polling_site: Site) -> None:
        """Without any webhook, a comment and a reply made on Instagram show, threaded."""
        fake = polling_site.fake
        media_id, url = copied_media(polling_site, "Polled comments")
        top = fake.add_comment(media_id, "Where is this?", username="friend")
        fake.add_comment(media_id, "Brighton", username="other", parent_id=top)
        wait_for_comments(url, [("Where is this?", ["Brighton"])])

    def test_edited_comment_by_poll_updates(self, polling_site: Site) -> None:
        """A comment edited on Instagram shows its new text after the next comment poll."""
        fake = polling_site.fake
        media_id, url = copied_media(polling_site, "Polled edits")
        comment = fake.add_comment(media_id, "Nice pic", username="friend")
        wait_for_comments(url, [("Nice pic", [])])
        fake.edit_comment(comment, "Nice picture!")
        wait_for_comments(url, [("Nice picture!", [])])

    def test_deleted_comment_disappears(self, polling_site: Site) -> None:
        """A comment deleted on Instagram disappears from the copy; the others stay."""
        fake = polling_site.fake
        media_id, url = copied_media(polling_site, "Polled deletes")
        oops = fake.add_comment(media_id, "Oops, wrong post", username="friend")
        fake.add_comment(media_id, "Stays", username="other")
        wait_for(lambda: len(shown_comments(url)) == 2, "both comments")
        fake.delete_comment(oops)
        wait_for_comments(url, [("Stays", [])])


# -- Failures and crashes ------------------------------------------------------------------


def test_errors_and_rate_limits_then_recovery_complete_everything_once(
    tmp_path: Path, fake: FakeInstagram, migrated_sqlite: Path
) -> None:
    """500s and 429s, then recovery: the copy, its first comment and a backfed comment all
    happen, each exactly once."""
    with connected_site(
        tmp_path / "data", fake, migrated_sqlite, HEARTH_INSTAGRAM_COMMENT_POLL_SECONDS="1"
    ) as site:
        media_id = fake.add_media("CAROUSEL_ALBUM", caption="Stormy", children=("IMAGE",) * 2)
        comment = fake.add_comment(media_id, "Hold on tight", username="friend")
        fake.fail_next(3, status=500)
        fake.fail_next(2, status=429, retry_after=1)
        entry = wait_for_copy(site, media_id)
        # A second window, now hitting the first comment and the comment polls.
        fake.fail_next(1, status=500)
        fake.fail_next(1, status=429, retry_after=1)
        fake.fail_next(1, status=500)
        url = entry["properties"]["url"][0]
        wait_for_comments(url, [("Hold on tight", [])])
        wait_for(lambda: owner_comments(fake, media_id), "the first comment")
        wait_for(lambda: not fake.failures, "every injected failure to be used up")
        wait_for_polls(fake)
        assert 1 == len(copies_of(site, media_id))
        assert 2 == len(entry["properties"]["photo"])
        assert 1 == len(owner_comments(fake, media_id))
        assert [("Hold on tight", [])] == shown_comments(url)
        assert comment in fake.comments
        # Whatever the server logged carries neither the token nor the app secret.
        log = site.served.log_path.read_text()
        assert fake.token not in log
        assert fake.app_secret not in log


def test_kill_during_poll_then_restart_copies_and_comments_once(
    tmp_path: Path, fake: FakeInstagram, migrated_sqlite: Path
) -> None:
    """`kill -9` while the poller downloads a carousel, then a restart: one post with every
    file, and one first comment, within seconds with the default 300 s job lease (the
    restarted server takes back the dead process's poll job and its claim on the copy)."""
    with connected_site(
        tmp_path / "data", fake, migrated_sqlite, HEARTH_JOB_LEASE_SECONDS="300"
    ) as site:
        fake.hold_downloads()
        media_id = fake.add_media("CAROUSEL_ALBUM", caption="Cut short", children=("IMAGE",) * 3)
        wait_for(fake.download_held.is_set, "the poller to start downloading")
        site.served.kill()
        fake.release_downloads()
        assert not is_up(site)
        site.served.restart()
        restarted = time.monotonic()
        entry = wait_for_copy(site, media_id)
        assert time.monotonic() - restarted < 30, "the copy waited for a lease to run out"
        for photo in entry["properties"]["photo"]:
            fetch_media(site, photo)
        assert 3 == len(entry["properties"]["photo"])
        wait_for(lambda: owner_comments(fake, media_id), "the first comment")
        wait_for_polls(fake)
        assert 1 == len(copies_of(site, media_id))
        assert 1 == len(owner_comments(fake, media_id))
