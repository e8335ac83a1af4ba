"""Names near a misspelt one: the one meant is named, a far one is not guessed at."""

from __future__ import annotations

import pytest

from muonscope.engine.validate import nearest, nearest_hint


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("Default", "default"),  # case
        ("momentum-order", "momentum_order"),  # a hyphen for an underscore
        ("momentum", "momentum_order"),  # the beginning of one name only
        ("sdg", "sgd"),  # two letters swapped
        ("defualt", "default"),
        ("xyz", None),  # nothing near: no guess
        ("mom", "momentum_order"),  # three letters begin a name
        ("zq", None),
        ("", None),
        (3, None),  # not a name
    ],
)
def test_the_nearest_name_is_named_and_a_far_one_is_not(typed, meant):
    choices = ["default", "momentum_order", "multi_step_recovery", "sgd", "signgd", "muon"]
    assert nearest(typed, choices) == meant


def test_another_name_of_a_choice_answers_with_the_choice():
    """A menu's text ("W") stands for the value a file writes (weights)."""
    menu = {"G and M": "gradient+momentum", "W": "weights"}
    assert nearest("w", ["gradient+momentum", "weights"], also=menu) == "weights"
    assert nearest_hint("Gand M", ["gradient+momentum"], also={"G and M": "gradient+momentum"}) == (
        " ('gradient+momentum'?)"
    )
