"""Per-site extraction rules: CSS selectors that override the generic heuristics."""

from __future__ import annotations

from dataclasses import dataclass, fields
from functools import lru_cache
from typing import Any

from cssselect import HTMLTranslator, SelectorError
from lxml import etree

_TRANSLATOR = HTMLTranslator()


@lru_cache(maxsize=256)
def compile_selector(selector: str) -> etree.XPath:
    """CSS to a compiled XPath (cssselect); raises SelectorError for bad CSS."""
    return etree.XPath(_TRANSLATOR.css_to_xpath(selector))


@dataclass(frozen=True)
class SiteRules:
    body: str | None = None  # the body container(s); blocks come only from matches
    remove: tuple[str, ...] = ()  # dropped before anything else
    caption: str | None = None  # elements whose text is an image caption
    date: str | None = None  # element holding the publication date (datetime attribute or text)

    def __post_init__(self) -> None:
        for sel in (self.body, self.caption, self.date, *self.remove):
            if sel is not None:
                compile_selector(sel)

    @classmethod
    def from_config(cls, table: dict[str, Any], where: str) -> SiteRules:
        """Build from a config table; any unknown key, wrong type or bad selector is a one-line ValueError."""
        known = {f.name for f in fields(cls)}
        values: dict[str, Any] = {}
        for key, value in table.items():
            if key not in known:
                raise ValueError(f"{where}: unknown key {key!r} (known: {', '.join(sorted(known))})")
            if key == "remove":
                if isinstance(value, str):
                    value = (value,)
                if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
                    raise ValueError(f"{where}: key 'remove' must be a list of CSS selectors")
                value = tuple(value)
            elif not isinstance(value, str):
                raise ValueError(f"{where}: key {key!r} must be a CSS selector string, not {type(value).__name__}")
            values[key] = value
        try:
            return cls(**values)
        except SelectorError as exc:
            raise ValueError(f"{where}: bad CSS selector: {exc}") from None
