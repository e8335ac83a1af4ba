"""``muonscope shot``: the real window, built offscreen, run for N steps and saved as a PNG."""

from __future__ import annotations

import os
import re
from pathlib import Path

from muonscope.engine.errors import ConfigError

__all__ = ["panel_rects", "parse_size", "shot_command", "take_screenshot"]

_SIZE = re.compile(r"^(\d{1,6})x(\d{1,6})$")


def shot_command(args) -> int:
    """``muonscope shot``: every argument is checked before a window is built."""
    from muonscope.app.config_args import check_writable
    from muonscope.app.qt_messages import install_message_handler
    from muonscope.engine.presets import load_preset

    size = parse_size(args.size)
    if args.out.suffix.lower() != ".png":
        raise ConfigError("--out", str(args.out), "must name a .png file")
    preset = load_preset(args.preset)
    try:
        preset.config.with_value("run.steps", args.steps)  # the run's own bound on a number of steps
    except ConfigError as exc:
        raise ConfigError("--steps", args.steps, exc.allowed) from None
    check_writable(args.out.parent if str(args.out.parent) else Path("."))
    install_message_handler()
    path, _ = take_screenshot(preset, args.steps, args.out, size)
    print(f"wrote {path} ({size[0]}x{size[1]}, step {args.steps})")
    return 0


def parse_size(text: str) -> tuple[int, int]:
    """``1600x1000`` → (1600, 1000); between 320×240 and 7680×4320."""
    allowed = "must be WIDTHxHEIGHT in pixels, from 320x240 to 7680x4320, e.g. 1600x1000"
    match = _SIZE.match(text.strip().lower())
    if not match:
        raise ConfigError("--size", text, allowed)
    width, height = int(match.group(1)), int(match.group(2))
    if not (320 <= width <= 7680 and 240 <= height <= 4320):
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
    preset, steps: int, out: Path, size: tuple[int, int] = (1600, 1000), timeout_s: float = 600.0
) -> tuple[Path, dict[str, tuple[int, int, int, int]]]:
    """Run ``steps`` steps of ``preset`` (a name or a Preset) offscreen; save the window once drawn.

    Returns the PNG's path and the panels' plotting areas in it.
    """
    if steps < 0:
        raise ConfigError("--steps", steps, "must be an integer >= 0")
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    import torch  # noqa: F401 - torch before Qt: the reverse order has crashed
    from PySide6 import QtCore, QtWidgets

    from muonscope.app.composition import App
    from muonscope.engine.presets import load_preset

    loaded = load_preset(preset) if isinstance(preset, str) else preset  # fails before any window exists
    qt_app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    app = App(loaded)
    window = app.window
    window.resize(*size)
    window.show()
    loop = QtCore.QEventLoop()
    failure: list[str] = []

    def on_frame(step: int) -> None:
        if step >= steps and loop.isRunning():
            loop.quit()

    def on_alert(message: str, _until_moved: bool = False) -> None:
        failure.append(message)
        loop.quit()

    app.clock.frame_drawn.connect(on_frame)
    app.link.alert.connect(on_alert)
    QtCore.QTimer.singleShot(int(timeout_s * 1000), loop.quit)
    app.start()
    app.intents.step(steps)
    loop.exec()
    try:
        shown = app.clock.newest.step if app.clock.newest else -1
        if failure:
            raise RuntimeError(failure[0])
        if shown < steps:
            raise RuntimeError(f"the run reached step {shown} of {steps} within {timeout_s:.0f} s")
        qt_app.processEvents()
        out.parent.mkdir(parents=True, exist_ok=True)
        if not window.grab().save(str(out), "PNG"):
            raise OSError(f"could not write {out}")
        rects = panel_rects(window)
    finally:
        window.close()
        window.deleteLater()
        qt_app.processEvents()
    return out, rects
