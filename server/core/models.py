"""Hearth's database tables (Tortoise ORM).

A post keeps its full microformats2 item (`h_type` + `properties`, unknown properties
included) so that Micropub `q=source` gives back what the client sent; the columns beside
it exist only for what pages and queries filter or sort on.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from tortoise import fields
from tortoise.models import Model

from hearth.server.core import timestamps
from hearth.server.core.publication import Status, Visibility


class Post(Model):
    id = fields.IntField(primary_key=True)
    # Site-relative permalink path without the leading slash, e.g. "2026/12/01/hello".
    path = fields.CharField(max_length=255, unique=True)
    # Permashortlink code, served at /s/{code}: type letter + NewBase60 epoch days + ordinal.
    short_code = fields.CharField(max_length=32, unique=True)
    # The mf2 type without "h-": "entry" or "event".
    h_type = fields.CharField(max_length=32, default="entry")
    # Every mf2 property as a dict of lists, exactly as stored from the client.
    properties: fields.Field[dict[str, Any]] = fields.JSONField(default=dict)
    # Post type discovery result: note, article, photo, reply, like, ...
    post_type = fields.CharField(max_length=32, default="note", db_index=True)
    published = fields.DatetimeField(db_index=True)
    updated = fields.DatetimeField(null=True)
    status = fields.CharEnumField(Status, default=Status.PUBLISHED, db_index=True)
    visibility = fields.CharEnumField(Visibility, default=Visibility.PUBLIC, db_index=True)
    deleted_at = fields.DatetimeField(null=True, db_index=True)
    # Silo targets the client asked for with mp-syndicate-to, handed to syndication jobs.
    # Nullable so the column can be added to existing tables (None means none asked for).
    syndicate_to: fields.Field[list[str] | None] = fields.JSONField(null=True)
    # The client_id of the token that created the post, if any.
    client_id = fields.CharField(max_length=512, null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    modified_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "posts"
        indexes = (("status", "visibility", "deleted_at", "published"),)

    def is_scheduled(self, at: datetime | None = None) -> bool:
        """Published with a time still to come (`at`, default now), deleted or not.

        Hidden until then, and announced then (`hearth.server.core.scheduled`, whose
        `has_appeared` is the same rule for queries). Drafts are never scheduled: hidden
        anyway, their time means nothing until they are published.
        """
        return self.status == Status.PUBLISHED and self.published > (at or timestamps.instant())

    @property
    def has_page(self) -> bool:
        """Has a page anyone may see: published, its time come, and public or unlisted.

        Drafts have none; a private post's page is only for the owner and its audience
        (`hearth.server.core.post_access`), a scheduled one's only for the owner until its
        time, and once deleted it is 404 to everyone.
        """
        return (
            self.status == Status.PUBLISHED
            and self.visibility != Visibility.PRIVATE
            and not self.is_scheduled()
        )

    @property
    def is_public(self) -> bool:
        """Shown on the home page, tag pages and feeds (now: not while scheduled)."""
        return (
            self.deleted_at is None
            and self.status == Status.PUBLISHED
            and self.visibility == Visibility.PUBLIC
            and not self.is_scheduled()
        )


class PostCategory(Model):
    """One row per plain-string category of a post, so tag pages are an indexed query."""

    id = fields.IntField(primary_key=True)
    post: fields.ForeignKeyRelation[Post] = fields.ForeignKeyField(
        "models.Post", related_name="category_rows", on_delete=fields.CASCADE
    )
    # Lower-cased for matching; the post's properties keep the original spelling.
    name = fields.CharField(max_length=255, db_index=True)

    class Meta:
        table = "post_categories"
        unique_together = (("post", "name"),)


class PostAudience(Model):
    """One row per person a private post is shared with, so who may see what is indexed.

    Kept in step with the post's `audience` property (`hearth.server.core.audience`).
    """

    id = fields.IntField(primary_key=True)
    post: fields.ForeignKeyRelation[Post] = fields.ForeignKeyField(
        "models.Post", related_name="audience_rows", on_delete=fields.CASCADE
    )
    # The canonical profile URL, compared with a signed-in visitor's canonical `me`.
    url = fields.CharField(max_length=512, db_index=True)

    class Meta:
        table = "post_audience"
        unique_together = (("post", "url"),)


class PathRedirect(Model):
    """A post's former path, answered with a redirect after its slug changed."""

    path = fields.CharField(max_length=255, primary_key=True)
    post: fields.ForeignKeyRelation[Post] = fields.ForeignKeyField(
        "models.Post", related_name="old_paths", on_delete=fields.CASCADE
    )

    class Meta:
        table = "path_redirects"


class MicropubReceipt(Model):
    """A create request already answered, so a client's retry gets the same post back.

    `key` is either a hash of the token and the client's Idempotency-Key header, or of the
    token, the request and the client's User-Agent (a double send within seconds).
    """

    key = fields.CharField(max_length=128, primary_key=True)
    post: fields.ForeignKeyRelation[Post] = fields.ForeignKeyField(
        "models.Post", related_name="receipts", on_delete=fields.CASCADE
    )
    created_at = fields.DatetimeField(auto_now_add=True, db_index=True)
    # SHA-256 of the token and the parsed request, so a reused Idempotency-Key with another
    # request is refused. Nullable: receipts stored before it was kept have none.
    request_digest = fields.CharField(max_length=64, null=True)

    class Meta:
        table = "micropub_receipts"


class Media(Model):
    """An uploaded or copied file in data_dir/media, served at /media/{name}."""

    id = fields.IntField(primary_key=True)
    # Unguessable file name: random token plus the extension of its content type.
    name = fields.CharField(max_length=128, unique=True)
    content_type = fields.CharField(max_length=128)
    size = fields.BigIntField()
    sha256 = fields.CharField(max_length=64, db_index=True)
    original_name = fields.CharField(max_length=255, null=True)
    created_at = fields.DatetimeField(auto_now_add=True, db_index=True)

    class Meta:
        table = "media"


class Token(Model):
    """A bearer token. Only its SHA-256 is stored, the token itself is shown once."""

    id = fields.IntField(primary_key=True)
    token_hash = fields.CharField(max_length=64, unique=True)
    # First characters of the token, so the owner can tell tokens apart in lists.
    prefix = fields.CharField(max_length=16)
    me = fields.CharField(max_length=512)
    client_id = fields.CharField(max_length=512, null=True)
    scope = fields.CharField(max_length=1024, default="")
    created_at = fields.DatetimeField(auto_now_add=True)
    expires_at = fields.DatetimeField(null=True)
    last_used_at = fields.DatetimeField(null=True)
    revoked_at = fields.DatetimeField(null=True)

    class Meta:
        table = "tokens"

    @property
    def scopes(self) -> frozenset[str]:
        return frozenset(self.scope.split())


class JobState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    DEAD = "dead"


class Job(Model):
    """Durable outbound work: webmentions, WebSub pings, syndication, imports."""

    id = fields.BigIntField(primary_key=True)
    # Name of the registered handler, e.g. "websub.publish".
    kind = fields.CharField(max_length=64, db_index=True)
    payload: fields.Field[dict[str, Any]] = fields.JSONField(default=dict)
    # The same effect is never queued twice: enqueue with an existing key returns that job.
    idempotency_key = fields.CharField(max_length=255, unique=True)
    state = fields.CharEnumField(JobState, default=JobState.QUEUED, db_index=True)
    attempts = fields.IntField(default=0)
    max_attempts = fields.IntField(default=8)
    run_at = fields.DatetimeField(db_index=True)
    lease_owner = fields.CharField(max_length=128, null=True)
    lease_expires_at = fields.DatetimeField(null=True, db_index=True)
    # The process holding the lease, "host pid start" (`job_queue.ProcessId`): a claimer on
    # the same host may take the job back at once when that process is provably gone.
    lease_process = fields.CharField(max_length=512, null=True)
    last_error = fields.TextField(null=True)
    # Since when the job has been postponed without a break (job_queue.postpone), else null.
    postponed_since = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)
    finished_at = fields.DatetimeField(null=True)

    class Meta:
        table = "jobs"
        indexes = (("state", "run_at"),)


class SiteSetting(Model):
    """Owner-editable values kept in the database (password hash, h-card overrides)."""

    key = fields.CharField(max_length=128, primary_key=True)
    value: fields.Field[Any] = fields.JSONField()

    class Meta:
        table = "site_settings"


class AdminSession(Model):
    """A signed-in admin browser. The cookie holds a random id, and only its hash is stored."""

    id_hash = fields.CharField(max_length=64, primary_key=True)
    csrf_token = fields.CharField(max_length=64)
    created_at = fields.DatetimeField(auto_now_add=True)
    expires_at = fields.DatetimeField()

    class Meta:
        table = "admin_sessions"


class LoginFailure(Model):
    """A failed admin sign-in, counted per client address to rate-limit and lock."""

    id = fields.IntField(primary_key=True)
    address = fields.CharField(max_length=64, db_index=True)
    at = fields.DatetimeField(auto_now_add=True, db_index=True)

    class Meta:
        table = "login_failures"


class InteractionState(StrEnum):
    """Where a received interaction stands in verification."""

    PENDING = "pending"  # queued, source not fetched yet
    ACCEPTED = "accepted"  # source links to the target
    REJECTED = "rejected"  # no link, fetch failed for good, or refused (reason kept)
    DELETED = "deleted"  # the source is gone or no longer links


class Approval(StrEnum):
    """Whether an accepted response is shown (moderation)."""

    WAITING = "waiting"
    APPROVED = "approved"
    HIDDEN = "hidden"


class Interaction(Model):
    """A reply, like, repost, bookmark, RSVP or mention of one of the owner's posts.

    What the IndieWeb calls a response (https://indieweb.org/responses), named apart from
    HTTP's. Received webmentions and comments backfed from silos share this table, so they
    are moderated and shown the same way.
    """

    id = fields.IntField(primary_key=True)
    # "webmention", or the name of the silo a backfed response came from.
    origin = fields.CharField(max_length=32, default="webmention", db_index=True)
    source = fields.CharField(max_length=2048)
    target = fields.CharField(max_length=2048)
    # sha256 of source + newline + target: one row per (source, target), whatever their length.
    source_target_hash = fields.CharField(max_length=64, unique=True)
    post: fields.ForeignKeyNullableRelation[Post] = fields.ForeignKeyField(
        "models.Post", related_name="responses", null=True, on_delete=fields.CASCADE
    )
    state = fields.CharEnumField(InteractionState, default=InteractionState.PENDING, db_index=True)
    reason = fields.TextField(null=True)
    approval = fields.CharEnumField(Approval, default=Approval.WAITING, db_index=True)
    # Unguessable id of the public status page given in the 202 Location.
    status_token = fields.CharField(max_length=64, unique=True)
    # Host of the source (or the silo account), for per-domain moderation.
    domain = fields.CharField(max_length=255, db_index=True)
    # reply, like, repost, bookmark, rsvp or mention.
    kind = fields.CharField(max_length=16, default="mention", db_index=True)
    rsvp = fields.CharField(max_length=16, null=True)
    author_name = fields.CharField(max_length=512, null=True)
    author_url = fields.CharField(max_length=2048, null=True)
    # A local media URL: author photos are cached so pages never hotlink strangers.
    author_photo = fields.CharField(max_length=2048, null=True)
    content_html = fields.TextField(null=True)
    content_text = fields.TextField(null=True)
    url = fields.CharField(max_length=2048, null=True)
    published = fields.DatetimeField(null=True)
    # u-url, u-syndication and uid values: the same response relayed by a bridge matches.
    identities: fields.Field[list[str] | None] = fields.JSONField(null=True)
    duplicate_of: fields.ForeignKeyNullableRelation[Interaction] = fields.ForeignKeyField(
        "models.Interaction", related_name="duplicates", null=True, on_delete=fields.SET_NULL
    )
    # A reply to another response (threading), e.g. a reply to a silo comment.
    parent: fields.ForeignKeyNullableRelation[Interaction] = fields.ForeignKeyField(
        "models.Interaction", related_name="children", null=True, on_delete=fields.SET_NULL
    )
    # The silo's id of a backfed comment.
    external_id = fields.CharField(max_length=128, null=True, db_index=True)
    # The parsed mf2 of the source entry, kept for re-rendering.
    mf2: fields.Field[dict[str, Any] | None] = fields.JSONField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)
    verified_at = fields.DatetimeField(null=True)

    class Meta:
        table = "responses"
        indexes = (("post_id", "state", "approval"),)


class DomainRule(Model):
    """Moderation by domain: responses from allowed domains show at once, blocked never."""

    domain = fields.CharField(max_length=255, primary_key=True)
    # "allow" or "block".
    rule = fields.CharField(max_length=8)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "domain_rules"


class OutgoingWebmention(Model):
    """A webmention Hearth sends (or sent) from one of its posts to one target."""

    id = fields.IntField(primary_key=True)
    post: fields.ForeignKeyRelation[Post] = fields.ForeignKeyField(
        "models.Post", related_name="outgoing_webmentions", on_delete=fields.CASCADE
    )
    target = fields.CharField(max_length=2048)
    target_hash = fields.CharField(max_length=64)
    # pending, sent, failed (gave up), skipped (no endpoint, private address).
    state = fields.CharField(max_length=16, default="pending", db_index=True)
    endpoint = fields.CharField(max_length=2048, null=True)
    status_code = fields.IntField(null=True)
    last_error = fields.TextField(null=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "outgoing_webmentions"
        unique_together = (("post", "target_hash"),)
