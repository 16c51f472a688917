"""The editor as a feature: its routes and its templates.

`/admin/posts/new` writes a post and `/admin/posts/{id}/edit` edits any post; delete and
undelete are POSTs beside them. The Posts page (its "New post" link and each row's "Edit")
and the permalinks (the owner's view) link here by those URLs.
"""

from __future__ import annotations

from pathlib import Path

from hearth.micropub.body import Limits
from hearth.micropub.editor.views import routes
from hearth.server.core.body_limit import BodyLimit
from hearth.server.core.features import Feature
from hearth.server.core.settings import Settings

__all__ = ["FEATURE"]


def body_limits(settings: Settings) -> list[BodyLimit]:
    """The editor's form: a post's text, and photos as a Micropub multipart create takes."""
    limits = Limits.for_settings(settings)
    return [BodyLimit("/admin/posts", limits.text, limits.multipart)]


FEATURE = Feature(
    "editor",
    routes=routes,
    template_dir=Path(__file__).parent / "templates",
    body_limits=body_limits,
)
