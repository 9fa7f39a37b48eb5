"""``python -m superconverge ...``: the ``superconverge`` command, for environments without the
console script on ``PATH``."""

import sys

from superconverge.cli import main

sys.exit(main())
