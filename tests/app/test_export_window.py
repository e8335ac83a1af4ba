"""Exports from the running window: File ▸ Export and the panels' context menus, with dialogs stood in for."""

import csv
import xml.etree.ElementTree as ET
from dataclasses import replace

import numpy as np
from PySide6 import QtCore, QtGui, QtTest

from muonscope.engine import TaskConfig
from muonscope.widgets.portable_svg import SVG_NS
from muonscope.widgets.theme import lane_colour
from tests.app.helpers import open_app, small_preset, wait_for_frame, wait_for_step

STEPS = 12


class Answers:
    """Stands in for the file dialog and the size dialog; records what they were asked."""

    def __init__(self, folder, size=(640, 360)):
        self.folder = folder
        self.size = size
        self.paths = []
        self.next_name = None

    def choose_path(self, _parent, _caption, suggested, _name_filter):
        if self.next_name == "cancel":
            return None
        path = self.folder / (self.next_name or suggested.name)
        self.paths.append(path)
        return path

    def ask_size(self, _parent, default):
        self.default_size = default
        return self.size


def _app_with_answers(qtbot, tmp_path):
    app = open_app(qtbot)
    app.intents.step(STEPS)
    wait_for_step(qtbot, app, STEPS)
    wait_for_frame(qtbot, app)
    answers = Answers(tmp_path)
    app.exports.choose_path = answers.choose_path
    app.exports.ask_size = answers.ask_size
    return app, answers


def _menu_texts(menu):
    return [action.text().replace("&", "") for action in menu.actions() if not action.isSeparator()]


def _submenu(menu, title):
    return next(action.menu() for action in menu.actions() if action.text().replace("&", "") == title)


def _action(menu, text):
    return next(action for action in menu.actions() if action.text() == text)


def test_file_menu_has_export_with_a_submenu_per_panel_above_quit(qtbot, tmp_path):
    app, _answers = _app_with_answers(qtbot, tmp_path)
    file_menu = app.window.menu("File")
    texts = _menu_texts(file_menu)
    assert texts.index("Export") == texts.index("Quit") - 1
    export = _submenu(file_menu, "Export")
    assert _menu_texts(export) == [
        "① spectra",
        "② over time",
        "③ per-class error",
        "④ capacity",
        "Window as PNG…",
        "Window as SVG…",
    ]
    for title in ("① spectra", "② over time", "③ per-class error", "④ capacity"):
        assert _menu_texts(_submenu(export, title)) == ["PNG…", "SVG…", "CSV…"]


def test_file_menu_writes_a_panel_as_png_svg_and_csv(qtbot, tmp_path):
    app, answers = _app_with_answers(qtbot, tmp_path)
    series = app.views.series
    over_time = _submenu(_submenu(app.window.menu("File"), "Export"), "② over time")
    for text in ("PNG…", "SVG…", "CSV…"):
        _action(over_time, text).trigger()
    png, svg, table = answers.paths
    assert [p.name for p in answers.paths] == [
        "muonscope-series.png",
        "muonscope-series.svg",
        "muonscope-series.csv",
    ]
    legend_px = series.legend_height_px(app.views.lane_key.legend_entries())
    assert legend_px > 0  # the panel alone names its lanes under its plot, in room of its own:
    assert answers.default_size == (series.width() * 2, (series.height() + legend_px) * 2)
    assert QtGui.QImage(str(png)).size() == QtCore.QSize(640, 360)
    root = ET.parse(svg).getroot()
    assert root.tag == f"{{{SVG_NS}}}svg"
    assert root.get("viewBox").split()[2:] == [str(series.width()), str(series.height() + legend_px)]
    strokes = {e.get("stroke") for e in root.iter() if e.get("stroke")}
    assert {lane_colour(lane).lower() for lane in range(4)} <= strokes
    with open(table, newline="", encoding="utf-8") as file:
        header, *rows = list(csv.reader(file))
    assert header[0] == "step" and len(header) == 5
    assert series.mode("metric") == "gap"  # its rank and matrix, as the corner note says them
    definition = series.note.split("\n")[0]
    assert definition.startswith("r = ")
    assert header[1].startswith(f"spectral gap σ_r − σ_(r+1) [{definition}]: ")
    for lane in range(4):
        steps, values = series.curve_data(lane)
        kept = [(float(r[0]), float(r[lane + 1])) for r in rows if r[lane + 1] != ""]
        np.testing.assert_allclose(np.array(kept), np.column_stack([steps, values]), rtol=1e-12, atol=0)
    assert app.window.statusBar().currentMessage() == f"Wrote {table}"


def test_file_menu_writes_the_whole_window(qtbot, tmp_path):
    app, answers = _app_with_answers(qtbot, tmp_path)
    answers.size = (app.window.width() * 2, app.window.height() * 2)
    export = _submenu(app.window.menu("File"), "Export")
    _action(export, "Window as PNG…").trigger()
    _action(export, "Window as SVG…").trigger()
    png, svg = answers.paths
    assert QtGui.QImage(str(png)).size() == app.window.size() * 2
    root = ET.parse(svg).getroot()
    assert root.get("viewBox") == f"0 0 {app.window.width()} {app.window.height()}"
    areas = list(root.iter(f"{{{SVG_NS}}}clipPath"))
    assert (
        len(areas) >= 4
    )  # a clipped plot area per panel at least (the timeline and ④'s right axis add some)


def test_a_picture_of_the_window_leaves_out_the_passing_message_of_the_file_before(
    qtbot, tmp_path, monkeypatch
):
    """The window written just after a panel's CSV showed "Wrote …/muonscope-capacity.csv" in its
    status bar: a local path in a figure, and no part of the state pictured."""
    from muonscope.app import export_controller

    app, _answers = _app_with_answers(qtbot, tmp_path)
    status_as_written = []

    def write_png(target, path, size):
        status_as_written.append(app.window.statusBar().currentMessage())
        return real_write_png(target, path, size)

    real_write_png = export_controller.write_png
    monkeypatch.setattr(export_controller, "write_png", write_png)
    export = _submenu(app.window.menu("File"), "Export")
    _action(_submenu(export, "④ capacity"), "CSV…").trigger()
    assert app.window.statusBar().currentMessage().startswith("Wrote ")
    _action(export, "Window as PNG…").trigger()
    assert status_as_written == [""]
    assert app.window.statusBar().currentMessage() == f"Wrote {tmp_path / 'muonscope-window.png'}"


def test_a_panel_written_leaves_its_header_laid_out_as_before_at_once(qtbot, tmp_path):
    """The window written right after ④ showed its mode box at the strip's left edge, where the
    panel's own picture (its boxes hidden) had left it, until the event loop's next turn."""
    app, _answers = _app_with_answers(qtbot, tmp_path)
    box = app.views.capacity.modes["x"]
    before = box.geometry()
    export = _submenu(app.window.menu("File"), "Export")
    _action(_submenu(export, "④ capacity"), "PNG…").trigger()
    assert box.geometry() == before  # no event processed in between, as in a script


def test_the_panels_context_menu_writes_through_the_same_chooser(qtbot, tmp_path):
    app, answers = _app_with_answers(qtbot, tmp_path)
    panel = app.views.class_error
    viewport = panel.plot_widget.viewport()
    QtTest.QTest.mouseClick(
        viewport,
        QtCore.Qt.MouseButton.RightButton,
        QtCore.Qt.KeyboardModifier.NoModifier,
        viewport.rect().center(),
    )
    qtbot.waitUntil(panel.export_menu.isVisible)
    _action(panel.export_menu, "Export data as CSV…").trigger()
    panel.export_menu.hide()
    (table,) = answers.paths
    assert table.name == "muonscope-class_error.csv"
    with open(table, newline="", encoding="utf-8") as file:
        header, *rows = csv.reader(file)
    assert header[0] == "frequency rank (head → tail)" and len(header) == 1 + 2 * 4  # raw, smoothed
    assert [row[0] for row in rows[:3]] == ["1", "2", "3"]  # ranks are counts, not "1.0"
    assert all(f" at step {STEPS}:" in name for name in header[1:]), header  # no timeline in a CSV
    spectra = app.exports.export_panel("spectrum", "csv")
    with open(spectra, newline="", encoding="utf-8") as file:
        header = next(csv.reader(file))
    assert header[0] == "index k" and all(f" at step {STEPS}:" in name for name in header[1:])


def test_a_refused_file_is_said_on_one_line_and_a_cancel_writes_nothing(qtbot, tmp_path):
    app, answers = _app_with_answers(qtbot, tmp_path)
    answers.next_name = "missing/figure.svg"
    assert app.exports.export_panel("spectrum", "svg") is None
    message = app.views.message.text
    assert "figure.svg" in message and "there is no folder" in message and "\n" not in message
    answers.next_name = "cancel"
    assert app.exports.export_panel("capacity", "csv") is None
    answers.next_name = "typed-without-extension"
    written = app.exports.export_panel("capacity", "csv")
    assert written == tmp_path / "typed-without-extension.csv" and written.is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["typed-without-extension.csv"]
    assert "figure.svg" not in app.views.message.text  # the refusal was of the file before this one


def test_a_panel_with_no_numbers_writes_no_file_and_says_why(qtbot, tmp_path):
    """③ on a spiked task wrote a CSV holding a header alone, and a PNG of "has no classes" alone,
    without a word."""
    task = TaskConfig(kind="spiked", rows=12, cols=10, strengths=(5.0, 3.0))
    app = open_app(qtbot, replace(small_preset(), config=replace(small_preset().config, task=task)))
    app.intents.step(STEPS)
    wait_for_step(qtbot, app, STEPS)
    wait_for_frame(qtbot, app)
    answers = Answers(tmp_path)
    app.exports.choose_path, app.exports.ask_size = answers.choose_path, answers.ask_size
    assert app.exports.export_panel("class_error", "csv") is None
    assert answers.paths == [] and list(tmp_path.iterdir()) == []  # not even asked where
    message = app.views.message.text
    reason = app.views.class_error.placeholder.split(". ")[0]
    assert message == f"No CSV written: ③ per-class error has no numbers to export ({reason})."
    for kind in ("png", "svg"):
        assert app.exports.export_panel("class_error", kind) is None
        assert app.views.message.text.startswith(
            f"No {kind.upper()} written: ③ per-class error has no curves"
        )
    assert answers.paths == [] and list(tmp_path.iterdir()) == []
    assert app.exports.export_panel("series", "png") is not None  # a panel that draws is written


def test_a_panel_that_draws_nothing_offers_no_export_and_says_why(qtbot):
    """③ on a spiked task offered PNG, SVG and CSV in both menus, and then refused each."""
    task = TaskConfig(kind="spiked", rows=12, cols=10, strengths=(5.0, 3.0))
    app = open_app(qtbot, replace(small_preset(), config=replace(small_preset().config, task=task)))
    app.intents.step(STEPS)
    wait_for_step(qtbot, app, STEPS)
    wait_for_frame(qtbot, app)
    export = _submenu(app.window.menu("File"), "Export")
    export.aboutToShow.emit()
    entries = {action.text(): action for action in export.actions()}
    assert not entries["③ per-class error"].isEnabled()
    assert entries["③ per-class error"].toolTip().startswith("A spiked gradient stream has no classes")
    assert entries["② over time"].isEnabled()
    for panel, offered in ((app.views.class_error, False), (app.views.series, True)):
        panel.export_menu.aboutToShow.emit()
        exports = [action for action in panel.export_menu.actions() if action.text().startswith("Export")]
        assert [action.isEnabled() for action in exports] == [offered] * 3


def test_capacity_csv_writes_items_recovered_as_counts(qtbot, tmp_path):
    """Items recovered were written "37.0": a count of items is a whole number."""
    app, _answers = _app_with_answers(qtbot, tmp_path)
    table = app.exports.export_panel("capacity", "csv")
    with open(table, newline="", encoding="utf-8") as file:
        header, *rows = list(csv.reader(file))
    recovered = [i for i, name in enumerate(header) if name.startswith("recovered items")]
    accuracy = [i for i, name in enumerate(header) if name.startswith("population accuracy")]
    assert len(recovered) == len(accuracy) == 4 and rows
    cells = [row[i] for row in rows for i in recovered if row[i] != ""]
    assert cells and all(cell.isdigit() for cell in cells)
    assert all(
        "." in row[i] or "e" in row[i] for row in rows for i in accuracy if row[i] not in ("", "0", "1")
    )


def test_a_panel_exported_alone_names_its_lanes_and_the_screen_stays_as_it_was(qtbot, tmp_path):
    """On screen the lanes are named in the window's key; a panel's picture carries them itself."""
    app, _answers = _app_with_answers(qtbot, tmp_path)
    items_before = len(app.views.series.plot.scene().items())
    path = app.exports.export_panel("series", "svg")
    words = set(" ".join(e.text or "" for e in ET.parse(path).getroot().iter()).split())
    for entry in app.views.lane_key.entries:  # Qt writes a text run per word
        assert set(entry.text().split()) <= words, entry.text()
    assert len(app.views.series.plot.scene().items()) == items_before  # the legend went again


def test_between_evaluations_panel_three_and_its_table_name_the_step_evaluated(qtbot, tmp_path):
    """Per-class errors come from the population evaluation (every run.eval_every = 2 steps here):
    at step 13 they are step 12's, and the panel and its CSV said "at step 13" without a word."""
    app, _answers = _app_with_answers(qtbot, tmp_path)
    app.intents.step(1)
    wait_for_step(qtbot, app, STEPS + 1)
    wait_for_frame(qtbot, app)
    assert app.clock.newest.lanes[0].eval_step == STEPS
    assert app.views.class_error.note == f"errors as at step {STEPS}"
    table = app.exports.export_panel("class_error", "csv")
    with open(table, newline="", encoding="utf-8") as file:
        header = next(csv.reader(file))
    assert all(f" at step {STEPS}:" in name for name in header[1:]), header
