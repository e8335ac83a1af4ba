"""The progress bar of long commands, drawn to a stand-in terminal."""

from __future__ import annotations

import contextlib
import io
import sys
import threading

import pytest

from muonscope.app.cli_parser import build_parser
from muonscope.app.progress import ProgressBar, busy, fitted, seconds_left
from muonscope.app.run_command import run_command

TIMEOUT_S = 60


class Terminal(io.StringIO):
    """stderr as a terminal: the bar is drawn only there. Written from the ticking thread too."""

    def __init__(self) -> None:
        super().__init__()
        self.wrote = threading.Condition()

    def isatty(self) -> bool:
        return True

    def write(self, text: str) -> int:
        with self.wrote:
            written = super().write(text)
            self.wrote.notify_all()
        return written

    def wait_for(self, text: str) -> bool:
        with self.wrote:
            return self.wrote.wait_for(lambda: text in self.getvalue(), timeout=TIMEOUT_S)


def _terminal(monkeypatch) -> Terminal:
    """Set in the test itself: pytest's capture puts back the stderr a fixture had set."""
    stream = Terminal()
    monkeypatch.setattr(sys, "stderr", stream)
    return stream


def test_a_stage_reported_as_it_begins_shows_its_seconds_before_anything_is_done(monkeypatch):
    """A first step of a big memory took many seconds with nothing on the terminal: the bar appears
    once its delay has passed, at 0 done, and its elapsed time counts on without a report."""
    terminal = _terminal(monkeypatch)
    with ProgressBar(unit="step", delay_s=0.05, tick_s=0.05) as bar:
        bar(0, 2, "stepping")
        assert terminal.wait_for("stepping:   0%")
        assert terminal.wait_for("00:01")  # a second later, still at 0 of 2: the clock moved on
        assert "0/2" in terminal.getvalue()
        bar(1, 2, "stepping")  # one step in over a second: the rate shown is that, not the ticks'
        assert terminal.wait_for("1/2")
        last = terminal.getvalue().rsplit("\r", 1)[-1] or terminal.getvalue().rsplit("\r", 2)[-2]
        assert last.rstrip().endswith("s/step]"), last
        # redrawn while the next step computes: the rate of the work done stands, and the time left
        # counts down (an average over the elapsed time fell, and the time left rose with it)
        assert terminal.wait_for("<00:00,")
        after_one = [line for line in terminal.getvalue().split("\r") if "1/2" in line]
        assert len({line.rsplit(", ", 1)[-1] for line in after_one}) == 1, after_one
    assert terminal.getvalue().endswith("\r")  # a shown bar is cleared at the end (leave=False)


def test_the_time_left_follows_the_share_of_the_work_done_and_counts_down_from_the_last_report():
    assert seconds_left(60.0, 0.25, 0.0) == pytest.approx(180.0)  # a quarter in a minute: three more
    assert seconds_left(60.0, 0.25, 30.0) == pytest.approx(150.0)  # half a minute since: that much less
    assert seconds_left(60.0, 0.25, 500.0) == 0.0  # late, never below 0
    assert seconds_left(60.0, 1.0, 0.0) == 0.0
    assert seconds_left(5.0, 0.0, 0.0) is None  # nothing done yet: no pace to count from


def test_a_bar_given_the_share_of_work_done_counts_its_time_left_from_it(monkeypatch):
    """Ten cached points of twenty came back at once, then a computed one: counted by points the
    bar said a minute was almost all that was left; by their estimated cost, far more."""
    terminal = _terminal(monkeypatch)
    with ProgressBar(unit="point", delay_s=0.0, tick_s=0.05) as bar:
        bar(0, 20, "sweep", share=None)
        bar(10, 20, "sweep", share=0.0)  # the cached half: no computing done
        assert terminal.wait_for("10/20 [")
        assert terminal.getvalue().rsplit("10/20 [", 1)[-1].split("<", 1)[1].startswith("?")
        assert terminal.wait_for("00:01<")  # a second on, a point computed: 1/1000 of the work
        bar(11, 20, "sweep", share=0.001)
        assert terminal.wait_for("11/20 [")
        line = terminal.getvalue().rsplit("11/20 [", 1)[-1]
        left, rate = line.split("<", 1)[1].split("]", 1)[0].split(", ")
        assert left.count(":") == 2 or int(left.split(":")[0]) >= 10, line  # over 10 minutes left
        assert rate.endswith("s/point"), line  # one point computed in a second, not 11 in a second


def test_a_quick_stage_draws_nothing(monkeypatch):
    terminal = _terminal(monkeypatch)
    with ProgressBar(unit="step", delay_s=30, tick_s=0.01) as bar:
        bar(0, 3, "stepping")
        bar(3, 3, "stepping")
    assert terminal.getvalue() == ""


def test_a_bar_is_not_drawn_off_a_terminal(monkeypatch):
    stream = io.StringIO()  # a pipe or a log file
    monkeypatch.setattr(sys, "stderr", stream)
    with ProgressBar(delay_s=0) as bar:
        bar(0, 2, "stepping")
        bar(2, 2, "stepping")
    assert stream.getvalue() == ""


def test_a_run_reports_its_stepping_from_the_start_and_its_closing_evaluation(monkeypatch, capsys):
    """run's stages as it reports them: stepping from 0 (before the first step), then the evaluation
    of the last step, which an exact gradient of a big task makes long too."""
    import muonscope.app.progress as progress

    calls = []

    class Recorded(progress.ProgressBar):
        def __call__(self, done: int, total: int, stage: str = "") -> None:
            calls.append((done, total, stage))

    monkeypatch.setattr("muonscope.app.run_command.ProgressBar", Recorded)
    tiny = ["--set", "task.d=16", "--set", "task.n_items=64", "--set", "task.batch_size=16"]
    args = build_parser().parse_args(["run", *tiny, "--steps", "3", "--set", "run.eval_every=2"])
    assert run_command(args) == 0
    capsys.readouterr()
    stepping = [(0, 3, "stepping"), (1, 3, "stepping"), (2, 3, "stepping"), (3, 3, "stepping")]
    assert calls == [*stepping, (0, 1, "evaluating step 3")]


def test_a_stage_with_nothing_to_count_shows_its_name_and_its_seconds(monkeypatch):
    """Opening a session of 150,000 steps took 4 s and saving it 3 s, with nothing on the terminal."""
    terminal = _terminal(monkeypatch)
    with busy(True, "opening runs/s1"):
        assert terminal.wait_for("opening runs/s1 … 00:01")  # counted on without a report
    assert "%" not in terminal.getvalue() and "step" not in terminal.getvalue()  # no bar, no rate
    assert terminal.getvalue().endswith("\r")  # cleared when the block ends


def _saved_session(path, steps: int):
    """A tiny run of ``steps`` steps saved at ``path``."""
    tiny = ["--set", "task.d=16", "--set", "task.n_items=64", "--set", "task.batch_size=16"]
    args = build_parser().parse_args(["run", *tiny, "--steps", str(steps), "--save", str(path)])
    assert run_command(args) == 0
    return path


def _busy_stages(monkeypatch, *modules) -> list[tuple[bool, str]]:
    """The (enabled, stage) of each busy line ``modules`` open from now on, recorded, not drawn."""
    stages = []

    @contextlib.contextmanager
    def recorded(enabled: bool, stage: str):
        stages.append((enabled, stage))
        yield

    for module in modules:
        monkeypatch.setattr(module, "busy", recorded)
    return stages


def test_a_resumed_run_says_while_it_opens_goes_back_and_saves(monkeypatch, capsys, tmp_path):
    import muonscope.app.run_command as run_module
    import muonscope.app.run_start as start_module  # where the session is opened and rewound

    saved = _saved_session(tmp_path / "s1", 4)
    stages = _busy_stages(monkeypatch, start_module, run_module)
    again = ["run", "--resume", str(saved), "--rewind", "2", "--steps", "3", "--save", str(tmp_path / "s2")]
    assert run_command(build_parser().parse_args([*again, "--out", str(tmp_path / "tables")])) == 0
    capsys.readouterr()
    assert [stage.split(" ")[0] for _enabled, stage in stages] == ["opening", "going", "writing", "saving"]
    assert stages[1][1] == "going back to step 2" and all(enabled for enabled, _stage in stages)
    assert run_command(build_parser().parse_args([*again[:-2], "--no-progress"])) == 0
    assert not any(enabled for enabled, _stage in stages[4:])  # --no-progress: none drawn


def test_a_stage_named_wider_than_the_terminal_keeps_its_seconds_in_view(monkeypatch):
    """A 97-character path cut the line at 80 columns: the seconds never showed, the line read as frozen."""
    import muonscope.app.progress as progress

    terminal = _terminal(monkeypatch)
    monkeypatch.setattr(progress, "_terminal_columns", lambda: 40)
    path = "/tmp/sessions/experiments/2026-12-07/zipf_d32_n256_b64_long_run_for_the_paper"
    with busy(True, f"opening {path}"):
        assert terminal.wait_for("… 00:01")
    drawn = [line.rstrip() for line in terminal.getvalue().split("\r") if "00:0" in line]
    assert drawn and all(len(line) <= 40 for line in drawn), drawn
    assert drawn[-1].startswith("opening /tmp/") and "for_the_paper … 00:0" in drawn[-1]


def test_a_fitted_text_keeps_its_start_and_end():
    text = "opening /tmp/a/very/long/path/to/the/session_s1"
    assert fitted(text, 100) == text
    short = fitted(text, 21)
    assert len(short) == 21 and short.startswith("opening /t") and short.endswith("session_s1")


def test_inspect_says_while_it_opens_and_replays_unless_told_not_to(monkeypatch, capsys, tmp_path):
    import muonscope.app.inspect_command as inspect_module
    from muonscope.app.inspect_command import inspect_command

    saved = _saved_session(tmp_path / "s1", 3)
    stages = _busy_stages(monkeypatch, inspect_module)
    assert inspect_command(build_parser().parse_args(["inspect", str(saved), "--step", "2"])) == 0
    assert inspect_command(build_parser().parse_args(["inspect", str(saved), "--no-progress"])) == 0
    capsys.readouterr()
    assert [(enabled, stage.split(" ")[0]) for enabled, stage in stages] == [
        (True, "opening"),
        (True, "replaying"),
        (False, "opening"),
    ]
