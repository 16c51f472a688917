"""The dashboard's Instagram section (hearth.syndication.instagram.admin): account and media.

The section never shows the access token; the dashboard shell itself (sign-in, CSRF) is
covered in tests/server/admin.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from hearth.server.core.models import Interaction, InteractionState, Post
from hearth.server.core.settings import Settings
from hearth.syndication.instagram.admin import comment_state
from hearth.syndication.instagram.silo_settings import with_instagram
from hearth.syndication.instagram.tables import InstagramAccount, InstagramMedia
from tests.server.webmention.receive_support import permalink

TOKEN = "IGQVJ-secret-long-lived-token-123"
EXPIRES = datetime(2026, 7, 1, 9, 30, tzinfo=UTC)


async def connected(**extra: Any) -> InstagramAccount:
    values: dict[str, Any] = {
        "user_id": "17841400000000001",
        "username": "alice.example",
        "access_token": TOKEN,
        "token_expires_at": EXPIRES,
        **extra,
    }
    return await InstagramAccount.create(**values)


async def section(client: httpx.AsyncClient) -> str:
    """The Instagram section's HTML out of the dashboard."""
    page = await client.get("/admin/silos")
    assert 200 == page.status_code
    start = page.text.index('id="instagram"')
    return page.text[start : page.text.index("</section>", start)]


async def test_no_account_shows_how_to_connect(client: httpx.AsyncClient, signed_in: str) -> None:
    """Nothing connected: the connect command and a pointer to the README."""
    html = await section(client)
    assert "hearth instagram connect --access-token TOKEN" in html
    assert "README" in html and "Instagram" in html


async def test_connected_account_shows_username_state_and_expiry(
    client: httpx.AsyncClient, signed_in: str
) -> None:
    """A connected account: profile link, id, token state and expiry date."""
    await connected()
    html = await section(client)
    assert 'href="https://www.instagram.com/alice.example/"' in html
    assert "17841400000000001" in html
    assert "ok" in html and "2026-07-01" in html
    assert "--access-token" not in html


async def test_expired_token_shows_what_to_do(client: httpx.AsyncClient, signed_in: str) -> None:
    """An expired token shows its state and last_error, escaped."""
    await connected(token_state="expired", last_error="Token expired <reconnect> with hearth")
    html = await section(client)
    assert "expired" in html
    assert "Token expired &lt;reconnect&gt; with hearth" in html


async def test_pause_shown_only_while_in_the_future(
    client: httpx.AsyncClient, signed_in: str
) -> None:
    """paused_until shows while it lies ahead, not once it has passed."""
    account = await connected(paused_until=datetime.now(UTC) + timedelta(hours=1))
    assert "Paused until" in await section(client)
    account.paused_until = datetime.now(UTC) - timedelta(hours=1)
    await account.save()
    assert "Paused until" not in await section(client)


async def test_media_rows_show_their_states(
    client: httpx.AsyncClient, signed_in: str, post: Post
) -> None:
    """Each media row: permalink, own post, copy state, first comment, backfeed, likes."""
    await connected()
    polled = datetime(2026, 5, 5, 8, 0, tzinfo=UTC)
    await InstagramMedia.create(
        media_id="m1",
        post=post,
        permalink="https://www.instagram.com/p/AAA111/",
        timestamp=datetime(2026, 5, 4, 12, 0, tzinfo=UTC),
        copy_state="copied",
        comment_id="c1",
        comment_short_code="t5my1",
        comments_polled_at=polled,
        like_count=42,
    )
    await InstagramMedia.create(
        media_id="m2",
        permalink="https://www.instagram.com/p/BBB222/",
        timestamp=datetime(2026, 5, 3, 12, 0, tzinfo=UTC),
        copy_state="failed",
        last_error="Image fetch failed <404>",
        comment_id="posting:1770000000",
    )
    await InstagramMedia.create(media_id="m3", copy_state="pending")
    for n in range(2):
        await Interaction.create(
            origin="instagram",
            source=f"https://www.instagram.com/p/AAA111/c/{n}",
            target=permalink(post),
            source_target_hash=f"ig{n}",
            post=post,
            domain="instagram.com",
            status_token=f"igtok{n}",
            kind="reply",
            state=InteractionState.ACCEPTED,
        )
    html = await section(client)
    row1 = html[html.index('id="instagram-m1"') : html.index('id="instagram-m2"')]
    assert 'href="https://www.instagram.com/p/AAA111/"' in row1
    assert f'href="{permalink(post)}"' in row1
    assert "copied" in row1 and "posted" in row1 and "t5my1" in row1
    assert ">2<" in row1 and "2026-05-05 08:00" in row1 and "42" in row1
    row2 = html[html.index('id="instagram-m2"') : html.index('id="instagram-m3"')]
    assert "failed" in row2 and "Image fetch failed &lt;404&gt;" in row2
    assert "posting…" in row2 and "—" in row2
    row3 = html[html.index('id="instagram-m3"') :]
    assert "pending" in row3 and "not yet" in row3


def test_first_comment_off_when_disabled(settings: Settings) -> None:
    """With HEARTH_INSTAGRAM_FIRST_COMMENT off, media without a comment read "off"."""
    off = with_instagram(settings, first_comment=False)
    media = InstagramMedia(media_id="m1", copy_state="copied")
    assert ("not yet", "off") == (comment_state(media, settings), comment_state(media, off))


async def test_access_token_never_shown(client: httpx.AsyncClient, signed_in: str) -> None:
    """The access token appears nowhere on the dashboard, whatever the token's state."""
    await connected(token_state="error", last_error="Instagram said no")
    page = await client.get("/admin/silos")
    assert 200 == page.status_code and "alice.example" in page.text
    assert TOKEN not in page.text


async def test_signed_out_dashboard_redirects(client: httpx.AsyncClient, password: str) -> None:
    """Signed out, /admin/ redirects to sign-in instead of showing the section."""
    await connected()
    page = await client.get("/admin/silos")
    assert 303 == page.status_code
    assert "alice.example" not in page.text
