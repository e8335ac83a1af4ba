"""Figures and tables out of the window: File ▸ Export and each panel's context menu.

The controller asks for a size (PNG) and a file, writes, and says what happened: a problem in the
message bar, on one line naming the file; a written file in the status bar. The two questions are
callables, so tests answer them without a dialog.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable
from numbers import Real
from pathlib import Path

from PySide6 import QtCore, QtWidgets

from muonscope.app.panel_names import PANELS
from muonscope.engine.tables import rows_to_columns, write_table
from muonscope.widgets.export import ExportError, checked_path, write_png, write_svg
from muonscope.widgets.panel import EXPORTS, PlotPanel
from muonscope.widgets.png_size_dialog import ask_png_size

__all__ = ["ExportController", "choose_save_path"]

#: (caption, file name filter) of the file dialog for each kind of file.
_FILES = {
    "png": ("Export PNG", "PNG image (*.png)"),
    "svg": ("Export SVG", "SVG image (*.svg)"),
    "csv": ("Export data as CSV", "CSV table (*.csv)"),
}
#: How long "Wrote FILE" stays in the status bar.
_WRITTEN_MS = 10_000

#: (parent, caption, suggested path, name filter) → the path chosen, or None when cancelled.
ChoosePath = Callable[[QtWidgets.QWidget, str, Path, str], Path | None]
#: (parent, default (width, height)) → the size chosen, or None when cancelled.
AskSize = Callable[[QtWidgets.QWidget, tuple[int, int]], tuple[int, int] | None]


def choose_save_path(
    parent: QtWidgets.QWidget, caption: str, suggested: Path, name_filter: str
) -> Path | None:
    """The save dialog (a name typed without an extension gets the kind's extension afterwards)."""
    chosen, _filter = QtWidgets.QFileDialog.getSaveFileName(parent, caption, str(suggested), name_filter)
    return Path(chosen) if chosen else None


class ExportController(QtCore.QObject):
    """Writes the four panels, the inspector's plots and the whole window to PNG, SVG and CSV."""

    def __init__(
        self,
        window,
        choose_path: ChoosePath = choose_save_path,
        ask_size: AskSize = ask_png_size,
        parent: QtCore.QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._refusal: int | None = None  # the message of the last file refused, while on show
        self._window = window
        self.choose_path = choose_path
        self.ask_size = ask_size
        self.folder = Path.cwd()  # where the next file dialog opens: the last folder written to
        views = window.views
        self.panels: dict[str, tuple[str, PlotPanel]] = {
            "spectrum": ("① spectra", views.spectrum),
            "series": ("② over time", views.series),
            "class_error": ("③ per-class error", views.class_error),
            "capacity": ("④ capacity", views.capacity),
            "inspector-matrix": ("inspector matrix", views.inspector.matrix_view),
            "inspector-singular-values": ("inspector σ_k", views.inspector.spectrum),
        }
        for name, (_title, panel) in self.panels.items():
            panel.export_requested.connect(lambda kind, n=name: self.export_panel(n, kind))
        self.menu = self._build_menu()

    def export_panel(self, name: str, kind: str) -> Path | None:
        """Ask for the file (and a PNG's size), write panel ``name`` to it; the path, or None."""
        return self._export(self.panels[name][1], name, kind)

    def export_window(self, kind: str) -> Path | None:
        """The whole window as a PNG or an SVG; the path written, or None."""
        return self._export(self._window, "window", kind)

    # ---- menus -----------------------------------------------------------------------------------

    def _build_menu(self) -> QtWidgets.QMenu:
        """File ▸ Export ▸ one submenu per live panel, then the window; placed above Quit."""
        file_menu = self._window.menu("File")
        menu = QtWidgets.QMenu("&Export", file_menu)
        menu.setToolTipsVisible(True)
        for name in PANELS:  # the grid's four, named as --panel names them (the inspector's: context menus)
            submenu = menu.addMenu(self.panels[name][0])
            menu.aboutToShow.connect(lambda m=submenu, n=name: self._offer(m, self.panels[n][1]))
            for kind, _text in EXPORTS:
                action = submenu.addAction(f"{kind.upper()}…")
                action.triggered.connect(lambda _checked=False, n=name, k=kind: self.export_panel(n, k))
        menu.addSeparator()
        for kind in ("png", "svg"):
            action = menu.addAction(f"Window as {kind.upper()}…")
            action.triggered.connect(lambda _checked=False, k=kind: self.export_window(k))
        quit_action = next((a for a in file_menu.actions() if a.text().replace("&", "") == "Quit"), None)
        if quit_action is None:
            file_menu.addMenu(menu)
        else:
            file_menu.insertMenu(quit_action, menu)
            file_menu.insertSeparator(quit_action)
        return menu

    @staticmethod
    def _offer(submenu: QtWidgets.QMenu, panel: PlotPanel) -> None:
        """A panel's exports are offered while it draws something; where it shows only why it does
        not (the spiked stream's ③), that reason is the greyed entry's tooltip."""
        why = panel.placeholder
        submenu.menuAction().setEnabled(why is None)
        submenu.menuAction().setToolTip(" ".join(why.split()) if why else "")

    # ---- writing ---------------------------------------------------------------------------------

    def _lane_legend(self, target: QtWidgets.QWidget):
        """For a live panel drawn alone, the lanes' names under it (the window has its own key)."""
        if not self._is_live_panel(target):
            return contextlib.nullcontext()
        return target.lane_legend(self._window.views.lane_key.legend_entries())

    def _picture_size(self, target: QtWidgets.QWidget) -> tuple[int, int]:
        """The size a PNG is offered at: twice the screen's, with the room of a live panel's legend."""
        extra = 0
        if self._is_live_panel(target):
            extra = target.legend_height_px(self._window.views.lane_key.legend_entries())
        return target.width() * 2, (target.height() + extra) * 2

    def _is_live_panel(self, target: QtWidgets.QWidget) -> bool:
        views = self._window.views
        live = (views.spectrum, views.series, views.class_error, views.capacity)
        return any(target is panel for panel in live)

    def _export(self, target: QtWidgets.QWidget, name: str, kind: str) -> Path | None:
        table = target.data_table() if kind == "csv" else None
        empty = (
            not table[1] if table is not None else self._is_live_panel(target) and bool(target.placeholder)
        )
        if empty:  # a picture of "has no classes" alone, or a header alone, says nothing
            self._window.show_note(_nothing_to_write(self.panels[name][0], target, kind))
            return None
        size = None
        if kind == "png":
            size = self.ask_size(self._window, self._picture_size(target))
            if size is None:
                return None
        caption, name_filter = _FILES[kind]
        path = self.choose_path(self._window, caption, self.folder / f"muonscope-{name}.{kind}", name_filter)
        if path is None:
            return None
        path = Path(path)
        if not path.suffix:
            path = path.with_suffix(f".{kind}")
        try:
            if table is not None:
                _write_csv(path, *table)
            else:
                for markers in self._window.views.change_markers:  # labels where they belong, now
                    markers.settle()
                if target is self._window:  # a passing message ("Wrote …/panel.csv") is not the state
                    self._window.statusBar().clearMessage()
                with self._lane_legend(target):
                    if kind == "png":
                        write_png(target, path, size)
                    else:
                        write_svg(target, path)
        except ExportError as exc:
            self._refusal = self._window.show_alert(str(exc))
            return None
        if self._refusal is not None:  # an earlier file refused: not about this one, which was written
            self._window.withdraw_message(self._refusal)
            self._refusal = None
        self.folder = path.parent
        self._window.statusBar().showMessage(f"Wrote {path}", _WRITTEN_MS)
        return path


def _nothing_to_write(title: str, panel: PlotPanel, kind: str) -> str:
    """Why a file of ``panel`` was not written: it draws nothing, only why (the spiked stream's ③
    was written as a picture of "has no classes" alone, and a CSV would be a header alone)."""
    reason = " ".join((panel.placeholder or "").split())
    first = reason.split(". ")[0].rstrip(".")  # the reason, not the advice after it
    what = "numbers" if kind == "csv" else "curves"
    return f"No {kind.upper()} written: {title} has no {what} to export" + (f" ({first})." if first else ".")


def _write_csv(path: Path, names: list[str], rows: list[list[float]]) -> None:
    """A panel's data through the one table writer; a refusal names the file and the reason."""
    path = checked_path(path, ".csv", "a CSV")
    columns = rows_to_columns(names, rows)
    if names:  # the x column: steps, indices and ranks are counts ("1", not "1.0")
        columns[names[0]] = _as_counts(columns[names[0]])
    try:
        write_table(columns, path)
    except OSError as exc:
        raise ExportError(f"cannot write {path}: {exc.strerror or exc}") from None


def _as_counts(values: list) -> list:
    """``values`` as ints where every one is a whole number (a step, an index k, a rank), else as given."""
    whole = all(isinstance(v, Real) and math.isfinite(v) and float(v).is_integer() for v in values)
    return [int(v) for v in values] if values and whole else values
