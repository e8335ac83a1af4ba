"""The small dialog that asks how many pixels an exported PNG should have."""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets

from muonscope.widgets.export import PNG_SIDE_PX

__all__ = ["PngSizeDialog", "ask_png_size"]


class PngSizeDialog(QtWidgets.QDialog):
    """Width and height in pixels; while "keep the shape" is ticked, changing one changes the other."""

    def __init__(self, default: tuple[int, int], parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("PNG size")
        low, high = PNG_SIDE_PX
        width, height = (min(max(side, low), high) for side in default)
        self._shape = width / height
        self.width_box = _side_box("width", width)
        self.height_box = _side_box("height", height)
        self.keep_shape_box = QtWidgets.QCheckBox("keep the shape")
        self.keep_shape_box.setChecked(True)
        buttons = QtWidgets.QDialogButtonBox(
            QtWidgets.QDialogButtonBox.StandardButton.Ok | QtWidgets.QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form = QtWidgets.QFormLayout(self)
        form.addRow("width", self.width_box)
        form.addRow("height", self.height_box)
        form.addRow(self.keep_shape_box)
        form.addRow(buttons)
        self.width_box.valueChanged.connect(lambda value: self._follow(self.height_box, value / self._shape))
        self.height_box.valueChanged.connect(lambda value: self._follow(self.width_box, value * self._shape))

    @property
    def size_px(self) -> tuple[int, int]:
        return self.width_box.value(), self.height_box.value()

    def _follow(self, other: QtWidgets.QSpinBox, value: float) -> None:
        if self.keep_shape_box.isChecked():
            with QtCore.QSignalBlocker(other):
                other.setValue(round(value))


def ask_png_size(parent: QtWidgets.QWidget | None, default: tuple[int, int]) -> tuple[int, int] | None:
    """The (width, height) the user chose, or None if they cancelled."""
    dialog = PngSizeDialog(default, parent)
    accepted = dialog.exec() == QtWidgets.QDialog.DialogCode.Accepted
    size = dialog.size_px
    dialog.deleteLater()
    return size if accepted else None


def _side_box(name: str, value: int) -> QtWidgets.QSpinBox:
    box = QtWidgets.QSpinBox()
    box.setObjectName(name)
    box.setRange(*PNG_SIDE_PX)
    box.setSuffix(" px")
    box.setValue(value)
    return box
