"""muonscope: a desktop lab for watching optimizers learn.

The installed import package. Its subpackages are the repository's folders: ``muonscope.engine``
(PyTorch + numpy, no Qt), ``muonscope.widgets`` (PySide6 + pyqtgraph views, no torch) and
``muonscope.app`` (the window and the command line, which wire the two). Importing this package
imports nothing heavy, so ``muonscope --version`` and ``--help`` answer at once.
"""

__version__ = "0.2.0"
