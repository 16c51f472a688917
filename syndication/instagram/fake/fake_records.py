"""The records the fake keeps: media (with carousel children), comments and queued failures."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class FakeMedia:
    id: str
    media_type: str  # IMAGE, VIDEO or CAROUSEL_ALBUM
    media_product_type: str = "FEED"
    caption: str | None = None
    timestamp: str = ""
    shortcode: str = ""
    like_count: int = 0
    alt_text: str | None = None
    children: list[FakeMedia] = field(default_factory=list)
    is_child: bool = False


@dataclass
class FakeComment:
    id: str
    media_id: str
    text: str
    username: str
    from_id: str
    timestamp: str
    parent_id: str | None = None
    like_count: int = 0
    hidden: bool = False


@dataclass
class Failure:
    """One injected API failure, queued by `FakeInstagram.fail_next`."""

    status: int
    code: int | None
    subcode: int | None
    retry_after: int | None
