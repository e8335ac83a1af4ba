"""The keyboard shortcut sheet: every shortcut of the window, grouped, in a small dialog (``?``, F1)."""

from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets

__all__ = ["ShortcutRow", "ShortcutSheet", "key_text"]

#: (group, keys, what the keys do), e.g. ("Run", "Space", "play / pause").
ShortcutRow = tuple[str, str, str]

#: Key names as people read them.
_KEY_NAMES = {"Left": "←", "Right": "→", "Up": "↑", "Down": "↓", "PgUp": "Page Up", "PgDown": "Page Down"}


def key_text(sequence: QtGui.QKeySequence) -> str:
    """``Shift+→``, ``Ctrl+G``, ``Page Up``: a key sequence as the sheet shows it."""
    text = sequence.toString(QtGui.QKeySequence.SequenceFormat.NativeText)
    if text.endswith("++"):  # "Ctrl++": the key itself is the plus sign
        return text
    return "+".join(_KEY_NAMES.get(part, part) for part in text.split("+"))


class ShortcutSheet(QtWidgets.QDialog):
    """Shows rows of (group, keys, description); the window builds them from its actions."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        self.setObjectName("shortcut_sheet")
        self._table = QtWidgets.QTreeWidget()
        self._table.setColumnCount(2)
        self._table.setHeaderHidden(True)
        self._table.setRootIsDecorated(False)
        self._table.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.NoSelection)
        self._table.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)
        self._table.setAlternatingRowColors(True)
        hint = QtWidgets.QLabel("Typing in a box? Esc gives the keys back to the plots.")
        hint.setStyleSheet("color: #555;")
        close = QtWidgets.QDialogButtonBox(QtWidgets.QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.reject)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addWidget(self._table, 1)
        layout.addWidget(hint)
        layout.addWidget(close)
        self._rows: tuple[ShortcutRow, ...] = ()

    @property
    def rows(self) -> tuple[ShortcutRow, ...]:
        """What the sheet lists, in its order."""
        return self._rows

    def set_rows(self, rows: list[ShortcutRow]) -> None:
        """Replace the list; rows of one group are shown together, groups in order of first appearance."""
        groups: dict[str, list[ShortcutRow]] = {}
        for row in rows:
            groups.setdefault(row[0], []).append(row)
        self._rows = tuple(row for members in groups.values() for row in members)
        self._table.clear()
        bold = QtGui.QFont()
        bold.setBold(True)
        for group, members in groups.items():
            heading = QtWidgets.QTreeWidgetItem(self._table, [group, ""])
            heading.setFont(0, bold)
            heading.setFirstColumnSpanned(True)
            for _group, keys, description in members:
                QtWidgets.QTreeWidgetItem(self._table, [keys, description])
        self._table.resizeColumnToContents(0)
        self._table.resizeColumnToContents(1)
        self._table.setColumnWidth(0, self._table.columnWidth(0) + 24)
        rows_px = self._table.sizeHintForRow(0) * self._table.topLevelItemCount()
        frame_px = 2 * self._table.frameWidth() + 4
        self._table.setMinimumSize(
            self._table.columnWidth(0) + self._table.columnWidth(1) + frame_px + 8,
            min(rows_px + frame_px, 640),
        )
        self.adjustSize()
