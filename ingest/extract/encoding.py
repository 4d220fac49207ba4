"""Bytes to text for HTML pages whose declared charset may be missing or wrong."""

from __future__ import annotations

import codecs
import re

from charset_normalizer import from_bytes

_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
         (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
_HTTP_CHARSET = re.compile(r"charset\s*=\s*[\"']?([\w.:-]+)", re.I)
_META_CHARSET = re.compile(rb"<meta[^>]+charset\s*=\s*[\"']?\s*([\w.:-]+)", re.I)
# Browsers (WHATWG) read these labels as windows-1252, and so do we.
_WHATWG_ALIASES = {"latin-1": "cp1252", "iso8859-1": "cp1252", "ascii": "cp1252"}


def _codec(label: str | None) -> str | None:
    if not label:
        return None
    try:
        name = codecs.lookup(label.strip()).name
    except LookupError:
        return None
    if name.startswith(("utf-16", "utf-32")):
        return "utf-8"  # without a BOM such a declaration is wrong: the bytes are ASCII-compatible
    return _WHATWG_ALIASES.get(name, name)


def _is_utf8(body: bytes) -> bool:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def decode_html(body: bytes, content_type: str | None = None) -> str:
    """Decode a page: BOM, then the HTTP charset, then <meta>, then sniffing when those fail.

    A declaration is believed only if the bytes decode under it; a legacy single-byte
    declaration loses to UTF-8 when the bytes are valid non-ASCII UTF-8, a common lie.
    """
    for bom, name in _BOMS:
        if body.startswith(bom):
            return body.decode(name, errors="replace")
    http = _HTTP_CHARSET.search(content_type or "")
    meta = _META_CHARSET.search(body[:4096])
    declared = [_codec(http.group(1) if http else None),
                _codec(meta.group(1).decode("ascii", "ignore") if meta else None)]
    utf8 = _is_utf8(body)
    for name in filter(None, declared):
        if name == "utf-8":
            if utf8:
                return body.decode("utf-8")
            continue
        if utf8 and not body.isascii():
            return body.decode("utf-8")
        try:
            return body.decode(name)
        except (UnicodeDecodeError, LookupError):
            continue
    if utf8:
        return body.decode("utf-8")
    best = from_bytes(body[:65536]).best()
    if best is not None:
        return body.decode(best.encoding, errors="replace")
    return body.decode("cp1252", errors="replace")
