"""``muonscope record``: the real window (or one panel), offscreen, as an MP4 or GIF, a frame per step.

The run is ``muonscope run``'s (preset or config, --set, --lane, --steps, --resume); frames come
off the offscreen window (:mod:`muonscope.app.offscreen`), one per engine step (or per
``--every`` steps), never by the wall clock, so the same command gives the same frames. They
stream to the encoder (:mod:`muonscope.app.video`) as they are drawn. Ctrl-C or SIGTERM stops after
the frame in progress and keeps the frames so far as a playable file.
"""

from __future__ import annotations

import math
import sys

from muonscope.app.path_words import path_text
from muonscope.app.video import frames_text
from muonscope.engine.errors import ConfigError

__all__ = ["MAX_FPS", "MIN_FPS", "check_every", "check_fps", "record_command"]

#: Frame rates an MP4 may have; a GIF's frame delays are whole hundredths of a second, and players
#: slow down delays under two hundredths, so a GIF plays at most 50 frames per second.
MAX_FPS = {"mp4": 240.0, "gif": 50.0}
#: Smallest --fps: a frame every 100 seconds (the encoder refuses far slower rates).
MIN_FPS = 0.01
#: Largest --every: a frame per million steps is already far past any run.
MAX_EVERY = 10**6


def record_command(args) -> int:
    """Check every option (before a window or engine exists), then record; a summary goes to stdout."""
    from muonscope.app.offscreen import plan_offscreen
    from muonscope.app.output_paths import check_output_file
    from muonscope.app.shot import parse_size
    from muonscope.app.video import PART_ADDED_BYTES, check_video_path

    kind = check_video_path(args.out)
    size = parse_size(args.size)
    fps = check_fps(args.fps, kind)
    every = check_every(args.every)
    check_output_file(args.out, added_bytes=PART_ADDED_BYTES, what_adds="recording")
    if args.resume is None and args.steps is not None and args.steps < every:  # before the config's "from 0"
        raise _too_few_steps(args.steps, every)
    plan = plan_offscreen(args, size, frame_every=every)  # a resumed run: its step plus every, at least
    frames = (plan.target_step - plan.start_step) // every
    if frames < 1:  # a preset's own steps
        raise _too_few_steps(plan.target_step, every)
    return _record(plan, args, fps, every, frames)


def _too_few_steps(steps: int, every: int) -> ConfigError:
    """A fresh run's video needs one frame: --steps (the step it ends at) at least --every."""
    return ConfigError("--steps", steps, f"must be at least --every = {every}, for a first frame")


def check_fps(fps: float, kind: str) -> float:
    """Frames per second of the video: from MIN_FPS (a frame every 100 s; far slower rates the
    encoder refuses, after the run) to what its kind can play."""
    top = MAX_FPS[kind]
    if not (math.isfinite(fps) and MIN_FPS <= fps <= top):
        raise ConfigError(
            "--fps", fps, f"must be a number of frames per second from {MIN_FPS:g} to {top:g} for {kind}"
        )
    return fps


def check_every(every: int) -> int:
    """One frame every ``every`` steps: 1 to MAX_EVERY."""
    if not 1 <= every <= MAX_EVERY:
        raise ConfigError("--every", every, f"must be a whole number of steps from 1 to {MAX_EVERY}")
    return every


def _record(plan, args, fps: float, every: int, total: int) -> int:
    from muonscope.app.frame_grab import rgb_bytes
    from muonscope.app.offscreen import OffscreenWindow, exit_status
    from muonscope.app.progress import ProgressBar
    from muonscope.app.qt_messages import install_message_handler
    from muonscope.app.shot import report_sweep
    from muonscope.app.stop_signals import EXIT_INTERRUPTED, stop_signals
    from muonscope.app.video import VideoWriter

    install_message_handler()
    writer = None
    last_step = plan.start_step
    with stop_signals("record") as stop:
        stop.then = "stopping now"  # its last line says what was kept
        try:  # until the window has closed: a second Ctrl-C there lost every frame
            with (
                ProgressBar(not args.no_progress, unit="frame") as progress,
                OffscreenWindow(plan, stop.is_set, status_note="● recording") as offscreen,
            ):
                offscreen.open()
                progress(0, total, "recording")
                for step, image in offscreen.frames(every):
                    if writer is None:
                        writer = VideoWriter(args.out, plan.size, fps)
                    writer.add(rgb_bytes(image))
                    last_step = step
                    progress(writer.frames, total, "recording")
                scaling = offscreen.scaling_note()
                if writer is not None:
                    report_sweep(offscreen, "record")
        except BaseException as error:
            _keep_what_was_recorded(writer, error)
            raise
        if writer is None:
            sys.stderr.write("muonscope record: interrupted before the first frame; nothing written\n")
            return exit_status(EXIT_INTERRUPTED)
        interrupted = stop.is_set()
        # a GIF's palette pass takes seconds: a Ctrl-C there abandoned every frame in silence
        stop.then = f"the frames are recorded: finishing {args.out} first, so that none is lost"
        writer.close()
    hint = _short_clip_hint(writer.frames, writer.seconds)
    print(_summary(writer, plan, every, last_step) + scaling + hint)
    if interrupted:
        sys.stderr.write(
            f"muonscope record: interrupted at step {last_step}; the frames so far are in {args.out}\n"
        )
        return exit_status(EXIT_INTERRUPTED)
    return exit_status(0)


def _keep_what_was_recorded(writer, error: BaseException) -> None:
    """A failure or a second Ctrl-C mid-recording: the frames so far still make a playable file,
    and the user hears of it."""
    if writer is None:
        return
    try:
        writer.close()
    except OSError:
        return
    recorded = frames_text(writer.frames)
    cause = "interruption" if isinstance(error, KeyboardInterrupt) else "failure"
    sys.stderr.write(f"muonscope record: the recording before the {cause} ({recorded}) is in {writer.path}\n")


def _summary(writer, plan, every: int, last_step: int) -> str:
    width, height = plan.size
    shown = f"{width}x{height}"
    if writer.video_size != plan.size:
        shown += f" (padded to {writer.video_size[0]}x{writer.video_size[1]} for H.264)"
    first = plan.start_step + every
    steps = (
        f"step {first}"
        if first == last_step
        else f"steps {first}–{last_step}" + (f", every {every}" if every > 1 else "")
    )
    summary = (
        f"wrote {path_text(writer.path)}: {frames_text(writer.frames)}, {shown}, "
        f"{writer.seconds:.2f} s of video at {writer.fps:g} fps ({steps})"
    )
    if last_step < plan.target_step and last_step + every > plan.target_step:  # not stopped: ran past
        ran = (
            f"step {plan.target_step}"
            if last_step + 1 == plan.target_step
            else f"steps {last_step + 1}–{plan.target_step}"
        )
        summary += f"; {ran} ran without a frame (the steps are not a multiple of --every = {every})"
    return summary


#: A video shorter than this is hinted a frame rate that shows it for SHORT_CLIP_HINT_S.
SHORT_CLIP_S = 1.0
SHORT_CLIP_HINT_S = 2.0


def _short_clip_hint(frames: int, seconds: float) -> str:
    """A frame rate that lets a few frames be seen: four frames at the default 30 fps played for 0.13 s,
    a blink, and the summary did not say what to do about it."""
    if frames < 2 or seconds >= SHORT_CLIP_S:
        return ""
    fps = frames / SHORT_CLIP_HINT_S
    return f"; a short clip: --fps {fps:g} would play it for {SHORT_CLIP_HINT_S:g} s"
