"""OPML: nested categories in, the same back out, hostile XML refused with a message naming the file."""

import pytest

from ingest.opml import OpmlSource, parse_opml, to_opml

NESTED = b"""<?xml version="1.0" encoding="UTF-8"?>
<opml version="2.0">
  <head><title>Subscriptions</title></head>
  <body>
    <outline text="Top" xmlUrl="https://top.example/feed"/>
    <outline text="News">
      <outline text="Caucasus">
        <outline text="Azatutyun" title="\xd4\xb1\xd5\xa6\xd5\xa1\xd5\xbf\xd5\xb8\xd6\x82\xd5\xa9\xd5\xb5\xd5\xb8\xd6\x82\xd5\xb6"
                 type="rss" xmlUrl="https://www.azatutyun.am/api/feed" htmlUrl="https://www.azatutyun.am/"/>
      </outline>
      <outline text="RFE/RL" xmlUrl=" https://www.rferl.org/api/feed "/>
    </outline>
    <outline text="Tagged" xmlUrl="https://tagged.example/rss" category="/Tech/Linux,/Other"/>
    <outline text="an empty folder"/>
  </body>
</opml>"""


def test_nested_outlines_give_categories():
    assert parse_opml(NESTED, "subs.opml") == [
        OpmlSource("Top", "https://top.example/feed"),
        OpmlSource("Ազատություն", "https://www.azatutyun.am/api/feed", "https://www.azatutyun.am/", "News/Caucasus"),
        OpmlSource("RFE/RL", "https://www.rferl.org/api/feed", None, "News"),
        OpmlSource("Tagged", "https://tagged.example/rss", None, "Tech/Linux"),
    ]


def test_round_trip():
    sources = parse_opml(NESTED, "subs.opml")
    exported = to_opml(sources)
    assert exported.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<opml version="2.0">')
    assert parse_opml(exported.encode(), "export.opml") == sources
    # one folder element per category path, not one per source
    assert exported.count('text="News"') == 1


def test_name_falls_back_to_the_url():
    doc = b'<opml version="1.0"><body><outline xmlUrl="https://x.example/rss"/></body></opml>'
    assert parse_opml(doc, "f") == [OpmlSource("https://x.example/rss", "https://x.example/rss")]


BILLION_LAUGHS = ('<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY l0 "lol">'
                  + "".join(f'<!ENTITY l{i} "{("&l%d;" % (i - 1)) * 10}">' for i in range(1, 10))
                  + ']><opml version="2.0"><body><outline text="&l9;" xmlUrl="https://a.example/"/></body></opml>')
SMALL_LAUGHS = ('<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]>'
                '<opml version="2.0"><body><outline text="&b;" xmlUrl="https://a.example/"/></body></opml>')
XXE_ATTRIBUTE = ('<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
                 '<opml version="2.0"><body><outline text="&x;" xmlUrl="https://a.example/"/></body></opml>')
XXE_TEXT = ('<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
            '<opml version="2.0"><head><title>&x;</title></head><body/></opml>')


@pytest.mark.parametrize("doc, message", [
    (BILLION_LAUGHS, "not well-formed XML"),
    (SMALL_LAUGHS, "entity declarations are not allowed"),
    (XXE_ATTRIBUTE, "not well-formed XML"),
    (XXE_TEXT, "entity declarations are not allowed"),
    ("<opml><body><outline", "not well-formed XML"),
    ("<rss version='2.0'/>", r"not an OPML document \(root element <rss>\)"),
    ("<opml version='2.0'><head/></opml>", "OPML document without <body>"),
    ("<opml><body><outline text='f' xmlUrl='file:///etc/passwd'/></body></opml>", "line 1: xmlUrl .* not an http"),
])
def test_bad_and_hostile_documents_are_one_line_errors(doc, message):
    with pytest.raises(ValueError, match=message) as error:
        parse_opml(doc.encode(), "subs.opml")
    assert str(error.value).startswith("subs.opml: ")
    assert "\n" not in str(error.value) and "root:" not in str(error.value)
