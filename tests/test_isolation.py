"""One bad entry costs that entry alone: whatever is wrong with one field, the feed's other entries are stored.

The property test takes the real feeds in tests/fixtures/feeds (RSS, Atom, JSON Feed), changes one field of
one entry (dates out of range, broken or huge URLs and GUIDs, huge or odd-typed values, other scripts) or the
whole document's encoding, serves the result on loopback and polls it into a real database on each backend.
"""

from __future__ import annotations

import itertools
import json
import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from ingest.config import Source
from tests.helpers.items import stored_guids
from tests.helpers.paths import FEEDS

FORMATS = {"rss": "azatutyun.rss", "atom": "azatutyun.atom", "json": "azatutyun.json"}
ATOM = "{http://www.w3.org/2005/Atom}"
# Per kind of field, per format: the fields a mutation may hit (XML: a child's text, or "@attr" of one).
FIELDS = {
    "date": {"json": ["date_published", "date_modified"], "rss": ["pubDate"],
             "atom": [f"{ATOM}published", f"{ATOM}updated"]},
    "url": {"json": ["url"], "rss": ["link"], "atom": [f"{ATOM}link@href"]},
    "guid": {"json": ["id"], "rss": ["guid"], "atom": [f"{ATOM}id"]},
    "text": {"json": ["title", "content_html", "summary", "authors"],
             "rss": ["title", "description", "{http://purl.org/dc/elements/1.1/}creator"],
             "atom": [f"{ATOM}title", f"{ATOM}content"]},
}
DATES = ["9999-12-31T23:59:59-05:00", "0001-01-01T00:00:00+05:00", "01 Jan 0001 00:00:00 +0500",
         "Fri, 31 Dec 9999 23:59:59 -0500", "1970-01-01T00:00:00Z", "2022-02-30T25:61:00Z", "-1", "1e400",
         "Tue, 07 Jun 2022 19:45:00 +9999", "9" * 40]
URLS = ["http://[", "javascript:alert(1)", "//cdn.example/x", "ftp://example.com/a", "http://exa mple.com/ä",
        "http://" + "a" * 70 + ".example/", "https://example.com/" + "p/" * 2500, "http://127.0.0.1:99999/x", " "]
ODD = st.one_of(
    st.text(max_size=60),
    st.integers(1_000, 300_000).map(lambda n: "Ω" * n),  # sizes
    st.sampled_from(["\ud800", "\x00nul", "\u202eevil", "Հայաստան", "日本語のニュース", "😀" * 10]),  # encodings
    st.sampled_from(DATES + URLS),
)
VALUES = {"date": st.one_of(st.sampled_from(DATES), ODD), "url": st.one_of(st.sampled_from(URLS), ODD),
          "guid": ODD, "text": ODD}
JSON_TYPES = st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70), st.floats(allow_nan=True),
                       st.lists(st.integers(), max_size=3),
                       st.dictionaries(st.text(max_size=4), st.text(max_size=4), max_size=2))
_XML_INVALID = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_examples = itertools.count()


@st.composite
def mutations(draw):
    """(entry index or None, kind of field, value, encoding): one change, applied to each format's feed."""
    if draw(st.integers(0, 9)) == 0:  # the whole document in another encoding, every entry untouched
        return None, None, None, draw(st.sampled_from(["utf-16", "iso-8859-1", "utf-8-sig"]))
    kind = draw(st.sampled_from(sorted(FIELDS)))
    value = draw(st.one_of(VALUES[kind], JSON_TYPES) if draw(st.booleans()) else VALUES[kind])
    return draw(st.integers(0, 3)), kind, value, "utf-8"


def _mutated(fmt: str, index: int | None, name: str | None, value, encoding: str, nonce: str) -> tuple[bytes, list]:
    """The fixture with a nonce in every text (each example stores new items), one field changed; and the
    identities (GUIDs) of the untouched entries."""
    text = (FEEDS / FORMATS[fmt]).read_text(encoding="utf-8").replace("Armenia", f"Armenia{nonce}").replace(".am/a/", f".am/{nonce}/")
    if fmt == "json":
        doc = json.loads(text)
        ids = [item["id"] for item in doc["items"]]
        if index is not None:
            doc["items"][index][name] = value
        body = json.dumps(doc, ensure_ascii=encoding != "utf-8").encode("utf-8", "surrogatepass")
        return body, [g for i, g in enumerate(ids) if i != index]
    root = etree.fromstring(text.encode("utf-8"))
    entries = root.findall("channel/item") if fmt == "rss" else root.findall(f"{ATOM}entry")
    ids = [e.findtext("guid" if fmt == "rss" else f"{ATOM}id") for e in entries]
    if index is not None:
        tag, _, attr = name.partition("@")
        element = entries[index].find(tag)
        clean = _XML_INVALID.sub("", str(value))
        if attr:
            element.set(attr, clean)
        else:
            element.text = clean
    body = etree.tostring(root, xml_declaration=True, encoding=encoding.replace("-sig", ""))
    if encoding == "utf-8-sig":
        body = b"\xef\xbb\xbf" + body
    return body, [g for i, g in enumerate(ids) if i != index]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow, HealthCheck.data_too_large])
@given(mutation=mutations(), data=st.data())
def test_one_mutated_field_costs_at_most_its_own_entry(poller, mutation, data):
    srv, store, pipeline = poller
    index, kind, value, encoding = mutation
    types = {"rss": "application/rss+xml", "atom": "application/atom+xml", "json": "application/feed+json"}
    for fmt in sorted(FORMATS):
        n = next(_examples)
        name = data.draw(st.sampled_from(FIELDS[kind][fmt])) if kind else None
        xml_value = value if fmt == "json" or isinstance(value, str) else json.dumps(value)
        body, untouched = _mutated(fmt, index, name, xml_value, encoding, nonce=f"x{n}")
        srv.route(f"/{n}.{fmt}", body, headers={"Content-Type": types[fmt]})
        source = Source(name=f"s{n}", url=srv.url(f"/{n}.{fmt}"))
        result = pipeline.poll(source)  # raises nothing
        assert result.error is None, result.error
        assert result.failed <= 1
        assert set(untouched) <= stored_guids(store, source.name)


def test_dates_out_of_range_fail_nothing_and_the_feed_is_stored(poller):
    srv, store, pipeline = poller
    doc = json.loads((FEEDS / "azatutyun.json").read_text(encoding="utf-8"))
    doc["items"][0]["date_published"] = "9999-12-31T23:59:59-05:00"
    doc["items"][1]["date_published"] = "0001-01-01T00:00:00+05:00"
    srv.route("/feed.json", json.dumps(doc), headers={"Content-Type": "application/feed+json"})
    result = pipeline.poll(Source(name="json", url=srv.url("/feed.json")))
    assert (result.error, result.new, result.failed) == (None, 4, 0)
    assert stored_guids(store, "json") == {item["id"] for item in doc["items"]}
