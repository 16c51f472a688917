"""The dashboard and its sections, the h-card form, token revocation and security headers."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import jinja2
import mf2py
import pytest
from starlette.applications import Starlette

from hearth.server.admin.responses import CONTENT_SECURITY_POLICY
from hearth.server.core.features import AdminSection
from hearth.server.core.models import Job, JobState, Token
from hearth.server.core.posts import create_post
from hearth.server.core.publication import Status

BASE_URL = "https://example.test/"


def _assert_admin_headers(response: httpx.Response) -> None:
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "same-origin"
    assert response.headers["cache-control"] == "no-store"


def _home_card(html: str) -> dict[str, list[object]]:
    parsed = mf2py.parse(doc=html, url=BASE_URL)
    cards = [item for item in parsed["items"] if "h-card" in item["type"]]
    assert len(cards) == 1
    properties: dict[str, list[object]] = cards[0]["properties"]
    return properties


async def test_dashboard_sends_strict_security_headers(
    client: httpx.AsyncClient, signed_in: str
) -> None:
    """The dashboard carries the strict CSP, X-Frame-Options, Referrer-Policy and no-store."""
    response = await client.get("/admin/")
    assert response.status_code == 200
    _assert_admin_headers(response)
    assert "default-src 'none'" in response.headers["content-security-policy"]


@pytest.mark.parametrize("path", ["/admin/login", "/admin/"])
async def test_signed_out_admin_responses_send_security_headers(
    client: httpx.AsyncClient, password: str, path: str
) -> None:
    """The sign-in page and the signed-out redirect carry the same headers."""
    _assert_admin_headers(await client.get(path))


async def test_forbidden_response_sends_security_headers(
    client: httpx.AsyncClient, signed_in: str
) -> None:
    """Even a CSRF rejection carries the admin headers."""
    response = await client.post("/admin/logout", data={})
    assert response.status_code == 403
    _assert_admin_headers(response)


async def test_admin_pages_need_no_inline_script_or_style(
    client: httpx.AsyncClient, signed_in: str
) -> None:
    """Nothing the CSP would block: no script, no inline style, only /static/hearth.css."""
    for path in ("/admin/",):
        html = (await client.get(path)).text
        assert "<script" not in html
        assert "<style" not in html
        assert "style=" not in html
        assert '<link rel="stylesheet" href="/static/hearth.css">' in html
    assert (await client.get("/static/hearth.css")).status_code == 200


async def test_posts_section_counts_and_lists_latest_posts(
    client: httpx.AsyncClient, signed_in: str
) -> None:
    """Posts shows counts by status/visibility and the posts, deleted ones marked (the list
    itself: test_posts_page.py)."""
    await create_post({"content": ["A public note"]})
    await create_post({"content": ["A draft note"]}, status=Status.DRAFT)
    gone = await create_post({"name": ["Gone article"], "content": ["bye"]})
    gone.deleted_at = datetime.now(UTC)
    await gone.save()
    html = (await client.get("/admin/")).text
    assert "2 posts, 1 deleted." in html
    assert "<td>published</td><td>public</td><td>1</td>" in html
    assert "<td>draft</td><td>public</td><td>1</td>" in html
    assert f'href="{BASE_URL}{gone.path}">Gone article</a>' in html
    assert '<tr class="deleted">\n<td><a href="' + BASE_URL + gone.path in html
    assert "A public note" in html


async def test_jobs_section_shows_counts_and_failures(
    client: httpx.AsyncClient, signed_in: str
) -> None:
    """Jobs shows a count per state and the last failures with kind, attempts and error."""
    now = datetime.now(UTC)
    await Job.create(kind="websub.ping", idempotency_key="k1", run_at=now)
    await Job.create(
        kind="webmention.send",
        idempotency_key="k2",
        run_at=now,
        state=JobState.DEAD,
        attempts=8,
        last_error="target answered 500 <oops>",
    )
    html = (await client.get("/admin/jobs")).text
    assert "<th>queued</th>" in html and "<th>dead</th>" in html
    assert "webmention.send" in html
    assert "8/8" in html
    assert "target answered 500 &lt;oops&gt;" in html


async def test_tokens_section_lists_active_tokens(
    client: httpx.AsyncClient, signed_in: str
) -> None:
    """Tokens lists prefix, client and scope of tokens not revoked."""
    await Token.create(
        token_hash="a" * 64,
        prefix="live1234",
        me=BASE_URL,
        client_id="https://app.example/",
        scope="create update",
    )
    await Token.create(
        token_hash="b" * 64, prefix="dead5678", me=BASE_URL, revoked_at=datetime.now(UTC)
    )
    html = (await client.get("/admin/apps")).text
    assert "live1234" in html
    assert "https://app.example/" in html
    assert "create update" in html
    assert "dead5678" not in html


async def test_token_revoke_sets_revoked_at(client: httpx.AsyncClient, signed_in: str) -> None:
    """Revoke (with the CSRF token) marks the token revoked and drops it from the list."""
    token = await Token.create(token_hash="a" * 64, prefix="live1234", me=BASE_URL)
    response = await client.post(f"/admin/tokens/{token.id}/revoke", data={"csrf_token": signed_in})
    assert response.status_code == 303
    await token.refresh_from_db()
    assert token.revoked_at is not None
    page = await client.get(response.headers["location"])
    assert "Token revoked." in page.text
    assert "live1234" not in page.text


async def test_revoking_an_unknown_token_is_not_found(
    client: httpx.AsyncClient, signed_in: str
) -> None:
    """A revoke for a token id that does not exist answers 404."""
    response = await client.post("/admin/tokens/999/revoke", data={"csrf_token": signed_in})
    assert response.status_code == 404


async def test_hcard_edit_changes_the_public_home_page(
    client: httpx.AsyncClient, signed_in: str
) -> None:
    """Saving the h-card form changes the home page's h-card at once."""
    before = _home_card((await client.get("/")).text)
    assert before["name"] == ["Alice Example"]
    response = await client.post(
        "/admin/hcard",
        data={
            "csrf_token": signed_in,
            "name": "Alice Q. Example",
            "photo": "https://example.test/new.jpg",
            "note": "Now writes other things.",
        },
    )
    assert response.status_code == 303
    after = _home_card((await client.get("/")).text)
    assert after["name"] == ["Alice Q. Example"]
    assert after["note"] == ["Now writes other things."]
    photo = after["photo"][0]
    assert (photo["value"] if isinstance(photo, dict) else photo) == "https://example.test/new.jpg"


async def test_hcard_empty_fields_fall_back_to_settings(
    client: httpx.AsyncClient, signed_in: str
) -> None:
    """An empty field means "use the server's setting" again."""
    data = {"csrf_token": signed_in, "name": "Someone Else", "photo": "", "note": ""}
    await client.post("/admin/hcard", data=data)
    await client.post("/admin/hcard", data={**data, "name": ""})
    assert _home_card((await client.get("/")).text)["name"] == ["Alice Example"]


@pytest.mark.parametrize("photo", ["javascript:alert(1)", "/relative.jpg", "data:image/png,x"])
async def test_hcard_rejects_a_photo_that_is_not_an_http_url(
    client: httpx.AsyncClient, signed_in: str, photo: str
) -> None:
    """Only absolute http(s) photo URLs are stored; others re-show the form with 400."""
    response = await client.post(
        "/admin/hcard", data={"csrf_token": signed_in, "name": "X", "photo": photo}
    )
    assert response.status_code == 400
    assert "An absolute http:// or https:// URL" in response.text
    assert _home_card((await client.get("/")).text)["name"] == ["Alice Example"]


async def test_sections_are_an_extension_point(
    app: Starlette, client: httpx.AsyncClient, signed_in: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A section a feature offers shows on the dashboard, its data and token escaped in."""

    async def load(request: object, session: object) -> dict[str, str]:
        return {"count": "<42>"}

    env = app.state.templates.env
    fragment = '<p class="extra">{{ data.count }} {{ csrf_token }}</p>'
    loader = jinja2.ChoiceLoader(
        [jinja2.DictLoader({"admin/section_extra.html": fragment}), env.loader]
    )
    monkeypatch.setattr(env, "loader", loader)
    extra = AdminSection("extra", "Extra", "admin/section_extra.html", load)
    monkeypatch.setattr(app.state, "admin_sections", [*app.state.admin_sections, extra])
    html = (await client.get("/admin/extra")).text
    assert '<section class="admin-section" id="extra" aria-labelledby="extra-heading">' in html
    assert '<a href="/admin/extra" aria-current="page">Extra</a>' in html
    assert f'<p class="extra">&lt;42&gt; {signed_in}</p>' in html


async def test_hcard_photo_is_stored_as_a_valid_url(
    client: httpx.AsyncClient, signed_in: str
) -> None:
    """A photo URL with a space is saved percent-encoded, so pages can put it in `src`."""
    data = {"csrf_token": signed_in, "name": "", "photo": "https://example.test/my photo.jpg"}
    assert (await client.post("/admin/hcard", data=data)).status_code == 303
    photo = _home_card((await client.get("/")).text)["photo"][0]
    url = photo["value"] if isinstance(photo, dict) else photo
    assert url == "https://example.test/my%20photo.jpg"
    form = (await client.get("/admin/profile")).text
    assert 'type="url" maxlength="2048" value="https://example.test/my%20photo.jpg"' in form


@pytest.mark.parametrize("photo", ["https://bad host.example/a.jpg", "https://[::1/a.jpg"])
async def test_hcard_rejects_a_photo_whose_host_is_not_a_host(
    client: httpx.AsyncClient, signed_in: str, photo: str
) -> None:
    """A host with a space in it, or an unclosed IPv6 bracket, is refused with 400."""
    response = await client.post(
        "/admin/hcard", data={"csrf_token": signed_in, "name": "X", "photo": photo}
    )
    assert response.status_code == 400
    assert "An absolute http:// or https:// URL" in response.text


async def test_rejected_photo_is_shown_back_in_a_text_field(
    client: httpx.AsyncClient, signed_in: str
) -> None:
    """The rejected value stays for correcting, in a field that may hold a non-URL."""
    data = {"csrf_token": signed_in, "name": "", "photo": "not a url"}
    html = (await client.post("/admin/hcard", data=data)).text
    assert 'name="photo" type="text" inputmode="url" maxlength="2048" value="not a url"' in html
