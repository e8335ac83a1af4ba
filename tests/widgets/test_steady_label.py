"""Text above the plots that comes and goes does not move the plots, until what it shows starts over."""

from PySide6 import QtGui, QtWidgets

from muonscope.widgets.steady_label import SteadyLabel

SHORT = "step 40"
LONG = " ".join(["label noise 0 → 0.21 at step 581 · Muon (pre) recovers 690 items"] * 6)


def _column(qtbot):
    """A steady label above a panel, in a narrow window so that LONG wraps over several lines."""
    window = QtWidgets.QWidget()
    layout = QtWidgets.QVBoxLayout(window)
    label, panel = SteadyLabel(), QtWidgets.QWidget()
    panel.setMinimumHeight(50)
    layout.addWidget(label)
    layout.addWidget(panel, 1)
    qtbot.addWidget(window)
    window.resize(300, 400)
    window.show()
    qtbot.waitExposed(window)
    return window, label, panel


def _settled(qtbot, window, label: SteadyLabel, text: str) -> int:
    label.setText(text)
    window.layout().activate()
    qtbot.waitUntil(lambda: label.height() >= label.heightForWidth(label.width()), timeout=5000)
    return label.height()


def test_the_label_grows_with_its_text_but_does_not_shrink_back(qtbot):
    window, label, panel = _column(qtbot)
    short_px = _settled(qtbot, window, label, SHORT)
    top_short = panel.y()
    long_px = _settled(qtbot, window, label, LONG)
    assert long_px > short_px and panel.y() > top_short  # the text needs the room: it gets it
    top_long = panel.y()
    assert _settled(qtbot, window, label, SHORT) == long_px
    assert panel.y() == top_long  # the panel below stays where it was


def test_settle_lets_the_label_fit_its_text_again(qtbot):
    window, label, _panel = _column(qtbot)
    short_px = _settled(qtbot, window, label, SHORT)
    _settled(qtbot, window, label, LONG)
    _settled(qtbot, window, label, SHORT)
    label.settle()
    window.layout().activate()
    qtbot.waitUntil(lambda: label.height() == short_px, timeout=5000)


def test_a_new_width_is_measured_afresh(qtbot):
    window, label, _panel = _column(qtbot)
    narrow_px = _settled(qtbot, window, label, LONG)
    window.resize(1200, 400)
    window.layout().activate()
    qtbot.waitUntil(lambda: label.height() < narrow_px, timeout=5000)  # wider: fewer lines, less height


def test_a_smaller_font_lets_the_label_shrink_to_it(qtbot):
    """Heights held at a presentation's 3× left gaps above the plots back at 1.5×."""
    window, label, _panel = _column(qtbot)
    big, small = QtGui.QFont(label.font()), QtGui.QFont(label.font())
    big.setPointSizeF(3 * label.font().pointSizeF())
    label.setFont(big)
    window.resize(1200, 600)  # a few lines at 3×, within the window
    big_px = _settled(qtbot, window, label, LONG)
    label.setFont(small)
    window.layout().activate()
    qtbot.waitUntil(lambda: label.height() < big_px / 2, timeout=5000)


def test_a_label_with_a_line_of_headroom_does_not_move_what_is_below_when_its_text_wraps_once(qtbot):
    """On a stage the live caption wrapped once more mid-recording and the panels jumped down."""
    window, label, panel = _column(qtbot)
    two_lines = "step 40 · " + "Muon (pre) recovers 690 items " * 2  # two lines at this width, not three
    label.set_headroom_lines(1)
    _settled(qtbot, window, label, SHORT)
    top = panel.y()
    _settled(qtbot, window, label, two_lines)
    assert panel.y() == top  # the second line had its room from the start
    label.set_headroom_lines(0)
    label.settle()
    one_line = _settled(qtbot, window, label, SHORT)
    assert one_line < label.fontMetrics().lineSpacing() * 2  # no headroom at the desk
    assert _settled(qtbot, window, label, two_lines) > one_line  # and so the text moves it
