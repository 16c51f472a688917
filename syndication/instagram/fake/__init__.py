"""A fake Instagram Platform API (Instagram API with Instagram Login) for tests and demos.

Built from the shapes Meta documents (https://developers.facebook.com/docs/instagram-platform):
tokens and the OAuth code exchange
(https://developers.facebook.com/docs/instagram-platform/instagram-api-with-instagram-login,
https://developers.facebook.com/docs/instagram-platform/reference/access_token and
https://developers.facebook.com/docs/instagram-platform/reference/refresh_access_token);
media fields with `fields=` expansion, carousel children and the comments edge
(https://developers.facebook.com/docs/instagram-platform/reference/instagram-media); `/me/media`
(https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/ig-user/media)
with cursor paging (https://developers.facebook.com/docs/graph-api/results); comments and
replies, posted and deleted
(https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/ig-comment);
webhook payloads signed like Meta's
(https://developers.facebook.com/docs/instagram-platform/webhooks); the error object
(https://developers.facebook.com/docs/graph-api/guides/error-handling) and the usage headers
(https://developers.facebook.com/docs/graph-api/overview/rate-limiting).
Media files are served from a fake CDN at `/cdn/`. Any leading `/vNN.N` version segment is
ignored. It imports nothing of Hearth: it stands for Instagram, not for the silo.

Run it: `python -m hearth.syndication.instagram.fake --port 8910` (seeds demo media).
In tests: `with serve_instagram() as fake: ...` runs it with uvicorn in a background thread.

Modules: `fake_records` (media, comment and failure records), `fake_state` (the account and
the test controls), `fake_responses` (injected failures, token checks, errors, usage headers),
`fake_fields` (`fields=` expansion and cursor paging), `fake_api` (Graph API nodes and edges),
`fake_oauth` (the code and token exchanges), `fake_cdn` (media files and permalink pages),
`fake_routing` (the ASGI app, and `FakeInstagram`: the state with its app) and `fake_serving`
(uvicorn, demo data and the command line).
"""

from hearth.syndication.instagram.fake.fake_fields import parse_fields
from hearth.syndication.instagram.fake.fake_oauth import LONG_LIVED_SECONDS
from hearth.syndication.instagram.fake.fake_records import FakeComment, FakeMedia
from hearth.syndication.instagram.fake.fake_routing import FakeInstagram
from hearth.syndication.instagram.fake.fake_serving import serve_instagram

__all__ = [
    "LONG_LIVED_SECONDS",
    "FakeComment",
    "FakeInstagram",
    "FakeMedia",
    "parse_fields",
    "serve_instagram",
]
