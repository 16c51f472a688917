"""Webmention: https://www.w3.org/TR/webmention/ (sending here; receiving beside it)."""

from hearth.server.webmention.endpoint_discovery import discover_endpoint
from hearth.server.webmention.links import outgoing_targets
from hearth.server.webmention.send import schedule_webmentions

__all__ = ["discover_endpoint", "outgoing_targets", "schedule_webmentions"]

# Receiving (receive.py, verify.py with photos.py, parse.py with mf2.py, entry.py and
# authorship.py, moderation.py, display.py): what pages show.
from hearth.server.webmention.display import Counts, ResponsesView, counts_for, responses_for

__all__ += ["Counts", "ResponsesView", "counts_for", "responses_for"]
