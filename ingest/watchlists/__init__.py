r"""Keyword watchlists: which articles mention what, with exact word semantics and full provenance.

Schema of one `[[watchlists]]` table in config.toml (every key but `name` optional; the rule
is the AND of the keys given, and needs at least one of terms/any, all, near, regex)::

    [[watchlists]]
    name = "csto"
    terms = ["CSTO", "Collective Security Treaty Organization", "ОДКБ", "ՀԱՊԿ"]  # any one ("any" = same)
    all = ["Armenia"]                     # every one must occur
    not = ["Eurovision"]                  # none may occur
    near = [{terms = ["Article 2"], with = ["treaty"], within = 10}]  # <= 10 words between, same block
    regex = ['Article\s+4\b']             # RE2 syntax, on the original text; counts like `terms`
    fields = ["title", "body", "captions"]  # or "all" (default)
    case = "auto"                         # default for terms: "auto" | "sensitive" | "insensitive"
    diacritics = "exact"                  # or "ignore": "Erdogan" also finds "Erdoğan"

A term is a string or a table `{term = "Apple", case = "sensitive"}`.  Matching rules:

- whole words: a term never matches inside a longer word ("Article 2" misses "Article 20",
  "Article 2a"); punctuation, apostrophes and hyphens are boundaries ("CSTO's", "CSTO-led").
- case "auto": a term of two or more characters whose letters are all capitals (CSTO, ОДКБ,
  U.S.) matches case-sensitively, every other term case-insensitively (Unicode casefold).
- NFKC: full-width, ligature and composed/decomposed forms match their plain forms.
- any whitespace run (no-break spaces, tabs, line breaks) matches a space; curly and straight
  apostrophes and quotes are the same; a hyphen, non-breaking hyphen, en dash or minus counts as
  a space, both in terms and in text ("Armenian-Azerbaijani" = "Armenian–Azerbaijani" =
  "Armenian Azerbaijani"); an em dash does not.  Soft hyphens and zero-width characters are ignored.
- regex patterns (google-re2) are matched as written: no folding, ASCII `\b`/`\w`; use `(?i)`.

A `Hit` points into the original text: `field_text[hit.start:hit.end] == hit.text`; its
`snippet` is ~120 characters around the match with the match marked `[[...]]` and `…` at cuts.
A matched watchlist reports the hits of its terms/any, all, regex and near (close pairs only): the first
`MAX_HITS_PER_TERM` (100) of each term in text order, each with the term's `total` occurrences.
"""

from ingest.watchlists.matcher import Hit, Matcher, compile_watchlists, match
from ingest.watchlists.schema import Near, Term, Watchlist, WatchlistError

__all__ = ["Hit", "Matcher", "Near", "Term", "Watchlist", "WatchlistError", "compile_watchlists", "match"]
