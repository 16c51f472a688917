"""Link contexts as a feature: what it plugs into Hearth (https://indieweb.org/reply-context).

A listener that queues a `contexts.fetch` job for every reply, like, repost and bookmark
target of a stored post change, the job itself, and the table the contexts are kept in.
Pages show them through `hearth.server.contexts.with_contexts`.
"""

from __future__ import annotations

from hearth.server.contexts import jobs
from hearth.server.core.features import Feature, ModelApp

FEATURE = Feature(
    "contexts",
    job_handlers=jobs.HANDLERS,
    on_post_changed=[jobs.queue_on_change],
    model_app=ModelApp(
        "contexts",
        models="hearth.server.contexts.tables",
        migrations="hearth.server.contexts.migrations",
    ),
)
