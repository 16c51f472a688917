"""Micropub request parsing, pure: plain data in, plain data out; no DB, no HTTP.

Spec: https://www.w3.org/TR/micropub/ (W3C Recommendation, 23 May 2017)

The endpoint reads the request and calls one of:

- `parse_form(fields, files)` for `application/x-www-form-urlencoded` and
  `multipart/form-data` (§3.1.1, §3.2, §3.3, §3.5), then `request.with_uploads(urls)` once it has
  stored the files (§3.3.1);
- `parse_json(body)` for `application/json` (§3.3.2, §3.4, §3.5);
- `apply_update(properties, request.update)` to get a post's new properties (§3.4);
- `query_source(properties, h_type, requested)` for `q=source` (§3.7.2);
- `publication_state(properties)` for the post-status and visibility of a post.

Each raises a `hearth.micropub.errors.MicropubError` subclass for a request to refuse.
This module only re-exports; the work is done in the modules named below.
"""

from __future__ import annotations

from hearth.micropub.attachments import UPLOAD_PROPERTIES, attach, pair_alt, upload_property
from hearth.micropub.commands import Commands, publication_state
from hearth.micropub.forms import parse_form
from hearth.micropub.json_body import parse_json
from hearth.micropub.request import H_TYPES, MicropubRequest, Update
from hearth.micropub.source import query_source
from hearth.micropub.updates import apply_update

__all__ = [
    "H_TYPES",
    "UPLOAD_PROPERTIES",
    "Commands",
    "MicropubRequest",
    "Update",
    "apply_update",
    "attach",
    "pair_alt",
    "parse_form",
    "parse_json",
    "publication_state",
    "query_source",
    "upload_property",
]
