"""Markdown in, sanitized HTML out; and the Markdown back out of a stored post.

Text is written in Markdown and rendered by markdown-it-py with its CommonMark preset
(https://spec.commonmark.org/): it is maintained, passes the CommonMark spec tests, and is
pure Python (no C extension to build). Raw HTML is allowed, as CommonMark allows it; the
result goes through the core's `sanitize_html` (nh3) before it is stored, and the pages
sanitize it again when they show it, so a `<script>` never reaches a page.

A post written here stores its content as one object, which is also what a Micropub client
may send (JSON syntax, §3.3.2):

    {"html": "<p>rendered, sanitized</p>", "value": "its plain text", "markdown": "source"}

`html` is what pages, feeds and webmention receivers get; `value` is the plain text, as an
mf2 parser reads `e-content` (titles and slugs of untitled notes use it); `markdown` is the
source as written, which `q=source` gives back and the editor opens again. A post whose
content came from another client (plain text, or HTML without `markdown`) opens as that
text, or that HTML, which Markdown passes through unchanged.
"""

from __future__ import annotations

import html as html_lib
from collections.abc import Mapping
from typing import Any

import nh3
from markdown_it import MarkdownIt

from hearth.server.core.render import sanitize_html

__all__ = ["MARKDOWN_KEY", "content_value", "render_markdown", "source_of"]

# The key of the content object that holds the Markdown source.
MARKDOWN_KEY = "markdown"

# One parser for the process: MarkdownIt instances are reusable and rendering is pure.
_PARSER = MarkdownIt("commonmark")


def render_markdown(source: str) -> str:
    """The sanitized HTML of `source` (CommonMark)."""
    return str(sanitize_html(_PARSER.render(source))).strip()


def _plain_text(html: str) -> str:
    # nh3 with no tags keeps the text and drops script and style bodies, as post_types does.
    return html_lib.unescape(nh3.clean(html, tags=set())).strip()


def content_value(source: str) -> dict[str, str]:
    """The stored content of Markdown `source`: rendered HTML, plain text and the source."""
    html = render_markdown(source)
    return {"html": html, "value": _plain_text(html), MARKDOWN_KEY: source}


def source_of(value: Any) -> str:
    """What the editor shows for a stored content value, to be edited as it was written."""
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        for key in (MARKDOWN_KEY, "html", "value"):
            found = value.get(key)
            if isinstance(found, str):
                return found
    return ""
