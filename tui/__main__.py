"""`python -m tui`: the same as the `maestro-control-room` command."""

import sys

from tui.cli import main

sys.exit(main())
