"""Reusable PySide6 + pyqtgraph views: numpy in, signals out. No torch, no engine."""
