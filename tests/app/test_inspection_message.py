"""What the inspector is told about a lane's step direction, before and after the first step."""

import pytest

from muonscope.app.debugger import Inspect, inspection_message
from muonscope.engine import ExperimentConfig, LaneConfig, TaskConfig
from muonscope.engine.session import Session

MUON, SGD = 0, 1


@pytest.fixture
def session():
    lanes = (LaneConfig(optimizer="muon", lr=0.1), LaneConfig(optimizer="sgd", lr=1.0, momentum=0.0))
    return Session(ExperimentConfig(task=TaskConfig(d=8, n_items=32, batch_size=8), lanes=lanes))


@pytest.mark.parametrize("lane", [MUON, SGD])
def test_at_step_0_there_is_no_direction_and_the_line_says_so_rather_than_blaming_the_rule(session, lane):
    shown = inspection_message(session, Inspect(0, lane, "W"))
    assert shown.matrix is not None  # W = 0 exists
    assert shown.direction_sv is None and shown.polar_sv is None
    assert shown.residual_text.startswith("no step direction D at step 0")


def test_after_a_step_a_polar_lane_compares_its_map_and_a_plain_lane_says_it_has_none(session):
    session.step_once()
    muon = inspection_message(session, Inspect(1, MUON, "W"))
    assert muon.residual_text.startswith("‖map − polar‖/‖polar‖ = ")
    assert muon.direction_sv.size == 8 and muon.polar_sv.size == 8
    sgd = inspection_message(session, Inspect(1, SGD, "W"))
    assert sgd.residual_text.startswith("no polar map in this lane's rule")
    assert sgd.direction_sv.size == 8


def test_a_difference_of_lanes_is_titled_by_both(session):
    session.step_once()
    shown = inspection_message(session, Inspect(1, MUON, "W", minus_lane=SGD))
    lanes = session.snapshot().lanes
    # the lanes by number and the step first, where a narrow dock cuts a title at its end
    assert shown.title.startswith(f"W · lane {MUON} − lane {SGD} · step 1 · ")
    assert shown.title.endswith(f" · {lanes[MUON].label} − {lanes[SGD].label}")


def test_a_matrix_that_does_not_exist_is_refused_with_the_reason(session):
    at_zero = inspection_message(session, Inspect(0, MUON, "G"))
    assert at_zero.matrix is None and at_zero.message == "G does not exist at step 0: no step taken yet"
    session.step_once()
    no_buffer = inspection_message(session, Inspect(1, SGD, "M", minus_lane=MUON))
    assert no_buffer.matrix is None
    assert no_buffer.message == "M does not exist at step 1: this lane keeps no momentum buffer"
    other_has_none = inspection_message(session, Inspect(1, MUON, "M", minus_lane=SGD))
    assert other_has_none.matrix is None and other_has_none.message == "lane 1 has no M at this step"
