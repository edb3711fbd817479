"""The one masking of phone numbers in text a person or a file may see. Pure.

The customer hash treats any spelling of a number as that number (separators, country prefixes,
full-width digits are all one customer), so masking must find the same spellings: text is first
brought to Unicode NFKC (full-width ``１３８`` → ``138``, ``－`` → ``-``) with invisible characters
(zero-width spaces and joiners, soft hyphens, BOMs) removed, then every run of digits joined by up
to three separators (spaces, hyphens and dashes of any width, ``/ . _ ( )``) that holds seven
digits or more is replaced.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

_INVISIBLE = dict.fromkeys(
    map(ord, "\u00ad\u180e\u200b\u200c\u200d\u200e\u200f\u2060\u2061\u2062\u2063\u2064\ufeff"),
    None,
)
# A digit, then digits each preceded by up to three characters that are neither letters nor
# digits (underscore counts as a separator); a leading + belongs to the number.
_RUN = re.compile(r"\+?\d(?:(?:[^\w\n]|_){0,3}\d)*")
#: How many digits make a run a phone number (an extension has 2 to 6).
MIN_DIGITS = 7
MASK = "***"


def normalise(text: str) -> str:
    """``text`` in NFKC with invisible characters removed: how the masking reads it."""
    if text.isascii():
        return text  # most of a PBX export: nothing to fold
    return unicodedata.normalize("NFKC", text).translate(_INVISIBLE)


def _digits(run: str) -> int:
    return sum(ch.isdigit() for ch in run)


def replace_numbers(text: str, replace: Callable[[str], str]) -> str:
    """``text`` (normalised) with each phone-like run replaced by ``replace(run)``."""
    return _RUN.sub(
        lambda m: replace(m.group(0)) if _digits(m.group(0)) >= MIN_DIGITS else m.group(0),
        normalise(text),
    )


def mask(text: str) -> str:
    """``text`` with every phone number spelled in it replaced by ``***``."""
    return replace_numbers(text, lambda _run: MASK)


def holds_number(text: str) -> bool:
    """Whether ``text`` spells a phone number anywhere."""
    return any(_digits(m.group(0)) >= MIN_DIGITS for m in _RUN.finditer(normalise(text)))
