"""maestro-control-room: a terminal control room for the cutover of CI/CD onto Maestro.

The one import package. In the repository its subpackages are links to the top-level folders
of the design (`tui/`, `widgets/`, `sources/`, `cutover/`); the wheel holds them as folders.
"""

__version__ = "0.2.0"
