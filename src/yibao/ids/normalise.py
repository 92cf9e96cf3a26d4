"""Input normalisation of document numbers (E-12)."""

from __future__ import annotations

import unicodedata

_MAX_PASSES = 8


def _one_pass(text: str) -> str:
    text = unicodedata.normalize("NFKC", text)
    text = "".join(c for c in text if not (c.isspace() or unicodedata.category(c) == "Pd"))
    return text.upper()


def normalise(raw: str) -> str:
    """Return the canonical form of a typed document number.

    NFKC folds full-width characters (``１２３``, ``ｘ``) to ASCII; every whitespace character
    (including the ideographic space U+3000) and every hyphen or dash (Unicode category Pd) is
    removed; letters are upper-cased. The steps are repeated until nothing changes, because
    removing a character or changing case can make NFKC compose again (``"A´"`` becomes ``"Á"``
    only on a second pass); so ``normalise(normalise(x)) == normalise(x)`` for every string.
    """
    text = raw
    for _ in range(_MAX_PASSES):
        folded = _one_pass(text)
        if folded == text:
            break
        text = folded
    return text


def is_ascii_digits(text: str) -> bool:
    """True for a non-empty string of 0-9 only (``str.isdigit`` also accepts other scripts' digits)."""
    return text.isascii() and text.isdigit()


def is_ascii_letters(text: str) -> bool:
    """True for a non-empty string of A-Z / a-z only."""
    return text.isascii() and text.isalpha()


def mask(number: str) -> str:
    """510***********1234: the first three and last four characters (DESIGN §5: numbers are masked
    in lists, messages and logs)."""
    if len(number) <= 7:
        return number[:1] + "*" * (len(number) - 1)
    return number[:3] + "*" * (len(number) - 7) + number[-4:]
