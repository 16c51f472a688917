"""The editor as a feature: its routes, its templates, and a way in from the Posts page.

`/admin/posts/new` writes a post and `/admin/posts/{id}/edit` edits any post; delete and
undelete are POSTs beside them. The posts list and the permalinks (the owner's view) link
here by those URLs.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from starlette.requests import Request

from hearth.micropub.editor.views import routes
from hearth.server.core.features import AdminSection, Feature
from hearth.server.core.models import AdminSession

__all__ = ["FEATURE"]


async def _load_write(request: Request, session: AdminSession) -> Mapping[str, Any]:
    return {}


# On the Posts page, above the list (the admin's posts section weighs 10).
WRITE_SECTION = AdminSection(
    "write", "Write", "editor/section_write.html", _load_write, weight=5, page="posts"
)

FEATURE = Feature(
    "editor",
    routes=routes,
    admin_sections=[WRITE_SECTION],
    template_dir=Path(__file__).parent / "templates",
)
