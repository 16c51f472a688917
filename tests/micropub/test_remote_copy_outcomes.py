"""What the remote-copy job does with each way a copy can fail (HEARTH_MEDIA_COPY_REMOTE).

Spec: https://www.w3.org/TR/micropub/#uploading-files (a server MAY download a file given by
URL). The job (`hearth.micropub.remote_copy.copy`) gets the core's media refusals
(`hearth.server.core.media.refusals`): a remote that did not answer, answered 5xx or 429 is
tried again later; a 4xx, a blocked address or a file the store refuses ends the job, with
the reason naming the URL.
"""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from hearth.micropub import remote_copy
from hearth.server.core import job_queue
from hearth.server.core.http import create_http_client
from hearth.server.core.job_worker import JobContext
from hearth.server.core.models import Job, Media, Post
from hearth.server.core.posts import create_post
from hearth.server.core.settings import Settings

REMOTE = "https://cdn.example/cat.png"
DNS = {"cdn.example": ["93.184.216.34"], "intranet.example": ["10.0.0.7"]}


async def run_copy(
    settings: Settings, url: str, respond: Callable[[httpx.Request], httpx.Response]
) -> None:
    """One run of the job for a post whose photo is `url`, over a mock network."""

    async def resolve(host: str) -> list[str]:
        return DNS[host]

    post = await create_post({"photo": [url]})
    transport = httpx.MockTransport(respond)
    async with create_http_client(settings, transport=transport, resolver=resolve) as http:
        context = JobContext(settings=settings, http=http, job=Job(kind=remote_copy.KIND))
        await remote_copy.copy(context, {"post_id": post.id, "url": url})


def answering(status: int, body: bytes = b"") -> Callable[[httpx.Request], httpx.Response]:
    return lambda request: httpx.Response(status, content=body)


@pytest.mark.usefixtures("app")
@pytest.mark.parametrize("status", [429, 500, 503])
async def test_server_errors_are_retried(settings: Settings, status: int) -> None:
    """A 5xx or 429 asks for a retry, saying which URL answered what."""
    with pytest.raises(job_queue.Retry) as retry:
        await run_copy(settings, REMOTE, answering(status))
    assert f"{REMOTE}: {status}" == str(retry.value)
    assert not isinstance(retry.value, job_queue.Postpone)


@pytest.mark.usefixtures("app")
async def test_no_answer_is_retried(settings: Settings) -> None:
    """A connection that fails asks for a retry, naming the error."""

    def respond(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    with pytest.raises(job_queue.Retry) as retry:
        await run_copy(settings, REMOTE, respond)
    assert f"{REMOTE}: ConnectError: connection refused" == str(retry.value)


@pytest.mark.usefixtures("app")
@pytest.mark.parametrize("status", [403, 404, 410])
async def test_client_errors_give_up(settings: Settings, status: int) -> None:
    """A 4xx ends the job for good; the post keeps its remote URL."""
    with pytest.raises(job_queue.PermanentFailure) as failure:
        await run_copy(settings, REMOTE, answering(status))
    assert f"{REMOTE}: {status}" == str(failure.value)
    assert [REMOTE] == (await Post.get()).properties["photo"]


@pytest.mark.usefixtures("app")
async def test_blocked_address_gives_up(settings: Settings) -> None:
    """A URL on a private network ends the job without a request being made."""
    requests: list[httpx.Request] = []

    def respond(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return httpx.Response(200)

    url = "http://intranet.example/cam.jpg"
    with pytest.raises(job_queue.PermanentFailure) as failure:
        await run_copy(settings, url, respond)
    assert str(failure.value).startswith(f"{url}: ")
    assert [] == requests


@pytest.mark.usefixtures("app")
@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"<html>nope</html>", "unsupported media type"),
        (b"\x89PNG\r\n\x1a\nnot really", "the file is not a valid PNG image"),
        (b"", "the file is empty"),
    ],
    ids=["html", "broken-png", "empty"],
)
async def test_refused_file_gives_up(settings: Settings, body: bytes, reason: str) -> None:
    """A file the media store refuses ends the job with the URL and the reason; none stored."""
    with pytest.raises(job_queue.PermanentFailure) as failure:
        await run_copy(settings, REMOTE, answering(200, body))
    assert str(failure.value).startswith(f"{REMOTE}: {reason}")
    assert 0 == await Media.all().count()
