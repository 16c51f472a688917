"""Webmention: https://www.w3.org/TR/webmention/, sent and received.

The package names the entry points of sending (endpoint discovery, a post's targets,
`schedule_webmentions`) and what pages show of the responses received (`display`).
`webmention_feature` is the `Feature` that plugs the endpoint, the jobs, the post-change
listener and the dashboard section into Hearth.
"""

from hearth.server.webmention.endpoint_discovery import discover_endpoint
from hearth.server.webmention.links import outgoing_targets
from hearth.server.webmention.send import schedule_webmentions

__all__ = ["discover_endpoint", "outgoing_targets", "schedule_webmentions"]

# Receiving (receive.py, verify.py with photos.py, response_fields.py with entry.py and the
# core's mf2 and authorship readers, moderation.py, display.py): what pages show.
from hearth.server.webmention.display import Counts, ResponsesView, counts_for, responses_for

__all__ += ["Counts", "ResponsesView", "counts_for", "responses_for"]
