"""The numbers of the command line's tables (`run`, `inspect`): one form per size."""

import pytest

from muonscope.app.table_numbers import decimals_text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1.62621, "1.6262"),
        (0.0, "0.0000"),
        (9999.125, "9999.1250"),
        (11007.7579, "1.101e+04"),  # not 11007.7579 beside 1.075e+06 in one column
        (677235.8125, "6.772e+05"),
        (1.075e6, "1.075e+06"),
        (float("inf"), "inf"),
        (2e-42, "2e-42"),  # not 0.0000, as if it were exactly 0
        (-3e-7, "-3e-07"),
    ],
)
def test_a_number_keeps_its_decimals_until_it_is_large_or_smaller_than_them(value, text):
    assert decimals_text(value, 4) == text
