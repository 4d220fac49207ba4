"""Identity keys for an article, so the same story is stored once.

Three kinds of key, from cheapest to fuzziest:

* normalized URLs: the many addresses one page is reachable under (tracking
  parameters, ``www.``/``m.``/``amp.`` hosts, AMP paths, http vs https) fold to one;
* a content hash: the same body text, up to whitespace, quotes and punctuation;
* a similarity signature with LSH band keys: a reprint with another headline line,
  an added paragraph or different boilerplate still lands on a shared band key, and
  :func:`similarity` then confirms or rejects the candidate.

Everything here is pure and deterministic across processes (hashlib, never ``hash()``),
because keys are stored in the database and compared with keys made by other runs.
"""

from __future__ import annotations

import base64
import hashlib
import operator
import re
import struct
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit, urlunsplit

from ingest.article import Article

# --- URLs -------------------------------------------------------------------

TRACKING_PARAMS: frozenset[str] = frozenset(
    {
        "fbclid", "gclid", "dclid", "msclkid", "mc_cid", "mc_eid", "ref", "ref_src",
        "_ga", "yclid", "igshid", "spm",
        "amp",  # ?amp / ?amp=1 asks for the AMP rendering of the same article
    }
)
_FOLDED_HOST_PREFIXES = ("www.", "m.", "amp.")
_DEFAULT_PORTS = {"http": 80, "https": 443}
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_PERCENT_ESCAPE = re.compile(r"%([0-9A-Fa-f]{2})")
# Bytes that must be escaped to make a valid URL; "%" is left alone (escapes are fixed separately).
_NEEDS_ESCAPE = re.compile(r"[^\x21-\x7e]|[\"<>\\^`{|}]")


def normalize_url(url: str, *, extra_tracking_params: Iterable[str] = ()) -> str:
    """One key for every address of the same page; best effort, never raises.

    http and https count as the same identity: publishers serve (or redirect) both,
    feeds still carry old http links, and no news site publishes a *different*
    article under the other scheme. AMP forms fold to the plain page: a leading
    ``/amp/`` or trailing ``/amp`` path segment and an ``.amp`` infix before the
    extension (``123.amp.html``). "amp" inside a word (``/champions``, ``-amp.html``)
    is left alone, because slugs contain it. Input without a host (relative links,
    plain text) is returned stripped: the caller resolves relative links first.
    """
    text = url.strip() if isinstance(url, str) else ""
    try:
        parts = urlsplit(text)
        if not parts.netloc:
            return text
        return _normalize_parts(parts, frozenset(p.lower() for p in extra_tracking_params))
    except (ValueError, UnicodeError):
        return text


def _normalize_parts(parts: SplitResult, extra_tracking: frozenset[str]) -> str:
    scheme = parts.scheme.lower() or "https"
    host = _normalize_host(parts.hostname or "")
    port = parts.port
    netloc = host if port in (None, _DEFAULT_PORTS.get(scheme)) else f"{host}:{port}"
    if scheme == "http":
        scheme = "https"
    path = _normalize_path(parts.path)
    query = _normalize_query(parts.query, extra_tracking)
    return urlunsplit((scheme, netloc, path, query, ""))


def _normalize_host(host: str) -> str:
    """Lower-case punycode without the mobile/AMP/www prefixes (only if a dotted name remains)."""
    host = host.rstrip(".")
    if ":" in host:
        return f"[{host}]"  # IPv6 literal
    try:
        host = host.encode("idna").decode("ascii")
    except UnicodeError:
        pass  # over-long or empty labels: keep the lower-cased original
    host = host.lower()
    folded = True
    while folded:
        folded = False
        for prefix in _FOLDED_HOST_PREFIXES:
            rest = host.removeprefix(prefix)
            if rest != host and "." in rest:
                host, folded = rest, True
    return host


def _normalize_escapes(component: str) -> str:
    """Upper-case hex escapes, decode escaped unreserved characters, escape what must be."""

    def fix(match: re.Match[str]) -> str:
        char = chr(int(match.group(1), 16))
        return char if char in _UNRESERVED else "%" + match.group(1).upper()

    component = _PERCENT_ESCAPE.sub(fix, component)
    return _NEEDS_ESCAPE.sub(
        lambda m: "".join(f"%{b:02X}" for b in m.group().encode("utf-8", "surrogatepass")), component
    )


def _normalize_path(path: str) -> str:
    segments = _remove_dot_segments(_normalize_escapes(path).split("/")[1:])
    while segments and segments[-1] == "":
        segments.pop()  # trailing slash
    if segments[:1] == ["amp"]:
        segments = segments[1:]
    if segments[-1:] == ["amp"]:
        segments = segments[:-1]
    if segments:
        segments[-1] = re.sub(r"\.amp(?=\.[A-Za-z0-9]+$|$)", "", segments[-1])
    return "/" + "/".join(segments)


def _remove_dot_segments(segments: list[str]) -> list[str]:
    """RFC 3986 §5.2.4 on a split path: ``/a/./b/../c`` is ``/a/c``."""
    out: list[str] = []
    for segment in segments:
        if segment == "..":
            if out:
                out.pop()
        elif segment != ".":
            out.append(segment)
    return out


def _normalize_query(query: str, extra_tracking: frozenset[str]) -> str:
    """Drop tracking parameters and sort the rest; ``a=1&b`` and ``b&a=1`` are the same page."""
    kept = []
    for pair in query.split("&"):
        if not pair:
            continue
        pair = _normalize_escapes(pair)
        name = pair.split("=", 1)[0].lower()
        if name.startswith("utm_") or name in TRACKING_PARAMS or name in extra_tracking:
            continue
        kept.append(pair)
    return "&".join(sorted(kept))


# --- Text -------------------------------------------------------------------

_WORD = re.compile(r"\w+")


def _words(text: str) -> list[str]:
    """Words after NFKC and case folding; punctuation, quotes and whitespace only separate."""
    return _WORD.findall(unicodedata.normalize("NFKC", text).casefold())


def content_hash(text: str) -> str:
    """Hex BLAKE2b-128 of the body's words, so re-spacing or curly vs straight quotes match."""
    return _hash_words(_words(text))


def _hash_words(words: list[str]) -> str:
    return hashlib.blake2b(" ".join(words).encode("utf-8"), digest_size=16).hexdigest()


SHORT_TEXT_WORDS = 50


def is_short(text: str) -> bool:
    """Too few words for content alone to tell a reprint from a same-site brief."""
    return len(_words(text)) < SHORT_TEXT_WORDS


# --- Near duplicates: one-permutation MinHash with LSH bands -------------------
#
# Classic MinHash computes SIGNATURE_SIZE hashes per shingle, which in pure Python
# costs several milliseconds per article. One-permutation hashing hashes each
# shingle once, splits the hash space into SIGNATURE_SIZE bins and keeps each bin's
# minimum; empty bins borrow from a non-empty bin along a fixed probe order
# ("optimal densification", Shrivastava 2017). Two signatures then agree in a
# position with probability equal to the Jaccard similarity of the shingle sets,
# like classic MinHash, at a cost of one hash per shingle.

SHINGLE_WORDS = 3
SIGNATURE_SIZE = 128
BAND_ROWS = 4
# 32 bands of 4 rows: P(candidate) = 1 - (1 - J**4)**32 is 0.9998 at Jaccard 0.7, 0.985 at 0.6,
# 0.87 at 0.5, but 0.05 at 0.2 (same-site articles sharing boilerplate) and ~0 for unrelated texts.
# Three-row bands would catch more 0.4-0.5 pairs but make 0.2 pairs candidates 29% of the time.
BANDS = SIGNATURE_SIZE // BAND_ROWS
# Estimated Jaccard at or above this confirms a candidate. On the shared corpus, 98% of reprints of
# 150+ word articles (another first line, an added paragraph, other boilerplate) are found, and
# 0.04% of different same-site articles sharing a first sentence and boilerplate pass
# (tests/test_fingerprint.py).
NEAR_DUPLICATE_THRESHOLD = 0.4
_EMPTY = 1 << 32  # above every 32-bit bin value


def _probe_order(index: int) -> list[int]:
    """Where empty bin ``index`` looks for a value: a fixed pseudo-random order of all bins."""
    return sorted(range(SIGNATURE_SIZE), key=lambda j: hashlib.blake2b(f"{index}:{j}".encode()).digest())


_PROBES = [_probe_order(i) for i in range(SIGNATURE_SIZE)]
_PACKED = struct.Struct(f">{SIGNATURE_SIZE}I")  # C-speed (de)serialization: candidates are decoded per new item
_BAND = struct.Struct(f">{BAND_ROWS}I")
_HALVES = struct.Struct(">II")  # a shingle's bin and value, from its 8-byte digest


@dataclass(frozen=True)
class Signature:
    """SIGNATURE_SIZE 32-bit bin minima; stored as base64 (684 characters)."""

    values: tuple[int, ...]

    def to_str(self) -> str:
        return base64.b64encode(_PACKED.pack(*self.values)).decode("ascii")

    @classmethod
    def from_str(cls, text: str) -> Signature:
        raw = base64.b64decode(text, validate=True)
        if len(raw) != _PACKED.size:
            raise ValueError(f"signature has {len(raw)} bytes, expected {_PACKED.size}")
        return cls(_PACKED.unpack(raw))


def similarity_signature(text: str) -> Signature:
    """MinHash signature of the body's word shingles (texts shorter than a shingle use one shingle)."""
    return _signature(_words(text))


def _signature(words: list[str]) -> Signature:
    """The hot loop: each shingle's 8-byte BLAKE2b is split into a bin (first 4 bytes) and a value (last 4)."""
    shingles = set(map(" ".join, zip(*(words[k:] for k in range(SHINGLE_WORDS))))) or {" ".join(words)}
    bins = [_EMPTY] * SIGNATURE_SIZE
    blake2b, unpack, size = hashlib.blake2b, _HALVES.unpack, SIGNATURE_SIZE
    for shingle in shingles:
        index, value = unpack(blake2b(shingle.encode("utf-8"), digest_size=8).digest())
        index %= size
        if value < bins[index]:
            bins[index] = value
    return Signature(tuple(value if value != _EMPTY else _densified(bins, i) for i, value in enumerate(bins)))


def _densified(bins: list[int], index: int) -> int:
    """An empty bin's value: the first non-empty bin along its probe order."""
    return next(bins[j] for j in _PROBES[index] if bins[j] != _EMPTY)


def band_keys(sig: Signature) -> list[str]:
    """One key per band, ``"07:9f3a…"``; texts sharing any key are near-duplicate candidates."""
    keys = []
    for band in range(BANDS):
        rows = sig.values[band * BAND_ROWS : (band + 1) * BAND_ROWS]
        digest = hashlib.blake2b(_BAND.pack(*rows), digest_size=8).hexdigest()
        keys.append(f"{band:02d}:{digest}")
    return keys


def similarity(a: Signature, b: Signature) -> float:
    """Estimated Jaccard similarity of the two texts' shingle sets."""
    if len(a.values) != len(b.values):
        raise ValueError("signatures of different sizes")
    return sum(map(operator.eq, a.values, b.values)) / SIGNATURE_SIZE


# --- All keys of one article --------------------------------------------------


def scoped_guid(source: str, guid: str | None) -> str | None:
    """GUIDs are scoped to their feed: two feeds may both number their entries from 1."""
    return f"{source}\x1f{guid.strip()}" if guid and guid.strip() else None


@dataclass(frozen=True)
class Fingerprints:
    urls: tuple[str, ...]  # normalized entry link, final URL, canonical and page URL; no repeats
    guid: str | None  # feed-scoped: the same guid in two feeds is two items
    content: str | None  # content_hash of the body; None when the body has no words
    signature: Signature | None  # None for short bodies
    bands: tuple[str, ...]


def fingerprints(
    article: Article,
    *,
    source: str,
    guid: str | None,
    entry_url: str | None,
    final_url: str | None,
    extra_tracking_params: Iterable[str] = (),
) -> Fingerprints:
    """Every identity key of one fetched entry, ready to store and look up."""
    extra = tuple(extra_tracking_params)
    candidates = (entry_url, final_url, article.canonical_url, article.url)
    urls = (normalize_url(u, extra_tracking_params=extra) for u in candidates if u and u.strip())
    words = _words(article.text)  # once for the length check, the hash and the signature
    signature = None if len(words) < SHORT_TEXT_WORDS else _signature(words)
    return Fingerprints(
        urls=tuple(dict.fromkeys(u for u in urls if u)),
        guid=scoped_guid(source, guid),
        content=_hash_words(words) if words else None,
        signature=signature,
        bands=tuple(band_keys(signature)) if signature else (),
    )
