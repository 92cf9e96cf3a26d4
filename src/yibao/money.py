"""Money: ``Decimal`` yuan, rounded half-up to the fen line by line (R-CONT-010), or integer fen.

Never float. ``round_fen`` is applied to each monthly, per-fund-line amount *before* summing;
``sum_lines`` only adds already rounded amounts. ``round_to_unit`` applies a regional
``rounding_unit`` (e.g. whole yuan) where a region rounds further.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Iterable

from yibao.errors import YibaoError, define

BAD_AMOUNT = define("BAD_AMOUNT", "金额无效：{value}", "invalid amount {value!r}")

FEN = Decimal("0.01")
ZERO = Decimal("0.00")


def yuan(value: str | int | Decimal, *, field: str | None = None) -> Decimal:
    """Parse an amount in yuan exactly (floats are refused: they are not exact)."""
    if isinstance(value, float) or isinstance(value, bool):
        raise YibaoError(BAD_AMOUNT, field=field, value=value)
    try:
        amount = Decimal(str(value).replace(",", "").strip())
    except (InvalidOperation, ValueError):
        raise YibaoError(BAD_AMOUNT, field=field, value=value) from None
    if not amount.is_finite():
        raise YibaoError(BAD_AMOUNT, field=field, value=value)
    return amount


def round_fen(amount: Decimal) -> Decimal:
    """Round half-up to 0.01 yuan (分): 133.3334 → 133.33, 0.005 → 0.01."""
    return amount.quantize(FEN, rounding=ROUND_HALF_UP)


def round_to_unit(amount: Decimal, unit: Decimal = FEN) -> Decimal:
    """Round half-up to a regional ``rounding_unit`` (0.01, 0.1 or 1 yuan), keeping two decimals."""
    if unit == FEN:
        return round_fen(amount)
    units = (amount / unit).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return round_fen(units * unit)


def sum_lines(amounts: Iterable[Decimal]) -> Decimal:
    """Sum amounts that are already rounded per line; the result is exact."""
    total = ZERO
    for amount in amounts:
        total += amount
    return round_fen(total)


def to_fen(amount: Decimal) -> int:
    """Yuan → integer fen, exact for rounded amounts."""
    return int(round_fen(amount) * 100)


def from_fen(fen: int) -> Decimal:
    return (Decimal(fen) / 100).quantize(FEN)


def fmt(amount: Decimal) -> str:
    """``1234.5`` → ``1,234.50`` for display."""
    return f"{round_fen(amount):,.2f}"
