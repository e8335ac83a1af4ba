"""A path as a command's messages print it: one that can be pasted back into a command.

``--save=./-sess`` was reported as "session saved to -sess", and ``--resume -sess`` pasted from it
read the name as an option.
"""

from __future__ import annotations

import shlex
from pathlib import Path

__all__ = ["path_text", "shell_word"]


def path_text(path: Path | str) -> str:
    """``path`` as printed in a message: a relative one that starts with "-" keeps a leading "./"."""
    text = str(path)
    return f"./{text}" if text.startswith("-") else text


def shell_word(path: Path | str) -> str:
    """``path`` as one shell word that no command reads as an option (quoted where a shell would
    split it: "runs/fork ✓" pasted as printed was two words)."""
    return shlex.quote(path_text(path))
