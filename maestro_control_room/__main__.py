"""`python -m maestro_control_room`: the same as the `maestro-control-room` command."""

import sys

from .tui.cli import main

sys.exit(main())
