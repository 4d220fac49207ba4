"""The two ways the CLI writes: `say` for people (every control made visible) and `write` for data (exact text).

Stored text comes from sites the analyst does not control. Anything printed for a person goes
through `say`, so an escape sequence in a title cannot retitle the terminal, clear the screen or
write its clipboard: controls are shown as `\\x1b`-style escapes instead. Data formats (JSON, CSV,
Atom, OPML) go through `write`, which writes the exact text as UTF-8: click.echo would strip ANSI
sequences when stdout is not a terminal, so a pipe and a file would get different bytes.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import click

# C0 controls but tab and newline, DEL, C1 controls, lone surrogates, and the Unicode controls that
# reorder or hide what follows (bidirectional overrides and isolates, line and paragraph separators).
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(text: str) -> str:
    """The text with every control character shown as an escape (tab and newline are kept)."""
    return _CONTROL.sub(_escape, text)


def one_line(text: str) -> str:
    """A field for a one-line layout: runs of whitespace (newlines included) become one space."""
    return " ".join(text.split())


def say(text: str = "", err: bool = False, nl: bool = True) -> None:
    """Print for a person (stdout, or stderr with `err`): controls visible, ANSI stripped off a terminal."""
    click.echo(visible(text), err=err, nl=nl)


def write(text: str) -> None:
    """Write data to stdout exactly as given, as UTF-8, whatever stdout is."""
    out = sys.stdout
    out.flush()
    buffer = getattr(out, "buffer", None)
    if buffer is None:  # a text-only stream (an embedder's StringIO)
        out.write(text)
        return
    buffer.write(text.encode("utf-8", "replace"))  # "replace": only lone surrogates, which UTF-8 cannot hold
    buffer.flush()


def plural(n: int, noun: str, nouns: str | None = None) -> str:
    """`1 item`, `2 items` (`nouns` for an irregular plural)."""
    return f"{n} {noun if n == 1 else nouns or noun + 's'}"


@contextmanager
def progress(length: int, label: str) -> Iterator[Callable[[int], None]]:
    """A progress bar on stderr when it is a terminal, nothing in a pipe; yields `advance(n)`."""
    if not sys.stderr.isatty():
        yield lambda n: None
        return
    with click.progressbar(length=length, label=label, file=sys.stderr) as bar:
        yield bar.update
