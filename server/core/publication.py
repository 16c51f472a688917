"""Where a post stands: published or a draft, and who may see it.

The values are those of the Micropub `post-status` and `visibility` properties
(https://indieweb.org/Micropub-extensions#Post_Status,
https://indieweb.org/Micropub-extensions#Visibility), which is how clients set them; the
models store them, pages and feeds filter on them.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["Status", "Visibility"]


class Status(StrEnum):
    PUBLISHED = "published"
    DRAFT = "draft"


class Visibility(StrEnum):
    PUBLIC = "public"
    UNLISTED = "unlisted"
    PRIVATE = "private"
