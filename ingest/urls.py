"""Links found in documents (feeds, pages) turned into URLs the pipeline may store or fetch."""

from __future__ import annotations

from urllib.parse import urljoin, urlsplit


def web_url(link: object, base: str | None) -> str | None:
    """`link` resolved against `base` if it is an absolute http(s) URL, else None.

    javascript:, data: and file: links never reach the pipeline, and a malformed link
    (``http://[``, which urljoin rejects with ValueError) costs that link only, not the document.
    """
    if not isinstance(link, str) or not link.strip():
        return None
    try:
        resolved = urljoin(base or "", link.strip())
        parts = urlsplit(resolved)
    except ValueError:
        return None
    return resolved if parts.scheme in ("http", "https") and parts.netloc else None
