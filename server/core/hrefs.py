"""URLs spelled so that HTML accepts them in `href` and `src`.

Browsers follow `https://a.example/my photo.jpg` or `?tags=a|b` without complaint, but the
HTML standard requires a valid URL string there (https://url.spec.whatwg.org/#valid-url-string),
and the Nu HTML Checker rejects a space, `"`, `<`, `>`, `` ` ``, `{`, `}`, `|`, `^`, `[`,
`]` or a backslash in the path, query or fragment, a `%` without two hex digits after it,
and a second `#`. `valid_href` percent-encodes exactly those, as a browser does before it
sends the request, so the URL still leads to the same resource; everything else, non-ASCII
letters included, is left as it is.
"""

from __future__ import annotations

import re
from urllib.parse import quote, urlsplit

# Not allowed by the URL standard outside the host: ASCII controls and space, the
# characters the Nu checker names, and "%" not starting a percent-escape.
_ILLEGAL = re.compile(r'[\x00-\x20\x7f"<>\\^`{|}\[\]]|%(?![0-9A-Fa-f]{2})')


def _escape(text: str, extra: str = "") -> str:
    pattern = _ILLEGAL if not extra else re.compile(f"{_ILLEGAL.pattern}|[{re.escape(extra)}]")
    return pattern.sub(lambda match: quote(match.group(), safe=""), text)


def valid_href(url: str) -> str:
    """`url` with the characters HTML does not allow in a URL percent-encoded.

    A URL that is valid already comes back unchanged. The scheme, user info and host are
    never changed (a bracketed IPv6 host stays as it is); a URL that cannot be split into
    those is returned unchanged too.
    """
    if not _ILLEGAL.search(url) and url.count("#") <= 1:
        return url
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    before_fragment, has_fragment, _ = url.partition("#")
    spelled = f"{parts.scheme}:" if parts.scheme else ""
    if before_fragment[len(spelled) :].startswith("//"):
        spelled += "//" + parts.netloc
    spelled += _escape(parts.path)
    if "?" in before_fragment:  # "?" ends the host, so any "?" starts the query
        spelled += "?" + _escape(parts.query)
    if has_fragment:
        spelled += "#" + _escape(parts.fragment, "#")
    return spelled
