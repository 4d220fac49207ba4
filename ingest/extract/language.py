"""Language of a page from its text: detected when undeclared, and checked when declared.

py3langid (a maintained port of langid.py, model shipped in the package) is used
because it is small, offline and fast. A declared language (`<html lang>`, `<meta>`,
JSON-LD) is kept unless the text plainly reads as another language: `<html lang>`
is often a theme's default ("en" on a German article).
"""

from __future__ import annotations

import threading
from functools import lru_cache

MIN_CHARS = 200  # below this a guess is noise
MIN_CONFIDENCE = 0.9
# Overriding a declaration needs more: a longer text, a near-certain guess, and the declared language
# all but ruled out by the model.
CHECK_CHARS = 400
CHECK_SAMPLE = 600  # enough to contradict a declaration, and 0.4 ms a page (2000 characters cost 1.6 ms)
OVERRIDE_CONFIDENCE = 0.999
DECLARED_AT_MOST = 1e-4
# Languages the model confuses with each other (or one language under several codes): the text reading
# as another of the group does not contradict the declaration, and the group's share is the guess's confidence.
# The model's regional and historical classes go with their language.
_CLOSE = tuple(map(frozenset, (
    ("bs", "hr", "sr"), ("da", "nb", "nn", "no"), ("id", "ms"), ("zh", "yue", "wuu"), ("ar", "ary", "arz"),
    ("he", "hbo"), ("el", "grc"), ("uz", "uzs"), ("es", "pt", "gl", "ext", "an"), ("ca", "oc"),
    ("it", "vec", "lij"), ("fr", "wa"), ("nl", "af", "fy"), ("de", "lb"))))

_loading = threading.Lock()


@lru_cache(maxsize=1)
def _load():  # noqa: ANN202
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def _identifier():  # noqa: ANN202
    """The model, loaded once per process even when many threads ask at once (it costs ~1 s and 60 MB)."""
    with _loading:
        return _load()


def detect(text: str) -> str | None:
    """ISO 639-1 code, or None when the text is too short or the guess unsure."""
    if len(text) < MIN_CHARS:
        return None
    language, confidence = _identifier().classify(text[:5000])
    return language if confidence >= MIN_CONFIDENCE else None


def contradicted(declared: str, text: str) -> str | None:
    """The text's language when it plainly is not the declared one; None when the declaration stands
    (short text, an unsure guess, a close language, or a language the model does not know)."""
    if len(text) < CHECK_CHARS:
        return None
    identifier = _identifier()
    if declared not in identifier.nb_classes:
        return None
    ranked = identifier.rank(text[:CHECK_SAMPLE])
    language = ranked[0][0]
    declared_group, group = _group(declared), _group(language)
    if group == declared_group:
        return None
    confidence = sum(p for code, p in ranked if code in group)  # the model splits Chinese among zh, yue, wuu
    declared_probability = sum(p for code, p in ranked if code in declared_group)
    return language if confidence >= OVERRIDE_CONFIDENCE and declared_probability <= DECLARED_AT_MOST else None


def _group(language: str) -> frozenset[str]:
    return next((group for group in _CLOSE if language in group), frozenset((language,)))
