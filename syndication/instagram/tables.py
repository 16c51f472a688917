"""Instagram's database tables (Tortoise ORM app "instagram", its own migrations).

The connected account, one row per Instagram media with the state of its own-site copy and
first comment, and one marker per post of a data export that is home. They refer to the
core's posts; the core knows nothing of them.
"""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model

from hearth.server.core import secrets_at_rest
from hearth.server.core.models import Post
from hearth.server.core.settings import Settings

__all__ = [
    "TOKEN_PURPOSE",
    "CopyState",
    "InstagramAccount",
    "InstagramImport",
    "InstagramMedia",
    "sealed_token",
]

# Where the token is stored: the associated data it is sealed with (core.secrets_at_rest).
TOKEN_PURPOSE = "instagram_accounts.access_token"  # noqa: S105 - a label, not a secret


def sealed_token(settings: Settings, token: str) -> str:
    """`token` as `InstagramAccount.access_token` stores it: encrypted."""
    return secrets_at_rest.seal(settings, TOKEN_PURPOSE, token)


class InstagramAccount(Model):
    """The one connected Instagram professional account and its long-lived token."""

    id = fields.IntField(primary_key=True)
    user_id = fields.CharField(max_length=64, unique=True)
    username = fields.CharField(max_length=255)
    # The long-lived access token (secret: never logged, never shown in full), sealed with
    # the site's key (`sealed_token`; read it with `token`). Rows stored before 0.x hold it
    # in plain text until the migration 0002_seal_tokens seals them; `token` reads both.
    access_token = fields.TextField()
    token_expires_at = fields.DatetimeField(null=True)
    # ok, expired, revoked, error: what the admin shows, with last_error saying what to do.
    token_state = fields.CharField(max_length=16, default="ok")
    last_error = fields.TextField(null=True)
    # Until when Instagram work waits because of a rate limit.
    paused_until = fields.DatetimeField(null=True)
    last_polled_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "instagram_accounts"

    def token(self, settings: Settings) -> str:
        """The access token in clear (SecretUnreadable if the secret key has changed)."""
        return secrets_at_rest.unseal(settings, TOKEN_PURPOSE, self.access_token)


class CopyState(StrEnum):
    """Where the own-site copy of an Instagram media stands (`InstagramMedia.copy_state`)."""

    PENDING = "pending"  # seen, not copied yet
    COPYING = "copying"  # a poller holds the copy claim
    COPIED = "copied"  # the post exists
    FAILED = "failed"  # the last try failed; the next poll tries again
    UNAVAILABLE = "unavailable"  # Instagram gives no file to copy (e.g. copyright-flagged)
    GONE = "gone"  # deleted on Instagram: nothing more to read or comment on


class InstagramMedia(Model):
    """One Instagram media and its own-site copy: never two posts for one media id."""

    media_id = fields.CharField(max_length=64, primary_key=True)
    post: fields.ForeignKeyNullableRelation[Post] = fields.ForeignKeyField(
        "models.Post", related_name="instagram_media", null=True, on_delete=fields.SET_NULL
    )
    permalink = fields.CharField(max_length=512, null=True)
    media_type = fields.CharField(max_length=32, null=True)
    timestamp = fields.DatetimeField(null=True, db_index=True)
    caption = fields.TextField(null=True)
    like_count = fields.IntField(null=True)
    # The first comment with the permashortcitation: its id and the short code it cites.
    comment_id = fields.CharField(max_length=64, null=True)
    comment_short_code = fields.CharField(max_length=32, null=True)
    # The process holding the first-comment claim while `comment_id` is one (`posting:...`,
    # `hearth.syndication.instagram.comments`): taken over as soon as it is provably gone.
    comment_holder = fields.CharField(max_length=512, null=True)
    # A CopyState: the copy's state as the admin shows it.
    copy_state = fields.CharField(max_length=16, default=CopyState.PENDING.value)
    # The process copying it while COPYING (`job_queue.ProcessId`): another worker on the host
    # takes the claim over at once when that process is provably gone, not after the lease.
    copy_holder = fields.CharField(max_length=512, null=True)
    last_error = fields.TextField(null=True)
    comments_polled_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "instagram_media"


class InstagramImport(Model):
    """A post of an Instagram data export that is home: one row per post of the export.

    Written in the transaction that creates the post, so a retried import never makes two.
    """

    # sha256 of the post's first file name and time (hearth.syndication.instagram.export_json).
    key = fields.CharField(max_length=64, primary_key=True)
    post: fields.ForeignKeyNullableRelation[Post] = fields.ForeignKeyField(
        "models.Post", related_name="instagram_imports", null=True, on_delete=fields.SET_NULL
    )
    # "imported" (made from the zip) or "api" (its API copy was home already).
    source = fields.CharField(max_length=16)
    published = fields.DatetimeField()
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "instagram_imports"
