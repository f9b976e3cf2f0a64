"""The control room's App for a validated config: the composition's runtime, on a screen."""

from __future__ import annotations

from .app import ControlRoomApp
from .composition import compose
from .configfile import LoadedConfig


def build_app(
    loaded: LoadedConfig,
    *,
    read_only: bool = False,
    operator: str | None = None,
    context: str | None = None,
) -> ControlRoomApp:
    """The app for a validated config; ConfigError as `compose` raises it."""
    return ControlRoomApp(compose(loaded, read_only=read_only, operator=operator, context=context))
