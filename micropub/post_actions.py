"""The database side of Micropub: create, update, delete and undelete a post.

Spec: https://www.w3.org/TR/micropub/#create (§3.3; §3.3.6 201 + `Location`),
https://www.w3.org/TR/micropub/#update (§3.4; §3.4.4 201 + `Location` when the URL changed,
else 204), https://www.w3.org/TR/micropub/#delete (§3.5; §3.5.1 204)

Each operation validates everything it can before its first write, then writes in one
transaction that also queues the follow-up work, so a stored change is never left
unannounced: updates, deletes and undeletes tell the listeners inside it
(`hearth.server.core.events.post_changed`); a create, the hot path, stores the post, its
receipt and one job that tells them (`follow_up`) in one trip to the database
(`core.one_trip`). Nothing slow happens here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from starlette.datastructures import UploadFile
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from hearth.micropub import follow_up, receipts, uploads
from hearth.micropub.auth import creates_drafts_only
from hearth.micropub.errors import InvalidRequest
from hearth.micropub.lookup import find_post, permalink, shortlink
from hearth.micropub.parsing import MicropubRequest, Update, apply_update, publication_state
from hearth.server.core import job_queue, new_posts, one_trip, page_changes, post_types
from hearth.server.core.events import post_changed
from hearth.server.core.media.files import media_url
from hearth.server.core.media.ingest import discard
from hearth.server.core.models import PathRedirect, Post, Token
from hearth.server.core.new_posts import EPOCH, NewPost
from hearth.server.core.posts import new_post, set_property_rows, slugify, storable
from hearth.server.core.publication import Status, Visibility
from hearth.server.core.scheduled import announcement_statement
from hearth.server.core.settings import Settings
from hearth.server.core.timestamps import instant, now

__all__ = ["Outcome", "create", "delete", "undelete", "update"]


@dataclass(frozen=True)
class Outcome:
    """What the endpoint answers: a status, and for 201 the post's URLs."""

    status: int
    location: str | None = None
    shortlink: str | None = None


def _created_at(settings: Settings, post: Post) -> Outcome:
    return Outcome(201, permalink(settings, post), shortlink(settings, post))


def _published(properties: Mapping[str, list[Any]]) -> datetime | None:
    """The post's `published` date-time, if the client gave one; 400 if it is not one."""
    values = properties.get("published")
    if not values:
        return None
    value = values[0]
    try:
        when = datetime.fromisoformat(value.strip()) if isinstance(value, str) else None
        if when is not None:
            when = (when if when.tzinfo else when.replace(tzinfo=UTC)).astimezone(UTC)
    except (ValueError, OverflowError):
        when = None
    if when is None:
        raise InvalidRequest(f"published must be an ISO 8601 date-time, got {value!r}")
    # Short links count days since 1970 (hearth.server.core.new_posts).
    if when < EPOCH:
        raise InvalidRequest("published must not be before 1970")
    return when


def _check_items(where: str, properties: Mapping[str, list[Any]]) -> None:
    """400 for an object with `properties` but no `type`: not mf2, and not renderable.

    The parser checks objects that have a `type`; this catches the rest, which would
    otherwise reach `hearth.server.core.post_types.text_of` and fail there.
    """
    for name, values in properties.items():
        for value in values:
            if not isinstance(value, Mapping):
                continue
            if "type" not in value and "properties" in value:
                raise InvalidRequest(f"{where}.{name}: an object with properties needs a type")
            if isinstance(nested := value.get("properties"), Mapping):
                _check_items(f"{where}.{name}.properties", nested)


async def create(
    settings: Settings,
    token: Token,
    request: MicropubRequest,
    files: Sequence[UploadFile],
    idempotency_key: str | None,
    user_agent: str = "",
) -> Outcome:
    """Store a new post (§3.3), or answer a resend with the post it already made."""
    _check_items("properties", request.properties)
    published = _published(request.properties)
    digests = [await uploads.file_digest(upload) for upload in files]
    key = receipts.receipt_key(token, request, digests, idempotency_key, user_agent)
    # A resend's files are not stored again (without files the unit below looks).
    if files and (earlier := await receipts.find_receipt(key)) is not None:
        return _created_at(settings, earlier)
    stored = await uploads.store_uploads(settings, list(zip(request.uploads, files, strict=True)))
    request = request.with_uploads([media_url(settings, media) for media in stored])
    properties, status = dict(request.properties), request.commands.status
    if creates_drafts_only(token):
        properties["post-status"], status = [Status.DRAFT.value], Status.DRAFT
    new = new_post(
        properties,
        h_type=request.h_type or "entry",
        slug=request.commands.slug,
        published=published,
        status=Status(status or Status.PUBLISHED),
        visibility=Visibility(request.commands.visibility or Visibility.PUBLIC),
        syndicate_to=list(request.commands.syndicate_to),
        client_id=token.client_id,
    )
    try:
        unit = _store(new, key, instant(), one_trip.dialect(), new_posts.ordinals())
        post, made = await one_trip.run(unit)
    except IntegrityError:
        # The same create, sent concurrently, recorded its receipt first: answer with its post.
        await discard(settings, stored)
        if (earlier := await receipts.find_receipt(key)) is None:
            raise
        return _created_at(settings, earlier)
    except BaseException:
        await discard(settings, stored)
        raise
    if made:
        page_changes.changed(post.id)
        job_queue.announce()
    else:
        await discard(settings, stored)
    return _created_at(settings, post)


def _store(
    new: NewPost,
    key: receipts.ReceiptKey,
    at: datetime,
    dialect: str,
    remembered: new_posts.Ordinals,
) -> one_trip.Unit[tuple[Post, bool]]:
    """The create's one transaction: the earlier post of a resend (and False), or the new
    post, its receipt and the job that tells the listeners (and True)."""
    earlier = yield from receipts.find_unit(key, at)
    if earlier is not None:
        return earlier, False
    post = yield from new_posts.insert(new, at, dialect, remembered)
    yield from receipts.record_unit(key, post.id, at)
    # What `post_changed` would queue: a scheduled post's announcement at its time, or the
    # job that tells the listeners now.
    if post.is_scheduled(at):
        yield announcement_statement(post, at)
    else:
        yield follow_up.tell_later(post.id, at)
    return post, True


async def _free_slug_path(post: Post, base: str) -> str | None:
    """Where the post moves for slug `base`: None if it is there already.

    A former path of this same post may be taken back; other posts' paths and former
    paths may not, and then `-2`, `-3` ... is appended, as for new posts.
    """
    prefix = post.path.rsplit("/", 1)[0]
    for n in range(1, 1000):
        candidate = f"{prefix}/{base}" if n == 1 else f"{prefix}/{base}-{n}"
        if candidate == post.path:
            return None
        taken = (
            await Post.filter(path=candidate).exists()
            or await PathRedirect.filter(path=candidate).exclude(post_id=post.id).exists()
        )
        if not taken:
            return candidate
    raise InvalidRequest(f"no free path for the slug {base!r}")


async def _move(post: Post, slug: str) -> bool:
    """Give the post the path for `slug`, keeping a redirect from the old one."""
    path = await _free_slug_path(post, slugify(slug))
    if path is None:
        return False
    await PathRedirect.filter(path=path).delete()
    await PathRedirect.create(path=post.path, post=post)
    post.path = path
    return True


async def update(settings: Settings, request: MicropubRequest) -> Outcome:
    """Apply replace/add/delete to a post (§3.4); 201 with the new URL if mp-slug moved it."""
    if request.url is None or request.update is None:
        raise InvalidRequest("an update needs a url and operations")
    found = await find_post(settings, request.url)
    async with in_transaction():
        # Read again inside the transaction, so concurrent updates apply one after the other.
        post = await Post.select_for_update().get(id=found.id)
        return await _update(settings, post, request.update, request.commands.slug)


async def _update(settings: Settings, post: Post, update: Update, slug: str | None) -> Outcome:
    """Validate everything, then write; a refusal leaves the post as it was."""
    if post.deleted_at is not None:
        raise InvalidRequest(f"{permalink(settings, post)} is deleted; undelete it first")
    previous = post.properties
    properties = storable(apply_update(previous, update))
    _check_items("properties", properties)
    status, visibility = publication_state(properties)
    published = _published(properties) if "published" in properties else None
    if slug is not None and not slugify(slug):
        raise InvalidRequest(f"mp-slug {slug!r} has no letters or digits to make a path of")
    if properties == previous and slug is None:
        return Outcome(204)
    was_public = post.is_public
    moved = slug is not None and await _move(post, slug)
    post.properties = properties
    post.post_type = post_types.discover(post.h_type, properties)
    post.status = Status(status or Status.PUBLISHED)
    post.visibility = Visibility(visibility or Visibility.PUBLIC)
    post.published = published or post.published
    post.updated = now()
    await post.save()
    await set_property_rows(post)
    await receipts.end_double_send_window(post)
    await post_changed(settings, post, was_public=was_public, previous_properties=previous)
    return _created_at(settings, post) if moved else Outcome(204)


async def _set_deleted(settings: Settings, request: MicropubRequest, deleted: bool) -> Outcome:
    if request.url is None:
        raise InvalidRequest(f"action={request.kind} needs the url of the post")
    post = await find_post(settings, request.url)
    if (post.deleted_at is not None) == deleted:
        return Outcome(204)
    was_public = post.is_public
    async with in_transaction():
        post.deleted_at = now() if deleted else None
        await post.save()
        await receipts.end_double_send_window(post)
        await post_changed(settings, post, was_public=was_public)
    return Outcome(204)


async def delete(settings: Settings, request: MicropubRequest) -> Outcome:
    """Delete a post (§3.5): it answers 410 from now on; deleting twice changes nothing."""
    return await _set_deleted(settings, request, True)


async def undelete(settings: Settings, request: MicropubRequest) -> Outcome:
    """Restore a deleted post at the same URL (§3.5)."""
    return await _set_deleted(settings, request, False)
