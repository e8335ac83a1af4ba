"""``python -m muonscope``: the same as the ``muonscope`` command."""

import sys

from muonscope.app.cli import main

if __name__ == "__main__":  # sweep workers re-import this module as __mp_main__: do not relaunch
    sys.exit(main())
