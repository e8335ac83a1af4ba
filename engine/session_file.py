"""Saving a session to a folder and opening it again, safely: the public entry points.

Writing (:mod:`~muonscope.engine.session_saving`) goes to a temporary folder that replaces the
target only when complete. Opening (:mod:`~muonscope.engine.session_opening`) checks every file
before anything is built; a bad file raises :class:`SessionError` naming the file and what is
wrong, and the caller's open session is untouched (the tensors and tables are read by
:mod:`~muonscope.engine.session_tables`). The folder's files: :mod:`~muonscope.engine.session_format`;
which save they come from, and saves that take turns: :mod:`~muonscope.engine.save_identity`.
"""

from __future__ import annotations

from muonscope.engine.session_format import FILES, FORMAT, FORMAT_VERSION, SessionError
from muonscope.engine.session_opening import check_session_folder, open_session
from muonscope.engine.session_saving import SavedElsewhere, check_save_target, save_session

__all__ = [
    "FILES",
    "FORMAT",
    "FORMAT_VERSION",
    "SavedElsewhere",
    "SessionError",
    "check_save_target",
    "check_session_folder",
    "open_session",
    "save_session",
]
