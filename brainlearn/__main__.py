"""``python -m brainlearn``: the same as the ``brainlearn`` command."""

import sys

from .cli import main

sys.exit(main())
