"""Article extraction: a pure function from a page's HTML to an `Article` record.

Generic heuristics (boilerplate class/id words, paragraph scores propagated to the
container, link density) with optional per-site `SiteRules` that win over them.
"""

from .encoding import decode_html
from .extractor import extract
from .rules import SiteRules

__all__ = ["SiteRules", "decode_html", "extract"]
