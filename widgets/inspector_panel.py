"""The inspector: pick a lane's matrix at the paused step and see its entries and its spectrum."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from muonscope.widgets.keyed_combo import KeyedCombo
from muonscope.widgets.matrix_view import MatrixView
from muonscope.widgets.mode_box import ElidingCombo
from muonscope.widgets.singular_values_plot import SingularValuesPlot

__all__ = ["NO_LANE", "TENSORS", "InspectRequest", "InspectorPanel"]

#: (value, text, tooltip) of the matrices a lane can show.
TENSORS = (
    ("W", "W", "W: the weights after the step"),
    ("G", "G", "G: the gradient the step used"),
    ("M", "M", "M: the momentum buffer after the step"),
    ("update", "update", "update: the applied update −lr·D"),
)
#: The "minus lane" entry that means: show the tensor itself, not a difference.
NO_LANE = "—"
_TASK_COORDINATES_TIP = (
    "show ẼᵀXE instead of X: entry (k, i) = ẽ_kᵀ X e_i, how X maps query i's input embedding onto answer "
    "k's output embedding (rows: answers k, columns: queries i, both by frequency)"
)


#: Where each control sits, (row, column, columns spanned), in each arrangement: two rows where the
#: panel is wide, four where it is narrow.
_ARRANGEMENTS = ("wide", "narrow")
_PLACES = {
    "lane_label": ((0, 0, 1), (0, 0, 1)),
    "lane": ((0, 1, 1), (0, 1, 2)),
    "tensor_label": ((0, 2, 1), (1, 0, 1)),
    "tensor": ((0, 3, 1), (1, 1, 1)),
    "step": ((0, 4, 1), (1, 2, 1)),
    "minus_label": ((1, 0, 1), (2, 0, 1)),
    "minus": ((1, 1, 1), (2, 1, 2)),
    "task_coordinates": ((1, 2, 2), (3, 0, 3)),
}
#: The column that takes the spare width: the lane boxes' where wide, the step's where narrow.
_STRETCHED_COLUMN = {"wide": 1, "narrow": 2}


@dataclass(frozen=True)
class InspectRequest:
    """What the user asked to see: ``tensor(lane) − tensor(minus_lane)``, optionally as ẼᵀXE."""

    lane: int
    tensor: str
    minus_lane: int | None
    task_coordinates: bool


class InspectorPanel(QtWidgets.QWidget):
    """Controls above a heat map and a spectrum; the app answers each request with a result."""

    request_changed = QtCore.Signal(object)  # InspectRequest

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self._syncing = False
        self._step = 0
        # a lane's whole label, "…" where cut, without widening the dock ("lr=0." read as lr = 0)
        self.lane_combo = _combo("lane", "the lane whose matrix is shown", least_chars=14)
        self.tensor_combo = _combo("tensor", "which matrix of the lane")
        for value, text, tip in TENSORS:
            self.tensor_combo.addItem(text, value)
            self.tensor_combo.setItemData(
                self.tensor_combo.count() - 1, tip, QtCore.Qt.ItemDataRole.ToolTipRole
            )
        self.minus_combo = _combo(
            "minus_lane", "subtract the same matrix of another lane (— : subtract nothing)", least_chars=14
        )
        self.minus_combo.addItem(NO_LANE, None)
        self.task_coordinates_box = QtWidgets.QCheckBox("task coordinates ẼᵀXE")
        self.task_coordinates_box.setObjectName("task_coordinates")
        self.task_coordinates_box.setToolTip(_TASK_COORDINATES_TIP)
        self.step_label = QtWidgets.QLabel("step 0")
        self.step_label.setMinimumWidth(90)
        self.step_label.setAlignment(
            QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignVCenter
        )
        self.matrix_view = MatrixView()
        self.spectrum = SingularValuesPlot()
        self.info_label = QtWidgets.QLabel()
        self.info_label.setObjectName("info")
        self.info_label.setContentsMargins(6, 2, 6, 2)
        self.info_label.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        # one line that may be cut at the right, rather than a long line widening the window
        self.info_label.setSizePolicy(
            QtWidgets.QSizePolicy.Policy.Ignored, QtWidgets.QSizePolicy.Policy.Fixed
        )
        self._lay_out()
        self._last = self.request
        for combo in (self.lane_combo, self.tensor_combo, self.minus_combo):
            combo.currentIndexChanged.connect(self._on_control_changed)
        self.task_coordinates_box.toggled.connect(self._on_control_changed)

    def _lay_out(self) -> None:
        """The controls over the heat map, the spectra below it."""
        self._controls = QtWidgets.QGridLayout()
        self._controls.setContentsMargins(4, 2, 4, 2)
        self._controls.setHorizontalSpacing(8)  # "tensor" touched the lane box's arrow, "minus" its own box
        self._placed = {
            "lane_label": QtWidgets.QLabel("lane"),
            "lane": self.lane_combo,
            "tensor_label": QtWidgets.QLabel("tensor"),
            "tensor": self.tensor_combo,
            "step": self.step_label,
            "minus_label": QtWidgets.QLabel("minus"),
            "minus": self.minus_combo,
            "task_coordinates": self.task_coordinates_box,
        }
        self._arrangement: str | None = None
        self._views = QtWidgets.QSplitter(QtCore.Qt.Orientation.Vertical)
        self._views.addWidget(self.matrix_view)
        self._views.addWidget(self.spectrum)
        self._views.setStretchFactor(0, 3)
        self._views.setStretchFactor(1, 2)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        # the panel's least width is that of its narrow arrangement (minimumSizeHint), not the one shown
        layout.setSizeConstraint(QtWidgets.QLayout.SizeConstraint.SetNoConstraint)
        layout.addLayout(self._controls)
        layout.addWidget(self._views, 1)
        layout.addWidget(self.info_label)
        self._least_px: dict[str, int] = {}
        self._measure_arrangements()

    @property
    def arrangement(self) -> str:
        """How the controls are laid out now: "wide" (two rows) or "narrow" (four)."""
        return self._arrangement

    @property
    def least_width_at_ease_px(self) -> int:
        """The least width at which the controls sit on two rows, the views under them as wide."""
        return max(self._least_px["wide"], self._views.minimumSizeHint().width())

    def minimumSizeHint(self) -> QtCore.QSize:
        narrowest = max(self._least_px["narrow"], self._views.minimumSizeHint().width())
        return QtCore.QSize(narrowest, super().minimumSizeHint().height())

    def resizeEvent(self, event: QtGui.QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit_controls()

    def changeEvent(self, event: QtCore.QEvent) -> None:
        """Text of another size (a stage's scale) needs other widths."""
        super().changeEvent(event)
        if event.type() in (QtCore.QEvent.Type.FontChange, QtCore.QEvent.Type.StyleChange):
            self._measure_arrangements()
            self.updateGeometry()

    def _measure_arrangements(self) -> None:
        """Each arrangement's least width, as its grid works it out; then the one that fits is shown."""
        for name in _ARRANGEMENTS:
            self._arrange(name)
            self._least_px[name] = self._controls.minimumSize().width()
        self._fit_controls()

    def _fit_controls(self) -> None:
        """Two rows where the panel is wide enough for them, else four: on two rows always, they held
        it 477 pixels wide at least, as a tab in the controls' place, and the window 1210 wide, past a
        1024-pixel screen."""
        self._arrange("wide" if self.width() >= self._least_px["wide"] else "narrow")

    def _arrange(self, name: str) -> None:
        if name == self._arrangement:
            return
        for widget in self._placed.values():
            self._controls.removeWidget(widget)
        for key, places in _PLACES.items():
            row, column, columns = places[_ARRANGEMENTS.index(name)]
            self._controls.addWidget(self._placed[key], row, column, 1, columns)
        for column in range(5):
            self._controls.setColumnStretch(column, 1 if column == _STRETCHED_COLUMN[name] else 0)
        self._arrangement = name
        if self.layout() is not None:
            self.layout().activate()  # before the panel is drawn squeezed in the arrangement left

    @property
    def request(self) -> InspectRequest:
        """The matrix the controls ask for now."""
        return InspectRequest(
            lane=max(self.lane_combo.currentIndex(), 0),
            tensor=self.tensor_combo.currentData(),
            minus_lane=self.minus_combo.currentData(),
            task_coordinates=self.task_coordinates_box.isChecked(),
        )

    @property
    def info_text(self) -> str:
        return self.info_label.text()

    @property
    def message(self) -> str | None:
        """Why nothing is shown, or None while a result is."""
        return self.matrix_view.placeholder

    @property
    def step(self) -> int:
        return self._step

    def set_lanes(self, labels: list[str]) -> None:
        """Offer these lanes; the lane and the subtracted lane stay selected if they still exist.

        Emits nothing: the app reads :attr:`request` after changing the lanes.
        """
        lane, minus = self.request.lane, self.request.minus_lane
        with self._synced():
            self.lane_combo.clear()
            self.minus_combo.clear()
            self.minus_combo.addItem(NO_LANE, None)
            for index, label in enumerate(labels):
                named = f"{index} · {label}"  # "lane 2" asked the user to count the lanes' keys
                self.lane_combo.addItem(named, index)
                self.lane_combo.setItemData(index, label, QtCore.Qt.ItemDataRole.ToolTipRole)
                self.minus_combo.addItem(named, index)
                self.minus_combo.setItemData(index + 1, label, QtCore.Qt.ItemDataRole.ToolTipRole)
            self.lane_combo.setCurrentIndex(lane if lane < len(labels) else 0)
            keep_minus = minus is not None and minus < len(labels) and minus != self.lane_combo.currentIndex()
            self.minus_combo.setCurrentIndex(minus + 1 if keep_minus else 0)
            self._disable_own_lane()
        self._last = self.request

    def set_task_coordinates_available(self, available: bool, reason: str) -> None:
        """Enable the ẼᵀXE view, or disable (and untick) it with the reason as its tooltip."""
        with self._synced():
            if not available:
                self.task_coordinates_box.setChecked(False)
            self.task_coordinates_box.setEnabled(available)
            self.task_coordinates_box.setToolTip(_TASK_COORDINATES_TIP if available else reason)
        self._last = self.request

    def set_step(self, step: int) -> None:
        self._step = step
        self.step_label.setText(f"step {step}")

    def show_result(
        self,
        matrix: np.ndarray,
        title: str,
        direction_sv: np.ndarray | None,
        polar_sv: np.ndarray | None,
        residual_text: str,
        info_text: str,
        *,
        row_label: str = "row",
        col_label: str = "column",
        spectra_names: tuple[str, str] | None = None,
    ) -> None:
        """Show the answer to a request.

        Without spectra (None) the spectrum plot shows ``residual_text`` as the reason instead;
        ``spectra_names`` say what the two spectra are (see :meth:`SingularValuesPlot.set_spectra`).
        """
        self.matrix_view.set_matrix(matrix, title, row_label, col_label)
        if direction_sv is None or polar_sv is None:
            self.spectrum.clear(residual_text)
        else:
            self.spectrum.set_spectra(direction_sv, polar_sv, residual_text, spectra_names)
        self.info_label.setText(info_text)
        self.info_label.setToolTip(info_text)

    def show_message(self, text: str) -> None:
        """Show no matrix, and say why (e.g. "pause the run to inspect", "replaying 800 steps…")."""
        self.matrix_view.clear(text)
        self.spectrum.clear(text)
        self.info_label.setText("")
        self.info_label.setToolTip("")

    def _on_control_changed(self, *_args) -> None:
        if self._syncing:
            return
        with self._synced():
            if self.minus_combo.currentData() == self.lane_combo.currentIndex():
                self.minus_combo.setCurrentIndex(0)  # a lane minus itself is zero: drop the difference
            self._disable_own_lane()
        request = self.request
        if request != self._last:
            self._last = request
            self.request_changed.emit(request)

    def _disable_own_lane(self) -> None:
        """A lane cannot be subtracted from itself."""
        own = self.lane_combo.currentIndex()
        model = self.minus_combo.model()
        for row in range(1, self.minus_combo.count()):
            model.item(row).setEnabled(row - 1 != own)

    @contextmanager
    def _synced(self) -> Iterator[None]:
        """Marks programmatic changes of the controls, which must not be reported as the user's."""
        outer, self._syncing = self._syncing, True
        try:
            yield
        finally:
            self._syncing = outer


def _combo(name: str, tip: str, least_chars: int | None = None) -> QtWidgets.QComboBox:
    """A box as wide as its options, or with ``least_chars``, one whose long options end in "…"."""
    combo = KeyedCombo() if least_chars is None else ElidingCombo(least_chars)
    combo.setObjectName(name)
    combo.setToolTip(tip)
    if least_chars is None:
        combo.setSizeAdjustPolicy(QtWidgets.QComboBox.SizeAdjustPolicy.AdjustToContents)
    return combo
