"""OPML: nested categories in, the same back out, hostile XML refused with a message naming the file."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ingest import config
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


# Import into a config file: `ingest sources import` (issue 26 point 4)


def opml(*outlines: tuple[str, str]) -> bytes:
    body = "".join(f'<outline text="{t}" type="rss" xmlUrl="{u}"/>' for t, u in outlines)
    return f'<?xml version="1.0"?><opml version="2.0"><body>{body}</body></opml>'.encode()


def import_opml(tmp_path, doc: bytes, cfg: str = '[[sources]]\nname = "kept"\nurl = "https://kept.example/rss"\n'):
    path, subs = tmp_path / "config.toml", tmp_path / "subs.opml"
    if not path.exists():
        path.write_text("# my sources\n" + cfg, encoding="utf-8")
    subs.write_bytes(doc)
    return path, subprocess.run([sys.executable, "-m", "ingest", "--config", str(path), "sources", "import", str(subs)],
                                capture_output=True, text=True, timeout=120)


def test_import_appends_readable_unique_names_and_keeps_the_file_mode(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text('# mine\n[[sources]]\nname = "erevan-novosti"\nurl = "https://a.example/rss"\n', encoding="utf-8")
    os.chmod(path, 0o600)
    path, out = import_opml(tmp_path, opml(("Ереван новости", "https://b.example/rss"),
                                           ("東京ニュース", "https://c.example/rss"),
                                           ("★ ☆ ★", "https://news.example.org/feed"),
                                           ("Café &amp; Zürich", "https://d.example/rss")))
    assert out.returncode == 0, out.stderr
    assert out.stdout == f"imported 4 sources into {path} (0 already there)\n"
    assert [s.name for s in config.load(path).sources] == [
        "erevan-novosti", "erevan-novosti-2", "dongjingniyusu", "news-example-org", "cafe-zurich"]
    assert path.read_text(encoding="utf-8").startswith("# mine\n")  # the text kept as it was
    assert os.stat(path).st_mode & 0o777 == 0o600
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary file left


def test_import_of_a_url_with_del_is_refused_and_the_config_left_untouched(tmp_path):
    path, out = import_opml(tmp_path, opml(("Fine", "https://fine.example/rss"), ("Bad", "https://x.example/a&#127;b")))
    before = path.read_bytes()
    assert out.returncode == 2 and out.stdout == ""
    assert out.stderr.count("\n") == 1 and "xmlUrl 'https://x.example/a\\x7fb' holds a control character" in out.stderr
    assert path.read_bytes() == before
    assert [s.name for s in config.load(path).sources] == ["kept"]


def test_toml_strings_escape_every_control_character():
    value = "https://x.example/" + "".join(map(chr, range(0x20))) + "\x7f\x85\"\\é"
    assert config.loads(f"[[sources]]\nname = 'a'\nurl = {config._toml_str(value)}\n", Path("c.toml")).sources[0].url == value


def test_a_config_that_would_not_load_is_not_written(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text('[[sources]]\nname = "a"\nurl = "https://a.example/rss"\n', encoding="utf-8")
    cfg = config.load(path)
    path.write_text('[[sources]]\nname = "a"\nurl = "https://a.example/rss"\nevery = "often"\n', encoding="utf-8")
    before = path.read_bytes()  # edited meanwhile into a config that no longer loads
    with pytest.raises(config.ConfigError, match="every: expected a duration"):
        config.append_sources(cfg, [("B", "https://b.example/rss")], "15m")
    assert path.read_bytes() == before


def test_ten_thousand_and_one_outlines_with_one_title_get_unique_names(tmp_path):
    n = 10_001
    doc = opml(*(("Same", f"https://same.example/{i}") for i in range(n)))
    started = time.monotonic()
    path, out = import_opml(tmp_path, doc, cfg="")
    assert out.returncode == 0, out.stderr
    names = [s.name for s in config.load(path).sources]
    assert len(names) == len(set(names)) == n and names[:3] == ["same", "same-2", "same-3"] and names[-1] == "same-10001"
    assert time.monotonic() - started < 60
