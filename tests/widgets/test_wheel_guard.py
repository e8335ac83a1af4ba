"""Scrolling a form with the wheel scrolls it: fields under the pointer keep their values."""

from PySide6 import QtWidgets

from muonscope.widgets.wheel_guard import guard_wheel
from tests.qt_events import wheel_down


def _form(qtbot):
    form = QtWidgets.QWidget()
    layout = QtWidgets.QVBoxLayout(form)
    spin, combo, slider = QtWidgets.QSpinBox(), QtWidgets.QComboBox(), QtWidgets.QSlider()
    spin.setRange(0, 100)
    spin.setValue(50)
    combo.addItems(["a", "b", "c"])
    slider.setRange(0, 100)
    slider.setValue(50)
    for field in (spin, combo, slider):
        layout.addWidget(field)
        layout.addSpacing(400)  # taller than the scroll area: there is something to scroll
    guard_wheel(spin, combo, slider)
    scroll = QtWidgets.QScrollArea()
    scroll.setWidget(form)
    scroll.setWidgetResizable(True)
    qtbot.addWidget(scroll)
    scroll.resize(300, 300)
    scroll.show()
    qtbot.waitExposed(scroll)
    return scroll, (spin, combo, slider)


def test_the_wheel_over_an_unfocused_field_scrolls_the_form_and_leaves_the_field(qtbot):
    scroll, fields = _form(qtbot)
    before = [field.value() if hasattr(field, "value") else field.currentIndex() for field in fields]
    bar = scroll.verticalScrollBar()
    for field in fields:
        top = bar.value()
        wheel_down(field)
        assert bar.value() > top or bar.value() == bar.maximum()
    after = [field.value() if hasattr(field, "value") else field.currentIndex() for field in fields]
    assert after == before


def test_a_focused_field_takes_the_wheel(qtbot):
    _scroll, (spin, _combo, _slider) = _form(qtbot)
    spin.setFocus()
    qtbot.waitUntil(spin.hasFocus, timeout=5000)
    wheel_down(spin)
    assert spin.value() == 49
