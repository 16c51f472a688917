"""Why the media store refuses a file: one exception per kind of refusal, none tied to HTTP.

Spec: https://www.w3.org/TR/micropub/#media-endpoint (§3.6) leaves the checks to the server;
these are Hearth's. `hearth.server.core.media.ingest` and the modules it uses raise them, and
each caller says what a refusal means for it: the Micropub media endpoint answers with a
Micropub error (413 for `too-large`, 400 for the others), an import job fails with the
reason, the remote-copy job retries or gives up. The hierarchy, with each class's `kind`::

    MediaRefused                        (base; never raised itself)
    ├── MediaTooLarge      too-large          more bytes than Settings.media_max_bytes
    ├── UnsupportedMedia   unsupported        not a type or shape Hearth stores (SVG, AVI,
    │                                         too many pixels, an animated AVIF with EXIF)
    ├── UnreadableMedia    unreadable         empty, truncated or corrupt; or an MP4/MOV
    │                                         whose boxes cannot be walked for its location
    └── RemoteUnavailable  remote-unavailable a file given by URL that could not be fetched:
                                              a blocked address, no answer, an error status

`reason` is a sentence for people (it becomes the Micropub `error_description` as it is);
nothing is stored when one of these is raised.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = [
    "MediaRefused",
    "MediaTooLarge",
    "RefusalKind",
    "RemoteUnavailable",
    "UnreadableMedia",
    "UnsupportedMedia",
]


class RefusalKind(StrEnum):
    """What kind of refusal, for callers that answer each kind differently."""

    TOO_LARGE = "too-large"
    UNSUPPORTED = "unsupported"
    UNREADABLE = "unreadable"
    REMOTE_UNAVAILABLE = "remote-unavailable"


class MediaRefused(Exception):
    """A file the media store will not take, with the reason why."""

    kind: RefusalKind

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.reason!r})"


class MediaTooLarge(MediaRefused):
    """The file is larger than `Settings.media_max_bytes`."""

    kind = RefusalKind.TOO_LARGE


class UnsupportedMedia(MediaRefused):
    """The file is of a type, or has a property, that Hearth does not store."""

    kind = RefusalKind.UNSUPPORTED


class UnreadableMedia(MediaRefused):
    """The file is empty or broken: it cannot be read as the type it claims to be."""

    kind = RefusalKind.UNREADABLE


class RemoteUnavailable(MediaRefused):
    """A file given by URL could not be fetched.

    `status` is the remote's HTTP status when it answered with an error, None when it did
    not answer (or may not be asked); `retryable` says whether asking again later may help
    (no answer, a 5xx or a 429), as opposed to a 4xx or an address Hearth never connects to.
    """

    kind = RefusalKind.REMOTE_UNAVAILABLE

    def __init__(self, reason: str, *, status: int | None = None, retryable: bool) -> None:
        super().__init__(reason)
        self.status = status
        self.retryable = retryable
