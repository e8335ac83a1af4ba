"""Whether a window can open here, asked before Qt is: Qt aborts the process rather than say why.

No display, a display no X server answers, or an X11 platform plugin whose system libraries are
missing: each is one line the launcher can print, where Qt would abort (exit 134) naming a library
that may not be the missing one.
"""

from __future__ import annotations

import os
import sys

__all__ = ["display_problem"]


def display_problem() -> str:
    """Why no window can open here ("" when one can): Qt aborts the process rather than say so."""
    platform = os.environ.get("QT_QPA_PLATFORM", "").split(":")[0]
    if platform in ("offscreen", "minimal", "vnc", "eglfs", "linuxfb", "wayland", "cocoa", "windows"):
        return ""
    if not sys.platform.startswith("linux") or os.environ.get("WAYLAND_DISPLAY"):
        return ""
    display = os.environ.get("DISPLAY", "")
    if not display:
        return "no display found (DISPLAY and WAYLAND_DISPLAY are unset)"
    if not _x_server_answers(display):
        return f"cannot connect to the X display {display!r} (no X server answers there)"
    return _xcb_plugin_problem()


def _xcb_plugin_problem() -> str:
    """Why Qt's X11 platform plugin cannot load ("" when it can): Qt aborts naming libxcb-cursor0
    whichever library is missing, and "reinstalling the application" fixes nothing."""
    import ctypes

    from PySide6 import QtCore

    plugins = QtCore.QLibraryInfo.path(QtCore.QLibraryInfo.LibraryPath.PluginsPath)
    plugin = os.path.join(plugins, "platforms", "libqxcb.so")
    if not os.path.isfile(plugin):
        return ""  # a Qt laid out otherwise: let it try
    try:
        ctypes.CDLL(plugin)
    except OSError as exc:
        missing = str(exc).split(":")[0] if "cannot open shared object" in str(exc) else str(exc)
        return (
            f"Qt's X11 platform plugin cannot load: {missing} is missing (install the system libraries "
            "README.md names, e.g. libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0 "
            "libxcb-render-util0 libxkbcommon-x11-0)"
        )
    return ""


def _x_server_answers(display: str) -> bool:
    """Whether an X server listens for ``display`` (":1", "unix:1", "host:10.0"); unknown forms pass."""
    import re
    import socket

    match = re.match(r"^(?P<host>[^:/]*):(?P<number>\d+)(\.\d+)?$", display)
    if match is None:
        return True
    host, number = match["host"], int(match["number"])
    if host in ("", "unix"):
        for address in (f"\0/tmp/.X11-unix/X{number}", f"/tmp/.X11-unix/X{number}"):  # abstract, then file
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
                try:
                    probe.connect(address)
                    return True
                except OSError:
                    continue
        return False
    try:
        socket.create_connection((host, 6000 + number), timeout=2.0).close()
        return True
    except OSError:
        return False
