"""``python -m superconverge ...``: the ``superconverge`` command, for environments without the
console script on ``PATH``."""

import os
import sys

from superconverge.cli import main

# Named as it was run, in messages and in the commands it prints (a bug bash: "next:
# superconverge schedule ..." where no superconverge command is on PATH)
sys.exit(main(prog=f"{os.path.basename(sys.executable) or 'python'} -m superconverge"))
