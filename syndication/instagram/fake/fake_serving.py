"""Running the fake: in a background thread for tests, or by hand with demo data."""

from __future__ import annotations

import argparse
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn

from hearth.syndication.instagram.fake.fake_routing import FakeInstagram

# The package docstring's first line, shown by `--help`.
DESCRIPTION = (
    "A fake Instagram Platform API (Instagram API with Instagram Login) for tests and demos."
)


@contextmanager
def serve_instagram() -> Iterator[FakeInstagram]:
    """Run a FakeInstagram with uvicorn on a free 127.0.0.1 port in a background thread."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    fake = FakeInstagram(f"http://127.0.0.1:{sock.getsockname()[1]}/")
    server = uvicorn.Server(uvicorn.Config(fake.app(), log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    try:
        yield fake
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def seed_demo(fake: FakeInstagram) -> None:
    """A photo, a carousel and a reel with a comment and a reply, for trying things by hand."""
    photo = fake.add_media("IMAGE", caption="Morning light #sunrise with @friend", alt_text="Sun")
    fake.add_media("CAROUSEL_ALBUM", caption="Three from the walk", children=("IMAGE",) * 2)
    fake.add_media("VIDEO", caption="Waves #sea")
    comment = fake.add_comment(photo, "Beautiful!", username="friend")
    fake.add_comment(photo, "Thanks!", username=fake.username, parent_id=comment)


def main() -> None:
    """Serve a seeded fake on `--host`/`--port` and print the settings that point Hearth at it."""
    parser = argparse.ArgumentParser(description=DESCRIPTION)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8910)
    args = parser.parse_args()
    fake = FakeInstagram(f"http://{args.host}:{args.port}/")
    seed_demo(fake)
    print(f"Fake Instagram API at {fake.base} (account @{fake.username}, id {fake.user_id})")
    print(f"  HEARTH_INSTAGRAM_API_URL={fake.base.rstrip('/')}")
    print("  HEARTH_ALLOW_PRIVATE_NETWORKS=127.0.0.1/32")
    print(f"  HEARTH_INSTAGRAM_APP_ID={fake.app_id}")
    print(f"  HEARTH_INSTAGRAM_APP_SECRET={fake.app_secret}")
    print(f"  access token: {fake.token}")
    print("Serves /me, /me/media, /{id}, /{id}/children, /{id}/comments, /{id}/replies,")
    print("  /access_token, /refresh_access_token, /oauth/authorize, /oauth/access_token,")
    print("  /cdn/{id}.jpg|mp4")
    uvicorn.run(fake.app(), host=args.host, port=args.port, log_level="info", lifespan="off")
