"""Language: declared values win; undeclared pages get a detected one, recorded as such."""

import pytest

from ingest.extract import extract

RU = "Министры иностранных дел стран ОДКБ встретились в Ереване, чтобы обсудить ситуацию на границе."
HY = "Հայաստանի արտգործնախարար Արարատ Միրզոյանը ընդունել է ՀԱՊԿ անդամ պետությունների նախարարներին։"
EN = "Armenia on Friday expressed readiness to help strengthen the Collective Security Treaty Organization."


def page(paragraph: str, lang: str = "") -> str:
    attr = f' lang="{lang}"' if lang else ""
    return f"<html{attr}><body><article><h1>Title</h1>{f'<p>{paragraph}</p>' * 3}</article></body></html>"


@pytest.mark.parametrize("text, expected", [(RU, "ru"), (HY, "hy"), (EN, "en")])
def test_detected_when_undeclared(text, expected):
    article = extract(page(text))
    assert article.language == expected and article.sources["language"] == "detected"


def test_declared_language_wins_over_detection():
    article = extract(page(RU, lang="en-GB"))
    assert article.language == "en" and article.sources["language"] == "html"


def test_short_text_is_not_guessed():
    assert extract("<html><body><p>Да.</p></body></html>").language is None
