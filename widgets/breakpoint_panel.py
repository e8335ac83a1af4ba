"""Breakpoints: conditions on the run's metrics that pause it, typed as short expressions."""

from __future__ import annotations

import html
from collections.abc import Iterator
from contextlib import contextmanager

from PySide6 import QtCore, QtGui, QtWidgets

from muonscope.widgets.enter_key import press_on_enter

__all__ = ["EXAMPLES", "BreakpointPanel", "grammar_note"]

#: Breakpoints to show as examples, for a task with items (a memory) and for one without (a stream,
#: which measures no loss, accuracy or recovered count: the memory's examples were refused there).
EXAMPLES = {
    True: ("loss < 0.5", "1:recovered >= 300", "2:alignment > 0.9"),
    False: ("gap > 0.01", "1:alignment > 0.9", "sin_theta < 0.2"),
}


def grammar_note(items: bool) -> str:
    """The panel's note: the grammar, examples that work on the task (``items``: it has items), and
    when population metrics are checked."""
    examples = ", ".join(f"<code>{html.escape(example)}</code>" for example in EXAMPLES[items])
    note = (
        f"<b>[LANE:]METRIC OP NUMBER</b> or <b>diverged</b> — e.g. {examples}; LANE is a lane's number "
        "(from 0) or its whole label as the key shows it."
    )
    if items:
        note += (
            " Population metrics (loss, accuracy, recovered, …) are checked only at steps where they "
            "are evaluated (every run.eval_every steps)."
        )
    return note


_FIRED_COLOUR = "#D55E00"


class BreakpointPanel(QtWidgets.QWidget):
    """A list of breakpoint expressions, each with a tick to enable it.

    The panel does not parse what is typed: it asks, and the app answers with the new list
    (:meth:`set_breakpoints`) or with the reason it refused (:meth:`show_error`).
    """

    add_requested = QtCore.Signal(str)
    remove_requested = QtCore.Signal(int)
    enabled_changed = QtCore.Signal(int, bool)

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self._syncing = False
        self._pending_add: str | None = None
        self._highlighted: int | None = None
        self.list_widget = QtWidgets.QListWidget()
        self.list_widget.setObjectName("breakpoints")
        self.list_widget.setToolTip("tick a breakpoint to enable it; the run pauses when one holds")
        # a lane named by its whole label ("Muon post μ=0.95 ema exact lr=0.3: loss < 0.85") ran past
        # the dock's edge with its operator and number: long breakpoints wrap instead
        self.list_widget.setWordWrap(True)
        self.list_widget.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list_widget.itemChanged.connect(self._on_item_changed)
        self.list_widget.currentRowChanged.connect(self._update_remove_button)
        self.edit = QtWidgets.QLineEdit()
        self.edit.setObjectName("expression")
        self.edit.setToolTip("a new breakpoint: [LANE:]METRIC OP NUMBER, or diverged")
        self.edit.returnPressed.connect(self._on_add)
        self.edit.textEdited.connect(lambda _text: self._hide_error())
        self.add_button = QtWidgets.QPushButton("Add")
        self.add_button.setToolTip("add the breakpoint typed on the left (Enter)")
        self.add_button.clicked.connect(self._on_add)
        self.remove_button = QtWidgets.QPushButton("Remove")
        self.remove_button.setToolTip("remove the selected breakpoint")
        self.remove_button.clicked.connect(self._on_remove)
        press_on_enter(self.add_button, self.remove_button)
        self.error_label = _wrapped_label("error", "color: #7a1010; background: #fde2e1; padding: 3px;")
        self.error_label.hide()
        self.note_label = _wrapped_label("note", "color: #444;")
        self.set_task_has_items(True)
        self._lay_out()
        self._update_remove_button()

    def _lay_out(self) -> None:
        entry = QtWidgets.QHBoxLayout()
        entry.addWidget(self.edit, 1)
        entry.addWidget(self.add_button)
        entry.addWidget(self.remove_button)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(QtWidgets.QLabel("<b>breakpoints</b>"))
        layout.addWidget(self.list_widget, 1)
        layout.addLayout(entry)
        layout.addWidget(self.error_label)
        layout.addWidget(self.note_label)

    @property
    def items(self) -> list[tuple[str, bool]]:
        """(expression, enabled) of every breakpoint, in order, as shown."""
        return [
            (item.text(), item.checkState() == QtCore.Qt.CheckState.Checked)
            for item in map(self.list_widget.item, range(self.list_widget.count()))
        ]

    @property
    def error(self) -> str:
        """The error line shown ("" when none)."""
        return "" if self.error_label.isHidden() else self.error_label.text()

    @property
    def highlighted(self) -> int | None:
        """The breakpoint marked as the one that fired, if any."""
        return self._highlighted

    def set_task_has_items(self, items: bool) -> None:
        """Examples of breakpoints the task accepts (``items``: it has items and classes)."""
        self.note_label.setText(grammar_note(items))
        self.edit.setPlaceholderText(f"e.g. {EXAMPLES[items][0]}")

    def set_breakpoints(self, items: list[tuple[str, bool]]) -> None:
        """Show these (expression, enabled) pairs; emits nothing and clears the error line.

        A pending add has succeeded when the app answers with a list, so the typed text goes. The
        fired mark goes too: indices may have moved.
        """
        row = self.list_widget.currentRow()
        with self._synced():
            self.list_widget.clear()
            for text, enabled in items:
                item = QtWidgets.QListWidgetItem(text)
                item.setToolTip(text)
                item.setFlags(item.flags() | QtCore.Qt.ItemFlag.ItemIsUserCheckable)
                item.setCheckState(
                    QtCore.Qt.CheckState.Checked if enabled else QtCore.Qt.CheckState.Unchecked
                )
                self.list_widget.addItem(item)
            self.list_widget.setCurrentRow(min(row, len(items) - 1))
        self._highlighted = None
        if self._pending_add is not None:
            self.edit.clear()
            self._pending_add = None
        self._hide_error()
        self._update_remove_button()

    def show_error(self, text: str) -> None:
        """Say why the last request was refused; the typed text stays for correcting."""
        self._pending_add = None
        self.error_label.setText(text)
        self.error_label.show()

    def highlight(self, index: int | None) -> None:
        """Mark the breakpoint that just fired (bold, coloured); None removes the mark."""
        self._highlighted = index if index is not None and 0 <= index < self.list_widget.count() else None
        with self._synced():
            for row in range(self.list_widget.count()):
                item = self.list_widget.item(row)
                fired = row == self._highlighted
                font = item.font()
                font.setBold(fired)
                item.setFont(font)
                item.setData(
                    QtCore.Qt.ItemDataRole.ForegroundRole, QtGui.QColor(_FIRED_COLOUR) if fired else None
                )
        if self._highlighted is not None:
            self.list_widget.scrollToItem(self.list_widget.item(self._highlighted))

    def _on_add(self) -> None:
        text = self.edit.text().strip()
        if not text:
            return
        self._pending_add = text
        self.add_requested.emit(text)

    def _on_remove(self) -> None:
        row = self.list_widget.currentRow()
        if row >= 0:
            self.remove_requested.emit(row)

    def _on_item_changed(self, item: QtWidgets.QListWidgetItem) -> None:
        if not self._syncing:
            self.enabled_changed.emit(
                self.list_widget.row(item), item.checkState() == QtCore.Qt.CheckState.Checked
            )

    def _update_remove_button(self, *_args) -> None:
        self.remove_button.setEnabled(self.list_widget.currentRow() >= 0)

    @contextmanager
    def _synced(self) -> Iterator[None]:
        """Marks programmatic changes of the list, which must not be reported as the user's."""
        self._syncing = True
        try:
            yield
        finally:
            self._syncing = False

    def _hide_error(self) -> None:
        self.error_label.hide()
        self.error_label.setText("")


def _wrapped_label(name: str, style: str) -> QtWidgets.QLabel:
    label = QtWidgets.QLabel()
    label.setObjectName(name)
    label.setWordWrap(True)
    label.setStyleSheet(style)
    return label
