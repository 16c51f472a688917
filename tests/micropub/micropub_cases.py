"""Reading the golden request files in data/ the way the endpoint will receive them.

Form and multipart bodies go through Starlette's own parsers, so a case sees exactly the
`(key, value)` pairs and file part names the endpoint will hand to `parse_form`.

- `<case>.form`: a urlencoded body. Newlines are removed first, as micropub.rocks does
  with its request bodies (`.text().replace(/\\n/g, '')`), so a file can hold one field
  per line.
- `<case>.json`: a JSON body, newlines removed likewise.
- `<case>.multipart`: a multipart body written with LF line ends (sent with CRLF); the
  first line is the boundary. File parts are "stored" at
  https://example.test/media/<filename> and added with `with_uploads`.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import dataclass
from pathlib import Path

from starlette.datastructures import FormData, Headers, UploadFile
from starlette.formparsers import FormParser, MultiPartParser

from hearth.micropub.parsing import MicropubRequest, parse_form, parse_json

DATA = Path(__file__).parent / "data"
INPUT_SUFFIXES = (".form", ".json", ".multipart")
OUTPUT_SUFFIXES = (".expected.json", ".error.json")
MEDIA_BASE = "https://example.test/media/"


@dataclass(frozen=True)
class Case:
    """One golden input: its name without the suffix, its syntax and its body."""

    name: str
    suffix: str
    body: bytes
    path: Path


def load_cases() -> list[Case]:
    """Every request body in data/, in name order (expected files excluded)."""
    return [
        Case(path.name.removesuffix(path.suffix), path.suffix, path.read_bytes(), path)
        for path in sorted(DATA.iterdir())
        if path.suffix in INPUT_SUFFIXES and not path.name.endswith(OUTPUT_SUFFIXES)
    ]


async def _once(body: bytes) -> AsyncGenerator[bytes, None]:
    yield body


async def read_form(case: Case) -> FormData:
    if case.suffix == ".form":
        headers = Headers({"content-type": "application/x-www-form-urlencoded"})
        return await FormParser(headers, _once(case.body.replace(b"\n", b""))).parse()
    boundary = case.body.split(b"\n", 1)[0].removeprefix(b"--").decode()
    headers = Headers({"content-type": f"multipart/form-data; boundary={boundary}"})
    return await MultiPartParser(headers, _once(case.body.replace(b"\n", b"\r\n"))).parse()


async def parse_case(case: Case) -> MicropubRequest:
    """Parse one golden input as the endpoint would, uploads included."""
    if case.suffix == ".json":
        return parse_json(case.body.replace(b"\n", b""))
    form = await read_form(case)
    try:
        fields = [(key, value) for key, value in form.multi_items() if isinstance(value, str)]
        files = [(key, value) for key, value in form.multi_items() if isinstance(value, UploadFile)]
        request = parse_form(fields, [key for key, _ in files])
        if files:
            request = request.with_uploads([f"{MEDIA_BASE}{file.filename}" for _, file in files])
        return request
    finally:
        await form.close()
