"""Qt's own warnings, routed into Python logging for the application (not for tests)."""

from __future__ import annotations

import logging

from PySide6 import QtCore

__all__ = ["install_message_handler"]

log = logging.getLogger("qt")

#: Messages that describe the platform, not a problem of ours (the offscreen platform has no
#: window manager to pass size hints to).
_HARMLESS = ("This plugin does not support propagateSizeHints",)
_LEVELS = {
    QtCore.QtMsgType.QtDebugMsg: logging.DEBUG,
    QtCore.QtMsgType.QtInfoMsg: logging.INFO,
    QtCore.QtMsgType.QtWarningMsg: logging.WARNING,
    QtCore.QtMsgType.QtCriticalMsg: logging.ERROR,
    QtCore.QtMsgType.QtFatalMsg: logging.CRITICAL,
}


def _handle(kind: QtCore.QtMsgType, _context: QtCore.QMessageLogContext, message: str) -> None:
    if message.startswith(_HARMLESS):
        return
    log.log(_LEVELS.get(kind, logging.WARNING), "%s", message)


def install_message_handler() -> None:
    QtCore.qInstallMessageHandler(_handle)
