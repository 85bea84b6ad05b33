"""The web consoles' pages, one module per console."""
