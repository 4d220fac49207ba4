"""Language: undeclared pages get a detected one, recorded as such; a declared one stands unless `<html lang>`
plainly contradicts the text (a theme's default "en" on a German article)."""

import pytest

from ingest.extract import extract

RU = "Министры иностранных дел стран ОДКБ встретились в Ереване, чтобы обсудить ситуацию на границе."
HY = "Հայաստանի արտգործնախարար Արարատ Միրզոյանը ընդունել է ՀԱՊԿ անդամ պետությունների նախարարներին։"
EN = "Armenia on Friday expressed readiness to help strengthen the Collective Security Treaty Organization."
DE = ("Der Stadtrat hat am Dienstag über den Vorschlag beraten, der seit Monaten umstritten ist, und will bald "
      "abstimmen. Die Anwohner hatten zuvor ihre Bedenken vorgetragen.")
HR = "Vlada je u utorak raspravljala o prijedlogu koji se mjesecima osporava, a ministri su rekli da će uskoro glasati."


def page(paragraph: str, lang: str = "") -> str:
    attr = f' lang="{lang}"' if lang else ""
    return f"<html{attr}><body><article><h1>Title</h1>{f'<p>{paragraph}</p>' * 3}</article></body></html>"


@pytest.mark.parametrize("text, expected", [(RU, "ru"), (HY, "hy"), (EN, "en")])
def test_detected_when_undeclared(text, expected):
    article = extract(page(text))
    assert article.language == expected and article.sources["language"] == "detected"


def test_html_lang_gives_way_when_the_text_plainly_is_another_language():
    """Issue 17, point 8: `<html lang="en">` on a German or Russian article; the source records the declaration."""
    article = extract(page(DE, lang="en"))
    assert article.language == "de" and article.sources["language"] == "detected (html: en)"
    article = extract(page(f"{RU} {RU}", lang="en-GB"))
    assert article.language == "ru" and article.sources["language"] == "detected (html: en)"


@pytest.mark.parametrize("text, lang", [
    (EN, "en-GB"),  # agrees
    (HR, "sr"),  # a close language the model confuses: not a contradiction
    (DE[:150], "en"),  # too little text to overrule a declaration
    (DE, "xx"),  # a code the model does not know
])
def test_declared_language_stands_unless_plainly_contradicted(text, lang):
    article = extract(f"<html lang='{lang}'><body><article><p>{text}</p><p>{text}</p></article></body></html>"
                      if len(text) < 200 else page(text, lang))
    assert article.language == lang.split("-")[0] and article.sources["language"] == "html"


def test_only_html_lang_is_overruled():
    """`<meta>` and JSON-LD name the article's language more specifically than the template's `<html lang>`."""
    article = extract(f"<html><head><meta http-equiv='content-language' content='en'></head><body><article>"
                      f"{f'<p>{DE}</p>' * 3}</article></body></html>")
    assert article.language == "en" and article.sources["language"] == "meta"


def test_short_text_is_not_guessed():
    assert extract("<html><body><p>Да.</p></body></html>").language is None


def test_a_charset_in_html_lang_is_no_declaration():
    article = extract(page(RU, lang="utf-8"))
    assert article.language == "ru" and article.sources["language"] == "detected"


def test_chinese_split_among_the_models_regional_classes_still_overrules_html_lang():
    zh = "這幾天，連日細雨，民眾喜好穿著時尚、保暖的靴子出門，但大多人經常忽略了足部及靴子的保養，讓夏季常見的溼疹在冬季罕見復發。"
    article = extract(page(zh * 4, lang="en"))
    assert article.language == "zh" and article.sources["language"] == "detected (html: en)"
