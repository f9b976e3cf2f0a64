"""The terminal app: App, screens, bindings, styles and the command line."""
