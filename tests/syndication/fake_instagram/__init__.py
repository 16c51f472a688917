"""A fake Instagram Platform API (Instagram API with Instagram Login) for tests and demos.

Built from the documented shapes in shared/reference/instagram.md: tokens and the OAuth code
exchange (§1.2), media fields with `fields=` expansion (§1.3), carousel children (§1.4),
`/me/media` with cursor paging (§1.5), comments, replies, create and delete (§1.6), webhook
payloads signed like Meta's (§1.9), the error object (§1.10) and usage headers (§1.11). Media
files are served from a fake CDN at `/cdn/`. Any leading `/vNN.N` version segment is ignored.

Run it: `python -m tests.syndication.fake_instagram --port 8910` (seeds demo media).
In tests: `with serve_instagram() as fake: ...` runs it with uvicorn in a background thread.

Modules: `records` (media, comment and failure records), `state` (the account and the test
controls), `responses` (injected failures, token checks, errors, usage headers), `fields`
(`fields=` expansion and cursor paging), `api` (Graph API nodes and edges), `oauth` (the code
and token exchanges), `cdn` (media files and permalink pages), `routing` (the ASGI app) and
`serving` (uvicorn, demo data and the command line).
"""

from tests.syndication.fake_instagram.fields import parse_fields
from tests.syndication.fake_instagram.oauth import LONG_LIVED_SECONDS
from tests.syndication.fake_instagram.records import FakeComment, FakeMedia
from tests.syndication.fake_instagram.serving import serve_instagram
from tests.syndication.fake_instagram.state import FakeInstagram

__all__ = [
    "LONG_LIVED_SECONDS",
    "FakeComment",
    "FakeInstagram",
    "FakeMedia",
    "parse_fields",
    "serve_instagram",
]
