"""How a number reads on screen: one form for tick labels, legends, captions and hover readouts.

pyqtgraph and Python's ``g`` format write "2.19e-37" and "1.2e+04" beside axes whose ticks read
"10⁻³⁷" and "10⁴"; here a number is a plain decimal while its exponent lies in the range an axis
also labels in plain decimals, and "m·10ᵉ" beyond it.
"""

from __future__ import annotations

import math

__all__ = ["PLAIN_DECADES", "number_text", "power_text"]

#: Decimal exponents written in plain digits ("0.0001" … "999999"); beyond them, powers of ten.
PLAIN_DECADES = (-4, 5)

_SUPERSCRIPTS = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def power_text(exponent: int) -> str:
    """10 to ``exponent`` in superscript digits: "10⁻³⁷"."""
    return "10" + str(exponent).translate(_SUPERSCRIPTS)


def number_text(value: float, significant: int = 3, keep_zeros: bool = False) -> str:
    """``value`` to ``significant`` digits: "0.0263", "0.5", "123", "12346", "2.19·10⁻³⁷", "10⁷".

    Whole numbers of up to six digits keep all of them (a count of 12346 is not "1.23·10⁴"); the
    decimal point goes only where digits follow it. ``keep_zeros`` keeps trailing zeros where values
    are read side by side ("2.80 beside 5.36": "2.8" read as known to fewer digits).
    """
    if not math.isfinite(value):
        return "nan" if math.isnan(value) else ("∞" if value > 0 else "−∞")
    if value == 0:
        return "0"
    rounded = float(f"{value:.{significant - 1}e}")  # 9.999e-5 → 1.00e-4: the exponent after rounding
    exponent = math.floor(math.log10(abs(rounded)))
    if PLAIN_DECADES[0] <= exponent <= PLAIN_DECADES[1]:
        if exponent >= significant - 1:
            return f"{round(value):d}"
        return _trimmed(f"{rounded:.{significant - 1 - exponent}f}", keep_zeros)
    mantissa = _trimmed(f"{rounded / 10.0**exponent:.{significant - 1}f}", keep_zeros)
    return power_text(exponent) if mantissa == "1" else f"{mantissa}·{power_text(exponent)}"


def _trimmed(digits: str, keep_zeros: bool) -> str:
    return digits if keep_zeros else digits.rstrip("0").rstrip(".")
