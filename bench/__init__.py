"""The control room's benchmark: the real app in a real pseudo-terminal, measured."""
