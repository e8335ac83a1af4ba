"""The window opens on the default preset."""

from app.main_window import MainWindow


def test_window_opens_on_the_default_preset(qtbot):
    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    assert "Zipf" in window.windowTitle()
