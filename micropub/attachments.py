"""Photos, videos and audio: uploaded files and URLs as property values, with alt text.

Spec: https://www.w3.org/TR/micropub/#uploading-files (§3.3.1: files are sent as multipart
parts named after the property, and a property that takes a file MUST also take a URL),
https://www.w3.org/TR/micropub/#uploading-a-photo-with-alt-text (§3.3.2: in JSON a photo with
alt text is `{"value": url, "alt": text}`). Form-encoded alt text uses the `mp-photo-alt`
extension (https://indieweb.org/Micropub-extensions), paired with `photo` values by index.

Everything here is pure: the endpoint stores the files and passes their URLs in.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

from hearth.micropub.errors import InvalidRequest
from hearth.micropub.types import Properties

__all__ = ["UPLOAD_PROPERTIES", "attach", "pair_alt", "upload_property"]

# Properties a multipart file part may fill (§3.3.1 names these three).
UPLOAD_PROPERTIES = ("photo", "video", "audio")


def upload_property(part_name: str) -> str:
    """The property a multipart file part fills: `photo` and `photo[]` both mean photo.

    Called for every file part before anything is stored, so a request with a file the
    server has no place for is refused without writing it.
    """
    name = part_name.removesuffix("[]")
    if name not in UPLOAD_PROPERTIES:
        allowed = ", ".join(UPLOAD_PROPERTIES)
        raise InvalidRequest(f"a file was sent as {part_name!r}; files are accepted as {allowed}")
    return name


def pair_alt(values: Sequence[Any], alts: Sequence[str]) -> list[Any]:
    """Photo values with `alts[i]` attached to the i-th one.

    A URL becomes `{"value": url, "alt": text}`; an object that already has an `alt` keeps
    it, so pairing again after more photos were appended changes only the new ones. An
    empty alt text leaves its photo alone, and alt texts beyond the last photo are unused.
    """
    paired: list[Any] = []
    for index, value in enumerate(values):
        alt = alts[index] if index < len(alts) else ""
        if alt and isinstance(value, str):
            paired.append({"value": value, "alt": alt})
        elif alt and isinstance(value, Mapping) and "alt" not in value and "type" not in value:
            paired.append({**value, "alt": alt})
        else:
            paired.append(value)
    return paired


def attach(
    properties: Mapping[str, list[Any]],
    uploads: Sequence[tuple[str, str]],
    photo_alt: Sequence[str] = (),
) -> Properties:
    """New properties with each stored upload `(property, url)` appended to its property.

    Uploads follow the URL values already given for the same property, in upload order;
    `photo_alt` is then paired with the whole photo list.
    """
    result: Properties = copy.deepcopy(dict(properties))
    for name, url in uploads:
        result.setdefault(upload_property(name), []).append(url)
    if photo_alt and "photo" in result:
        result["photo"] = pair_alt(result["photo"], photo_alt)
    return result
