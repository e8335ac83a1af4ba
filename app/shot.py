"""``muonscope shot``: the real window (or one panel), offscreen, after a run's steps, as a PNG or SVG.

The run is ``muonscope run``'s (preset or config, --set, --lane, --steps, --resume); the picture
comes off the offscreen window (:mod:`muonscope.app.offscreen`), which draws every step on the way to it.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from muonscope.app.path_words import path_text
from muonscope.engine.errors import ConfigError

__all__ = ["PICTURE_SUFFIXES", "panel_rects", "parse_size", "report_sweep", "shot_command", "take_screenshot"]

_SIZE = re.compile(r"^(\d{1,6})x(\d{1,6})$")
#: The picture kinds ``shot`` writes, by the file name's suffix.
PICTURE_SUFFIXES = (".png", ".svg")


def shot_command(args) -> int:
    """``muonscope shot``: every argument is checked before a window is built."""
    from muonscope.app.offscreen import OffscreenWindow, exit_status, plan_offscreen
    from muonscope.app.output_paths import check_output_file
    from muonscope.app.progress import ProgressBar
    from muonscope.app.qt_messages import install_message_handler
    from muonscope.app.stop_signals import EXIT_INTERRUPTED, stop_signals

    kind = _picture_kind(args.out)
    size = parse_size(args.size)
    check_output_file(args.out)
    plan = plan_offscreen(args, size)
    install_message_handler()
    steps = plan.target_step - plan.start_step
    with (
        stop_signals("shot") as stop,
        ProgressBar(not args.no_progress, unit="step") as progress,
        OffscreenWindow(plan, stop.is_set) as offscreen,
    ):
        stop.then, stop.again = "stopping now", None  # its last line says what was written
        offscreen.open()
        progress(0, steps, "stepping")
        image = offscreen.picture(lambda step: progress(step - plan.start_step, steps, "stepping"))
        if image is not None:
            _write(offscreen, image, kind, args.out, size)
            report_sweep(offscreen)
        scaling = offscreen.scaling_note()
    if image is None:
        sys.stderr.write("muonscope shot: interrupted before the picture; nothing written\n")
        return exit_status(EXIT_INTERRUPTED)
    print(f"wrote {path_text(args.out)} ({size[0]}x{size[1]}, step {plan.target_step}){scaling}")
    return exit_status(0)


def _write(offscreen, image, kind: str, out: Path, size: tuple[int, int]) -> None:
    """The picture at ``size``: an SVG of a window laid out larger keeps its drawing and declares
    ``size``, as the PNG is scaled down to it."""
    if kind == "svg":
        from muonscope.widgets.export import write_svg

        with offscreen.keyed():
            write_svg(offscreen.subject, out, size)
    else:
        from muonscope.widgets.export import png_bytes, write_bytes

        write_bytes(out, png_bytes(image, out))  # whole or not at all


def _picture_kind(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in PICTURE_SUFFIXES:
        raise ConfigError("--out", str(path), "must name a .png or .svg file")
    return suffix[1:]


def report_sweep(offscreen, command: str = "shot") -> None:
    """A picture or video taken while the sweep it was not told to wait for still ran says how much
    of it had arrived by its picture or last frame: the capacity panel is not the finished one;
    ``command`` names the command that took it (``shot`` or ``record``)."""
    if offscreen.swept:
        return
    done, planned = offscreen.sweep_progress
    if command == "shot" and done == planned:
        return  # every point arrived before the picture
    by = "the picture" if command == "shot" else "the last frame"
    arrived = f"{done} of {planned} points had arrived by {by}"
    sys.stderr.write(f"muonscope {command}: the capacity sweep was not waited for ({arrived})\n")


#: The smallest and the largest picture or frame, in pixels (width, height).
SIZE_RANGE_PX = ((320, 240), (7680, 4320))
#: The range as ``--help`` and the refusal say it.
SIZE_RANGE_TEXT = "from {0[0]}x{0[1]} to {1[0]}x{1[1]}".format(*SIZE_RANGE_PX)


def parse_size(text: str) -> tuple[int, int]:
    """``1600x1000`` → (1600, 1000); within SIZE_RANGE_PX."""
    allowed = f"must be WIDTHxHEIGHT in pixels, {SIZE_RANGE_TEXT}, e.g. 1600x1000"
    match = _SIZE.match(text.strip().lower())
    if not match:
        raise ConfigError("--size", text, allowed)
    width, height = int(match.group(1)), int(match.group(2))
    (min_width, min_height), (max_width, max_height) = SIZE_RANGE_PX
    if not (min_width <= width <= max_width and min_height <= height <= max_height):
        raise ConfigError("--size", text, allowed)
    return width, height


def panel_rects(window) -> dict[str, tuple[int, int, int, int]]:
    """Where each panel's plotting area lies in the window, as (x, y, width, height) pixels."""
    rects = {}
    for name in ("spectrum", "series", "class_error", "capacity"):
        panel = getattr(window.views, name)
        view = panel.plot_widget
        area = view.mapFromScene(panel.plot.getViewBox().sceneBoundingRect()).boundingRect()
        corner = view.mapTo(window, area.topLeft())
        rects[name] = (corner.x(), corner.y(), area.width(), area.height())
    return rects


def take_screenshot(
    preset, steps: int, out: Path, size: tuple[int, int] = (1600, 1000)
) -> tuple[Path, dict[str, tuple[int, int, int, int]]]:
    """Run ``steps`` steps of ``preset`` (a name or a Preset) offscreen; save the window as a PNG.

    Returns the PNG's path and the panels' plotting areas in it.
    """
    from dataclasses import replace

    from muonscope.app.offscreen import OffscreenPlan, OffscreenWindow
    from muonscope.engine.presets import load_preset
    from muonscope.engine.session import Session
    from muonscope.widgets.export import png_bytes, write_bytes

    if steps < 0:
        raise ConfigError("--steps", steps, "must be an integer >= 0")
    loaded = load_preset(preset) if isinstance(preset, str) else preset
    config = loaded.config.with_value("run.steps", steps)
    plan = OffscreenPlan(replace(loaded, config=config), Session(config), 0, steps, size)
    with OffscreenWindow(plan) as offscreen:
        offscreen.open()
        image = offscreen.picture()
        out.parent.mkdir(parents=True, exist_ok=True)
        write_bytes(out, png_bytes(image, out))  # whole or not at all
        rects = panel_rects(offscreen.window)
    return out, rects
