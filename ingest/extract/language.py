"""Language of a page that does not declare one, from its text.

py3langid (a maintained port of langid.py, model shipped in the package) is used
because it is small, offline and fast; it is only consulted when neither `<html
lang>`, `<meta>` nor JSON-LD name the language.
"""

from __future__ import annotations

import threading
from functools import lru_cache

MIN_CHARS = 200  # below this a guess is noise
MIN_CONFIDENCE = 0.9


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
