"""Each preset's reproduction at CI size, computed at most once per test session.

The engine's checks (tests/engine/test_reproduce.py) and the app's figure builders
(tests/app/test_reproduction_figures.py) read the same results, so the expensive presets
(one_step_capacity, tail_multi_step_isotropy: about a minute each on two cores) run once.
"""

import functools

from muonscope.engine.reproduce import REPRODUCTIONS, Reproduction, Settings


@functools.cache
def reproduced(name: str) -> Reproduction:
    """The CI-size reproduction of ``name`` (sweep points recomputed, not read from the cache)."""
    return REPRODUCTIONS[name](Settings(size="ci", workers=2, use_cache=False))
