"""muonscope: a desktop lab for watching optimizers learn.

The installed import package. Its subpackages are the repository's folders: ``muonscope.engine``
(PyTorch + numpy, no Qt), ``muonscope.widgets`` (PySide6 + pyqtgraph views, no torch) and
``muonscope.app`` (the window and the command line, which wire the two). Importing this package
imports nothing heavy, so ``muonscope --version`` and ``--help`` answer at once.

It does set one default before torch loads: OpenMP threads that have finished their share of a
kernel sleep (``OMP_WAIT_POLICY=PASSIVE``) instead of spinning for a while in case more work comes.
A spinning helper holds a core that the engine's spectra workers, the window or a sweep worker
needs: on two cores, eight 128 × 128 spectra taken on two one-thread workers right after a
two-thread kernel took 5.6–6.0 ms while the helper spun and 3.4 ms with it asleep, and the default
preset with spectra every step ran at 2.11× the plain loop against 2.67–2.73× (benchmarks/
engine_speed.py). A value already in the environment is kept; torch loaded before this package
keeps the policy it started with.
"""

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__version__ = "0.2.0"
