"""Where test data lives: small samples in the repository, the large corpora beside it when present.

Every test runs on the samples under tests/fixtures; only the optional whole-corpus tests read
`$INGEST_SHARED` (default ../shared) and skip without it.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures"
SEED_TEXT = FIXTURES / "seed" / "article.txt"
SEED_PAGE = FIXTURES / "pages" / "seed.html"  # the seed article's page
OTHER_PAGE = FIXTURES / "e2e" / "other.html"
FEEDS = FIXTURES / "feeds"
SAMPLE_ARTICLES = FIXTURES / "corpus" / "articles"  # laid out like shared/corpus/articles
SHARED = Path(os.environ.get("INGEST_SHARED", REPO.parent / "shared"))
