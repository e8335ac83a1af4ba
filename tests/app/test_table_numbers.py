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


@pytest.mark.parametrize(("eval_step", "said"), [(1, False), (0, True)])
def test_the_run_table_says_when_its_population_metrics_are_of_an_earlier_step(capsys, eval_step, said):
    """A stop that undid a long step left "step 1" printed over the numbers of step 0."""
    from muonscope.app.run_table import print_run_table
    from muonscope.engine import ExperimentConfig, LaneConfig, RunConfig, TaskConfig
    from muonscope.engine.headless import run_session
    from muonscope.engine.session import Session

    config = ExperimentConfig(
        task=TaskConfig(d=8, n_items=24, alpha=1.2, batch_size=8),
        lanes=(LaneConfig(optimizer="sgd", lr=1.0),),
        run=RunConfig(steps=1),
    )
    report = run_session(Session(config), 1).report
    report["lanes"][0]["eval_step"] = eval_step  # as a run stopped inside step 1 reports it
    print_run_table(report)
    head = capsys.readouterr().out.splitlines()[0]
    assert head.startswith("step 1 on cpu")
    assert head.endswith("; population metrics of step 0, the last evaluated") == said, head


def test_the_run_table_names_lanes_alike_in_every_setting_apart_by_their_number(capsys):
    """Two rows read "Adam β=(0.9, 0.999) lr=0.1", and which was lane 0 was left to guess."""
    from muonscope.app.cli import main

    tiny = ["--set", "task.d=8", "--set", "task.n_items=24", "--set", "task.batch_size=8", "--steps", "1"]
    lanes = [
        "--lane",
        "optimizer=adam,lr=0.1",
        "--lane",
        "optimizer=sgd,lr=1",
        "--lane",
        "optimizer=adam,lr=0.1",
    ]
    assert main(["run", *tiny, *lanes, "--no-progress"]) == 0
    rows = [
        line.split("  loss")[0].strip() for line in capsys.readouterr().out.splitlines() if "  loss" in line
    ]
    assert rows == [
        "Adam β=(0.9, 0.999) lr=0.1 (lane 0)",
        "SGD μ=0.9 sum lr=1",
        "Adam β=(0.9, 0.999) lr=0.1 (lane 2)",
    ]
