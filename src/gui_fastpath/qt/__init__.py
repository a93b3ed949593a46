"""Qt widgets of the Fast Analytics Path. The only package that imports Qt (through qtpy)."""
