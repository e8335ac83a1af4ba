"""Breakpoint expressions: what parses, what is refused and why, and when a breakpoint holds on a real run."""

import dataclasses
import json
import math
import subprocess
import sys
from dataclasses import replace

import pytest

from muonscope.engine import (
    OPTIMIZERS,
    ConfigError,
    Experiment,
    ExperimentConfig,
    LaneConfig,
    RunConfig,
    TaskConfig,
)
from muonscope.engine.breakpoints import (
    DIVERGED,
    METRIC_NAMES,
    OPERATORS,
    POPULATION_METRICS,
    Breakpoint,
    breakpoint_from_dict,
    breakpoint_to_dict,
    first_hit,
    follow_relabelled_lanes,
    parse_breakpoint,
)
from muonscope.engine.history import COLUMNS
from muonscope.engine.scalar_metrics import SCALAR_METRICS

SMALL = TaskConfig(d=16, n_items=64, alpha=1.5, batch_size=32)
EVAL_EVERY, SPECTRA_EVERY, STEPS = 3, 2, 14
SGD = LaneConfig(optimizer="sgd", lr=20.0, momentum=0.9, buffer="sum")
ADAM = LaneConfig(optimizer="adam", lr=0.05, momentum=0.9)
LABELS = (SGD.display_label(), ADAM.display_label())  # e.g. "SGD μ=0.9 lr=20": spaces and '='


def _config(*lanes, run=None):
    run = run or RunConfig(eval_every=EVAL_EVERY, spectra_every=SPECTRA_EVERY)
    return ExperimentConfig(task=SMALL, lanes=tuple(lanes), run=run)


def _run(experiment, steps):
    """The snapshots after steps 0, 1, …, ``steps``."""
    snapshots = [experiment.snapshot()]
    for _ in range(steps):
        experiment.step()
        snapshots.append(experiment.snapshot())
    return snapshots


@pytest.fixture(scope="module")
def run():
    """Two lanes (SGD, Adam) with population evaluation every 3 steps and spectra every 2."""
    return _run(Experiment(_config(SGD, ADAM)), STEPS)


def _hits(bp, snapshots):
    return {s.step: bp.check(s) for s in snapshots if bp.check(s) is not None}


class TestParsing:
    @pytest.mark.parametrize(
        ("text", "lane", "metric", "op", "threshold"),
        [
            ("loss < 0.5", None, "loss", "<", 0.5),
            ("1:recovered >= 300", 1, "recovered", ">=", 300.0),
            ("  0 : alignment>0.9 ", 0, "alignment", ">", 0.9),
            ("gap != 0", None, "gap", "!=", 0.0),
            ("accuracy == 1", None, "accuracy", "==", 1.0),
            ("batch_loss <= 1e-3", None, "batch_loss", "<=", 1e-3),
            ("sin_theta>-inf", None, "sin_theta", ">", -math.inf),
            ("excess_loss < +.5E+1", None, "excess_loss", "<", 5.0),
            ("loss < inf", None, "loss", "<", math.inf),
            ("diverged", None, DIVERGED, None, None),
            ("2:diverged", 2, DIVERGED, None, None),
            (" 2 :  diverged ", 2, DIVERGED, None, None),
        ],
    )
    def test_good_expressions(self, text, lane, metric, op, threshold):
        bp = parse_breakpoint(text)
        assert (bp.lane, bp.metric, bp.op, bp.threshold) == (lane, metric, op, threshold)
        assert bp.text == text.strip()
        assert bp.enabled
        assert bp == parse_breakpoint(text, lane_labels=("a", "b", "c"))

    def test_a_lane_by_label_with_spaces_and_equals_signs(self):
        text = f"{LABELS[1]}: loss < 0.5"
        assert "=" in LABELS[1] and " " in LABELS[1]
        for labels in (LABELS, None):
            bp = parse_breakpoint(text, lane_labels=labels)
            assert (bp.lane, bp.metric, bp.op, bp.threshold) == (LABELS[1], "loss", "<", 0.5)

    def test_a_label_containing_a_colon_is_everything_before_the_last_colon(self):
        labels = ("run: a", "run: a (b=1, c)")
        bp = parse_breakpoint("run: a (b=1, c): gap > 1", lane_labels=labels)
        assert bp.lane == "run: a (b=1, c)"
        assert parse_breakpoint("run: a: gap > 1", lane_labels=labels).lane == "run: a"
        assert parse_breakpoint("run: a (b=1, c):gap>1").lane == "run: a (b=1, c)"

    def test_every_metric_of_the_history_parses_and_nothing_else_is_a_metric(self):
        assert METRIC_NAMES == tuple(SCALAR_METRICS) == COLUMNS[3:]
        for name in METRIC_NAMES:
            for op in OPERATORS:
                assert parse_breakpoint(f"{name} {op} 1").metric == name

    def test_population_metrics_are_the_evaluated_ones(self):
        assert {"loss", "accuracy", "recovered"} <= POPULATION_METRICS < set(METRIC_NAMES)
        assert POPULATION_METRICS.isdisjoint({"batch_loss", "gap", "alignment"})
        assert parse_breakpoint("accuracy > 0.5").population
        assert not parse_breakpoint("batch_loss > 0.5").population

    @pytest.mark.parametrize(
        ("text", "reason"),
        [
            ("los < 0.5", "unknown metric 'los'"),
            ("Loss < 0.5", "unknown metric 'Loss'"),
            ("Diverged", "unknown metric 'Diverged'"),
            ("gap_rank > 1", "unknown metric 'gap_rank'"),
            ("loss => 0.5", "'=>' is not a comparison"),
            ("loss = 0.5", "'=' is not a comparison"),
            ("loss <> 0.5", "'<>' is not a comparison"),
            ("loss 0.5", "'0.5' is not a comparison"),
            ("loss", "missing a comparison"),
            ("loss <", "missing a number after '<'"),
            ("loss < nan", "nan"),
            ("loss < -NaN", "nan"),
            ("loss < abc", "'abc' is not a number"),
            ("loss < 0.5 0.3", "unexpected '0.3' after the number"),
            ("loss < 1_000", "unexpected '_000'"),
            ("loss <= 1e-400", "1e-400 is below the smallest float (about 5e-324): it would read as 0"),
            ("loss < 2e308", "2e308 is past the largest float (about 1.8e308); write inf"),
            ("loss < -inf", "no finite value is < -inf, so it never holds"),
            ("gap >= inf", "no finite value is >= inf, so it never holds"),
            ("accuracy == inf", "no finite value is == inf"),
            ("diverged > 1", "'diverged' takes no comparison"),
            ("2: loss < 1", "lane 2 does not exist; lanes are 0 to 1"),
            ("SGD: loss < 1", "no lane is labelled 'SGD'"),
            (": loss < 1", "nothing before ':'"),
            ("loss < 1:", "nothing after ':'"),
            ("< 1", "expected a metric name"),
            ("", "empty"),
            ("   ", "empty"),
            ("loss\n< 0.5", "one line"),
            ("0: loss < 0.5\r\n1: loss < 0.3", "one line"),
        ],
    )
    def test_bad_expressions_name_the_expression_and_what_is_allowed(self, text, reason):
        with pytest.raises(ConfigError) as info:
            parse_breakpoint(text, lane_labels=LABELS, where="--until")
        message = str(info.value)
        assert info.value.field == "--until"
        assert message.startswith(f"--until = {text.strip()!r} is not allowed: ")
        assert reason in message

    def test_an_unknown_metric_lists_the_metrics(self):
        with pytest.raises(ConfigError) as info:
            parse_breakpoint("lost < 1")
        assert all(name in str(info.value) for name in (*METRIC_NAMES, DIVERGED))

    @pytest.mark.parametrize("metric", ["recovered", "loss", "accuracy", "batch_loss"])
    def test_a_metric_the_task_never_measures_is_refused(self, metric):
        """A gradient stream has no items: "recovered >= 0" on it waited for ever, unsaid."""
        with pytest.raises(ConfigError) as info:
            parse_breakpoint(f"{metric} >= 0", task_kind="spiked", where="--until")
        assert f"a spiked task has no items, so no {metric}" in str(info.value)
        assert "alignment" in str(info.value).rpartition("it measures")[2]  # what it can stop on
        assert parse_breakpoint(f"{metric} >= 0", task_kind="zipf").metric == metric
        assert parse_breakpoint("alignment > 0.5", task_kind="spiked").metric == "alignment"

    def test_an_unknown_label_lists_the_lanes(self):
        with pytest.raises(ConfigError) as info:
            parse_breakpoint("Muon: loss < 1", lane_labels=LABELS)
        assert all(f"{i}: {label!r}" in str(info.value) for i, label in enumerate(LABELS))

    def test_without_lanes_any_index_or_label_is_taken(self):
        assert parse_breakpoint("7: loss < 1").lane == 7
        assert parse_breakpoint("Muon: loss < 1").lane == "Muon"
        with pytest.raises(ConfigError, match="there are no lanes"):
            parse_breakpoint("0: loss < 1", lane_labels=())

    def test_long_or_non_text_input_is_refused(self):
        with pytest.raises(ConfigError, match="longer than 200 characters"):
            parse_breakpoint("loss < " + "1" * 194)
        assert parse_breakpoint("loss < " + "1" * 193).threshold == float("1" * 193)
        with pytest.raises(ConfigError, match="must be text"):
            parse_breakpoint(0.5)


class TestCadence:
    def test_a_population_metric_holds_only_at_evaluated_steps(self, run):
        """``accuracy >= 0`` holds for any accuracy, yet only where the population was evaluated."""
        bp = parse_breakpoint("accuracy >= 0")
        stale_but_satisfying = [
            s for s in run if s.step % EVAL_EVERY and s.lanes[0].eval_step >= 0 and s.lanes[0].accuracy >= 0
        ]
        assert stale_but_satisfying, "the run should have steps with an earlier, satisfying accuracy"
        for snapshot in run:
            hit = bp.check(snapshot)
            assert (hit is not None) == (snapshot.step % EVAL_EVERY == 0), snapshot.step
        assert all(bp.check(s) is None for s in stale_but_satisfying)

    def test_a_stale_value_that_satisfies_the_condition_does_not_trigger(self, run):
        stale = next(s for s in run if s.step % EVAL_EVERY and s.lanes[0].recovered > 0)
        bp = parse_breakpoint(f"0:recovered >= {stale.lanes[0].recovered}")
        assert bp.check(stale) is None
        evaluated = next(s for s in run if s.lanes[0].eval_step == s.step == stale.lanes[0].eval_step)
        hit = bp.check(evaluated)
        assert hit is not None and hit.value == stale.lanes[0].recovered

    def test_a_spectral_metric_holds_only_at_spectra_steps(self, run):
        bp = parse_breakpoint("gap > -inf")
        held = sorted(_hits(bp, run))
        assert held == [s.step for s in run if s.step and s.step % SPECTRA_EVERY == 0]

    def test_batch_loss_is_checked_at_every_step(self, run):
        assert sorted(_hits(parse_breakpoint("batch_loss > -inf"), run)) == list(range(1, STEPS + 1))


class TestWhenItHolds:
    def test_a_threshold_fires_first_at_the_step_it_is_first_crossed(self, run):
        losses = [s.lanes[1].batch_loss for s in run]
        threshold = (losses[1] + min(losses[1:])) / 2
        first = next(s.step for s in run if s.lanes[1].batch_loss < threshold)  # the oracle
        assert first > 1
        bp = parse_breakpoint(f"1:batch_loss < {threshold!r}", lane_labels=LABELS)
        assert bp.threshold == threshold
        for snapshot in run:
            hit = first_hit([bp], snapshot)
            if snapshot.step < first:
                assert hit is None, snapshot.step
            elif snapshot.step == first:
                assert hit is not None
                assert (hit.step, hit.lane_index, hit.lane_label) == (first, 1, LABELS[1])
                assert hit.value == snapshot.lanes[1].batch_loss < threshold

    def test_any_lane_reports_the_first_lane_by_index_that_holds(self, run):
        for snapshot in run[1:]:
            low = min(lane.batch_loss for lane in snapshot.lanes)
            high = max(lane.batch_loss for lane in snapshot.lanes)
            if low == high:
                continue
            hit = parse_breakpoint(f"batch_loss <= {low!r}").check(snapshot)
            expected = next(lane.index for lane in snapshot.lanes if lane.batch_loss <= low)
            assert hit is not None and hit.lane_index == expected
            assert parse_breakpoint("batch_loss > -inf").check(snapshot).lane_index == 0

    def test_a_lane_by_index_or_label_selects_only_that_lane(self, run):
        snapshot = run[1]
        for index, label in enumerate(LABELS):
            for lane in (str(index), label):
                hit = parse_breakpoint(f"{lane}: batch_loss > -inf", lane_labels=LABELS).check(snapshot)
                assert (hit.lane_index, hit.lane_label) == (index, label)
        assert parse_breakpoint("5: batch_loss > -inf").check(snapshot) is None
        assert parse_breakpoint("Muon: batch_loss > -inf").check(snapshot) is None

    def test_a_label_several_lanes_bear_watches_each_of_them(self, run):
        """The hit names the lane that met it, not the first lane bearing the label."""
        snapshot = next(s for s in run[1:] if len({lane.batch_loss for lane in s.lanes}) == 2)
        alike = replace(snapshot, lanes=tuple(replace(lane, label="x") for lane in snapshot.lanes))
        for lane in alike.lanes:
            other = next(o for o in alike.lanes if o.index != lane.index)
            op = "<=" if lane.batch_loss < other.batch_loss else ">="
            hit = parse_breakpoint(f"x: batch_loss {op} {lane.batch_loss!r}", lane_labels=("x", "x")).check(
                alike
            )
            assert (hit.lane_index, hit.lane_label) == (lane.index, "x")

    def test_disabled_breakpoints_never_fire_and_first_hit_takes_the_first_enabled(self, run):
        always = parse_breakpoint("batch_loss > -inf")
        off = dataclasses.replace(always, enabled=False)
        second = parse_breakpoint("1: batch_loss > -inf")
        assert all(off.check(s) is None for s in run)
        assert all(first_hit([off], s) is None for s in run)
        hit = first_hit([parse_breakpoint("loss < -1"), off, second, always], run[1])
        assert hit.breakpoint is second and hit.lane_index == 1
        assert first_hit([], run[1]) is None

    def test_the_message_says_where_why_and_the_value(self, run):
        snapshot = run[EVAL_EVERY]
        value = snapshot.lanes[0].loss
        hit = parse_breakpoint(f"0: loss < {value * 2!r}").check(snapshot)
        assert hit.message == (
            f"Paused at step {EVAL_EVERY}: breakpoint '0: loss < {value * 2!r}' holds for "
            f"lane 0 ({LABELS[0]}): loss = {value:.6g}; untick it under Breakpoints to play on past it"
        )
        recovered = parse_breakpoint("recovered >= 0").check(snapshot)
        assert f": recovered = {snapshot.lanes[0].recovered};" in recovered.message
        assert recovered.holding_already() == (
            f"Breakpoint 'recovered >= 0' holds already at step {EVAL_EVERY} for lane 0 ({LABELS[0]}): "
            f"recovered = {snapshot.lanes[0].recovered}; it pauses the run at the next step where it holds."
        )


class TestDivergence:
    DIVERGES_AT = 4

    @pytest.fixture
    def diverging_run(self, monkeypatch):
        """Lane 1's rule turns infinite at its 4th call, so its 4th update is not finite.

        A real optimizer on this task does not overflow in float64 within a test's steps (the
        gradient of the cross-entropy is bounded and lr is capped), so the rule is replaced, as in
        test_experiment's divergence test, to make the diverging step known in advance.
        """
        calls = []

        def rule(g, state, lane):
            calls.append(1)
            return g * math.inf if len(calls) >= self.DIVERGES_AT else g

        monkeypatch.setitem(OPTIMIZERS, "ngd", dataclasses.replace(OPTIMIZERS["ngd"], rule=rule))
        snapshots = _run(Experiment(_config(ADAM, LaneConfig(optimizer="ngd", lr=0.1))), 8)
        first = next(s.step for s in snapshots if s.lanes[1].diverged)  # the oracle
        assert first == self.DIVERGES_AT
        return snapshots

    def test_diverged_fires_at_the_diverging_step_only(self, diverging_run):
        label = diverging_run[-1].lanes[1].label
        for text in ("diverged", "1:diverged", f"{label}: diverged"):
            hits = _hits(parse_breakpoint(text), diverging_run)
            assert sorted(hits) == [self.DIVERGES_AT], text
            hit = hits[self.DIVERGES_AT]
            assert (hit.lane_index, hit.lane_label, hit.value) == (1, label, None)
            paused = f"Paused at step {self.DIVERGES_AT}: lane 1 ({label}) diverged (breakpoint '{text}')"
            cause = diverging_run[self.DIVERGES_AT].lanes[1].diverged_cause
            assert cause.startswith("its step lr·D is not finite")  # the rule's direction was inf
            assert hit.message == f"{paused} because {cause}"
        assert _hits(parse_breakpoint("0:diverged"), diverging_run) == {}

    def test_a_diverged_lane_no_longer_holds_metric_conditions(self, diverging_run):
        assert all(math.isfinite(s.lanes[1].batch_loss) for s in diverging_run[1:])
        held = _hits(parse_breakpoint("1: batch_loss > -inf"), diverging_run)
        assert sorted(held) == list(range(1, self.DIVERGES_AT))


class TestSaving:
    @pytest.mark.parametrize("enabled", [True, False])
    def test_round_trip_through_json(self, enabled):
        bp = dataclasses.replace(parse_breakpoint(f" {LABELS[0]}: accuracy >= 0.99 "), enabled=enabled)
        data = json.loads(json.dumps(breakpoint_to_dict(bp)))
        assert data == {"text": f"{LABELS[0]}: accuracy >= 0.99", "enabled": enabled}
        assert breakpoint_from_dict(data) == bp
        assert breakpoint_from_dict(data, lane_labels=LABELS) == bp

    def test_enabled_defaults_to_true(self):
        assert breakpoint_from_dict({"text": "diverged"}) == parse_breakpoint("diverged")

    @pytest.mark.parametrize(
        ("data", "field", "reason"),
        [
            ("loss < 1", "bp", "must be a table"),
            ({"text": "loss < 1", "lane": 0}, "bp", "only 'text' and 'enabled'"),
            ({"text": "loss < 1", "metric": "x", "enabled": True}, "bp", "only 'text' and 'enabled'"),
            ({"enabled": True}, "bp", "needs its 'text'"),
            ({"text": "loss < 1", "enabled": "yes"}, "bp.enabled", "true or false"),
            ({"text": "loss < 1", "enabled": 1}, "bp.enabled", "true or false"),
            ({"text": 3}, "bp.text", "must be text"),
            ({"text": "loss => 1"}, "bp.text", "not a comparison"),
            ({"text": "5: loss < 1"}, "bp.text", "lane 5 does not exist"),
        ],
    )
    def test_a_bad_saved_breakpoint_is_refused(self, data, field, reason):
        with pytest.raises(ConfigError, match=reason) as info:
            breakpoint_from_dict(data, lane_labels=LABELS, where="bp")
        assert info.value.field == field

    def test_parsing_loads_neither_torch_nor_numpy(self):
        probe = (
            "import sys\n"
            "from muonscope.engine.breakpoints import parse_breakpoint\n"
            "parse_breakpoint('0: loss < 0.5', ['a'])\n"
            "print(' '.join(m for m in ('torch', 'numpy', 'PySide6') if m in sys.modules))\n"
        )
        proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.strip() == ""


def test_a_breakpoint_is_a_plain_value():
    bp = parse_breakpoint("loss < 0.5")
    assert isinstance(bp, Breakpoint)
    assert bp == Breakpoint("loss < 0.5", None, "loss", "<", 0.5)
    assert hash(bp) == hash(parse_breakpoint("loss < 0.5"))
    with pytest.raises(dataclasses.FrozenInstanceError):
        bp.enabled = False  # type: ignore[misc]


def test_a_relabelled_lane_takes_the_breakpoints_naming_it_along():
    before, after = ["SGD lr=0.5", "Adam lr=0.01"], ["SGD lr=0.3", "Adam lr=0.01"]
    written = [
        parse_breakpoint("SGD lr=0.5: loss <= 1e-3", before),
        parse_breakpoint("Adam lr=0.01: diverged", before),
        parse_breakpoint("0: loss < 0.5", before),
    ]
    disabled = [dataclasses.replace(written[0], enabled=False), *written[1:]]
    followed = follow_relabelled_lanes(disabled, before, after)
    assert followed[0] == dataclasses.replace(
        parse_breakpoint("SGD lr=0.3: loss <= 1e-3", after), enabled=False
    )
    assert followed[1:] == written[1:]  # a label still borne, and an index, stay as written


def test_a_label_several_lanes_bore_stays_when_they_part():
    before, after = ["twin", "twin"], ["twin a", "twin b"]
    written = [parse_breakpoint("twin: loss < 0.5", before)]
    assert follow_relabelled_lanes(written, before, after) == written
    assert follow_relabelled_lanes(written, before, ["both", "both"])[0].text == "both: loss < 0.5"


def test_a_population_breakpoint_checked_on_the_last_evaluation_names_its_step():
    """Between evaluations ``check`` finds nothing (no stale value triggers a pause), while the check
    made when a breakpoint is set reads the value last evaluated, at its step."""
    experiment = Experiment(_config(SGD, ADAM))
    experiment.step(EVAL_EVERY + 1)
    snapshot = experiment.snapshot()
    held = parse_breakpoint("accuracy >= 0", LABELS)
    assert held.check(snapshot) is None
    hit = held.check_last_measured(snapshot)
    assert (hit.step, hit.lane_index) == (EVAL_EVERY, 0)
    assert hit.value == snapshot.lanes[0].accuracy
    assert parse_breakpoint("accuracy > 2", LABELS).check_last_measured(snapshot) is None
    per_step = parse_breakpoint("batch_loss > -inf", LABELS).check_last_measured(snapshot)
    assert per_step.step == EVAL_EVERY + 1


def test_a_ratio_gap_rank_is_undefined_where_there_is_no_ratio_gap():
    """Rank 0 stood for "no ratio gap" in the table and the JSON, and `1:ratio_gap_rank < 1` stopped
    a run at step 1 on it."""
    import dataclasses

    from muonscope.engine.scalar_metrics import read_value
    from muonscope.engine.snapshot import LaneSnapshot

    lane = LaneSnapshot(0, "a", "muon", "pre", 0.05, 0.95, ratio_gap=math.nan, ratio_gap_rank=0)
    assert math.isnan(read_value(lane, "ratio_gap_rank"))  # no rank a breakpoint can compare
    measured = dataclasses.replace(lane, ratio_gap=3.5, ratio_gap_rank=4)
    rank = read_value(measured, "ratio_gap_rank")
    assert rank == 4 and isinstance(rank, int)
