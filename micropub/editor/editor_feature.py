"""The editor as a feature: its routes and its templates.

`/admin/posts/new` writes a post and `/admin/posts/{id}/edit` edits any post; delete and
undelete are POSTs beside them. The Posts page (its "New post" link and each row's "Edit")
and the permalinks (the owner's view) link here by those URLs.
"""

from __future__ import annotations

from pathlib import Path

from hearth.micropub.editor.views import routes
from hearth.server.core.features import Feature

__all__ = ["FEATURE"]

FEATURE = Feature("editor", routes=routes, template_dir=Path(__file__).parent / "templates")
