"""Recording: ``muonscope record`` (MP4 and GIF, a frame per step, the same frames every time), the
broader ``muonscope shot``, and the window's ● record button (every step taken, none doubled)."""

import json
import os
import re
import signal
import struct
import subprocess
import sys
from importlib import resources
from types import SimpleNamespace
from xml.etree import ElementTree

import imageio_ffmpeg
import numpy as np
import pytest
from PySide6 import QtCore, QtGui, QtWidgets

from muonscope.app.cli import main
from muonscope.app.cli_parser import build_parser
from muonscope.app.config_args import view_options
from muonscope.app.frame_grab import rgb_bytes
from muonscope.app.offscreen import OffscreenWindow, plan_offscreen
from muonscope.app.panel_names import PANELS
from muonscope.app.video import VideoWriter
from tests.app.helpers import WAIT_MS, open_app, wait_until_paused

#: A tiny run: a 16×16 memory, four default lanes, a few steps a second even on a busy machine.
TINY = ["--set", "task.d=16", "--set", "task.n_items=64", "--set", "task.batch_size=16"]
QUIET = ["--no-progress"]


def _decoded(path) -> tuple[tuple[int, int], list[np.ndarray]]:
    """(width, height) and every frame of a video file, read back by ffmpeg.

    The size is read from the header of the first frame drawn as a PNG (imageio-ffmpeg's reader,
    closed early, left its pipes open for the garbage collector to warn about); the frames come
    from the same ffmpeg, decoding to raw RGB.
    """
    command = [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", str(path)]
    first = subprocess.run(
        [*command, "-frames:v", "1", "-f", "image2pipe", "-c:v", "png", "-"], capture_output=True, check=True
    ).stdout
    width, height = struct.unpack(">II", first[16:24])  # the PNG's IHDR chunk
    raw = subprocess.run(
        [*command, "-f", "rawvideo", "-pix_fmt", "rgb24", "-"], capture_output=True, check=True
    ).stdout
    frames = np.frombuffer(raw, np.uint8).reshape(-1, height, width, 3)
    return (width, height), list(frames)


def _run_report(capsys, *argv) -> dict:
    """``muonscope run``'s --json report for ``argv``."""
    code = main(["run", *argv, "--no-progress", "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    return json.loads(out)


def _record(capsys, *argv) -> tuple[int, str, str]:
    code = main(["record", *TINY, *QUIET, *argv])
    out, err = capsys.readouterr()
    return code, out, err


# ---- muonscope record -------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".mp4", ".gif"])
def test_record_writes_one_frame_per_step_at_the_asked_size(capsys, tmp_path, suffix):
    out = tmp_path / f"clip{suffix}"
    code, text, err = _record(capsys, "--steps", "6", "--size", "320x240", "--out", str(out))
    assert code == 0, err
    size, frames = _decoded(out)
    assert size == (320, 240)
    assert len(frames) == 6
    assert f"wrote {out}: 6 frames, 320x240, 0.20 s of video at 30 fps (steps 1–6)" in text
    assert text.rstrip().endswith("; a short clip: --fps 3 would play it for 2 s")  # 0.2 s is a blink
    assert not list(tmp_path.glob("*.part"))


def test_every_k_steps_gives_one_frame_per_k(capsys, tmp_path):
    out = tmp_path / "every.mp4"
    code, text, err = _record(capsys, "--steps", "9", "--every", "3", "--out", str(out), "--size", "320x240")
    assert code == 0, err
    assert len(_decoded(out)[1]) == 3
    assert "(steps 3–9, every 3)" in text and "without a frame" not in text
    code, text, err = _record(capsys, "--steps", "11", "--every", "3", "--out", str(out), "--size", "320x240")
    assert code == 0, err
    assert "(steps 3–9, every 3); steps 10–11 ran without a frame" in text  # not left to be guessed


def test_the_same_command_gives_the_same_frames(tmp_path):
    """The raw frames the offscreen window hands out, byte for byte, from two runs of one command."""
    argv = ["record", *TINY, "--steps", "5", "--size", "640x400", "--out", str(tmp_path / "x.mp4")]

    def frames() -> list[bytes]:
        args = build_parser().parse_args(argv)
        with OffscreenWindow(plan_offscreen(args, (640, 400)), status_note="● recording") as offscreen:
            offscreen.open()
            return [rgb_bytes(image) for _step, image in offscreen.frames()]

    first, second = frames(), frames()
    assert len(first) == 5
    assert first == second
    assert len(set(first)) == 5  # each step's frame shows something new


def test_gif_frames_match_on_a_second_run(capsys, tmp_path):
    paths = [tmp_path / "a.gif", tmp_path / "b.gif"]
    for path in paths:
        code, _text, err = _record(capsys, "--steps", "4", "--size", "320x240", "--out", str(path))
        assert code == 0, err
    (_, first), (_, second) = _decoded(paths[0]), _decoded(paths[1])
    assert len(first) == len(second) == 4
    assert all((a == b).all() for a, b in zip(first, second, strict=True))


def test_an_odd_size_is_padded_for_h264_and_kept_for_gif(capsys, tmp_path):
    """The column and row added for H.264 repeat their neighbours: white ones edged the dark stage."""
    out = str(tmp_path / "o.mp4")
    code, text, err = _record(capsys, "--steps", "2", "--size", "321x241", "--theme", "dark", "--out", out)
    assert code == 0, err
    size, frames = _decoded(tmp_path / "o.mp4")
    assert size == (322, 242)
    assert "321x241 (padded to 322x242 for H.264)" in text
    frame = frames[-1].astype(int)
    assert np.abs(frame[:, -1] - frame[:, -2]).max() <= 16  # H.264 is lossy: near, not equal
    assert np.abs(frame[-1, :] - frame[-2, :]).max() <= 16
    assert frame[:, -1].mean() < 100  # the dark stage's own edge, not white
    code, _text, err = _record(capsys, "--steps", "2", "--size", "321x241", "--out", str(tmp_path / "o.gif"))
    assert code == 0, err
    assert _decoded(tmp_path / "o.gif")[0] == (321, 241)


def test_one_panel_alone(capsys, tmp_path):
    args = build_parser().parse_args(["record", *TINY, "--steps", "2", "--panel", "series", "--out", "x.mp4"])
    with OffscreenWindow(plan_offscreen(args, (480, 300))) as offscreen:
        assert offscreen.subject is offscreen.app.views.series
        offscreen.open()
        images = [image for _step, image in offscreen.frames()]
    assert [(i.width(), i.height()) for i in images] == [(480, 300)] * 2
    out = tmp_path / "series.mp4"
    code, _text, err = _record(
        capsys, "--steps", "3", "--panel", "series", "--size", "480x300", "--out", str(out)
    )
    assert code == 0, err
    assert _decoded(out)[0] == (480, 300) and len(_decoded(out)[1]) == 3


@pytest.mark.parametrize("panel", ["spectrum", "capacity"])
def test_a_panel_recorded_alone_names_each_frames_step_in_its_title(panel):
    """Panel ① recorded by itself moved with no step anywhere in the video."""
    args = build_parser().parse_args(["record", *TINY, "--steps", "3", "--panel", panel, "--out", "x.mp4"])
    with OffscreenWindow(plan_offscreen(args, (480, 300))) as offscreen:
        offscreen.open()
        titles = [offscreen.subject.title for _step, _image in offscreen.frames()]
    head = titles[0].split(" · ")[0]
    assert titles == [f"{head} · step {step}" for step in (1, 2, 3)]


def test_a_resumed_session_records_the_steps_after_it(capsys, tmp_path):
    assert main(["run", *TINY, "--steps", "3", "--save", str(tmp_path / "s"), *QUIET]) == 0
    capsys.readouterr()
    out = tmp_path / "resumed.mp4"
    code, text, err = (
        main(
            [
                "record",
                *QUIET,
                "--resume",
                str(tmp_path / "s"),
                "--steps",
                "6",
                "--out",
                str(out),
                "--size",
                "320x240",
            ]
        ),
        *capsys.readouterr(),
    )
    assert code == 0, err
    assert len(_decoded(out)[1]) == 3
    assert "(steps 4–6)" in text


@pytest.mark.parametrize(
    ("rewind", "every", "says"),
    [
        ((), "1", "must be at least 4: the session's step 3 (or --rewind K) plus --every = 1"),
        (("--rewind", "1"), "2", "must be at least 3: step 1, where --rewind went back to, plus --every = 2"),
    ],
)
def test_a_resumed_recording_too_short_for_a_frame_names_the_least_steps_it_takes(
    capsys, tmp_path, rewind, every, says
):
    """At a session's step 30 ``record`` said "--steps must be at least 30", then refused 30."""
    assert main(["run", *TINY, "--steps", "3", "--save", str(tmp_path / "s"), *QUIET]) == 0
    capsys.readouterr()
    least = int(says.split("at least ")[1].split(":")[0])
    resumed = ["record", *QUIET, "--resume", str(tmp_path / "s"), *rewind, "--every", every]
    resumed += ["--out", str(tmp_path / "r.mp4"), "--size", "320x240"]
    assert main([*resumed, "--steps", str(least - 1)]) == 2
    assert says in capsys.readouterr().err
    assert main([*resumed, "--steps", str(least)]) == 0
    assert ": 1 frame, 320x240, " in capsys.readouterr().out and len(_decoded(tmp_path / "r.mp4")[1]) == 1
    if not rewind:  # without --steps, at the session's own length: --steps is named, not run.steps
        assert main(resumed) == 2
        assert capsys.readouterr().err.endswith(
            "is not allowed: its run ends at step 3, where it stands: give --steps, at least 4 "
            "(its step plus --every = 1), for a first frame\n"
        )


def test_a_session_stepped_past_its_run_length_is_pictured_where_it_stands(capsys, tmp_path):
    """Stepped on in the window past run.steps = 3, it was refused: "its run ends at step 3, where it
    stands: give --steps, at least 5 (its step plus --every = 0)", of a session at step 5."""
    from muonscope.app.config_args import build_config
    from muonscope.engine.session import Session
    from muonscope.engine.session_file import save_session

    session = Session(build_config(build_parser().parse_args(["run", *TINY, "--steps", "3"]))[1])
    for _ in range(5):  # Step N goes on where playing stops
        session.step_once()
    save_session(session, tmp_path / "s")
    shot = ["shot", "--resume", str(tmp_path / "s"), "--out", str(tmp_path / "x.png"), *QUIET]
    assert main([*shot, "--size", "320x240"]) == 0
    assert "(320x240, step 5)" in capsys.readouterr().out


@pytest.mark.parametrize(("rewind", "pictured"), [((), 2), (("--rewind", "1"), 1)])
def test_a_session_that_stopped_short_of_its_length_is_pictured_where_it_stopped(
    capsys, tmp_path, rewind, pictured
):
    """Stopped by --until at step 2 of 6, ``shot --resume`` ran on to step 6 before its picture (a
    minute at a real size), and ``--rewind 1`` replayed to 6 too."""
    saved = ["run", *TINY, "--steps", "6", "--until", "loss < 1e9", "--save", str(tmp_path / "s"), *QUIET]
    assert main([*saved, "--set", "run.eval_every=2"]) == 0  # "loss" holds where first evaluated: step 2
    capsys.readouterr()
    shot = ["shot", "--resume", str(tmp_path / "s"), *rewind, "--out", str(tmp_path / "x.png"), *QUIET]
    assert main([*shot, "--size", "320x240"]) == 0
    assert f"(320x240, step {pictured})" in capsys.readouterr().out
    assert main([*shot, "--size", "320x240", "--steps", "4"]) == 0  # and on, when asked
    assert "(320x240, step 4)" in capsys.readouterr().out


def test_every_frame_shows_the_change_labels_placed_for_its_curves_not_waiting_on_a_timer(capsys, tmp_path):
    """A label the curves grew under moved a second later on screen, so whether a frame showed it
    over them hung on how fast the machine drew the steps."""
    assert main(["run", *TINY, "--steps", "3", "--save", str(tmp_path / "s"), *QUIET]) == 0
    capsys.readouterr()
    argv = ["record", "--resume", str(tmp_path / "s"), "--set", "task.label_noise=0.2", "--steps", "9"]
    args = build_parser().parse_args([*argv, "--out", "x.mp4"])
    with OffscreenWindow(plan_offscreen(args, (640, 400))) as offscreen:
        offscreen.open()
        markers = offscreen.app.views.change_markers
        waited = []
        for _step, _image in offscreen.frames():
            assert [m.texts for m in markers] == [["label noise 0 → 0.2"]] * 2
            waited.append(any(m.placing_waits for m in markers))
    assert waited == [False] * 6


def test_a_frame_shows_no_pause_the_recording_did_not_make(tmp_path, monkeypatch):
    """A lane diverging paused a window: the frame of that step said "Paused at step 2: lane 1 …
    diverged" while the recording went on, and its banner moved every panel down for a frame."""
    import dataclasses

    from muonscope.engine.optim.registry import OPTIMIZERS

    calls = []

    def rule(g, state, lane):
        calls.append(1)
        return g * float("inf") if len(calls) >= 2 else g

    monkeypatch.setitem(OPTIMIZERS, "ngd", dataclasses.replace(OPTIMIZERS["ngd"], rule=rule))
    lanes = ["--lane", "optimizer=muon", "--lane", "optimizer=ngd,lr=0.1"]
    args = build_parser().parse_args(["record", *TINY, *lanes, "--steps", "4", "--out", "x.mp4"])
    with OffscreenWindow(plan_offscreen(args, (640, 400))) as offscreen:
        offscreen.open()
        message = offscreen.app.views.message
        seen = [
            (step, message.isVisible(), offscreen.app.clock.newest.lanes[1].diverged)
            for step, _ in offscreen.frames()
        ]
    assert [step for step, _shown, _diverged in seen] == [1, 2, 3, 4]
    assert [diverged for *_, diverged in seen] == [False, True, True, True]
    assert not any(shown for _step, shown, _diverged in seen)


def test_a_resumed_session_is_drawn_as_the_preset_it_came_from(capsys, tmp_path):
    """Its title, caption and panel views, with what differs from it named, not the default's."""
    made = ["--preset", "hierarchical_noiseless", "--set", "task.label_noise=0.1", "--steps", "2"]
    assert main(["run", *made, "--save", str(tmp_path / "s"), *QUIET]) == 0
    capsys.readouterr()
    args = build_parser().parse_args(
        ["shot", "--resume", str(tmp_path / "s"), "--out", str(tmp_path / "x.png")]
    )
    plan = plan_offscreen(args, (640, 400))
    assert plan.preset.name == "hierarchical_noiseless"
    with OffscreenWindow(plan) as offscreen:
        offscreen.open()
        views = offscreen.app.views
        assert "label noise ε 0 → 0.1" in views.caption.text()
        assert views.series.mode("metric") == plan.preset.view["series"]


def test_a_fork_made_on_the_command_line_is_drawn_beside_the_branch_it_came_from(capsys, tmp_path):
    """As the window shows a fork: the original branch's curves faded in ② and ④, named in the key."""
    assert main(["run", *TINY, "--steps", "6", "--save", str(tmp_path / "s"), *QUIET]) == 0
    capsys.readouterr()
    fork = ["--resume", str(tmp_path / "s"), "--rewind", "3", "--set", "task.label_noise=0.2", "--steps", "6"]
    plan = plan_offscreen(
        build_parser().parse_args(["shot", *fork, "--out", str(tmp_path / "x.png")]), (640, 400)
    )
    assert plan.compared_branch == 0
    with OffscreenWindow(plan) as offscreen:
        offscreen.open()
        offscreen.picture()
        assert offscreen.app.debugger.compared_branch == 0
        assert offscreen.app.views.lane_key.note == "dotted, faint in ② and ④ (recovered): main"
        entries = tuple(offscreen.app.views.lane_key.legend_entries())
        for name in PANELS:  # drawn alone, a panel repeats the note only where it draws main faint
            named = getattr(offscreen.app.views, name).legend_lanes_for(entries)
            notes = [text for position, text in named if position is None]
            assert notes == (["dotted, faint: main"] if name in ("series", "capacity") else [])
        offscreen.app.views.capacity.set_mode("x", "batch")  # ④ shows a sweep: no faint curves there
        offscreen.grab()  # the frame the mode change asked for is drawn first
        assert offscreen.app.views.lane_key.note == "dotted, faint in ②: main"
    straight = ["shot", "--resume", str(tmp_path / "s"), "--steps", "8", "--out", str(tmp_path / "y.png")]
    plan = plan_offscreen(build_parser().parse_args(straight), (640, 400))
    assert plan.compared_branch is None  # main, continued: nothing to compare with


def test_ctrl_c_keeps_the_frames_so_far_as_a_playable_file(capsys, tmp_path, monkeypatch):
    """Ctrl-C after the third frame: the run stops there, the file plays with three frames, exit 130."""
    add = VideoWriter.add

    def add_then_interrupt(self, rgb):
        add(self, rgb)
        if self.frames == 3:
            signal.raise_signal(signal.SIGINT)

    monkeypatch.setattr(VideoWriter, "add", add_then_interrupt)
    out = tmp_path / "cut.mp4"
    code, text, err = _record(capsys, "--steps", "50", "--size", "320x240", "--out", str(out))
    assert code == 130
    assert "muonscope record: stopping now (again: at once)" in err  # said at once
    assert "after the step under way" not in err  # the step under way is not waited for
    assert f"interrupted at step 3; the frames so far are in {out}" in err
    assert "3 frames" in text
    assert len(_decoded(out)[1]) == 3


def test_ctrl_c_stops_a_shot_at_once_and_says_no_picture_is_written(capsys, tmp_path, monkeypatch):
    """A picture of an earlier step is not the one asked for: the first Ctrl-C ends the command
    without one, and says so at once rather than promising to finish the step under way."""
    from muonscope.app.renderer import Renderer

    render = Renderer.render

    def render_then_interrupt(self, *args, **kwargs):
        render(self, *args, **kwargs)
        signal.raise_signal(signal.SIGINT)

    monkeypatch.setattr(Renderer, "render", render_then_interrupt)
    out = tmp_path / "x.png"
    code = main(["shot", *TINY, *QUIET, "--steps", "20", "--size", "320x240", "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 130 and not out.exists()
    assert "muonscope shot: stopping now\n" in err  # a second one changes nothing: no "again"
    assert "interrupted before the picture; nothing written" in err


def test_a_ctrl_c_while_the_gif_is_finished_is_answered_and_keeps_every_frame(capsys, tmp_path, monkeypatch):
    """A GIF's palette pass after the last frame takes seconds: a Ctrl-C there deleted the whole
    recording without a word."""
    close = VideoWriter.close

    def ctrl_c_then_close(self):
        signal.raise_signal(signal.SIGINT)
        return close(self)

    monkeypatch.setattr(VideoWriter, "close", ctrl_c_then_close)
    out = tmp_path / "whole.gif"
    code, text, err = _record(capsys, "--steps", "4", "--size", "320x240", "--out", str(out))
    assert code == 0, err
    assert f"muonscope record: the frames are recorded: finishing {out} first, so that none is lost" in err
    assert "4 frames" in text
    assert len(_decoded(out)[1]) == 4


# ---- muonscope shot ---------------------------------------------------------------------------


def test_shot_takes_runs_options_and_one_panel(capsys, tmp_path):
    out = tmp_path / "d32.png"
    settings = ["--set", "task.d=32", "--set", "task.n_items=64", "--set", "task.batch_size=16"]
    code = main(["shot", *settings, "--steps", "3", "--size", "640x400", "--out", str(out)])
    text = capsys.readouterr().out
    assert code == 0
    assert f"wrote {out} (640x400, step 3)" in text
    image = QtGui.QImage(str(out))
    assert (image.width(), image.height()) == (640, 400)
    plan = plan_offscreen(build_parser().parse_args(["shot", *settings, "--out", str(out)]), (640, 400))
    assert plan.session.config.task.d == 32 and plan.target_step == 300  # the preset's run length
    panel = tmp_path / "capacity.png"
    assert (
        main(["shot", *TINY, "--steps", "2", "--panel", "capacity", "--size", "400x300", "--out", str(panel)])
        == 0
    )
    assert QtGui.QImage(str(panel)).size().toTuple() == (400, 300)


def test_a_picture_takes_the_stages_scale_and_theme_and_says_what_it_drew(capsys, tmp_path):
    """shot and record drew every stage at 1.5× in the light theme: a dark slide was out of reach."""
    out = tmp_path / "dark.png"
    argv = ["shot", *TINY, "--steps", "1", "--out", str(out), "--theme", "dark"]
    assert main([*argv, "--size", "1920x1080", "--scale", "2"]) == 0
    assert "; presentation at 2× in the dark theme" in capsys.readouterr().out
    image = QtGui.QImage(str(out))
    assert image.pixelColor(image.width() // 2, image.height() - 2).lightness() < 60  # a dark stage
    assert main([*argv, "--size", "1280x720", "--scale", "3"]) == 0
    said = "; presentation at 1.5× in the dark theme (3× asked; this size holds 1.5×)"
    assert said in capsys.readouterr().out
    panel = tmp_path / "panel.png"  # taken out of the window, the panel kept a light header
    assert (
        main(["shot", *TINY, "--steps", "1", "--out", str(panel), "--theme", "dark", "--panel", "series"])
        == 0
    )
    image = QtGui.QImage(str(panel))
    assert image.pixelColor(image.width() - 4, 4).lightness() < 60  # the header's corner, on a dark stage
    for option, value, allowed in (("--scale", "4", "from 1 to 3"), ("--theme", "sepia", "light, dark")):
        assert main(["shot", *TINY, "--out", str(out), option, value]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and f"{option} = " in err and allowed in err


def test_a_picture_smaller_than_the_window_allows_says_it_was_scaled_down(capsys, tmp_path):
    """A 641x481 frame shrank the whole window, text and all, and the "wrote" line did not say so."""
    for size in ("320x240", "1280x800"):
        assert main(["shot", *TINY, "--steps", "1", "--size", size, "--out", str(tmp_path / "x.png")]) == 0
        line = capsys.readouterr().out.strip()
        laid_out = re.search(r"the window was laid out at (\d+)x(\d+), its smallest of that shape", line)
        if size == "1280x800":
            assert laid_out is None, line
            continue
        width, height = int(laid_out[1]), int(laid_out[2])
        assert width > 320 and abs(width / height - 320 / 240) < 0.01 and line.endswith("scaled down")


def test_a_stage_narrower_than_the_desk_is_drawn_at_its_own_size(capsys, tmp_path):
    """The stage has no controls to make room for: a 1024×768 slide was laid out 1170 wide like the
    desk, and its text shrank with the scaling down; the desk at 900×675 still is."""
    argv = ["shot", *TINY, "--steps", "1", "--size", "900x675", "--out", str(tmp_path / "x.png")]
    assert main([*argv, "--presentation"]) == 0
    assert "laid out" not in capsys.readouterr().out
    assert main(argv) == 0
    assert "the window was laid out at" in capsys.readouterr().out


@pytest.mark.qt_no_exception_capture
def test_a_frame_that_fails_to_draw_ends_the_shot_with_the_error_instead_of_waiting(
    capsys, tmp_path, monkeypatch
):
    """An error while drawing left ``shot`` waiting for a frame that never came, for ever."""
    from muonscope.app.renderer import Renderer

    def broken(*_args, **_kwargs):
        raise ValueError("a broken panel")

    monkeypatch.setattr(Renderer, "render", broken)
    monkeypatch.setattr(sys, "excepthook", lambda *_exc: None)  # Qt reports the error here, quietly
    code = main(["shot", *TINY, "--steps", "2", "--size", "640x400", "--out", str(tmp_path / "x.png")])
    assert code != 0
    assert "drawing the window failed: ValueError: a broken panel" in capsys.readouterr().err
    assert not (tmp_path / "x.png").exists()


@pytest.mark.qt_no_exception_capture
def test_a_second_ctrl_c_inside_a_slot_is_no_failure_of_the_window_and_prints_no_traceback(
    capsys, tmp_path, monkeypatch
):
    """A second Ctrl-C raises KeyboardInterrupt wherever Python is: inside a slot (the window
    closing) Qt handed it to the excepthook, which printed a traceback; the command is stopping
    already and keeps its frames."""
    from muonscope.app.renderer import Renderer

    render, raised = Renderer.render, []

    def interrupted_once(self, *args, **kwargs):
        if not raised:
            raised.append(1)
            raise KeyboardInterrupt
        return render(self, *args, **kwargs)

    monkeypatch.setattr(Renderer, "render", interrupted_once)
    code = main(["shot", *TINY, "--steps", "2", "--size", "640x400", "--out", str(tmp_path / "x.png")])
    err = capsys.readouterr().err
    assert raised and "Traceback" not in err and "failed" not in err
    assert code == 0 and (tmp_path / "x.png").exists()


def test_a_second_ctrl_c_while_the_window_closes_keeps_the_frames_recorded(capsys, tmp_path, monkeypatch):
    """The first Ctrl-C ends the frames; a second one, raised while the window closed, left no file."""
    from muonscope.app.offscreen import OffscreenWindow

    close = OffscreenWindow.close

    def interrupted_close(self):
        close(self)
        raise KeyboardInterrupt

    monkeypatch.setattr(OffscreenWindow, "close", interrupted_close)
    out = tmp_path / "x.mp4"
    code = main(["record", *TINY, *QUIET, "--steps", "3", "--size", "320x240", "--out", str(out)])
    assert code == 130
    assert f"the recording before the interruption (3 frames) is in {out}" in capsys.readouterr().err
    assert out.stat().st_size > 0


def test_a_recordings_frames_show_the_run_playing_and_a_pictures_show_it_paused(tmp_path):
    """A video of the run advancing showed the toolbar's ▶ play, as if it stood still."""
    args = build_parser().parse_args(["record", *TINY, "--steps", "3", "--out", str(tmp_path / "x.mp4")])
    with OffscreenWindow(plan_offscreen(args, (640, 400))) as offscreen:
        offscreen.open()
        play = offscreen.app.views.transport.play_action
        assert all(play.isChecked() for _step, _frame in offscreen.frames())
    args = build_parser().parse_args(["shot", *TINY, "--steps", "3", "--out", str(tmp_path / "x.png")])
    with OffscreenWindow(plan_offscreen(args, (640, 400))) as offscreen:
        offscreen.open()
        offscreen.picture()
        assert not offscreen.app.views.transport.play_action.isChecked()


def test_a_picture_is_laid_out_for_the_tick_labels_it_shows(tmp_path):
    """An axis measures its tick labels as it paints them: ① fitted to its curves just before the
    picture drew "2·10⁻²" against a title laid out for narrower labels, touching it, and a second
    picture of the same step came out different."""
    plan = plan_offscreen(
        build_parser().parse_args(
            ["shot", "--preset", "multi_step_recovery", "--steps", "30", "--out", str(tmp_path / "x.png")]
        ),
        (1920, 1080),
    )
    with OffscreenWindow(plan) as offscreen:
        offscreen.open()
        first = offscreen.picture()
        assert offscreen.grab(still=True) == first


def test_a_picture_asked_for_again_is_of_the_step_reached_and_frames_go_on_from_there(tmp_path):
    """A second picture() stepped again from the start: it waited for step 1's frame for ever."""
    args = build_parser().parse_args(["shot", *TINY, "--steps", "3", "--out", "x.png"])
    plan = plan_offscreen(args, (640, 400))
    with OffscreenWindow(plan) as offscreen:
        offscreen.open()
        offscreen.picture()
        assert offscreen.app.clock.newest.step == 3
        again = offscreen.picture()
        assert again is not None and offscreen.app.clock.newest.step == 3
        assert list(offscreen.frames()) == []  # at the target: no step left to take


def test_shot_writes_an_svg_whose_curves_are_vectors(capsys, tmp_path):
    out = tmp_path / "series.svg"
    assert (
        main(["shot", *TINY, "--steps", "4", "--panel", "series", "--size", "600x400", "--out", str(out)])
        == 0
    )
    assert f"wrote {out} (600x400, step 4)" in capsys.readouterr().out
    root = ElementTree.parse(out).getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    shapes = [e for e in root.iter() if e.tag.rsplit("}", 1)[-1] in ("path", "polyline")]
    assert len(shapes) >= 4  # a curve per lane at least, besides the axes
    words = set(" ".join(e.text or "" for e in root.iter()).split())
    assert {"Adam", "Muon", "SGD"} <= words  # a panel alone names its lanes under its plot


def test_a_window_svg_is_titled_as_the_window_without_its_unsaved_mark(capsys, tmp_path):
    """Qt's "[*]", where the window's title marks unsaved work, reached the picture's title."""
    out = tmp_path / "window.svg"
    assert main(["shot", *TINY, "--steps", "2", "--size", "800x500", "--out", str(out)]) == 0
    (title,) = [e.text for e in ElementTree.parse(out).getroot().iter() if e.tag.endswith("}title")]
    assert title.startswith("muonscope — ") and "[*]" not in title
    panel = tmp_path / "panel.svg"  # a panel alone is titled by its own title
    assert (
        main(["shot", *TINY, "--steps", "2", "--panel", "series", "--size", "800x500", "--out", str(panel)])
        == 0
    )
    (title,) = [e.text for e in ElementTree.parse(panel).getroot().iter() if e.tag.endswith("}title")]
    assert title.startswith("muonscope — ② over time")


def _declared_mm_and_view_box(path) -> tuple[tuple[float, float], tuple[float, float]]:
    root = ElementTree.parse(path).getroot()
    declared = tuple(float(root.get(side).removesuffix("mm")) for side in ("width", "height"))
    view_box = tuple(float(number) for number in root.get("viewBox").split()[2:])
    return declared, view_box


def test_an_svg_smaller_than_the_window_allows_declares_the_asked_size(capsys, tmp_path):
    """``shot --size 640x400`` wrote an SVG that declared the 1170x732 window it was laid out at."""
    pictures = {}
    for size in ("1280x800", "320x240"):
        out = tmp_path / f"{size}.svg"
        assert main(["shot", *TINY, *QUIET, "--steps", "1", "--size", size, "--out", str(out)]) == 0
        capsys.readouterr()
        pictures[size] = _declared_mm_and_view_box(out)
    (full_mm, full_box), (small_mm, small_box) = pictures["1280x800"], pictures["320x240"]
    assert full_box == (1280, 800)
    mm_per_px = full_mm[0] / 1280
    assert small_box[0] > 320  # laid out larger, its drawing kept whole
    assert small_mm == pytest.approx((320 * mm_per_px, 240 * mm_per_px), rel=1e-3)


def test_on_the_stage_the_live_caption_says_the_settings_differ_from_the_presets(capsys, tmp_path):
    """The stage hides the description, and with it the line naming what --set changed: a talk's
    run at other settings looked like the preset's own."""
    argv = ["shot", *TINY, "--steps", "1", "--presentation", "--out", str(tmp_path / "x.png")]
    with OffscreenWindow(plan_offscreen(build_parser().parse_args(argv), (1280, 720))) as offscreen:
        offscreen.open()
        offscreen.picture()
        on_stage = offscreen.app.views.live_caption.text()
        offscreen.app.presentation.set_active(False)
        at_the_desk = offscreen.app.views.live_caption.text()
    assert on_stage.splitlines()[-1] == "not the preset's settings: d 128 → 16, N 2048 → 64, batch B 256 → 16"
    assert on_stage.startswith("step 1 ·") and "preset" not in at_the_desk  # the description says it there


def test_a_config_file_copied_from_a_preset_says_its_description_is_of_other_settings(capsys, tmp_path):
    """default.toml copied and d set to 16: the caption kept saying "a 128×128 memory" unqualified."""
    from muonscope.engine.presets import load_preset

    text = resources.files("muonscope").joinpath("resources", "presets", "default.toml").read_text()
    edited = text.replace("d = 128\n", "d = 16\n").replace("n_items = 2048\n", "n_items = 64\n")
    (tmp_path / "mine.toml").write_text(edited)
    config = ["--config", str(tmp_path / "mine.toml"), "--set", "run.spectra_every=5"]
    args = build_parser().parse_args(["shot", *config, "--steps", "1", "--out", str(tmp_path / "x.png")])
    with OffscreenWindow(plan_offscreen(args, (1280, 720))) as offscreen:
        offscreen.open()
        offscreen.picture()
        caption = offscreen.app.views.caption.text()
    assert load_preset("default").caption.split()[1] in caption  # the copied description
    assert "these differ now: d 128 → 16, N 2048 → 64" in caption


def test_a_picture_after_set_says_the_description_is_of_other_settings(capsys, tmp_path):
    args = build_parser().parse_args(["shot", *TINY, "--steps", "1", "--out", str(tmp_path / "x.png")])
    with OffscreenWindow(plan_offscreen(args, (1280, 720))) as offscreen:
        offscreen.open()
        offscreen.picture()
        caption = offscreen.app.views.caption.text()
        status = offscreen.window.status_text("lanes")
    assert "these differ now: d 128 → 16, N 2048 → 64, batch B 256 → 16" in caption
    assert status == "4 lanes, all finite"  # stepped one by one: not "paused", as a video would show
    args = build_parser().parse_args(
        ["shot", *TINY, "--lane", "optimizer=muon", "--steps", "1", "--out", str(tmp_path / "x.png")]
    )
    with OffscreenWindow(plan_offscreen(args, (1280, 720))) as offscreen:
        offscreen.open()
        offscreen.picture()
        assert offscreen.window.status_text("lanes") == "1 lane, finite"  # it read "1 lanes, all finite"


def test_a_picture_shows_the_last_steps_evaluation_as_run_reports_it(capsys, tmp_path):
    """Every 10 steps by the cadence, a 12-step picture ended on step 10's numbers where `run`
    reported step 12's."""
    steps = ["--set", "run.eval_every=10", "--steps", "12"]
    args = build_parser().parse_args(["shot", *TINY, *steps, "--out", str(tmp_path / "x.png")])
    with OffscreenWindow(plan_offscreen(args, (1280, 720))) as offscreen:
        offscreen.open()
        offscreen.picture()
        evaluated = [lane.eval_step for lane in offscreen.app.clock.newest.lanes]
        recovered = [lane.recovered for lane in offscreen.app.clock.newest.lanes]
        drawn_steps, drawn_items = offscreen.app.views.capacity.recovered_data(0)
    assert evaluated == [12] * 4
    assert (list(drawn_steps), drawn_items[-1]) == ([0, 10, 12], recovered[0])
    assert [lane["recovered"] for lane in _run_report(capsys, *TINY, *steps)["lanes"]] == recovered


def test_an_output_that_is_a_folder_is_refused_before_anything_runs(capsys, tmp_path):
    (tmp_path / "clip.mp4").mkdir()
    code, _out, err = _record(capsys, "--steps", "2", "--out", str(tmp_path / "clip.mp4"))
    assert code == 2
    assert err.strip().endswith("is a folder; must name a file to write") and "\n" not in err.strip()


SWEEPING = """
[preset]
title = "a tiny d-sweep"
[task]
d = 16
n_items = 256
batch_size = 0
[[lanes]]
optimizer = "sgd"
lr = 1.0
momentum = 0.0
[[lanes]]
optimizer = "muon"
lr = 1.0
momentum = 0.0
order = "none"
[run]
steps = 1
[view]
capacity = "d"
"""


def test_a_sweep_the_preset_starts_is_finished_before_the_first_frame(tmp_path, monkeypatch):
    """Workers of a sweep would otherwise take the run's CPU and leave panel ④ half drawn."""
    monkeypatch.setenv("MUONSCOPE_CACHE", str(tmp_path / "cache"))
    (tmp_path / "sweeping.toml").write_text(SWEEPING, encoding="utf-8")
    args = build_parser().parse_args(["shot", "--config", str(tmp_path / "sweeping.toml"), "--out", "x.png"])
    with OffscreenWindow(plan_offscreen(args, (640, 400))) as offscreen:
        offscreen.open()
        capacity = offscreen.app.capacity
        assert offscreen.swept and not capacity.running
        assert capacity.progress == (9, 9)  # d ∈ {8, 16, 32} × 3 seeds, all drawn
        assert offscreen.picture() is not None


def test_a_sweep_not_waited_for_is_reported_as_far_as_it_had_come_by_the_picture(
    capsys, tmp_path, monkeypatch
):
    """ "0 of 21 points had arrived" was said of a picture that showed three of them: it was counted
    before the run's steps, not when the picture was taken."""
    from muonscope.app.shot import report_sweep

    monkeypatch.setenv("MUONSCOPE_CACHE", str(tmp_path / "cache"))
    (tmp_path / "sweeping.toml").write_text(SWEEPING, encoding="utf-8")
    argv = ["shot", "--config", str(tmp_path / "sweeping.toml"), "--no-wait-sweep", "--out", "x.png"]
    with OffscreenWindow(plan_offscreen(build_parser().parse_args(argv), (640, 400))) as offscreen:
        offscreen.open()
        assert offscreen.picture() is not None
        done, planned = offscreen.app.capacity.progress
        report_sweep(offscreen)
        err = capsys.readouterr().err
    assert not offscreen.swept and planned == 9
    said = f"the capacity sweep was not waited for ({done} of 9 points had arrived by the picture)"
    assert err == ("" if done == planned else f"muonscope shot: {said}\n")


# ---- the window's record button ---------------------------------------------------------------


def _start_recording(qtbot, app, path):
    app.recorder.chooser = lambda _window: path
    app.views.transport.record_action.trigger()
    qtbot.waitUntil(lambda: app.recorder.started_after_step is not None, timeout=WAIT_MS)


def test_record_button_writes_one_frame_per_step_taken(qtbot, tmp_path, monkeypatch):
    from muonscope.app import record_controller

    app = open_app(qtbot)
    path = tmp_path / "window.mp4"
    in_frames = []  # what each frame's status line said as it was grabbed

    def grab(window, size, left_out=()):
        in_frames.append(app.window.status_text("recording"))
        return grab_frame(window, size, left_out)

    grab_frame = record_controller.grab_frame
    monkeypatch.setattr(record_controller, "grab_frame", grab)
    _start_recording(qtbot, app, path)
    assert app.window.status_text("recording") == f"● recording · 0 frames → {path}"
    assert not app.window.status_shown("rate")  # paced by the recording: not the run's rate
    app.intents.step(5)
    qtbot.waitUntil(lambda: app.recorder.frames == 5, timeout=WAIT_MS)
    assert app.window.status_text("recording") == f"● recording · 5 frames → {path}"
    counted = [f"{n} frame{'' if n == 1 else 's'}" for n in range(1, 6)]  # a frame counts itself
    assert in_frames == [f"● recording · {count} → {path}" for count in counted]
    with qtbot.waitSignal(app.recorder.finished, timeout=WAIT_MS):
        app.views.transport.record_action.trigger()
        assert not app.recorder.recording and not app.views.transport.record_action.isChecked()
        assert app.window.status_text("recording") == f"finishing {path}…"  # the window stays live
    assert not app.window.status_shown("recording") and app.window.status_shown("rate")
    assert app.views.message.text == f"Recorded 5 frames (0.2 s at 30 fps) to {path}"
    size, frames = _decoded(path)
    assert len(frames) == 5
    assert size == (
        app.window.width() + app.window.width() % 2,
        app.window.height() + app.window.height() % 2,
    )
    _start_recording(qtbot, app, tmp_path / "next.mp4")  # the last outcome stays out of its frames
    assert app.views.message.text == ""
    with qtbot.waitSignal(app.recorder.finished, timeout=WAIT_MS):
        app.views.transport.record_action.trigger()
    assert app.views.message.text.startswith("Recording stopped before any step was taken")


def test_on_the_stage_a_passing_note_says_a_recording_started_and_stopped_and_stays_out_of_it(
    qtbot, tmp_path, monkeypatch
):
    """With the status bar hidden on the stage, the record key started and stopped recordings with
    no sign of either."""
    from muonscope.app import record_controller

    app = open_app(qtbot)
    app.presentation.set_active(True)
    note = app.views.passing_note
    grabbed_over_the_note = []

    def grab(window, size, left_out=()):
        grabbed_over_the_note.append(note.isVisible() and note not in left_out)
        return grab_frame(window, size, left_out)

    grab_frame = record_controller.grab_frame
    monkeypatch.setattr(record_controller, "grab_frame", grab)
    path = tmp_path / "talk.mp4"
    _start_recording(qtbot, app, path)
    assert note.isVisible() and note.text() == "● recording to talk.mp4 · Ctrl+Shift+R stops"
    app.intents.step(2)
    qtbot.waitUntil(lambda: app.recorder.frames == 2, timeout=WAIT_MS)
    with qtbot.waitSignal(app.recorder.finished, timeout=WAIT_MS):
        app.views.transport.record_action.trigger()
        assert note.isVisible() and note.text() == "recording stopped · finishing talk.mp4"
    assert grabbed_over_the_note == [False, False]


def test_a_frame_leaves_out_the_widgets_it_is_told_to_and_they_show_again(qtbot):
    from muonscope.app.frame_grab import grab_frame

    window = QtWidgets.QWidget()
    qtbot.addWidget(window)
    window.resize(200, 100)
    window.setStyleSheet("background: white")
    note = QtWidgets.QLabel("a note", window)
    note.setStyleSheet("background: black")
    note.setGeometry(0, 0, 200, 100)
    window.show()
    qtbot.waitExposed(window)
    with_note, without = grab_frame(window, (200, 100)), grab_frame(window, (200, 100), left_out=(note,))
    assert QtGui.QColor(with_note.pixel(5, 5)) == QtGui.QColor("black")
    assert QtGui.QColor(without.pixel(5, 5)) == QtGui.QColor("white")
    assert note.isVisible()


def test_a_picture_of_another_shape_is_letterboxed_in_its_own_background(qapp):
    """A window resized while recording keeps the video's size: the bars were white on a dark stage."""
    from muonscope.app.frame_grab import fit_image

    picture = QtGui.QImage(200, 100, QtGui.QImage.Format.Format_RGB32)
    picture.fill(QtGui.QColor("#111111"))
    fitted = fit_image(picture, (200, 200))
    assert (fitted.width(), fitted.height()) == (200, 200)
    assert fitted.pixelColor(100, 10) == QtGui.QColor("#111111")  # a bar
    assert fitted.pixelColor(100, 100) == QtGui.QColor("#111111")  # the picture


def test_a_fast_engine_is_paced_so_that_no_step_is_skipped(qtbot, tmp_path):
    """Played at full speed, the tiny run outpaces the screen; recorded, every step still gets a frame."""
    app = open_app(qtbot)
    path = tmp_path / "fast.gif"
    _start_recording(qtbot, app, path)
    start = app.recorder.started_after_step
    app.intents.play(True)
    qtbot.waitUntil(lambda: app.recorder.frames >= 30, timeout=WAIT_MS)
    app.intents.play(False)
    wait_until_paused(qtbot, app)
    qtbot.waitUntil(lambda: app.recorder.frames == app.clock.newest.step - start, timeout=WAIT_MS)
    with qtbot.waitSignal(app.recorder.finished, timeout=WAIT_MS):
        app.views.transport.record_action.trigger()
    assert len(_decoded(path)[1]) == app.clock.newest.step - start


def test_a_jump_recorded_gets_a_frame_for_every_step_whatever_its_frame_cap(qtbot, tmp_path, monkeypatch):
    """A jump draws a few frames on its way; recorded, each of its steps is drawn and written."""
    from muonscope.app import frame_clock

    monkeypatch.setattr(frame_clock, "JUMP_FRAME_INTERVAL_S", 10_000.0)  # no frame on a jump's way
    app = open_app(qtbot)
    path = tmp_path / "jump.gif"
    _start_recording(qtbot, app, path)
    start = app.recorder.started_after_step
    app.intents.step(12)
    qtbot.waitUntil(lambda: app.recorder.frames == 12, timeout=WAIT_MS)
    wait_until_paused(qtbot, app)
    with qtbot.waitSignal(app.recorder.finished, timeout=WAIT_MS):
        app.views.transport.record_action.trigger()
    assert app.clock.newest.step == start + 12
    assert len(_decoded(path)[1]) == 12


class _Clock(QtCore.QObject):
    """The frame clock as the recorder sees it: frames drawn, the newest snapshot, the cursor."""

    frame_drawn = QtCore.Signal(int)

    def __init__(self) -> None:
        super().__init__()
        self.newest = SimpleNamespace(step=0)
        self.cursor_step = None


class _Link(QtCore.QObject):
    """The engine link as the recorder sees it: pacing confirmed, commands sent."""

    paced = QtCore.Signal(bool, int)

    def __init__(self) -> None:
        super().__init__()
        self.sent = []

    def submit(self, command) -> None:
        self.sent.append(command)


def test_a_frame_drawn_of_the_step_before_is_not_taken_for_the_newest_steps(qtbot, tmp_path):
    """A theme switched while recording redraws the step on show; the next step's snapshot came in
    before that redraw's frame was written, and the file got the old step twice and not the new."""
    from muonscope.app.engine_protocol import FrameShown
    from muonscope.app.record_controller import RecordController

    app = open_app(qtbot)
    clock, link = _Clock(), _Link()
    recorder = RecordController(app.window, link, clock, chooser=lambda _window: tmp_path / "r.mp4")
    assert recorder.start(tmp_path / "r.mp4")
    link.paced.emit(True, 0)
    clock.newest = SimpleNamespace(step=1)  # step 1 arrived; the frame drawn next is the redraw of step 0
    clock.frame_drawn.emit(0)
    QtCore.QCoreApplication.processEvents()  # the recorder takes drawn frames queued
    assert recorder.frames == 0  # that frame pictures step 0, on show as the recording began
    assert FrameShown(1) not in link.sent  # the engine waits on step 1's own frame
    clock.frame_drawn.emit(1)
    QtCore.QCoreApplication.processEvents()
    assert (recorder.frames, link.sent[-1]) == (1, FrameShown(1))
    with qtbot.waitSignal(recorder.finished, timeout=WAIT_MS):
        recorder.stop()


def test_a_step_taken_just_before_the_stop_still_gets_its_frame(qtbot, tmp_path):
    """Stopped as the step's snapshot arrives (its frame perhaps not drawn yet): the frame is kept."""
    app = open_app(qtbot)
    path = tmp_path / "last.mp4"
    _start_recording(qtbot, app, path)
    start = app.recorder.started_after_step
    app.intents.step(1)
    qtbot.waitUntil(lambda: app.clock.newest.step == start + 1, timeout=WAIT_MS)
    with qtbot.waitSignal(app.recorder.finished, timeout=WAIT_MS):
        app.views.transport.record_action.trigger()
    assert len(_decoded(path)[1]) == 1


def test_closing_the_window_finishes_the_file(qtbot, tmp_path):
    app = open_app(qtbot)
    path = tmp_path / "closed.mp4"
    _start_recording(qtbot, app, path)
    app.intents.step(3)
    qtbot.waitUntil(lambda: app.recorder.frames == 3, timeout=WAIT_MS)
    app.window.close()
    said = []
    assert app.recorder.finish_after_close(said.append)  # as the application does once its window has gone
    assert len(_decoded(path)[1]) == 3
    # what the closed window would have said, on the terminal: it read only a log line, naming no file
    assert said[-1].startswith("recorded 3 frames") and said[-1].endswith(f"to {path}")
    if len(said) == 2:  # the file was still being finished as the window closed
        assert said[0] == f"finishing the recording {path} before exiting…"


def test_a_refused_file_shows_a_message_and_the_button_goes_back(qtbot, tmp_path):
    app = open_app(qtbot)
    app.recorder.chooser = lambda _window: tmp_path / "clip.avi"
    app.views.transport.record_action.trigger()
    assert not app.recorder.recording and not app.views.transport.record_action.isChecked()
    assert "must name a .mp4 or .gif file" in app.views.message.text
    app.recorder.chooser = lambda _window: None  # the dialog cancelled
    app.views.transport.record_action.trigger()
    assert not app.recorder.recording and not app.views.transport.record_action.isChecked()
    app.recorder.chooser = lambda _window: tmp_path / "clip.mp4"  # a file that can be written
    app.views.transport.record_action.trigger()
    assert app.recorder.recording
    assert "Not recording" not in app.views.message.text  # the refusal was of the file before
    assert "Not recording" not in app.window.statusBar().currentMessage()
    with qtbot.waitSignal(app.recorder.finished, timeout=WAIT_MS):  # its file finished off the UI thread
        app.recorder.stop()


def test_stopping_before_any_step_writes_nothing_and_says_so(qtbot, tmp_path):
    app = open_app(qtbot)
    _start_recording(qtbot, app, tmp_path / "empty.mp4")
    with qtbot.waitSignal(app.recorder.finished, timeout=WAIT_MS):
        app.views.transport.record_action.trigger()
    assert app.views.message.text == "Recording stopped before any step was taken: nothing written."
    assert list(tmp_path.iterdir()) == []


def _gif_delays_cs(path) -> list[int]:
    """Each frame's delay in hundredths of a second, walking the GIF's blocks (GIF89a)."""
    data = path.read_bytes()
    assert data[:6] == b"GIF89a"
    flags = data[10]
    at = 13 + (3 * 2 ** ((flags & 7) + 1) if flags & 0x80 else 0)  # after the global colour table
    delays = []

    def skip_sub_blocks(at: int) -> int:
        while data[at]:
            at += data[at] + 1
        return at + 1

    while data[at] != 0x3B:  # the trailer
        if data[at] == 0x21:  # an extension: a graphic control one holds the delay
            if data[at + 1] == 0xF9:
                delays.append(int.from_bytes(data[at + 4 : at + 6], "little"))
            at = skip_sub_blocks(at + 2)
        else:
            assert data[at] == 0x2C, f"unexpected block {data[at]:#x} at byte {at}"
            local = data[at + 9]
            at += 10 + (3 * 2 ** ((local & 7) + 1) if local & 0x80 else 0)
            at = skip_sub_blocks(at + 1)  # the LZW code size, then the image data
    return delays


@pytest.mark.parametrize("fps", [30.0, 24.0, 15.0])
def test_a_gif_plays_at_the_asked_frame_rate(tmp_path, fps):
    """A GIF's delays are whole hundredths: 1/30 s is 3⅓, so they alternate (3, 4, 3) to keep 30 fps
    on average rather than rounding every frame to 3 (33⅓ fps)."""
    path, frames = tmp_path / "rate.gif", 30
    with VideoWriter(path, (16, 12), fps) as writer:
        for i in range(frames):
            writer.add(bytes([8 * i]) * (16 * 12 * 3))
    delays = _gif_delays_cs(path)
    assert len(delays) == frames
    assert all(abs(delay - 100 / fps) < 1 for delay in delays)
    assert sum(delays) == pytest.approx(100 * frames / fps, abs=1)


@pytest.mark.parametrize("suffix", [".mp4", ".gif"])
def test_a_video_that_cannot_take_its_name_is_kept_under_the_part_name(tmp_path, suffix):
    """Its name was taken meanwhile (here by a folder; a read-only or immutable file does the same):
    the encoded video was deleted with the failure, every frame recorded lost."""
    path = tmp_path / f"clip{suffix}"
    path.mkdir()
    (path / "inside").write_text("keeps the folder from being replaced")
    writer = VideoWriter(path, (16, 12), 10.0)
    for i in range(3):
        writer.add(bytes([40 * i]) * (16 * 12 * 3))
    kept = rf"cannot name it {path.name}: .*the video is kept in .*{path.name}\.[0-9a-f]{{8}}\.part"
    with pytest.raises(OSError, match=kept):
        writer.close()
    size, frames = _decoded(writer.part_path)
    assert size == (16, 12) and len(frames) == 3


@pytest.mark.parametrize("suffix", [".mp4", ".gif"])
def test_two_recordings_to_one_name_leave_one_of_them_whole(tmp_path, suffix):
    """Both wrote into one NAME.part: the MP4 left did not play, and the GIF that took the name held
    the other recording's frames."""
    path, size, count = tmp_path / f"same{suffix}", (320, 240), 12
    first, second = VideoWriter(path, size, 10.0), VideoWriter(path, size, 10.0)
    noise = np.random.default_rng(0).integers(0, 60, (count, 240, 320, 3), dtype=np.uint8)  # much to encode
    for frame in noise:
        first.add((frame + 190).tobytes())
        second.add(frame.tobytes())
    first.close()
    _size, frames = _decoded(path)
    assert len(frames) == count and all(float(frame.mean()) > 180 for frame in frames)
    second.close()  # the later one takes the name, whole
    _size, frames = _decoded(path)
    assert len(frames) == count and all(float(frame.mean()) < 70 for frame in frames)
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


@pytest.mark.parametrize("suffix", [".mp4", ".gif"])
def test_without_an_encoder_to_run_the_writer_says_what_to_do(tmp_path, monkeypatch, suffix):
    """It read "FileNotFoundError: [Errno 2] No such file or directory: '/nonexistent/ffmpeg'"."""
    monkeypatch.setenv("IMAGEIO_FFMPEG_EXE", str(tmp_path / "no-ffmpeg"))
    with pytest.raises(OSError, match=r"cannot start the video encoder .*no-ffmpeg: .*IMAGEIO_FFMPEG_EXE"):
        VideoWriter(tmp_path / f"x{suffix}", (64, 48), 10.0)
    assert list(tmp_path.iterdir()) == []  # nothing half-written


def test_a_video_that_cannot_be_made_is_said_in_one_line_without_a_class_name(tmp_path, monkeypatch, capsys):
    """It read "runtime failure: OSError: could not write …" over seven lines of ffmpeg's log."""
    monkeypatch.setenv("IMAGEIO_FFMPEG_EXE", str(tmp_path / "no-ffmpeg"))
    code, _out, err = _record(capsys, "--steps", "1", "--out", str(tmp_path / "x.mp4"))
    assert code == 1
    assert err.startswith("muonscope record: runtime failure: cannot start the video encoder "), err
    assert err.count("\n") == 1


@pytest.mark.parametrize("flag", [[], ["--no-progress"]])
def test_shot_reports_each_step_to_its_progress_bar_unless_told_not_to(monkeypatch, capsys, tmp_path, flag):
    """A shot of hundreds of steps ran for a minute with no sign of life, as run and record show one."""
    import muonscope.app.progress as progress

    bars = []

    class Recorded(progress.ProgressBar):
        def __init__(self, enabled: bool = True, **kwargs) -> None:
            super().__init__(enabled, **kwargs)
            self.asked, self.calls = enabled, []
            bars.append(self)

        def __call__(self, done: int, total: int, stage: str = "") -> None:
            self.calls.append((done, total))

    monkeypatch.setattr(progress, "ProgressBar", Recorded)
    out = tmp_path / "x.png"
    assert main(["shot", *TINY, "--steps", "3", "--size", "400x300", "--out", str(out), *flag]) == 0
    (bar,) = bars
    assert bar.asked == (not flag)
    assert bar.calls == [(0, 3), (1, 3), (2, 3), (3, 3)]  # the first as the stepping begins
    capsys.readouterr()


def test_a_session_resumed_at_an_earlier_step_unfolds_as_it_replays(capsys, tmp_path):
    """Each frame draws the run up to its own step: the branch's recorded steps ahead of it (the
    window's debugger shows them) gave away the run's end in a talk's first frame, ④ at 165 items
    beside a caption saying 0."""
    assert main(["run", *TINY, "--steps", "8", "--save", str(tmp_path / "s"), *QUIET]) == 0
    capsys.readouterr()
    resumed = ["--resume", str(tmp_path / "s"), "--rewind", "2", "--steps", "8", "--out", "x.mp4"]
    with OffscreenWindow(
        plan_offscreen(build_parser().parse_args(["record", *resumed]), (640, 400))
    ) as offscreen:
        offscreen.open()
        views = offscreen.app.views
        drawn = []
        for step, _frame in offscreen.frames():
            series_steps, _ = views.series.curve_data(0)
            capacity_steps, _ = views.capacity.recovered_data(0)
            drawn.append((step, series_steps.max(), capacity_steps.max()))
    assert [step for step, *_ in drawn] == [3, 4, 5, 6, 7, 8]
    assert all(series <= step and capacity <= step for step, series, capacity in drawn)
    assert drawn[-1][1] == 8  # the replayed steps are drawn as they come


def test_view_sets_panel_modes_over_the_preset_and_over_a_resumed_sessions(tmp_path):
    """A saved session opened on its nearest preset's views, and no option could choose others."""
    assert main(["run", *TINY, "--steps", "3", "--save", str(tmp_path / "s"), *QUIET]) == 0
    views = ["--view", "spectrum=momentum:steps", "--view", "series_log=true"]
    for start in (["--resume", str(tmp_path / "s")], TINY):
        args = build_parser().parse_args(["shot", *start, *views, "--out", str(tmp_path / "x.png")])
        with OffscreenWindow(plan_offscreen(args, (640, 400))) as offscreen:
            offscreen.open()
            shown = offscreen.app.views
            assert shown.spectrum.mode("view") == "momentum:steps" and shown.series.mode("scale") == "log"
            assert shown.class_error.mode("view") == "recovery"  # a key not given keeps the preset's


def test_a_shot_draws_the_heat_maps_of_the_lanes_its_view_names(tmp_path):
    args = ["shot", *TINY, "--view", "spectrum=gradient:steps", "--view", "spectrum_lane=2"]
    args += ["--view", "heatmap_lane=3", "--out", str(tmp_path / "x.png")]
    with OffscreenWindow(plan_offscreen(build_parser().parse_args(args), (640, 400))) as offscreen:
        offscreen.open()
        shown = offscreen.app.views
        assert (shown.spectrum.heat_lane(), shown.class_error.heat_lane()) == (2, 3)


@pytest.mark.parametrize(
    ("view", "says"),
    [
        ("spectrum=M", "view.spectrum = 'M' is not allowed: must be one of gradient+momentum"),
        ("spectrm=update", "unknown key"),
        # TINY runs the default preset's four lanes
        ("spectrum_lane=4", "view.spectrum_lane = 4 is not allowed: must be a lane's number, 0 to 3: the"),
        ("heatmap_lane=-1", "view.heatmap_lane = -1 is not allowed: must be a lane's number, 0 to 3"),
        ("spectrum", "--view = 'spectrum' is not allowed: must be KEY=VALUE"),
    ],
)
def test_a_view_a_panel_does_not_offer_is_refused_in_one_line(capsys, tmp_path, view, says):
    assert main(["shot", *TINY, "--view", view, "--out", str(tmp_path / "x.png")]) == 2
    err = capsys.readouterr().err.strip()
    assert says in err and len(err.splitlines()) == 1 and not (tmp_path / "x.png").exists()


def test_a_configs_view_goes_with_the_session_run_saves_and_a_resumed_shot_opens_on_it(tmp_path):
    config = tmp_path / "c.toml"
    config.write_text('[task]\nd = 16\nn_items = 64\nbatch_size = 16\n[view]\nspectrum = "update:steps"\n')
    assert main(["run", "--config", str(config), "--steps", "3", "--save", str(tmp_path / "s"), *QUIET]) == 0
    resumed = ["shot", "--resume", str(tmp_path / "s"), "--out", str(tmp_path / "x.png")]
    args = build_parser().parse_args(resumed)
    with OffscreenWindow(plan_offscreen(args, (640, 400))) as offscreen:
        offscreen.open()
        assert offscreen.app.views.spectrum.mode("view") == "update:steps"


def test_a_saved_view_its_panel_does_not_take_is_said_naming_the_file_and_left_as_the_presets(
    capsys, tmp_path
):
    assert main(["run", *TINY, "--steps", "3", "--save", str(tmp_path / "s"), *QUIET]) == 0
    document = json.loads((tmp_path / "s" / "session.json").read_text())
    document["view"] = {"spectrum": "nope", "series_log": True}  # a hand-edited file
    (tmp_path / "s" / "session.json").write_text(json.dumps(document))
    capsys.readouterr()
    resumed = ["shot", "--resume", str(tmp_path / "s"), "--out", str(tmp_path / "x.png")]
    with OffscreenWindow(plan_offscreen(build_parser().parse_args(resumed), (640, 400))) as offscreen:
        offscreen.open()
        assert offscreen.app.views.spectrum.mode("view") == "gradient+momentum"  # the preset's
        assert offscreen.app.views.series.mode("scale") == "log"  # the rest as saved
    err = capsys.readouterr().err
    assert f"{tmp_path / 's' / 'session.json'}: view.spectrum = 'nope' is not allowed" in err
    assert "that panel opens as the preset's" in err


def test_view_values_read_as_typed_on_a_command_line():
    """ "True" was refused as "written without quotes", ".9" beside an allowed 0.9, and "view.spectrum"
    as a key "view.view.spectrum"."""
    assert view_options(["series_log=True", "series_smoothing=.9", "view.spectrum=update"]) == {
        "series_log": True,
        "series_smoothing": 0.9,
        "spectrum": "update",
    }


_TWO_CTRL_CS_DURING_A_STEP = """
import os
import signal
import sys
import threading

import torch
from PySide6 import QtCore

from muonscope.app.cli import main

in_svd = threading.Event()
never = threading.Event()
stopping = threading.Event()
real_svd = torch.linalg.svd


def slow_svd(*args, **kwargs):
    if threading.current_thread() is not threading.main_thread():  # the engine's step
        in_svd.set()
        never.wait(60)  # a step of a big memory: longer than a close waits for it
    return real_svd(*args, **kwargs)


real_wait = QtCore.QThread.wait


def watched_wait(thread, *args):  # the close waiting for the engine's step, which goes on
    if thread.objectName() == "muonscope-engine":
        stopping.set()
    return real_wait(thread, *args)


def two_ctrl_cs():
    in_svd.wait(120)
    os.kill(os.getpid(), signal.SIGINT)
    stopping.wait(60)  # the second while the window closes: its handler runs as the wait returns
    os.kill(os.getpid(), signal.SIGINT)


torch.linalg.svd = slow_svd
QtCore.QThread.wait = watched_wait
threading.Thread(target=two_ctrl_cs, daemon=True).start()
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.parametrize("command", ["shot", "record"])
def test_two_ctrl_cs_during_a_long_step_end_the_command_with_130_not_an_abort(tmp_path, command):
    """The first Ctrl-C stops the command and leaves the step computing; a second one, as the
    window closed, let the engine's thread be collected while it ran: "QThread: Destroyed while
    thread is still running" and SIGABRT, where --help promises exit status 130."""
    out = tmp_path / ("x.png" if command == "shot" else "x.mp4")
    argv = [command, *TINY, *QUIET, "--steps", "3", "--size", "320x240", "--out", str(out)]
    done = subprocess.run(
        [sys.executable, "-c", _TWO_CTRL_CS_DURING_A_STEP, *argv],
        capture_output=True,
        text=True,
        env=dict(os.environ, QT_QPA_PLATFORM="offscreen"),
        timeout=240,
    )
    assert done.returncode == 130, done.stderr
    assert "QThread" not in done.stderr and "Traceback" not in done.stderr, done.stderr
    assert f"muonscope {command}: stopping now" in done.stderr


def test_ffmpegs_report_of_a_failure_is_one_line_with_the_systems_reason():
    """A full disk wrote seven lines of ffmpeg's log after "could not write"."""
    from muonscope.app.video import one_line_report

    full_disk = "\n".join(
        [
            "[vost#0:0/libx264 @ 0x55d0c1a2] Error submitting a packet to the muxer: No space left on device",
            "    Last message repeated 1 times",
            "[out#0/mp4 @ 0x55d0c19f] Error muxing a packet",
            "[out#0/mp4 @ 0x55d0c19f] Task finished with error code: -28 (No space left on device)",
            "[out#0/mp4 @ 0x55d0c19f] Terminating thread with return code -28 (No space left on device)",
            "[out#0/mp4 @ 0x55d0c19f] Error writing trailer: No space left on device",
            "[out#0/mp4 @ 0x55d0c19f] Error closing file: No space left on device",
        ]
    )
    assert one_line_report(full_disk, 228) == "no space left on device"
    assert one_line_report("[gif @ 0x1] Unknown encoder 'foo'\n", 1) == "Unknown encoder 'foo'"
    assert one_line_report("", 1) == "ffmpeg exit status 1"
