"""The composition root: builds the window, the engine thread and the controllers, and runs them."""

from __future__ import annotations

import logging
import sys

__all__ = ["launch"]


def launch(preset: str = "default") -> int:
    """Open the window and run the Qt event loop until it closes."""
    import torch  # noqa: F401 - torch before Qt: the reverse order has crashed
    from PySide6 import QtWidgets

    from muonscope.app.main_window import MainWindow
    from muonscope.app.qt_messages import install_message_handler

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    install_message_handler()
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv)
    app.setApplicationName("muonscope")
    window = MainWindow(preset)
    window.show()
    window.start()
    window.controller.play(True)  # the default preset is a race: start it
    code = app.exec()
    del window
    return code
