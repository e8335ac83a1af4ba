"""``python -m app``: the same as the ``muonscope`` command."""

import sys

from app.cli import main

sys.exit(main())
