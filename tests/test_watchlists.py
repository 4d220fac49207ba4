"""Watchlist language: match/no-match table, offsets, snippets, versions, config errors, the seed article."""

from __future__ import annotations

import unicodedata
from typing import Any

import pytest

from ingest.article import Article, Block
from ingest.watchlists import Hit, Watchlist, WatchlistError, compile_watchlists, match, schema
from ingest.watchlists.fold import fold, fold_clusters
from tests.helpers.paths import SEED_TEXT

NBSP, NNBSP = "\u00a0", "\u202f"


def wl(**table: Any) -> Watchlist:
    return Watchlist.from_config({"name": "w", **table}, "config.toml")


def article(body: str | None = None, title: str | None = None, caption: str | None = None) -> Article:
    blocks = [Block("caption", caption)] if caption is not None else []
    blocks += [Block("paragraph", body)] if body is not None else []
    return Article(title=title, blocks=blocks)


def hits_for(table: dict[str, Any], art: Article) -> list[Hit]:
    return compile_watchlists([wl(**table)]).match(art)


def field_text(art: Article, h: Hit) -> str:
    return art.title if h.field == "title" else art.blocks[h.block].text


CSTO = {"terms": ["CSTO", "Collective Security Treaty Organization"]}
ART2 = {"terms": ["Article 2"]}

CASES: list[tuple[str, dict[str, Any], Article, bool]] = [
    # word boundaries and punctuation
    ("plain", ART2, article("invoke Article 2 of the treaty"), True),
    ("prefix-of-number", ART2, article("under Article 20 of the charter"), False),
    ("letter-suffix", ART2, article("see Article 2a here"), False),
    ("number-21", ART2, article("Article 21 applies"), False),
    ("comma", ART2, article("Article 2, which"), True),
    ("possessive", ART2, article("Article 2's wording"), True),
    ("parens", ART2, article("(Article 2)"), True),
    ("full-stop", ART2, article("they invoked Article 2."), True),
    ("end-of-text", ART2, article("Article 2"), True),
    ("word-prefix-before", ART2, article("SubArticle 2 is different"), False),
    ("csto-possessive", CSTO, article("the CSTO's role"), True),
    ("csto-curly-possessive", CSTO, article("the CSTO\u2019s role"), True),
    ("csto-hyphen-compound", CSTO, article("a CSTO-led force"), True),
    ("csto-longer-word", CSTO, article("CSTOX is a ticker"), False),
    ("csto-url-slug", CSTO, article("see https://example.com/news/csto-summit"), False),
    ("csto-underscore", CSTO, article("file CSTO_report.pdf"), False),
    ("csto-digit-suffix", CSTO, article("CSTO2 exercise"), False),
    ("long-name", CSTO, article("the Collective Security Treaty Organization met"), True),
    ("long-name-lowercase", CSTO, article("a collective security treaty organization"), True),
    ("long-name-partial", CSTO, article("the Collective Security Treaty met"), False),
    # case
    ("acronym-lowercase", {"terms": ["NATO"]}, article("nato allies"), False),
    ("acronym-titlecase", {"terms": ["NATO"]}, article("Nato allies"), False),
    ("acronym-exact", {"terms": ["NATO"]}, article("NATO allies"), True),
    ("acronym-forced-insensitive", {"terms": [{"term": "NATO", "case": "insensitive"}]}, article("Nato allies"), True),
    ("word-forced-sensitive", {"terms": [{"term": "Apple", "case": "sensitive"}]}, article("an apple a day"), False),
    ("word-forced-sensitive-hit", {"terms": [{"term": "Apple", "case": "sensitive"}]}, article("Apple shares"), True),
    ("watchlist-case-sensitive", {"terms": ["Apple"], "case": "sensitive"}, article("an apple a day"), False),
    ("casefold-sharp-s", {"terms": ["strasse"]}, article("an der Straße"), True),
    ("casefold-mixed", {"terms": ["Armenian government"]}, article("THE ARMENIAN GOVERNMENT"), True),
    ("single-capital-insensitive", {"terms": ["X"]}, article("x marks"), True),
    # scripts
    ("cyrillic-acronym", {"terms": ["ОДКБ"]}, article("саммит ОДКБ в Москве"), True),
    ("cyrillic-case-suffix", {"terms": ["ОДКБ"]}, article("членами ОДКБы"), False),
    ("cyrillic-acronym-lowercase", {"terms": ["ОДКБ"]}, article("саммит одкб"), False),
    ("cyrillic-word-casefold", {"terms": ["Армения"]}, article("АРМЕНИЯ и Россия"), True),
    ("cyrillic-inflected", {"terms": ["Армения"]}, article("в Армении"), False),
    ("armenian-acronym", {"terms": ["ՀԱՊԿ"]}, article("ՀԱՊԿ-ի գագաթնաժողով"), True),
    ("armenian-inside-word", {"terms": ["ՀԱՊԿ"]}, article("ԱՀԱՊԿ"), False),
    ("armenian-word-casefold", {"terms": ["Հայաստան"]}, article("ՀԱՅԱՍՏԱՆ"), True),
    # whitespace, hyphens, apostrophes, quotes
    ("nbsp", ART2, article(f"Article{NBSP}2 applies"), True),
    ("narrow-nbsp", ART2, article(f"Article{NNBSP}2 applies"), True),
    ("line-break", ART2, article("invoke Article\n2 of"), True),
    ("tab-and-spaces", ART2, article("Article \t  2"), True),
    ("hyphen-term-en-dash", {"terms": ["Armenian-Azerbaijani"]}, article("the Armenian\u2013Azerbaijani border"), True),
    ("hyphen-term-space", {"terms": ["Armenian-Azerbaijani"]}, article("the Armenian Azerbaijani border"), True),
    ("hyphen-term-nb-hyphen", {"terms": ["Armenian-Azerbaijani"]}, article("Armenian\u2011Azerbaijani"), True),
    ("hyphen-term-em-dash", {"terms": ["Armenian-Azerbaijani"]}, article("Armenian\u2014Azerbaijani"), False),
    ("hyphen-term-joined", {"terms": ["Armenian-Azerbaijani"]}, article("ArmenianAzerbaijani"), False),
    ("soft-hyphen", {"terms": ["organization"]}, article("organ\u00adization"), True),
    ("apostrophe-straight-term", {"terms": ["Russia's war"]}, article("Russia\u2019s war"), True),
    ("apostrophe-curly-term", {"terms": ["Russia\u2019s war"]}, article("Russia's war"), True),
    ("quotes", {"terms": ['"indivisible security"']}, article("\u201cindivisible security\u201d means"), True),
    # NFKC and diacritics
    ("full-width", CSTO, article("\uff23\uff33\uff34\uff2f summit"), True),
    ("full-width-digit", ART2, article("Article \uff12 applies"), True),
    ("decomposed-text", {"terms": ["Erdoğan"]}, article(unicodedata.normalize("NFD", "Erdoğan said")), True),
    ("decomposed-term", {"terms": [unicodedata.normalize("NFD", "Erdoğan")]}, article("Erdoğan said"), True),
    ("diacritics-exact-default", {"terms": ["Erdogan"]}, article("Erdoğan said"), False),
    ("diacritics-exact-reverse", {"terms": ["Erdoğan"]}, article("Erdogan said"), False),
    ("diacritics-ignore", {"terms": ["Erdogan"], "diacritics": "ignore"}, article("Erdoğan said"), True),
    ("diacritics-ignore-reverse", {"terms": ["Erdoğan"], "diacritics": "ignore"}, article("ERDOGAN said"), True),
    ("diacritics-ignore-cyrillic", {"terms": ["Ёлка"], "diacritics": "ignore"}, article("елка"), True),
    ("diacritics-exact-cyrillic", {"terms": ["Ёлка"]}, article("елка"), False),
    # boolean rules
    ("all-present", {"all": ["Armenia", "CSTO"]}, article("Armenia and the CSTO"), True),
    ("all-one-missing", {"all": ["Armenia", "CSTO"]}, article("Armenia and Russia"), False),
    ("all-across-blocks", {"all": ["Armenia", "CSTO"]}, article("the CSTO", title="Armenia"), True),
    ("any-keyword", {"any": ["Belarus", "Kazakhstan"]}, article("Kazakhstan only"), True),
    ("any-none", {"any": ["Belarus", "Kazakhstan"]}, article("Armenia only"), False),
    ("not-blocks", {"terms": ["CSTO"], "not": ["Eurovision"]}, article("CSTO at Eurovision"), False),
    ("not-absent", {"terms": ["CSTO"], "not": ["Eurovision"]}, article("CSTO summit"), True),
    ("terms-and-all", {"terms": ["CSTO"], "all": ["Yerevan"]}, article("CSTO in Moscow"), False),
    # proximity
    ("near-close", {"near": [{"terms": ["Article 2"], "with": ["treaty"], "within": 3}]},
     article("invoke Article 2 of its founding treaty"), True),
    ("near-too-far", {"near": [{"terms": ["Article 2"], "with": ["treaty"], "within": 2}]},
     article("invoke Article 2 of its founding treaty"), False),
    ("near-reversed-order", {"near": [{"terms": ["Article 2"], "with": ["treaty"], "within": 1}]},
     article("the treaty's Article 2"), True),
    ("near-adjacent-zero", {"near": [{"terms": ["founding"], "with": ["treaty"], "within": 0}]},
     article("its founding treaty"), True),
    ("near-other-block", {"near": [{"terms": ["Article 2"], "with": ["treaty"], "within": 50}]},
     article("Article 2 applies", title="A treaty"), False),
    # field scope
    ("fields-title-only-hit", {"terms": ["CSTO"], "fields": ["title"]}, article("nothing", title="CSTO meets"), True),
    ("fields-title-only-miss", {"terms": ["CSTO"], "fields": ["title"]}, article("CSTO meets", title="News"), False),
    ("fields-captions", {"terms": ["CSTO"], "fields": ["captions"]}, article("x", caption="CSTO ministers"), True),
    ("fields-no-captions", {"terms": ["CSTO"], "fields": ["title", "body"]}, article("x", caption="CSTO"), False),
    ("fields-all-string", {"terms": ["CSTO"], "fields": "all"}, article("x", caption="CSTO"), True),
    ("fields-not-outside-scope", {"terms": ["CSTO"], "not": ["sport"], "fields": ["body"]},
     article("CSTO summit", title="sport"), True),
    # regex (RE2)
    ("regex-hit", {"regex": [r"Article\s+4\b"]}, article("under Article 4 of"), True),
    ("regex-miss", {"regex": [r"Article\s+4\b"]}, article("under Article 40 of"), False),
    ("regex-unicode", {"regex": [r"(?i)арм\pL+"]}, article("в Армении"), True),
    ("regex-with-terms", {"terms": ["NATO"], "regex": [r"\bOTAN\b"]}, article("l'OTAN"), True),
]


@pytest.mark.parametrize(("table", "art", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_match_table(table: dict[str, Any], art: Article, expected: bool) -> None:
    hits = hits_for(table, art)
    assert bool(hits) is expected, hits
    for h in hits:
        assert field_text(art, h)[h.start:h.end] == h.text


def test_offsets_point_into_original_text_after_folding() -> None:
    body = f"Ｏne: ERDOGAN,{NBSP}then Erdog\u0306an\u00ad and e\u0301te\n\tARTICLE\u00a0\u00a0 2 — Straße’s end"
    art = article(body)
    table = {"terms": ["erdogan", "ete", "Article 2", "strasse's"], "diacritics": "ignore"}
    hits = hits_for(table, art)
    assert [h.text for h in hits] == ["ERDOGAN", "Erdog\u0306an", "e\u0301te", "ARTICLE\u00a0\u00a0 2", "Straße’s"]
    assert all(body[h.start:h.end] == h.text for h in hits)


def test_hit_fields_and_blocks() -> None:
    art = article("the CSTO met", title="CSTO news", caption="CSTO ministers")
    hits = hits_for(CSTO, art)
    assert [(h.field, h.block, h.start, h.end) for h in hits] == [("title", 0, 0, 4), ("caption", 0, 0, 4),
                                                                  ("body", 1, 4, 8)]


def test_snippet_marks_match_and_trims_long_text() -> None:
    body = "word " * 60 + "the CSTO summit " + "word " * 60
    (hit,) = hits_for(CSTO, article(body))
    assert "[[CSTO]]" in hit.snippet
    assert hit.snippet.startswith("…") and hit.snippet.endswith("…")
    assert 100 <= len(hit.snippet) <= 130
    (short,) = hits_for(CSTO, article("The CSTO\nmet."))
    assert short.snippet == "The [[CSTO]] met."


def test_only_matched_watchlists_report_hits() -> None:
    lists = [Watchlist.from_config({"name": "a", "terms": ["CSTO"]}, "c.toml"),
             Watchlist.from_config({"name": "b", "all": ["CSTO", "NATO"]}, "c.toml")]
    matcher = compile_watchlists(lists)
    hits = match(article("the CSTO met"), matcher)
    assert {h.watchlist for h in hits} == {"a"}
    assert all(h.version == lists[0].version for h in hits)


def test_same_term_in_two_watchlists_and_overlapping_terms() -> None:
    lists = [Watchlist.from_config({"name": "a", "terms": ["Security Treaty", "CSTO"]}, "c.toml"),
             Watchlist.from_config({"name": "b", "terms": ["Collective Security Treaty Organization"]}, "c.toml")]
    hits = compile_watchlists(lists).match(article("the Collective Security Treaty Organization (CSTO)"))
    assert [(h.watchlist, h.text) for h in hits] == [("a", "Security Treaty"), ("a", "CSTO"),
                                                     ("b", "Collective Security Treaty Organization")]


def test_near_reports_only_close_pairs() -> None:
    table = {"near": [{"terms": ["Article 2"], "with": ["treaty"], "within": 3}]}
    body = "A treaty was signed long ago by many states. Later they invoked Article 2 of the treaty."
    hits = hits_for(table, article(body))
    assert [(h.text, h.start) for h in hits] == [("Article 2", 64), ("treaty", 81)]


def test_version_is_stable_and_tracks_the_definition() -> None:
    base = wl(terms=["CSTO"])
    assert base.version == wl(terms=["CSTO"]).version == wl(terms=[{"term": "CSTO", "case": "sensitive"}]).version
    assert len(base.version) == 12
    changed = [wl(terms=["CSTO", "NATO"]), wl(terms=[{"term": "CSTO", "case": "insensitive"}]),
               wl(terms=["CSTO"], fields=["body"]), wl(terms=["CSTO"], diacritics="ignore"),
               wl(terms=["CSTO"], **{"not": ["x"]})]
    assert len({base.version, *(w.version for w in changed)}) == len(changed) + 1


@pytest.mark.parametrize(("table", "fragments"), [
    ({"terms": ["CSTO"], "term": ["x"]}, ["'w'", "unknown key 'term'"]),
    ({"terms": "CSTO"}, ["'w'", "'terms'", "expected an array"]),
    ({"terms": ["CSTO", ""]}, ["'w'", "term ''", "empty term"]),
    ({"terms": ["  -- "]}, ["'w'", "term '  -- '", "empty term"]),
    ({"terms": [42]}, ["'w'", "term 42"]),
    ({"terms": [{"term": "Apple", "case": "upper"}]}, ["'w'", "term 'Apple'", "'case'"]),
    ({"terms": [{"term": "Apple", "kase": "sensitive"}]}, ["'w'", "term 'Apple'", "unknown key 'kase'"]),
    ({"regex": ["(unclosed"]}, ["'w'", "regex '(unclosed'"]),
    ({"regex": ["a*"]}, ["'w'", "regex 'a*'", "empty string"]),
    ({"near": [{"terms": ["Article 2"], "with": ["treaty"]}]}, ["'w'", "'Article 2'", "'within'"]),
    ({"near": [{"terms": ["Article 2"], "with": [], "within": 3}]}, ["'w'", "near.with", "at least one term"]),
    ({"terms": ["x"], "fields": ["headline"]}, ["'w'", "'fields'", "headline"]),
    ({"terms": ["x"], "diacritics": "strip"}, ["'w'", "'diacritics'"]),
    ({"terms": ["a"], "any": ["b"]}, ["'w'", "'terms' and 'any'"]),
    ({"not": ["x"]}, ["'w'", "needs at least one of"]),
])
def test_invalid_watchlists_name_file_watchlist_and_term(table: dict[str, Any], fragments: list[str]) -> None:
    with pytest.raises(WatchlistError) as info:
        wl(**table)
    message = str(info.value)
    assert "\n" not in message and message.startswith("config.toml: ")
    for fragment in fragments:
        assert fragment in message


def test_regex_without_re2_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(schema, "re2", None)  # the package is installed here; simulate its absence
    with pytest.raises(WatchlistError, match=r"config.toml: watchlist 'w': regex 'CSTO': .*pip install google-re2"):
        wl(regex=["CSTO"])
    assert wl(terms=["CSTO"]).any_of  # plain terms need no re2


def test_missing_name_is_an_error() -> None:
    with pytest.raises(WatchlistError, match="config.toml: .*'name'"):
        Watchlist.from_config({"terms": ["CSTO"]}, "config.toml")


def seed_article() -> Article:
    """The seed layout: title, lead caption, paragraphs, with the inline photo caption as a caption block."""
    title, *parts = SEED_TEXT.read_text(encoding="utf-8").split("\n\n")
    blocks = [Block("caption", parts[0])]
    blocks += [Block("caption" if p.startswith("Armenia - The foreign ministers") else "paragraph", p)
               for p in parts[1:]]
    return Article(title=title, blocks=blocks)


def test_seed_article_matches_csto_and_article_2() -> None:
    art = seed_article()
    lists = [Watchlist.from_config({"name": "csto", "terms": ["CSTO", "Collective Security Treaty Organization",
                                                              "ОДКБ", "ՀԱՊԿ"]}, "config.toml"),
             Watchlist.from_config({"name": "article-2", "terms": ["Article 2"]}, "config.toml"),
             Watchlist.from_config({"name": "nato-only", "terms": ["NATO"], "not": ["Russia"]}, "config.toml")]
    hits = compile_watchlists(lists).match(art)
    by_list = {name: [h for h in hits if h.watchlist == name] for name in ("csto", "article-2", "nato-only")}
    assert not by_list["nato-only"]
    csto = by_list["csto"]
    assert len(csto) == 10
    assert (csto[0].field, csto[0].block, csto[0].start, csto[0].end) == ("caption", 0, 84, 88)
    long_name = [h for h in csto if h.term == "Collective Security Treaty Organization"]
    assert [(h.field, h.block, h.start, h.end) for h in long_name] == [("body", 1, 61, 100)]
    assert any(h.field == "caption" and h.block == 7 for h in csto)
    (art2,) = by_list["article-2"]
    assert (art2.field, art2.block, art2.start, art2.end, art2.text) == ("body", 2, 281, 290, "Article 2")
    assert "invoke [[Article 2]] of its founding treaty" in art2.snippet
    for h in hits:
        assert field_text(art, h)[h.start:h.end] == h.text


def test_empty_matcher_and_article() -> None:
    assert compile_watchlists([]).match(seed_article()) == []
    assert hits_for(CSTO, Article()) == []


@pytest.mark.parametrize("text", [
    "plain ASCII text", "two  spaces\n\n and - dash", "  edges  ", "“Russia’s” war", f"Article{NBSP}{NNBSP}2",
    "Straße ﬁne", "soft\u00adhyphen", "e\u0301te", "\uffff x", "Russia\u00b4s \ufe63 x", "ＣＳＴＯ — ОДКБ, ՀԱՊԿ", "",
])
@pytest.mark.parametrize(("fold_case", "strip_marks"), [(True, True), (False, False), (True, False)])
def test_fast_fold_agrees_with_cluster_fold(text: str, fold_case: bool, strip_marks: bool) -> None:
    fast, slow = fold(text, fold_case, strip_marks), fold_clusters(text, fold_case, strip_marks)
    assert (fast.text, list(fast.starts), list(fast.ends)) == (slow.text, list(slow.starts), list(slow.ends))
