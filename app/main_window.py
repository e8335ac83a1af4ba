"""The main window (a first, minimal version: the preset's title and caption)."""

from __future__ import annotations

import sys

from PySide6 import QtWidgets

from engine.presets import load_preset

__all__ = ["MainWindow", "launch"]


class MainWindow(QtWidgets.QMainWindow):
    """Shows what the loaded preset is about."""

    def __init__(self, preset_name: str = "default") -> None:
        super().__init__()
        preset = load_preset(preset_name)
        self.setWindowTitle(f"muonscope — {preset.title}")
        text = QtWidgets.QLabel(f"<h2>{preset.title}</h2><p>{' '.join(preset.caption.split())}</p>")
        text.setWordWrap(True)
        text.setMargin(24)
        self.setCentralWidget(text)
        self.resize(900, 400)


def launch() -> int:
    """Open the window and run the Qt event loop until it closes."""
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv)
    window = MainWindow()
    window.show()
    return app.exec()
