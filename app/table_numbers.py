"""Numbers in the command line's tables: one way, so that `run` and `inspect` print a lane alike."""

from __future__ import annotations

__all__ = ["decimals_text"]


#: From here on a number is written with ``digits`` significant digits in powers of ten: a column
#: read "1.075e+06" beside "677235.8125", whose four decimals are noise at that size.
_LARGE = 1e4


def decimals_text(value: float, digits: int) -> str:
    """``digits`` decimals, or as many significant digits in powers of ten once the number is large
    (the loss of huge weights printed 300 digits) or too small for the decimals (a learnt memory's
    loss of 2·10⁻⁴² printed 0.0000, as if it were exactly 0)."""
    if abs(value) >= _LARGE:
        return format(value, f".{digits}g")
    if value != 0 and abs(value) < 0.5 * 10.0**-digits:
        return format(value, ".3g")
    return format(value, f".{digits}f")
