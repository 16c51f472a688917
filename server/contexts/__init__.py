"""Link contexts: what a reply, like, repost or bookmark points at (name, author, snippet).

Spec: https://indieweb.org/reply-context. `fetch_context(client, url)` reads a page's context
with mf2 through the guarded client (the editor's preview calls it); the feature
(`contexts_feature`) stores the context of every target of a post in a job, and pages show
them with `with_contexts`.
"""

from hearth.server.contexts.display import with_contexts
from hearth.server.contexts.fetching import fetch_context
from hearth.server.contexts.reading import LinkContext

__all__ = ["LinkContext", "fetch_context", "with_contexts"]
